"""`SpectralNormalization`: a wrapper that divides a layer's kernel by its largest singular value.

As in Keras 3, each training call runs ``power_iterations`` steps of the power method
from the non-trainable ``vector_u`` (shape ``(1, kernel.shape[-1])``), then *assigns*
``kernel / sigma`` to the wrapped layer's kernel and the new ``u`` to ``vector_u``
(no gradient flows through ``sigma``); inference calls use the kernel as it is.

>>> import torch
>>> from lamina import layers
>>> wrapped = layers.SpectralNormalization(layers.Dense(3))
>>> wrapped(torch.ones(2, 4), training=True).shape
torch.Size([2, 3])
>>> [w.name for w in wrapped.weights]
['kernel', 'bias', 'vector_u']
"""

import torch

from lamina import initializers
from lamina.engine.input_spec import InputSpec
from lamina.engine.layer import Layer


def _l2_normalize(x, epsilon=1e-7):
    """``x`` over its L2 norm (norms below ``epsilon`` count as ``epsilon``), over all elements."""
    return x * torch.clamp(torch.rsqrt(torch.sum(torch.square(x))), max=1.0 / epsilon)


class SpectralNormalization(Layer):
    """Spectral normalization of the ``kernel`` (or ``embeddings``) of a wrapped layer.

    Args:
        layer: a layer with a ``kernel`` (Dense, Conv2D, ...) or ``embeddings`` (Embedding) weight.
        power_iterations: power-method steps per training call (``>= 1``).

    Call arguments:
        training: normalize (and update) the kernel when true.
    """

    def __init__(self, layer, power_iterations=1, **kwargs):
        super().__init__(**kwargs)
        if isinstance(layer, dict):  # a serialized layer (from_config)
            from lamina.layers.serialization import deserialize

            layer = deserialize(layer)
        if not isinstance(layer, Layer):
            raise ValueError(
                "The `layer` argument of SpectralNormalization must be a lamina layer. "
                f"Received: layer={layer!r} (of type {type(layer).__name__})"
            )
        if not isinstance(power_iterations, int) or isinstance(power_iterations, bool) or power_iterations <= 0:
            raise ValueError(
                "`power_iterations` of SpectralNormalization should be greater than zero. "
                f"Received: power_iterations={power_iterations!r}"
            )
        self.layer = layer
        self.power_iterations = power_iterations
        self.vector_u = None
        self.kernel = None

    def build(self, input_shape):
        if not self.layer.built:
            self.layer.build(input_shape)
            for variable in self.layer.weights:  # built inside the wrapper: nested paths, as in Keras 3
                variable.path = f"{self.name}/{variable.path}"
        self.input_spec = InputSpec(min_ndim=1, axes={-1: input_shape[-1]})
        kernel = getattr(self.layer, "kernel", None)
        if kernel is None:
            kernel = getattr(self.layer, "embeddings", None)
        if kernel is None:
            raise ValueError(
                f'Layer "{self.name}" (SpectralNormalization): the wrapped {type(self.layer).__name__} has no '
                "attribute 'kernel' nor 'embeddings'. Received: layer=" + repr(self.layer)
            )
        object.__setattr__(self, "kernel", kernel)  # the wrapped layer's weight: not tracked twice
        self.vector_u = self.add_weight(shape=(1, kernel.shape[-1]),
                                        initializer=initializers.TruncatedNormal(stddev=0.02), trainable=False,
                                        name="vector_u", dtype=kernel.dtype)

    def _keras_own_variables(self):
        """Keras 3 tracks the wrapped kernel as this layer's own too: ``[kernel, vector_u]`` in its files."""
        return [self.kernel, self.vector_u]

    def call(self, inputs, training=False):
        if training:
            with torch.no_grad():
                kernel = self.kernel.value
                if bool(torch.any(kernel != 0)):
                    vector_u, normalized = self.normalized_weights()
                    self.vector_u.value.copy_(vector_u)
                    kernel.copy_(normalized)
        return self.layer(inputs)

    def normalized_weights(self):
        """``(new vector_u, kernel / sigma)`` after ``power_iterations`` power-method steps."""
        kernel = self.kernel.value
        weights = kernel.reshape(-1, kernel.shape[-1])
        vector_u = self.vector_u.value.to(weights.dtype)
        with torch.no_grad():
            for _ in range(self.power_iterations):
                vector_v = _l2_normalize(vector_u @ weights.T)
                vector_u = _l2_normalize(vector_v @ weights)
        sigma = (vector_v @ weights) @ vector_u.T
        return vector_u, (kernel / sigma).reshape(kernel.shape)

    def compute_output_shape(self, input_shape):
        return self.layer.compute_output_shape(input_shape)

    def __repr__(self):
        return f"<SpectralNormalization name={self.name}, layer={self.layer.name}, built={self.built}>"

    def get_config(self):
        from lamina.layers.serialization import serialize

        return {**super().get_config(), "layer": serialize(self.layer), "power_iterations": self.power_iterations}
