"""Image preprocessing layers: Rescaling, Resizing, CenterCrop, and the shared image helpers.

Images are ``(batch, height, width, channels)`` (``channels_last``, the default) or
``(batch, channels, height, width)``; an unbatched 3D image is accepted too. Outputs
take the layer's compute dtype (``float32``), so ``uint8`` images come out as floats.

>>> import numpy as np
>>> from lamina import layers
>>> x = np.arange(16, dtype="float32").reshape(1, 4, 4, 1)
>>> layers.Resizing(2, 2)(x)[0, :, :, 0].tolist()
[[2.5, 4.5], [10.5, 12.5]]
>>> layers.CenterCrop(2, 2)(x)[0, :, :, 0].tolist()
[[5.0, 6.0], [9.0, 10.0]]
>>> layers.Rescaling(1 / 255)(np.full((1, 1), 255.0)).tolist()
[[1.0]]
"""

import numpy as np
import torch
import torch.nn.functional as F

from lamina.backend.config import standardize_data_format
from lamina.engine.keras_tensor import KerasTensor
from lamina.engine.layer import Layer

# Keras name -> torch `interpolate` mode. "nearest-exact" is TF's half-pixel nearest neighbour.
_INTERPOLATIONS = {"bilinear": "bilinear", "nearest": "nearest-exact", "bicubic": "bicubic", "area": "area"}


def check_interpolation(interpolation, layer):
    if interpolation not in _INTERPOLATIONS:
        raise ValueError(
            f"Invalid value for argument `interpolation` of {layer}. Expected one of "
            f"{sorted(_INTERPOLATIONS)}. Received: interpolation={interpolation!r}"
        )
    return interpolation


def check_size(value, name, layer):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value <= 0:
        raise ValueError(f"`{name}` of {layer} must be a positive integer. Received: {name}={value!r}")
    return int(value)


def to_nchw(images, data_format, layer):
    """``(images in NCHW float, undo)``: ``undo`` restores the caller's layout and rank."""
    if images.dim() not in (3, 4):
        raise ValueError(
            f"{layer} expects images of rank 3 (unbatched) or 4 (batched). "
            f"Received: inputs.shape={tuple(images.shape)}"
        )
    unbatched = images.dim() == 3
    x = images.unsqueeze(0) if unbatched else images
    if data_format == "channels_last":
        x = x.permute(0, 3, 1, 2)

    def undo(y):
        if data_format == "channels_last":
            y = y.permute(0, 2, 3, 1)
        return y[0] if unbatched else y

    return x, undo


def resize_nchw(x, height, width, interpolation="bilinear"):
    """Resizes NCHW images as ``tf.image.resize`` (half-pixel centers, no antialiasing)."""
    if tuple(x.shape[-2:]) == (height, width):
        return x
    mode = _INTERPOLATIONS[interpolation]
    if mode in ("bilinear", "bicubic"):
        return F.interpolate(x, size=(height, width), mode=mode, align_corners=False, antialias=False)
    return F.interpolate(x, size=(height, width), mode=mode)


def aspect_crop_box(in_height, in_width, height, width):
    """``(top, left, crop_height, crop_width)``: the largest centered window with the target aspect ratio."""
    crop_height = max(min(in_height, int(float(in_width * height) / width)), 1)
    crop_width = max(min(in_width, int(float(in_height * width) / height)), 1)
    return int(float(in_height - crop_height) / 2), int(float(in_width - crop_width) / 2), crop_height, crop_width


def spatial_output_shape(input_shape, height, width, data_format):
    shape = list(input_shape)
    h_axis = -2 if data_format == "channels_first" else -3
    shape[h_axis], shape[h_axis + 1] = height, width
    return tuple(shape)


class ImageLayer(Layer):
    """Base of the image layers: float outputs in the compute dtype, symbolic output specs."""

    def _images(self, inputs):
        if not inputs.is_floating_point() or inputs.dtype != self.dtype_policy.torch_compute_dtype:
            inputs = inputs.to(self.dtype_policy.torch_compute_dtype)
        return inputs

    def compute_output_spec(self, inputs, *args, **kwargs):
        return KerasTensor(self.compute_output_shape(tuple(inputs.shape)), self.compute_dtype)


class Rescaling(ImageLayer):
    """Multiplies inputs by ``scale`` and adds ``offset``: ``inputs * scale + offset``.

    Args:
        scale: a float (or per-channel array broadcast over the last axis).
        offset: a float (or array) added after scaling.

    >>> import torch
    >>> Rescaling(1 / 127.5, offset=-1)(torch.tensor([0.0, 255.0])).tolist()
    [-1.0, 1.0]
    """

    def __init__(self, scale, offset=0.0, **kwargs):
        super().__init__(**kwargs)
        self.scale = scale
        self.offset = offset
        self.supports_masking = True

    def call(self, inputs):
        x = self._images(inputs)
        scale = torch.as_tensor(np.asarray(self.scale), dtype=x.dtype, device=x.device)
        offset = torch.as_tensor(np.asarray(self.offset), dtype=x.dtype, device=x.device)
        return x * scale + offset

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        def plain(value):
            return np.asarray(value).tolist() if not isinstance(value, (int, float)) else value

        return {**super().get_config(), "scale": plain(self.scale), "offset": plain(self.offset)}


