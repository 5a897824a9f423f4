"""Random image augmentation: RandomFlip, RandomRotation, RandomZoom, RandomTranslation,
RandomContrast, RandomCrop.

As in Keras 3, the layers augment when ``training`` is true, which is the default of
a direct call; ``predict``/``evaluate`` and ``training=False`` leave images unchanged
(RandomCrop then crops the center). Random parameters are drawn per image in one
batched draw. An int ``seed`` gives the layer its own stream (the same sequence of
augmentations on every run); ``seed=None`` uses torch's global generator.

Rotation, zoom and translation are one batched affine resampling (pixel centers at
integer coordinates, as Keras's ``affine_transform``), with Keras's fill modes applied
to each neighbour index: ``'reflect'`` (d c b a | a b c d | d c b a), ``'wrap'``
(a b c d | a b c d), ``'nearest'`` (a a a | a b c d | d d d) and ``'constant'``
(``fill_value``). Nearest interpolation rounds half away from zero like TF; Keras's
JAX/NumPy backends round half to even, which can differ on exact ties.

>>> import numpy as np
>>> from lamina import layers
>>> x = np.arange(4, dtype="float32").reshape(1, 2, 2, 1)
>>> layers.RandomFlip("horizontal", seed=1)(x, training=False)[0, :, :, 0].tolist()
[[0.0, 1.0], [2.0, 3.0]]
"""

import math

import torch

from lamina.backend import random
from lamina.backend.config import standardize_data_format
from lamina.layers.preprocessing_image import (
    ImageLayer,
    aspect_crop_box,
    check_size,
    resize_nchw,
    spatial_output_shape,
    to_nchw,
)

_FILL_MODES = ("reflect", "wrap", "constant", "nearest")
_FLIP_MODES = ("horizontal", "vertical", "horizontal_and_vertical")


def _seed_generator(seed, layer):
    if seed is None:
        return None
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise ValueError(f"The `seed` argument of {layer} must be an int or None. Received: seed={seed!r}")
    return random.SeedGenerator(seed)


def _check_choice(value, name, choices, layer):
    if value not in choices:
        raise ValueError(f"Unknown `{name}` for {layer}. Expected one of {choices}. Received: {name}={value!r}")
    return value


def _factor_range(factor, name, layer, low=-1.0, high=None):
    """A float ``f`` -> ``(-f, f)``; a pair stays a pair; checks ``low <= lower <= upper (<= high)``."""
    if isinstance(factor, (tuple, list)):
        if len(factor) != 2:
            raise ValueError(f"`{name}` of {layer} must be a float or a pair of floats. Received: {name}={factor!r}")
        lower, upper = float(factor[0]), float(factor[1])
    elif isinstance(factor, (int, float)) and not isinstance(factor, bool):
        lower, upper = -abs(float(factor)), abs(float(factor))
    else:
        raise ValueError(f"`{name}` of {layer} must be a float or a pair of floats. Received: {name}={factor!r}")
    if lower > upper or lower < low or (high is not None and upper > high):
        bounds = f"[{low}, {high}]" if high is not None else f"[{low}, inf)"
        raise ValueError(
            f"`{name}` of {layer} must be a value or an increasing pair within {bounds}. Received: {name}={factor!r}"
        )
    return lower, upper


def _fix_index(index, size, fill_mode):
    """Integer source indices -> ``(in-range index, inside mask)`` under Keras's fill modes."""
    if fill_mode == "reflect":
        index = torch.remainder(index, 2 * size)
        index = torch.where(index >= size, 2 * size - 1 - index, index)
    elif fill_mode == "wrap":
        index = torch.remainder(index, size)
    inside = (index >= 0) & (index < size)
    return index.clamp(0, size - 1), inside


