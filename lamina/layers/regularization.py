"""Regularization layers: Dropout and its spatial/Gaussian/alpha variants, ActivityRegularization.

The random layers act only when called with ``training=True`` (``fit`` sets it) and
return their input unchanged otherwise. ``seed=None`` draws from torch's global
generator (repeatable with `lamina.utils.set_random_seed`); an int seed gives the
layer its own random stream.

>>> import torch
>>> from lamina import layers
>>> layer = layers.Dropout(0.5, seed=1)
>>> bool((layer(torch.ones(4, 4)) == 1).all())
True
>>> sorted(set(layer(torch.ones(4, 4), training=True).flatten().tolist()))
[0.0, 2.0]
"""

import math

from lamina.backend import random
from lamina.backend.config import standardize_data_format
from lamina.engine.input_spec import InputSpec
from lamina.engine.layer import Layer


def _check_rate(rate, layer, name="rate"):
    if isinstance(rate, bool) or not isinstance(rate, (int, float)) or not 0 <= rate < 1:
        raise ValueError(
            f"Invalid value received for argument `{name}` of {layer}. Expected a float value in [0, 1). "
            f"Received: {name}={rate!r}"
        )
    return rate


def _seed_generator(seed, layer):
    if seed is None:
        return None
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise ValueError(f"The `seed` argument of {layer} must be an int or None. Received: seed={seed!r}")
    return random.SeedGenerator(seed)


class _RandomLayer(Layer):
    """Holds ``rate``/``seed`` and the layer's random stream; identity outside training."""

    supports_masking = True

    def __init__(self, rate, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.rate = _check_rate(rate, type(self).__name__)
        self.seed = seed
        self.seed_generator = _seed_generator(seed, type(self).__name__)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "rate": self.rate, "seed": self.seed}


class Dropout(_RandomLayer):
    """Sets a fraction ``rate`` of inputs to 0 in training and scales the rest by ``1 / (1 - rate)``.

    Args:
        rate: fraction of the inputs to drop, in ``[0, 1)``.
        noise_shape: shape of the keep/drop mask, broadcast over the input; ``None``
            entries take the input's size (e.g. ``(None, 1, None)`` drops whole timesteps'
            features consistently across time).
        seed: int for a repeatable random stream.

    >>> import torch
    >>> Dropout(0.5, noise_shape=(None, 1), seed=0)(torch.ones(2, 3), training=True).shape
    torch.Size([2, 3])
    """

    def __init__(self, rate, noise_shape=None, seed=None, **kwargs):
        super().__init__(rate, seed, **kwargs)
        self.noise_shape = tuple(noise_shape) if isinstance(noise_shape, list) else noise_shape

    def call(self, inputs, training=False):
        if training and self.rate > 0:
            return random.dropout(inputs, self.rate, noise_shape=self._noise_shape(inputs), seed=self.seed_generator)
        return inputs

    def _noise_shape(self, inputs):
        return self.noise_shape

    def get_config(self):
        return {**super().get_config(), "noise_shape": self.noise_shape}


class _SpatialDropout(Dropout):
    rank = None

    def __init__(self, rate, data_format=None, seed=None, **kwargs):
        super().__init__(rate, seed=seed, **kwargs)
        self.data_format = standardize_data_format(data_format)
        self.input_spec = InputSpec(ndim=self.rank + 2)

    def _noise_shape(self, inputs):
        # One keep/drop decision per (sample, channel): whole feature maps are dropped.
        shape = [inputs.shape[0]] + [1] * self.rank
        channel_axis = 1 if self.data_format == "channels_first" else len(shape)
        shape.insert(channel_axis, inputs.shape[channel_axis])
        return tuple(shape)

    # Keras 3 writes ``rate, seed, name, dtype, data_format`` (1D: no ``data_format``) and its
    # constructor refuses ``trainable``: the same keys here, so that Keras loads lamina's files.
    _config_has_trainable = False

    def get_config(self):
        return {"rate": self.rate, "seed": self.seed, "name": self.name, "dtype": self._dtype_policy.name,
                "data_format": self.data_format}


class SpatialDropout1D(_SpatialDropout):
    """Drops entire channels of ``(batch, steps, channels)`` inputs (same mask for every step).

    >>> import torch
    >>> out = SpatialDropout1D(0.5, seed=3)(torch.ones(2, 5, 4), training=True)
    >>> bool((out == out[:, :1]).all())
    True
    """

    rank = 1

    def __init__(self, rate, seed=None, **kwargs):
        super().__init__(rate, data_format="channels_last", seed=seed, **kwargs)

    def get_config(self):
        config = super().get_config()
        del config["data_format"]
        return config