class Resizing(ImageLayer):
    """Resizes images to ``(height, width)`` as ``tf.image.resize`` does (half-pixel centers).

    Args:
        height, width: the output size.
        interpolation: ``'bilinear'`` (default), ``'nearest'``, ``'bicubic'`` or ``'area'``.
            ``bilinear`` and ``nearest`` match TF/Keras exactly; ``bicubic`` uses torch's
            cubic kernel (a=-0.75, TF uses a=-0.5) and ``area`` torch's adaptive average,
            so those two may differ slightly from Keras.
        crop_to_aspect_ratio: crop the largest centered window with the target aspect
            ratio before resizing, so the image is not distorted.
        pad_to_aspect_ratio: pad (with ``fill_value``) to the target aspect ratio instead.
        fill_mode: only ``'constant'`` (Keras's only mode for this padding).
        fill_value: the padding value.
        antialias: only ``False`` is supported.
        data_format: ``'channels_last'`` or ``'channels_first'`` (default: the global setting).

    Input shape: ``(batch, h, w, c)`` or ``(h, w, c)`` (channels_last).
    Output shape: ``(batch, height, width, c)``.

    >>> import torch
    >>> Resizing(3, 5)(torch.zeros(2, 6, 8, 3)).shape
    torch.Size([2, 3, 5, 3])
    """

    def __init__(self, height, width, interpolation="bilinear", crop_to_aspect_ratio=False, pad_to_aspect_ratio=False,
                 fill_mode="constant", fill_value=0.0, antialias=False, data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.height = check_size(height, "height", "Resizing")
        self.width = check_size(width, "width", "Resizing")
        self.interpolation = check_interpolation(interpolation, "Resizing")
        if crop_to_aspect_ratio and pad_to_aspect_ratio:
            raise ValueError(
                "Only one of `crop_to_aspect_ratio` and `pad_to_aspect_ratio` can be True. Received: "
                f"crop_to_aspect_ratio={crop_to_aspect_ratio}, pad_to_aspect_ratio={pad_to_aspect_ratio}"
            )
        if fill_mode != "constant":
            raise ValueError(f"Resizing only supports fill_mode='constant'. Received: fill_mode={fill_mode!r}")
        if antialias:
            raise ValueError(f"Resizing does not support antialiasing yet. Received: antialias={antialias!r}")
        self.crop_to_aspect_ratio = bool(crop_to_aspect_ratio)
        self.pad_to_aspect_ratio = bool(pad_to_aspect_ratio)
        self.fill_mode = fill_mode
        self.fill_value = fill_value
        self.antialias = antialias
        self.data_format = standardize_data_format(data_format)

    def call(self, inputs):
        x, undo = to_nchw(self._images(inputs), self.data_format, "Resizing")
        in_h, in_w = x.shape[-2:]
        if self.crop_to_aspect_ratio:
            top, left, h, w = aspect_crop_box(in_h, in_w, self.height, self.width)
            x = x[:, :, top:top + h, left:left + w]
        elif self.pad_to_aspect_ratio:
            pad_h = max(in_h, int(float(in_w * self.height) / self.width))
            pad_w = max(in_w, int(float(in_h * self.width) / self.height))
            top, left = int(float(pad_h - in_h) / 2), int(float(pad_w - in_w) / 2)
            x = F.pad(x, (left, pad_w - in_w - left, top, pad_h - in_h - top), value=float(self.fill_value))
        return undo(resize_nchw(x, self.height, self.width, self.interpolation))

    def compute_output_shape(self, input_shape):
        return spatial_output_shape(input_shape, self.height, self.width, self.data_format)

    def get_config(self):
        return {**super().get_config(), "height": self.height, "width": self.width,
                "interpolation": self.interpolation, "crop_to_aspect_ratio": self.crop_to_aspect_ratio,
                "pad_to_aspect_ratio": self.pad_to_aspect_ratio, "fill_mode": self.fill_mode,
                "fill_value": self.fill_value, "antialias": self.antialias, "data_format": self.data_format}


def center_crop_nchw(x, height, width):
    """Crops the center ``(height, width)`` window; smaller images are resized (aspect-preserving crop first)."""
    in_h, in_w = x.shape[-2:]
    if in_h < height or in_w < width:
        top, left, h, w = aspect_crop_box(in_h, in_w, height, width)
        return resize_nchw(x[:, :, top:top + h, left:left + w], height, width)
    top, left = (in_h - height) // 2, (in_w - width) // 2
    return x[:, :, top:top + height, left:left + width]


class CenterCrop(ImageLayer):
    """Crops the central ``(height, width)`` region of images.

    Images smaller than the target are first cropped to the target aspect ratio and
    resized (bilinear), as Keras does.

    Args:
        height, width: the output size.
        data_format: ``'channels_last'`` or ``'channels_first'``.

    >>> import torch
    >>> CenterCrop(2, 3)(torch.zeros(4, 5, 3)).shape
    torch.Size([2, 3, 3])
    """

    def __init__(self, height, width, data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.height = check_size(height, "height", "CenterCrop")
        self.width = check_size(width, "width", "CenterCrop")
        self.data_format = standardize_data_format(data_format)

    def call(self, inputs):
        x, undo = to_nchw(self._images(inputs), self.data_format, "CenterCrop")
        return undo(center_crop_nchw(x, self.height, self.width))

    def compute_output_shape(self, input_shape):
        return spatial_output_shape(input_shape, self.height, self.width, self.data_format)

    def get_config(self):
        return {**super().get_config(), "height": self.height, "width": self.width, "data_format": self.data_format}