def affine_transform(images, matrices, interpolation="bilinear", fill_mode="reflect", fill_value=0.0):
    """Resamples NCHW ``images``: output pixel ``(x, y)`` reads input ``(a0 x + a1 y + a2, b0 x + b1 y + b2)``.

    ``matrices`` is ``(batch, 6)``: ``[a0, a1, a2, b0, b1, b2]`` per image (Keras's transform
    layout without the projective terms). Differentiable in ``images``.
    """
    batch, channels, height, width = images.shape
    m = matrices.to(images.dtype)
    ys, xs = torch.meshgrid(torch.arange(height, dtype=images.dtype, device=images.device),
                            torch.arange(width, dtype=images.dtype, device=images.device), indexing="ij")
    src_x = m[:, 0, None, None] * xs + m[:, 1, None, None] * ys + m[:, 2, None, None]
    src_y = m[:, 3, None, None] * xs + m[:, 4, None, None] * ys + m[:, 5, None, None]
    flat = images.reshape(batch, channels, height * width)

    def read(ix, iy):
        ix, inside_x = _fix_index(ix, width, fill_mode)
        iy, inside_y = _fix_index(iy, height, fill_mode)
        index = (iy * width + ix).reshape(batch, 1, height * width).expand(batch, channels, height * width)
        values = flat.gather(2, index).reshape(batch, channels, height, width)
        if fill_mode == "constant":
            values = torch.where((inside_x & inside_y)[:, None], values, torch.full_like(values, float(fill_value)))
        return values

    if interpolation == "nearest":
        # Round half away from zero (TF's std::round).
        def round_half_away(v):
            return (torch.sign(v) * torch.floor(v.abs() + 0.5)).long()

        return read(round_half_away(src_x), round_half_away(src_y))
    x0, y0 = torch.floor(src_x), torch.floor(src_y)
    wx, wy = (src_x - x0)[:, None], (src_y - y0)[:, None]
    x0, y0 = x0.long(), y0.long()
    top = read(x0, y0) * (1 - wx) + read(x0 + 1, y0) * wx
    bottom = read(x0, y0 + 1) * (1 - wx) + read(x0 + 1, y0 + 1) * wx
    return top * (1 - wy) + bottom * wy


class _RandomImageLayer(ImageLayer):
    """Seeded random stream, ``training`` handling and layout conversion for the augmentation layers."""

    # tf.keras 2 writes its random-generator choice; it has no meaning on torch and is not written back.
    _RNG_TYPES = (None, "stateful", "stateless", "legacy_stateful")

    def __init__(self, seed=None, data_format=None, rng_type=None, **kwargs):
        super().__init__(**kwargs)
        if rng_type not in self._RNG_TYPES:
            raise ValueError(f"{type(self).__name__} '{self.name}': `rng_type` must be one of {self._RNG_TYPES}. "
                             f"Received: rng_type={rng_type!r}")
        self.seed = seed
        self.seed_generator = _seed_generator(seed, type(self).__name__)
        self.data_format = standardize_data_format(data_format)

    def _uniform(self, shape, low, high, device):
        return random.uniform(shape, low, high, dtype="float32", seed=self.seed_generator, device=device)

    def call(self, inputs, training=True):
        images = self._images(inputs)
        if not training:
            return self._inference(images)
        x, undo = to_nchw(images, self.data_format, type(self).__name__)
        return undo(self._augment(x))

    def _inference(self, images):
        return images

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        return {**super().get_config(), "seed": self.seed, "data_format": self.data_format}


class RandomFlip(_RandomImageLayer):
    """Flips each image with probability 1/2 (``'horizontal'`` left-right, ``'vertical'`` up-down).

    With ``'horizontal_and_vertical'`` an image is flipped both ways or not at all (one
    draw per image, as Keras 3).

    Args:
        mode: ``'horizontal_and_vertical'`` (default), ``'horizontal'`` or ``'vertical'``.
        seed: int for a repeatable random stream.
        data_format: ``'channels_last'`` or ``'channels_first'``.

    >>> import torch
    >>> out = RandomFlip("vertical", seed=0)(torch.arange(6.0).reshape(3, 2, 1, 1))
    >>> out.shape
    torch.Size([3, 2, 1, 1])
    """

    def __init__(self, mode="horizontal_and_vertical", seed=None, data_format=None, **kwargs):
        super().__init__(seed=seed, data_format=data_format, **kwargs)
        self.mode = _check_choice(mode, "mode", _FLIP_MODES, "RandomFlip")

    def _augment(self, x):
        flips = (self._uniform((x.shape[0], 1, 1, 1), 0.0, 1.0, x.device) <= 0.5)
        if self.mode in ("horizontal", "horizontal_and_vertical"):
            x = torch.where(flips, x.flip(-1), x)
        if self.mode in ("vertical", "horizontal_and_vertical"):
            x = torch.where(flips, x.flip(-2), x)
        return x

    def get_config(self):
        return {**super().get_config(), "mode": self.mode}


class _AffineLayer(_RandomImageLayer):
    def __init__(self, fill_mode="reflect", interpolation="bilinear", seed=None, fill_value=0.0, data_format=None,
                 **kwargs):
        super().__init__(seed=seed, data_format=data_format, **kwargs)
        self.fill_mode = _check_choice(fill_mode, "fill_mode", _FILL_MODES, type(self).__name__)
        self.interpolation = _check_choice(interpolation, "interpolation", ("bilinear", "nearest"),
                                           type(self).__name__)
        self.fill_value = fill_value

    def _augment(self, x):
        matrices = self._matrices(x.shape[0], x.shape[-2], x.shape[-1], x.device)
        return affine_transform(x, matrices, self.interpolation, self.fill_mode, self.fill_value)

    def get_config(self):
        return {**super().get_config(), "fill_mode": self.fill_mode, "interpolation": self.interpolation,
                "fill_value": self.fill_value}


