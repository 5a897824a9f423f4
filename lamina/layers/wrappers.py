"""Layer wrappers: `Bidirectional` (an RNN run both ways) and `TimeDistributed` (a layer per timestep).

>>> import torch
>>> from lamina import layers
>>> bi = layers.Bidirectional(layers.LSTM(3, return_sequences=True, name="lstm"), name="bi")
>>> bi(torch.ones(2, 5, 4)).shape
torch.Size([2, 5, 6])
>>> bi.forward_layer.name, bi.backward_layer.name, bi.weights[0].path
('forward_lstm', 'backward_lstm', 'bi/forward_lstm/lstm_cell/kernel')
>>> layers.TimeDistributed(layers.Dense(2))(torch.ones(2, 5, 4)).shape
torch.Size([2, 5, 2])
"""

import torch

from lamina.engine.layer import Layer
from lamina.layers.rnn_base import assign_paths

_MERGE_MODES = ("sum", "mul", "ave", "concat", None)


def _serialize(layer):
    from lamina.layers.serialization import serialize

    return serialize(layer)


def _deserialize(config, custom_objects=None):
    from lamina.layers.serialization import deserialize

    return deserialize(config, custom_objects=custom_objects)


def _copy_layer(layer, name, **overrides):
    """A fresh layer with ``layer``'s config, renamed (Keras recreates wrapped RNNs from their config)."""
    config = _serialize(layer)
    config["config"].update(name=name, **overrides)
    return _deserialize(config)


def _renamed(name, prefix):
    return prefix + name.removeprefix(prefix)