class SpatialDropout2D(_SpatialDropout):
    """Drops entire 2D feature maps (channels) of 4D inputs.

    >>> import torch
    >>> SpatialDropout2D(0.5)(torch.ones(1, 4, 4, 3), training=True).shape
    torch.Size([1, 4, 4, 3])
    """

    rank = 2


class SpatialDropout3D(_SpatialDropout):
    """Drops entire 3D feature maps (channels) of 5D inputs.

    >>> import torch
    >>> SpatialDropout3D(0.5)(torch.ones(1, 2, 2, 2, 3), training=True).shape
    torch.Size([1, 2, 2, 2, 3])
    """

    rank = 3


class GaussianNoise(Layer):
    """Adds zero-centred Gaussian noise of standard deviation ``stddev`` in training.

    >>> import torch
    >>> GaussianNoise(0.1)(torch.zeros(2, 3)).tolist()
    [[0.0, 0.0, 0.0], [0.0, 0.0, 0.0]]
    """

    supports_masking = True

    def __init__(self, stddev, seed=None, **kwargs):
        super().__init__(**kwargs)
        if isinstance(stddev, bool) or not isinstance(stddev, (int, float)) or stddev < 0:
            raise ValueError(
                "Invalid value received for argument `stddev` of GaussianNoise. Expected a non-negative float. "
                f"Received: stddev={stddev!r}"
            )
        self.stddev = stddev
        self.seed = seed
        self.seed_generator = _seed_generator(seed, "GaussianNoise")

    def call(self, inputs, training=False):
        if training and self.stddev > 0:
            noise = random.normal(inputs.shape, stddev=self.stddev, dtype=inputs.dtype, seed=self.seed_generator,
                                  device=inputs.device)
            return inputs + noise
        return inputs

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "stddev": self.stddev, "seed": self.seed}


class GaussianDropout(_RandomLayer):
    """Multiplies inputs by Gaussian noise of mean 1 and stddev ``sqrt(rate / (1 - rate))`` in training.

    >>> import torch
    >>> GaussianDropout(0.2)(torch.ones(2)).tolist()
    [1.0, 1.0]
    """

    def call(self, inputs, training=False):
        if training and self.rate > 0:
            stddev = math.sqrt(self.rate / (1.0 - self.rate))
            noise = random.normal(inputs.shape, mean=1.0, stddev=stddev, dtype=inputs.dtype,
                                  seed=self.seed_generator, device=inputs.device)
            return inputs * noise
        return inputs


class AlphaDropout(_RandomLayer):
    """Dropout for SELU networks: keeps the inputs' mean and variance (dropped units become ``-alpha * scale``).

    >>> import torch
    >>> AlphaDropout(0.2)(torch.ones(2)).tolist()
    [1.0, 1.0]
    """

    _ALPHA = 1.6732632423543772848170429916717
    _SCALE = 1.0507009873554804934193349852946

    def __init__(self, rate, noise_shape=None, seed=None, **kwargs):
        super().__init__(rate, seed, **kwargs)
        self.noise_shape = tuple(noise_shape) if isinstance(noise_shape, list) else noise_shape

    def call(self, inputs, training=False):
        if not (training and self.rate > 0):
            return inputs
        shape = tuple(inputs.shape) if self.noise_shape is None else tuple(
            inputs.shape[i] if d is None else d for i, d in enumerate(self.noise_shape))
        keep = random.uniform(shape, dtype=inputs.dtype, seed=self.seed_generator, device=inputs.device) >= self.rate
        keep = keep.to(inputs.dtype)
        alpha_p = -self._ALPHA * self._SCALE
        a = ((1 - self.rate) * (1 + self.rate * alpha_p**2)) ** -0.5
        b = -a * alpha_p * self.rate
        return a * (inputs * keep + alpha_p * (1 - keep)) + b

    def get_config(self):
        return {**super().get_config(), "noise_shape": self.noise_shape}


class ActivityRegularization(Layer):
    """Identity that adds ``l1 * sum(|x|) + l2 * sum(x**2)`` of its output to the layer's `losses`.

    >>> import torch
    >>> layer = ActivityRegularization(l1=0.5)
    >>> _ = layer(torch.tensor([[1.0, -2.0]]))
    >>> [float(loss) for loss in layer.losses]
    [1.5]
    """

    supports_masking = True

    def __init__(self, l1=0.0, l2=0.0, **kwargs):
        from lamina import regularizers

        kwargs.pop("activity_regularizer", None)  # rebuilt from l1/l2
        super().__init__(activity_regularizer=regularizers.L1L2(l1=l1, l2=l2), **kwargs)
        self.l1 = l1
        self.l2 = l2

    def call(self, inputs):
        return inputs

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.pop("activity_regularizer", None)
        return {**config, "l1": self.l1, "l2": self.l2}