class RandomRotation(_AffineLayer):
    """Rotates each image by a random angle ``factor * 2 pi`` about its center (counter-clockwise > 0).

    Args:
        factor: a float ``f`` (angles in ``[-f * 2 pi, f * 2 pi]``) or a pair ``(lower, upper)``.
        fill_mode: ``'reflect'`` (default), ``'wrap'``, ``'constant'`` or ``'nearest'``.
        interpolation: ``'bilinear'`` (default) or ``'nearest'``.
        seed: int for a repeatable random stream.
        fill_value: the value outside the image with ``fill_mode='constant'``.
        value_range: kept for Keras config compatibility (unused by the rotation).
        data_format: ``'channels_last'`` or ``'channels_first'``.

    >>> import torch
    >>> x = torch.arange(9.0).reshape(1, 3, 3, 1)
    >>> RandomRotation((0.25, 0.25))(x)[0, :, :, 0].round().tolist()
    [[2.0, 5.0, 8.0], [1.0, 4.0, 7.0], [0.0, 3.0, 6.0]]
    """

    def __init__(self, factor, fill_mode="reflect", interpolation="bilinear", seed=None, fill_value=0.0,
                 value_range=(0, 255), data_format=None, **kwargs):
        super().__init__(fill_mode, interpolation, seed, fill_value, data_format, **kwargs)
        self.factor = factor
        self._range = _factor_range(factor, "factor", "RandomRotation", low=-math.inf)
        self.value_range = value_range

    def _matrices(self, batch, height, width, device):
        lower, upper = self._range
        angle = self._uniform((batch,), lower * 2 * math.pi, upper * 2 * math.pi, device).double()
        cos, sin = torch.cos(angle), torch.sin(angle)
        x_offset = ((width - 1) - (cos * (width - 1) - sin * (height - 1))) / 2.0
        y_offset = ((height - 1) - (sin * (width - 1) + cos * (height - 1))) / 2.0
        return torch.stack([cos, -sin, x_offset, sin, cos, y_offset], dim=1)

    def get_config(self):
        # Keras 3 accepts `value_range` here but does not write it (and refuses it when loading).
        return {**super().get_config(), "factor": self.factor}


class RandomZoom(_AffineLayer):
    """Zooms each image by a random factor: positive factors zoom out, negative zoom in.

    Args:
        height_factor: a float ``f`` (vertical zoom ``1 + u``, ``u`` in ``[-f, f]``) or a pair;
            values below -1 are invalid.
        width_factor: as ``height_factor``; ``None`` zooms both axes by the same draw.
        fill_mode, interpolation, seed, fill_value, data_format: as `RandomRotation`.

    >>> import torch
    >>> RandomZoom((0.0, 0.0))(torch.ones(2, 4, 4, 3)).shape
    torch.Size([2, 4, 4, 3])
    """

    def __init__(self, height_factor, width_factor=None, fill_mode="reflect", interpolation="bilinear", seed=None,
                 fill_value=0.0, data_format=None, **kwargs):
        super().__init__(fill_mode, interpolation, seed, fill_value, data_format, **kwargs)
        self.height_factor = height_factor
        self.width_factor = width_factor
        self._height_range = _factor_range(height_factor, "height_factor", "RandomZoom")
        self._width_range = None if width_factor is None else _factor_range(width_factor, "width_factor",
                                                                            "RandomZoom")

    def _matrices(self, batch, height, width, device):
        zoom_h = 1.0 + self._uniform((batch,), *self._height_range, device).double()
        zoom_w = zoom_h if self._width_range is None else 1.0 + self._uniform((batch,), *self._width_range,
                                                                              device).double()
        zeros = torch.zeros_like(zoom_h)
        x_offset = (width - 1) / 2.0 * (1.0 - zoom_w)
        y_offset = (height - 1) / 2.0 * (1.0 - zoom_h)
        return torch.stack([zoom_w, zeros, x_offset, zeros, zoom_h, y_offset], dim=1)

    def get_config(self):
        return {**super().get_config(), "height_factor": self.height_factor, "width_factor": self.width_factor}


