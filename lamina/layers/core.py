"""Core layers: Dense, Activation, Identity, Embedding, Masking (+ Lambda, EinsumDense, TorchModuleWrapper).

Weights follow Keras layouts (Dense kernel ``(in, units)``, Embedding ``(input_dim,
output_dim)``) so ``get_weights()`` and files match Keras; ``call`` reads the torch
Parameter (``variable.value``) directly to stay on torch's fast path.

>>> import torch
>>> from lamina import layers
>>> dense = layers.Dense(3, activation="relu", name="hidden")
>>> dense(torch.ones(2, 4)).shape
torch.Size([2, 3])
>>> dense
<Dense name=hidden, units=3, built=True>
"""

import numpy as np
import torch
import torch.nn.functional as F

from lamina import activations, constraints, initializers, regularizers
from lamina.engine.input_spec import InputSpec
from lamina.engine.layer import Layer
from lamina.layers.einsum_dense import EinsumDense
from lamina.layers.lambda_layer import Lambda
from lamina.layers.torch_wrapper import TorchModuleWrapper

__all__ = ["Dense", "EinsumDense", "Activation", "Identity", "Lambda", "Embedding", "Masking", "TorchModuleWrapper"]


def positive_int(value, name, layer):
    """``value`` as an int, or a ValueError naming ``layer`` and the argument."""
    if isinstance(value, (int, np.integer, float)) and not isinstance(value, bool) and float(value).is_integer():
        if value > 0:
            return int(value)
    raise ValueError(
        f"Received an invalid value for `{name}` of {layer}, expected a positive integer. Received: {name}={value!r}"
    )


def drop_unsupported(kwargs, layer, names=("lora_rank", "lora_alpha", "quantization_config")):
    """Removes Keras 3 options lamina does not implement; accepts them only at their off value."""
    for name in names:
        value = kwargs.pop(name, None)
        if value is not None:
            raise ValueError(f"{layer} in lamina does not support `{name}` yet. Received: {name}={value!r}")
    return kwargs


def drop_tf_keras_extras(kwargs, layer, fixed=None, ignored=()):
    """Removes arguments tf.keras 2 writes into a layer's config that the Keras 3 layer does not have.

    ``fixed`` maps a name to the one value lamina's computation means (``groups=1`` for
    transposed and depthwise convolutions); any other value is refused. ``ignored`` names
    arguments tf.keras 2 writes but never uses (SeparableConv's ``kernel_initializer``).
    """
    for name, allowed in (fixed or {}).items():
        if name in kwargs and kwargs.pop(name) != allowed:
            raise ValueError(f"{layer} in lamina supports only `{name}={allowed!r}` (a tf.keras 2 argument).")
    for name in ignored:
        kwargs.pop(name, None)
    return kwargs


def _serialize(module, obj):
    return None if obj is None else module.serialize(obj)


