"""What a layer owns: its Variables and sublayers, found by attribute assignment.

Assigning a `Variable`, a `Layer`, or a list/tuple/dict containing them to an
attribute tracks it, in creation order. Variables are registered as parameters of
the underlying `torch.nn.Module` and sublayers as its submodules, so torch sees the
same state Keras code sees.
"""

import numpy as np
import torch

from lamina.backend.variable import Variable


class TrackingMixin:
    """Variable/sublayer tracking and the Keras weight properties, for `Layer`."""

    # ---- tracking ---------------------------------------------------------------------
    def __setattr__(self, name, value):
        if name in _INTERNAL_NAMES:
            object.__setattr__(self, name, value)
            return
        if isinstance(value, Variable):
            # Kept as a plain attribute; its Parameter is registered under the variable's name.
            self._track_variable(value)
            object.__setattr__(self, name, value)
            return
        if _is_layer(value):
            self._track_layer(value)
        elif isinstance(value, (list, tuple, dict)):
            self._track_container(value)
        torch.nn.Module.__setattr__(self, name, value)

    def _track_container(self, value, depth=0):
        items = value.values() if isinstance(value, dict) else value
        for item in items:
            if isinstance(item, Variable):
                self._track_variable(item)
            elif _is_layer(item):
                # Layers in containers are invisible to torch: register them as submodules.
                self._track_layer(item)
                if not any(m is item for m in self._modules.values()):
                    key = item.name
                    while key in self._modules or key in self._parameters:
                        key = f"{key}_"
                    self._modules[key] = item
            elif isinstance(item, (list, tuple, dict)) and depth < 3:
                self._track_container(item, depth + 1)

    def _track_variable(self, variable):
        registry = self._variable_ids
        if id(variable) in registry:
            return
        registry.add(id(variable))
        self._variables.append(variable)
        key = variable.name
        params = self._parameters
        suffix = 0
        while key in params or key in self._modules or self.__dict__.get(key) is not None:
            suffix += 1
            key = f"{variable.name}_{suffix}"
        params[key] = variable.value
        self._param_keys[id(variable)] = key

    def _untrack_variable(self, variable):
        if id(variable) not in self._variable_ids:
            return
        self._variable_ids.discard(id(variable))
        self._variables = [v for v in self._variables if v is not variable]
        key = self._param_keys.pop(id(variable), None)
        if key is not None:
            self._parameters.pop(key, None)

    def _track_layer(self, layer):
        if layer is self or any(existing is layer for existing in self._layers):
            return
        self._layers.append(layer)

    # ---- weight views (Keras order: trainable first, then non-trainable) ----------------
    @property
    def layers(self):
        """Direct sublayers in tracking order (Keras's ``_layers`` for plain layers)."""
        return list(self._layers)

    def _flatten_layers(self, include_self=True):
        seen = set()
        stack = [self] if include_self else list(reversed(self._layers))
        out = []
        while stack:
            layer = stack.pop()
            if id(layer) in seen:
                continue
            seen.add(id(layer))
            out.append(layer)
            stack.extend(reversed(layer._layers))
        return out

    @property
    def trainable_weights(self):
        if not self.trainable:
            return []
        out = [v for v in self._variables if v.trainable]
        for layer in self._layers:
            out.extend(layer.trainable_weights)
        return _dedupe(out)

    @property
    def non_trainable_weights(self):
        if not self.trainable:
            return self._all_weights()
        out = [v for v in self._variables if not v.trainable]
        for layer in self._layers:
            out.extend(layer.non_trainable_weights)
        return _dedupe(out)

    def _all_weights(self):
        out = [v for v in self._variables if v.trainable] + [v for v in self._variables if not v.trainable]
        for layer in self._layers:
            out.extend(layer._all_weights())
        return _dedupe(out)

    @property
    def weights(self):
        """All weights: trainable ones, then non-trainable ones, each in creation order."""
        return _dedupe(self.trainable_weights + self.non_trainable_weights)

    variables = weights
    trainable_variables = trainable_weights
    non_trainable_variables = non_trainable_weights

    def get_weights(self):
        """The weights as a list of NumPy arrays (copies, as Keras), in `weights` order."""
        return [np.array(v.numpy(), copy=True) for v in self.weights]

    def set_weights(self, weights):
        """Sets the weights from a list of arrays shaped as `get_weights()` returns them."""
        params = self.weights
        weights = list(weights)
        if len(params) != len(weights):
            raise ValueError(
                f"You called `set_weights(weights)` on layer '{self.name}' with a weight list of length "
                f"{len(weights)}, but the layer was expecting {len(params)} weights."
            )
        for index, (variable, value) in enumerate(zip(params, weights)):
            shape = tuple(np.shape(value))
            if shape != variable.shape:
                raise ValueError(
                    f"Layer '{self.name}' weight shape {variable.shape} is not compatible with provided weight "
                    f"shape {shape} (weight {index}: '{variable.path}')."
                )
        for variable, value in zip(params, weights):
            variable.assign(value)

    def count_params(self):
        """The number of scalars in all weights; the layer must be built."""
        if not self.built:
            raise ValueError(
                f"You tried to call `count_params` on layer '{self.name}', but the layer isn't built. "
                "You can build it manually via: `layer.build(input_shape)`."
            )
        return int(sum(int(np.prod(v.shape)) for v in self.weights))


_INTERNAL_NAMES = frozenset((
    "_layers", "_variables", "_variable_ids", "_param_keys", "_losses", "_inbound_nodes", "_outbound_nodes",
    "_name", "_trainable", "built", "_build_depth", "_dtype_policy", "_call_signature", "input_spec",
    "_build_shapes", "_parent_path", "_seed_generators", "_metrics", "_batch_input_shape", "_initial_weights",
    "_checked_input",
))


def _dedupe(variables):
    seen = set()
    out = []
    for v in variables:
        if id(v) not in seen:
            seen.add(id(v))
            out.append(v)
    return out


def _is_layer(value):
    return isinstance(value, TrackingMixin)
