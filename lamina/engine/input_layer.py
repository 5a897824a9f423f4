"""`Input` and `InputLayer`: where a functional graph starts.

>>> import lamina
>>> x = lamina.Input(shape=(2,), name="features")
>>> x.shape, x.dtype
((None, 2), 'float32')
>>> x._keras_history[0]
<InputLayer name=features, built=True>
"""

import torch

from lamina.backend.dtypes import standardize_dtype
from lamina.backend.naming import unique_name
from lamina.engine.keras_tensor import KerasTensor
from lamina.engine.layer import Layer
from lamina.engine.node import Node


class InputLayer(Layer):
    """The layer behind `Input`: it has no weights and outputs its input unchanged.

    Args:
        shape: the shape without the batch axis, e.g. ``(28, 28, 1)``.
        batch_size: an optional fixed batch size.
        dtype: the dtype of the data (floatx by default).
        sparse: accepted for Keras compatibility (lamina feeds dense tensors).
        batch_shape: the full shape including the batch axis (instead of ``shape``).
        input_tensor: an existing tensor to take the shape and dtype from.
        optional: whether the input may be ``None``.
        name: the layer's name (``input_1``, ``input_2``, ... by default, as in tf.keras).
    """

    def __init__(self, shape=None, batch_size=None, dtype=None, sparse=None, batch_shape=None, input_tensor=None,
                 optional=False, name=None, ragged=None, batch_input_shape=None, input_shape=None, **kwargs):
        shape = input_shape if shape is None else shape
        batch_shape = batch_input_shape if batch_shape is None else batch_shape
        if input_tensor is not None and shape is None and batch_shape is None:
            batch_shape = tuple(input_tensor.shape)
            if isinstance(input_tensor, torch.Tensor) and dtype is None:
                dtype = input_tensor.dtype
        if shape is not None and batch_shape is not None:
            raise ValueError(
                "You cannot pass both `shape` and `batch_shape` at the same time. "
                f"Received: shape={shape}, batch_shape={batch_shape}"
            )
        if shape is None and batch_shape is None:
            raise ValueError("You must pass a `shape` argument to Input, e.g. Input(shape=(32,)). Received: shape=None")
        if batch_shape is None:
            if isinstance(shape, int):
                shape = (shape,)
            if not isinstance(shape, (list, tuple)):
                raise TypeError(f"Input `shape` must be a tuple of ints or None. Received: shape={shape!r}")
            batch_shape = (batch_size,) + tuple(shape)
        batch_shape = tuple(None if d is None else _dim(d, batch_shape) for d in batch_shape)
        if name is None:
            name = unique_name("input")
            name = _keras2_input_name(name)
        input_dtype = standardize_dtype(dtype)
        policy = dtype if input_dtype in ("float16", "bfloat16", "float32", "float64") else None
        super().__init__(name=name, dtype=policy, **{k: v for k, v in kwargs.items() if k == "trainable"})
        self.batch_shape = batch_shape
        self.sparse = bool(sparse)
        self.ragged = bool(ragged)
        self.optional = bool(optional)
        self._input_dtype = input_dtype
        self.built = True
        tensor = KerasTensor(batch_shape, self._input_dtype, sparse=self.sparse, name=self.name)
        Node(self, (), {}, tensor)
        self.output_tensor = tensor

    @property
    def dtype(self):
        return self._input_dtype

    def call(self, inputs):
        return inputs

    def get_config(self):
        return {
            "batch_shape": list(self.batch_shape),
            "dtype": self._input_dtype,
            "sparse": self.sparse,
            "ragged": self.ragged,
            "name": self.name,
            "optional": self.optional,
        }

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        if "batch_input_shape" in config:
            config["batch_shape"] = config.pop("batch_input_shape")
        return cls(**config)


def _dim(d, shape):
    if isinstance(d, bool) or not isinstance(d, int) or d < 0:
        try:
            d = int(d)
        except (TypeError, ValueError):
            d = -1
        if d < 0:
            raise ValueError(f"Input shape dimensions must be non-negative ints or None. Received: shape={shape}")
    return d


def _keras2_input_name(name):
    # unique_name gives input, input_1, ...; tf.keras numbers inputs from 1: input_1, input_2, ...
    if name == "input":
        return "input_1"
    base, _, count = name.rpartition("_")
    return f"{base}_{int(count) + 1}"


def Input(shape=None, batch_size=None, dtype=None, sparse=None, batch_shape=None, name=None, tensor=None,
          optional=False, ragged=None):
    """A symbolic input: the placeholder a functional model starts from.

    Args:
        shape: the shape of one sample, without the batch axis (e.g. ``(32,)``).
        batch_size: an optional fixed batch size.
        dtype: the expected dtype (floatx by default).
        sparse: accepted for Keras compatibility.
        batch_shape: the full shape including the batch axis, instead of ``shape``.
        name: a unique name; ``input_1``, ``input_2``, ... by default.
        tensor: an existing tensor to take the shape and dtype from.
        optional: whether the input may be ``None`` when the model is called.

    Returns:
        A `KerasTensor`.
    """
    layer = InputLayer(shape=shape, batch_size=batch_size, dtype=dtype, sparse=sparse, batch_shape=batch_shape,
                       name=name, input_tensor=tensor, optional=optional, ragged=ragged)
    return layer.output_tensor