class Dense(Layer):
    """The densely connected layer: ``activation(inputs @ kernel + bias)``.

    Inputs of rank > 2 are multiplied along their last axis:
    ``(batch, ..., input_dim) -> (batch, ..., units)``.

    Args:
        units: positive int, the size of the last output axis.
        activation: activation name or callable; ``None`` means linear.
        use_bias: whether to add a bias vector.
        kernel_initializer, bias_initializer: initializers of the weights.
        kernel_regularizer, bias_regularizer: penalties on the weights (added to `losses`).
        activity_regularizer: penalty on the output.
        kernel_constraint, bias_constraint: projections applied after optimizer updates.

    Input shape:
        ``(batch_size, ..., input_dim)``.

    Output shape:
        ``(batch_size, ..., units)``.

    >>> import torch
    >>> layer = Dense(2, kernel_initializer="ones")
    >>> layer(torch.ones(1, 3)).tolist()
    [[3.0, 3.0]]
    >>> [w.shape for w in layer.weights]
    [(3, 2), (2,)]
    """

    def __init__(self, units, activation=None, use_bias=True, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", kernel_regularizer=None, bias_regularizer=None,
                 activity_regularizer=None, kernel_constraint=None, bias_constraint=None, **kwargs):
        super().__init__(activity_regularizer=activity_regularizer, **drop_unsupported(kwargs, "Dense"))
        self.units = positive_int(units, "units", "Dense")
        self.activation = activations.get(activation)
        self._linear = self.activation is activations.linear
        self.use_bias = bool(use_bias)
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.kernel_constraint = constraints.get(kernel_constraint)
        self.bias_constraint = constraints.get(bias_constraint)
        self.input_spec = InputSpec(min_ndim=2)
        self.kernel = None
        self.bias = None

    def build(self, input_shape):
        input_dim = input_shape[-1]
        if input_dim is None:
            raise ValueError(
                f'Layer "{self.name}" (Dense) needs a known last input dimension to create its kernel. '
                f"Received: input_shape={tuple(input_shape)}"
            )
        self.kernel = self.add_weight(shape=(input_dim, self.units), initializer=self.kernel_initializer,
                                      regularizer=self.kernel_regularizer, constraint=self.kernel_constraint,
                                      name="kernel")
        if self.use_bias:
            self.bias = self.add_weight(shape=(self.units,), initializer=self.bias_initializer,
                                        regularizer=self.bias_regularizer, constraint=self.bias_constraint,
                                        name="bias")
        self.input_spec = InputSpec(min_ndim=2, axes={-1: input_dim})

    def call(self, inputs):
        kernel = self.kernel.value
        bias = self.bias.value if self.bias is not None else None
        if inputs.dtype != kernel.dtype:
            if inputs.is_floating_point():  # mixed precision: compute in the input's (compute) dtype
                kernel = kernel.to(inputs.dtype)
                bias = bias.to(inputs.dtype) if bias is not None else None
            else:
                inputs = inputs.to(kernel.dtype)
        # addmm fuses the bias into the matrix product (fastest on CPU, see the module notes).
        flat = inputs if inputs.dim() == 2 else inputs.reshape(-1, inputs.shape[-1])
        out = torch.addmm(bias, flat, kernel) if bias is not None else flat.mm(kernel)
        if not self._linear:
            out = activations.apply_to_fresh(self.activation, out)
        if inputs.dim() != 2:
            out = out.view(*inputs.shape[:-1], self.units)
        return out

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1]) + (self.units,)

    def __repr__(self):
        return f"<Dense name={self.name}, units={self.units}, built={self.built}>"

    def get_config(self):
        return {
            **super().get_config(),
            "units": self.units,
            "activation": activations.serialize(self.activation),
            "use_bias": self.use_bias,
            "kernel_initializer": _serialize(initializers, self.kernel_initializer),
            "bias_initializer": _serialize(initializers, self.bias_initializer),
            "kernel_regularizer": _serialize(regularizers, self.kernel_regularizer),
            "bias_regularizer": _serialize(regularizers, self.bias_regularizer),
            "kernel_constraint": _serialize(constraints, self.kernel_constraint),
            "bias_constraint": _serialize(constraints, self.bias_constraint),
            "quantization_config": None,
        }


class Activation(Layer):
    """Applies an activation function to its input.

    Args:
        activation: activation name (``'relu'``) or callable.

    >>> import torch
    >>> Activation("relu")(torch.tensor([[-1.0, 2.0]])).tolist()
    [[0.0, 2.0]]
    """

    supports_masking = True

    def __init__(self, activation, **kwargs):
        super().__init__(**kwargs)
        self.activation = activations.get(activation)

    def call(self, inputs):
        return self.activation(inputs)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "activation": activations.serialize(self.activation)}


class Identity(Layer):
    """Returns its input unchanged (a placeholder layer).

    >>> import torch
    >>> Identity()(torch.ones(2)).tolist()
    [1.0, 1.0]
    """

    supports_masking = True

    def call(self, inputs):
        return inputs

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return super().get_config()