class Bidirectional(Layer):
    """Runs a recurrent layer forwards and a copy of it backwards, and merges the two outputs.

    Args:
        layer: an `RNN` layer (`LSTM`, `GRU`, ...); a copy of it named ``forward_<name>``
            becomes `forward_layer`.
        merge_mode: ``'concat'`` (default), ``'sum'``, ``'mul'``, ``'ave'`` or None (return both).
        weights: initial weights, forward layer's then backward layer's.
        backward_layer: the backward layer (``go_backwards=True``); by default a copy of
            ``layer`` named ``backward_<name>`` with ``go_backwards=True``.

    Call arguments:
        sequences, initial_state (forward states then backward states), mask, training.

    The backward output sequence is reversed back to input order before merging. With
    ``return_sequences`` both layers output zeros at masked steps, as in Keras.
    """

    def __init__(self, layer, merge_mode="concat", weights=None, backward_layer=None, **kwargs):
        if not isinstance(layer, Layer):
            raise ValueError(f"Please initialize `Bidirectional` layer with a `lamina.layers.Layer` instance. "
                             f"Received: layer={layer!r}")
        if backward_layer is not None and not isinstance(backward_layer, Layer):
            raise ValueError(f"`backward_layer` need to be a `lamina.layers.Layer` instance. "
                             f"Received: backward_layer={backward_layer!r}")
        if merge_mode not in _MERGE_MODES:
            raise ValueError("Invalid merge mode. Merge mode should be one of {'sum', 'mul', 'ave', 'concat', None}. "
                             f"Received: merge_mode={merge_mode!r}")
        super().__init__(**kwargs)
        self.forward_layer = _copy_layer(layer, _renamed(layer.name, "forward_"))
        if backward_layer is None:
            backward_layer = _copy_layer(layer, _renamed(layer.name, "backward_"), go_backwards=True)
        self.backward_layer = backward_layer
        self._verify_layers()
        for sub in (self.forward_layer, self.backward_layer):
            if getattr(sub, "zero_output_for_mask", None) is not None:
                sub.zero_output_for_mask = sub.return_sequences
        self.merge_mode = merge_mode
        self._bidirectional_weights = list(weights) if weights else None
        self.stateful = layer.stateful
        self.return_sequences = layer.return_sequences
        self.return_state = layer.return_state
        self.supports_masking = True
        self.input_spec = layer.input_spec

    def _verify_layers(self):
        forward, backward = self.forward_layer, self.backward_layer
        if forward.go_backwards == backward.go_backwards:
            raise ValueError("Forward layer and backward layer should have different `go_backwards` value. Received: "
                             f"forward_layer.go_backwards={forward.go_backwards}, "
                             f"backward_layer.go_backwards={backward.go_backwards}")
        for attr in ("stateful", "return_sequences", "return_state"):
            if getattr(forward, attr) != getattr(backward, attr):
                raise ValueError(f'Forward layer and backward layer are expected to have the same value for attribute '
                                 f'"{attr}", got "{getattr(forward, attr)}" for forward layer and '
                                 f'"{getattr(backward, attr)}" for backward layer')

    def build(self, sequences_shape, initial_state_shape=None):
        for sub in (self.forward_layer, self.backward_layer):
            if not sub.built:
                sub.build(tuple(sequences_shape))
        assign_paths(self, self.name)
        if self._bidirectional_weights:
            half = len(self._bidirectional_weights) // 2
            self.forward_layer.set_weights(self._bidirectional_weights[:half])
            self.backward_layer.set_weights(self._bidirectional_weights[half:])
            self._bidirectional_weights = None

    def call(self, sequences, initial_state=None, mask=None, training=None):
        kwargs = {}
        if self.forward_layer._call_has_training:
            kwargs["training"] = training
        if self.forward_layer._call_has_mask:
            kwargs["mask"] = mask
        forward_state = backward_state = None
        if initial_state is not None:
            half = len(initial_state) // 2
            forward_state, backward_state = list(initial_state[:half]), list(initial_state[half:])
        y = self.forward_layer(sequences, initial_state=forward_state, **kwargs)
        y_rev = self.backward_layer(sequences, initial_state=backward_state, **kwargs)
        states = ()
        if self.return_state:
            states = tuple(y[1:]) + tuple(y_rev[1:])
            y, y_rev = y[0], y_rev[0]
        dtype = self._dtype_policy.torch_compute_dtype  # the wrapped layers keep their own dtype, as in Keras
        y, y_rev = y.to(dtype), y_rev.to(dtype)
        if self.return_sequences:
            y_rev = y_rev.flip(1)
        if self.merge_mode == "concat":
            output = (torch.cat([y, y_rev], dim=-1),)
        elif self.merge_mode == "sum":
            output = (y + y_rev,)
        elif self.merge_mode == "ave":
            output = ((y + y_rev) / 2,)
        elif self.merge_mode == "mul":
            output = (y * y_rev,)
        else:
            output = (y, y_rev)
        if self.return_state or self.merge_mode is None:
            return output + states
        return output[0]

    def compute_output_shape(self, sequences_shape, initial_state_shape=None):
        shape = self.forward_layer.compute_output_shape(tuple(sequences_shape))
        states = ()
        if self.return_state:
            shape, states = shape[0], tuple(shape[1:])
        if self.merge_mode == "concat":
            shape = tuple(shape[:-1]) + (None if shape[-1] is None else 2 * shape[-1],)
        outputs = (tuple(shape), tuple(shape)) if self.merge_mode is None else (tuple(shape),)
        if self.return_state or self.merge_mode is None:
            return outputs + states + states
        return outputs[0]

    def compute_mask(self, inputs, mask=None):
        if isinstance(mask, (list, tuple)):
            mask = mask[0]
        output_mask = mask if self.return_sequences else None
        masks = [output_mask, output_mask] if self.merge_mode is None else [output_mask]
        if self.return_state:
            states = len(self.forward_layer.state_size) if hasattr(self.forward_layer, "state_size") else 1
            return masks + [None] * (2 * states)
        return masks if self.merge_mode is None else output_mask

    @property
    def states(self):
        if self.forward_layer.states and self.backward_layer.states:
            return tuple(self.forward_layer.states) + tuple(self.backward_layer.states)
        return None

    def reset_state(self):
        if not self.stateful:
            raise AttributeError("Layer must be stateful.")
        self.forward_layer.reset_state()
        self.backward_layer.reset_state()

    def reset_states(self):
        self.reset_state()

    def get_config(self):
        return {**super().get_config(), "merge_mode": self.merge_mode, "layer": _serialize(self.forward_layer),
                "backward_layer": _serialize(self.backward_layer)}

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = dict(config)
        config["layer"] = _deserialize(config["layer"], custom_objects)
        if config.get("backward_layer") is not None:
            config["backward_layer"] = _deserialize(config["backward_layer"], custom_objects)
        return super().from_config(config)

    def __repr__(self):
        return f"<Bidirectional name={self.name}, layer={self.forward_layer.name}, merge_mode={self.merge_mode}, " \
               f"built={self.built}>"