class RandomTranslation(_AffineLayer):
    """Shifts each image by a random fraction of its size (positive: down / right).

    Args:
        height_factor: a float ``f`` (shift in ``[-f, f] * height``) or a pair ``(lower, upper)``.
        width_factor: the same for the width.
        fill_mode, interpolation, seed, fill_value, data_format: as `RandomRotation`.

    >>> import torch
    >>> x = torch.arange(4.0).reshape(1, 1, 4, 1)
    >>> RandomTranslation(0.0, (0.25, 0.25), fill_mode="constant")(x)[0, 0, :, 0].tolist()
    [0.0, 0.0, 1.0, 2.0]
    """

    def __init__(self, height_factor, width_factor, fill_mode="reflect", interpolation="bilinear", seed=None,
                 fill_value=0.0, data_format=None, **kwargs):
        super().__init__(fill_mode, interpolation, seed, fill_value, data_format, **kwargs)
        self.height_factor = height_factor
        self.width_factor = width_factor
        self._height_range = _factor_range(height_factor, "height_factor", "RandomTranslation", high=1.0)
        self._width_range = _factor_range(width_factor, "width_factor", "RandomTranslation", high=1.0)

    def _matrices(self, batch, height, width, device):
        dy = self._uniform((batch,), *self._height_range, device).double() * height
        dx = self._uniform((batch,), *self._width_range, device).double() * width
        ones, zeros = torch.ones_like(dx), torch.zeros_like(dx)
        return torch.stack([ones, zeros, -dx, zeros, ones, -dy], dim=1)

    def get_config(self):
        return {**super().get_config(), "height_factor": self.height_factor, "width_factor": self.width_factor}


class RandomContrast(_RandomImageLayer):
    """Scales each image's deviation from its per-channel mean by a random factor, then clips.

    ``out = clip((x - mean) * c + mean, *value_range)`` with ``c`` drawn per image from
    ``[1 - lower, 1 + upper]``.

    Args:
        factor: a float in ``[0, 1]`` or a pair ``(lower, upper)`` of such floats.
        value_range: the ``(min, max)`` range of the images (default ``(0, 255)``).
        seed: int for a repeatable random stream.

    >>> import torch
    >>> RandomContrast(0.5, seed=1)(torch.full((1, 2, 2, 1), 3.0)).tolist()
    [[[[3.0], [3.0]], [[3.0], [3.0]]]]
    """

    def __init__(self, factor, value_range=(0, 255), seed=None, **kwargs):
        data_format = kwargs.pop("data_format", None)
        super().__init__(seed=seed, data_format=data_format, **kwargs)
        if isinstance(factor, (tuple, list)):
            lower, upper = _factor_range(factor, "factor", "RandomContrast", low=0.0, high=1.0)
        else:
            lower, upper = _factor_range(factor, "factor", "RandomContrast", low=-1.0, high=1.0)
            lower = -lower
        self.factor = factor
        self._range = (1.0 - lower, 1.0 + upper)
        self.value_range = value_range

    def _augment(self, x):
        contrast = self._uniform((x.shape[0], 1, 1, 1), *self._range, x.device).to(x.dtype)
        mean = x.mean(dim=(-2, -1), keepdim=True)
        return ((x - mean) * contrast + mean).clamp(float(self.value_range[0]), float(self.value_range[1]))

    def get_config(self):
        return {**super().get_config(), "factor": self.factor, "value_range": list(self.value_range)}


class RandomCrop(_RandomImageLayer):
    """Crops a random ``(height, width)`` window in training (one location for the whole batch).

    At inference, and in training when an image is not larger than the target, the
    largest centered window with the target aspect ratio is cropped and resized
    (bilinear), as Keras documents.

    Args:
        height, width: the output size.
        seed: int for a repeatable random stream.
        data_format: ``'channels_last'`` or ``'channels_first'``.

    >>> import torch
    >>> RandomCrop(2, 2, seed=0)(torch.ones(3, 5, 5, 1)).shape
    torch.Size([3, 2, 2, 1])
    """

    def __init__(self, height, width, seed=None, data_format=None, **kwargs):
        super().__init__(seed=seed, data_format=data_format, **kwargs)
        self.height = check_size(height, "height", "RandomCrop")
        self.width = check_size(width, "width", "RandomCrop")

    def _augment(self, x):
        in_h, in_w = x.shape[-2:]
        if in_h > self.height and in_w > self.width:
            top = int(self._uniform((), 0, in_h - self.height + 1, x.device))
            left = int(self._uniform((), 0, in_w - self.width + 1, x.device))
            return x[:, :, top:top + self.height, left:left + self.width]
        return self._center(x)

    def _center(self, x):
        top, left, h, w = aspect_crop_box(x.shape[-2], x.shape[-1], self.height, self.width)
        return resize_nchw(x[:, :, top:top + h, left:left + w], self.height, self.width)

    def _inference(self, images):
        x, undo = to_nchw(images, self.data_format, "RandomCrop")
        return undo(self._center(x))

    def compute_output_shape(self, input_shape):
        return spatial_output_shape(input_shape, self.height, self.width, self.data_format)

    def get_config(self):
        return {**super().get_config(), "height": self.height, "width": self.width}