class Embedding(Layer):
    """Maps integer indices to dense vectors: ``outputs[...] = embeddings[inputs[...]]``.

    Args:
        input_dim: vocabulary size (largest index + 1).
        output_dim: size of each vector.
        embeddings_initializer, embeddings_regularizer, embeddings_constraint: for the
            ``embeddings`` weight of shape ``(input_dim, output_dim)``.
        mask_zero: index 0 is padding: the output mask is ``inputs != 0``.
        weights: initial value (Keras 2 style), e.g. a pretrained matrix.
        input_length: Keras 2 argument; sets the expected input length.

    Input shape:
        ``(batch_size, ...)`` integers. Float inputs holding whole numbers are accepted
        and cast, as Keras does; other values raise a ``ValueError``.

    Output shape:
        ``(batch_size, ..., output_dim)``.

    >>> import torch
    >>> layer = Embedding(10, 3, mask_zero=True)
    >>> out = layer(torch.tensor([[1, 0, 4]]))
    >>> out.shape, out._keras_mask.tolist()
    (torch.Size([1, 3, 3]), [[True, False, True]])
    """

    def __init__(self, input_dim, output_dim, embeddings_initializer="uniform", embeddings_regularizer=None,
                 embeddings_constraint=None, mask_zero=False, weights=None, input_length=None, **kwargs):
        if input_length is not None and not any(k in kwargs for k in ("input_shape", "batch_input_shape")):
            kwargs["input_shape"] = (input_length,) if isinstance(input_length, int) else tuple(input_length)
        super().__init__(**drop_unsupported(kwargs, "Embedding"))
        self.input_dim = positive_int(input_dim, "input_dim", "Embedding")
        self.output_dim = positive_int(output_dim, "output_dim", "Embedding")
        self.embeddings_initializer = initializers.get(embeddings_initializer)
        self.embeddings_regularizer = regularizers.get(embeddings_regularizer)
        self.embeddings_constraint = constraints.get(embeddings_constraint)
        self.mask_zero = bool(mask_zero)
        self.supports_masking = self.mask_zero
        self.embeddings = None
        if weights is not None:
            self.build()
            self.set_weights(weights if isinstance(weights, (list, tuple)) else [weights])

    def build(self, input_shape=None):
        self.embeddings = self.add_weight(shape=(self.input_dim, self.output_dim),
                                          initializer=self.embeddings_initializer,
                                          regularizer=self.embeddings_regularizer,
                                          constraint=self.embeddings_constraint, name="embeddings")

    def call(self, inputs):
        if inputs.dtype not in (torch.int64, torch.int32):
            inputs = self._as_indices(inputs)
        try:
            out = F.embedding(inputs, self.embeddings.value)
        except IndexError as error:
            raise ValueError(
                f'Layer "{self.name}" (Embedding) received an index outside [0, input_dim={self.input_dim}). '
                f"Received: indices in [{int(inputs.min())}, {int(inputs.max())}]"
            ) from error
        compute = self._dtype_policy.torch_compute_dtype
        return out if out.dtype == compute else out.to(compute)

    def _as_indices(self, inputs):
        if inputs.is_floating_point():
            if not bool(torch.equal(inputs, torch.trunc(inputs))):
                raise ValueError(
                    f'Layer "{self.name}" (Embedding) expects integer indices, but received a {inputs.dtype} input '
                    "with non-integer values. Pass integers (e.g. `Input(shape, dtype='int32')`). "
                    f"Received: inputs.dtype={str(inputs.dtype).removeprefix('torch.')}"
                )
            return inputs.long()
        if inputs.dtype == torch.bool or inputs.is_complex():
            raise TypeError(
                f'Layer "{self.name}" (Embedding) expects integer indices. '
                f"Received: inputs.dtype={str(inputs.dtype).removeprefix('torch.')}"
            )
        return inputs.long()

    def compute_mask(self, inputs, mask=None):
        if not self.mask_zero:
            return None
        return inputs != 0

    def compute_output_shape(self, input_shape):
        return tuple(input_shape) + (self.output_dim,)

    def get_config(self):
        return {
            **super().get_config(),
            "input_dim": self.input_dim,
            "output_dim": self.output_dim,
            "embeddings_initializer": _serialize(initializers, self.embeddings_initializer),
            "embeddings_regularizer": _serialize(regularizers, self.embeddings_regularizer),
            "activity_regularizer": _serialize(regularizers, self.activity_regularizer),
            "embeddings_constraint": _serialize(constraints, self.embeddings_constraint),
            "mask_zero": self.mask_zero,
            "quantization_config": None,
        }


class Masking(Layer):
    """Masks timesteps whose features all equal ``mask_value``, and zeroes them.

    The output mask is ``any(inputs != mask_value, axis=-1)``; downstream layers that
    support masking (RNNs, pooling, ...) skip the masked timesteps.

    >>> import torch
    >>> out = Masking()(torch.tensor([[[1.0], [0.0], [2.0]]]))
    >>> out._keras_mask.tolist()
    [[True, False, True]]
    """

    supports_masking = True

    def __init__(self, mask_value=0.0, **kwargs):
        super().__init__(**kwargs)
        self.mask_value = mask_value

    def compute_mask(self, inputs, mask=None):
        return torch.any(inputs != self.mask_value, dim=-1)

    def call(self, inputs):
        keep = torch.any(inputs != self.mask_value, dim=-1, keepdim=True)
        return inputs * keep.to(inputs.dtype)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "mask_value": self.mask_value}