class TimeDistributed(Layer):
    """Applies ``layer`` to every timestep (axis 1) of its input, with the same weights.

    Time is folded into the batch axis: the inner layer runs once on
    ``(batch * time, ...)`` inputs and its output is unfolded to ``(batch, time, ...)``.
    The input mask (``(batch, time)``) is passed on folded to layers that take one, and
    is the output mask.

    Args:
        layer: a `Layer` instance.

    Input shape:
        ``(batch, time, ...)``, rank 3 or more.
    """

    def __init__(self, layer, **kwargs):
        if not isinstance(layer, Layer):
            raise ValueError(f"Please initialize `TimeDistributed` layer with a `lamina.layers.Layer` instance. "
                             f"Received: layer={layer!r}")
        super().__init__(**kwargs)
        self.layer = layer
        self.supports_masking = True

    def _child_shape(self, input_shape):
        if not isinstance(input_shape, (tuple, list)) or len(input_shape) < 3:
            raise ValueError("`TimeDistributed` Layer should be passed an `input_shape` with at least 3 dimensions, "
                             f"received: input_shape={input_shape}")
        return (input_shape[0],) + tuple(input_shape[2:])

    def build(self, input_shape):
        if not self.layer.built:
            child = self._child_shape(tuple(input_shape))
            self.layer.build(child)
            self.layer.built = True
            object.__setattr__(self.layer, "_build_shapes", child)
            assign_paths(self, self.name)

    def call(self, inputs, training=None, mask=None):
        shape = tuple(inputs.shape)
        self._child_shape(shape)
        batch, steps = shape[0], shape[1]
        kwargs = {}
        if self.layer._call_has_training:
            kwargs["training"] = training
        if mask is not None and self.layer._call_has_mask:
            if tuple(mask.shape[:2]) != (batch, steps):
                raise ValueError(f"`TimeDistributed` Layer should be passed a `mask` of shape ({batch}, {steps}, ...), "
                                 f"received: mask.shape={tuple(mask.shape)}")
            kwargs["mask"] = mask.reshape((batch * steps,) + tuple(mask.shape[2:]))
        outputs = self.layer(inputs.reshape((batch * steps,) + shape[2:]), **kwargs)

        def unfold(y):
            return y.reshape((batch, steps) + tuple(y.shape[1:]))

        if isinstance(outputs, (list, tuple)):
            return type(outputs)(unfold(y) for y in outputs)
        return unfold(outputs)

    def compute_output_shape(self, input_shape):
        child = self.layer.compute_output_shape(self._child_shape(tuple(input_shape)))
        return (child[0], input_shape[1]) + tuple(child[1:])

    def get_config(self):
        return {**super().get_config(), "layer": _serialize(self.layer)}

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = dict(config)
        config["layer"] = _deserialize(config["layer"], custom_objects)
        return super().from_config(config)

    def __repr__(self):
        return f"<TimeDistributed name={self.name}, layer={self.layer.name}, built={self.built}>"
