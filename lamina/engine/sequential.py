"""`Sequential`: a plain stack of layers, each with one input and one output.

With a known input shape (an `Input` first, or ``input_shape=`` on the first
layer) the stack is built at once as a functional graph; otherwise it builds on
the first call.

>>> import numpy as np, lamina
>>> from lamina import layers
>>> model = lamina.Sequential([layers.Dense(4, activation="relu"), layers.Dense(1)])
>>> model.built
False
>>> model(np.ones((2, 3))).shape
torch.Size([2, 1])
>>> [layer.name for layer in model.layers] == [model.layers[0].name, model.layers[1].name]
True
"""

import torch

from lamina.backend.naming import unique_name
from lamina.engine.input_layer import InputLayer
from lamina.engine.keras_tensor import KerasTensor
from lamina.engine.layer import Layer
from lamina.engine.model import Model


class Sequential(Model):
    """A linear stack of layers.

    Args:
        layers: an optional list of layers (an `Input` tensor may come first).
        trainable: whether the model's weights are trainable.
        name: the model's name (``sequential``, ``sequential_1``, ... by default).
    """

    def __init__(self, layers=None, trainable=True, name=None, **kwargs):
        kwargs.pop("dtype", None)
        if kwargs:
            raise TypeError(f"Unrecognized keyword arguments passed to Sequential: {sorted(kwargs)}")
        Model.__init__(self, name=name or unique_name("sequential"), trainable=trainable)
        object.__setattr__(self, "_stack", [])
        object.__setattr__(self, "_functional", None)
        for layer in layers or []:
            self.add(layer, rebuild=False)
        self._maybe_rebuild()

    # ---- composition -----------------------------------------------------------------------------------
    def add(self, layer, rebuild=True):
        """Appends ``layer`` (or the InputLayer behind an `Input` tensor) to the stack."""
        if isinstance(layer, KerasTensor) and layer._keras_history is not None and isinstance(
                layer._keras_history[0], InputLayer):
            layer = layer._keras_history[0]
        if not isinstance(layer, Layer):
            raise ValueError(
                "Only instances of `lamina.layers.Layer` can be added to a Sequential model. "
                f"Received: {layer!r} (of type {type(layer).__name__})"
            )
        if isinstance(layer, InputLayer):
            if self._stack and isinstance(self._stack[0], InputLayer):
                raise ValueError(f"Sequential model '{self.name}' has already been configured with an input.")
            if self._stack:
                raise ValueError("An InputLayer can only be added as the first layer of a Sequential model.")
        if any(existing.name == layer.name for existing in self._stack):
            raise ValueError(
                f"All layers added to a Sequential model should have unique names. Name '{layer.name}' is "
                f"already the name of a layer in this model. Update the `name` argument to pass a unique name."
            )
        if not self._stack and not isinstance(layer, InputLayer) and getattr(layer, "_batch_input_shape", None):
            self._stack.append(InputLayer(batch_shape=layer._batch_input_shape))
        self._stack.append(layer)
        if not isinstance(layer, InputLayer):
            self._track_layer(layer)
            self._modules[layer.name] = layer
        self.built = False
        object.__setattr__(self, "_functional", None)
        if rebuild:
            self._maybe_rebuild()

    def pop(self, rebuild=True):
        """Removes and returns the last layer."""
        if not self.layers:
            raise IndexError("There are no layers in the model.")
        layer = self._stack.pop()
        self._layers = [existing for existing in self._layers if existing is not layer]
        self._modules.pop(layer.name, None)
        self.built = False
        object.__setattr__(self, "_functional", None)
        if rebuild:
            self._maybe_rebuild()
        return layer

    @property
    def layers(self):
        """The layers of the stack (the InputLayer, if any, is not listed, as in Keras)."""
        return [layer for layer in self._stack if not isinstance(layer, InputLayer)]

    # ---- building --------------------------------------------------------------------------------------
    def _maybe_rebuild(self):
        if self._stack and isinstance(self._stack[0], InputLayer) and len(self._stack) > 1:
            self._build_graph(self._stack[0].output_tensor)

    def _build_graph(self, inputs):
        from lamina.engine.functional import Functional

        x = inputs
        for layer in self._stack:
            if isinstance(layer, InputLayer):
                continue
            x = layer(x)
            if not isinstance(x, KerasTensor):
                raise ValueError(
                    f"All layers in a Sequential model should have a single output tensor; layer "
                    f"'{layer.name}' returned {type(x).__name__}. For multi-output layers, use the functional API."
                )
        object.__setattr__(self, "_functional", Functional(inputs, x, name=f"{self.name}_graph"))
        self.built = True

    def build(self, input_shape=None):
        """Builds the stack for inputs of ``input_shape`` (batch axis included)."""
        if input_shape is None:
            if self._stack and isinstance(self._stack[0], InputLayer):
                self._maybe_rebuild()
                return
            raise ValueError("You must provide an `input_shape` argument to build a Sequential model.")
        input_shape = tuple(input_shape)
        if not (self._stack and isinstance(self._stack[0], InputLayer)):
            self._stack.insert(0, InputLayer(batch_shape=input_shape))
        self._build_graph(self._stack[0].output_tensor)

    def _maybe_build(self, args, kwargs):
        if self.built:
            return
        first = args[0] if args else None
        if isinstance(first, (torch.Tensor, KerasTensor)):
            shape = (None,) + tuple(first.shape[1:])
            dtype = first.dtype if isinstance(first, KerasTensor) else str(first.dtype).replace("torch.", "")
            if not (self._stack and isinstance(self._stack[0], InputLayer)):
                self._stack.insert(0, InputLayer(batch_shape=shape, dtype=dtype))
            self._build_graph(self._stack[0].output_tensor)
        self.built = True

    # ---- execution -------------------------------------------------------------------------------------
    def call(self, inputs, training=None, mask=None):
        if self._functional is not None:
            return self._functional.call(inputs, mask=mask)
        x = inputs
        for layer in self.layers:
            x = layer(x)
        return x

    @property
    def inputs(self):
        return self._functional.inputs if self._functional is not None else None

    @property
    def outputs(self):
        return self._functional.outputs if self._functional is not None else None

    @property
    def input(self):
        return self._functional.input if self._functional is not None else None

    @property
    def output(self):
        return self._functional.output if self._functional is not None else None

    @property
    def input_shape(self):
        if self._functional is None:
            raise AttributeError(f"Sequential model '{self.name}' has no defined input shape yet.")
        return self._functional.input_shape

    @property
    def output_shape(self):
        if self._functional is None:
            raise AttributeError(f"Sequential model '{self.name}' has no defined output shape yet.")
        return self._functional.output_shape

    def compute_output_shape(self, input_shape):
        shape = tuple(input_shape)
        for layer in self.layers:
            shape = layer.compute_output_shape(shape)
        return shape

    def get_config(self):
        from lamina.saving.functional_config import sequential_config

        return sequential_config(self)

    @classmethod
    def from_config(cls, config, custom_objects=None):
        from lamina.saving.functional_config import sequential_from_config

        return sequential_from_config(cls, config, custom_objects)
