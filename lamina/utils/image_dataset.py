"""`image_dataset_from_directory`: batches of images (read with Pillow) and labels from class folders.

Images are decoded with Pillow, converted to grayscale/RGB/RGBA, optionally cropped or padded
to the target aspect ratio, and resized like ``tf.image.resize`` (half-pixel centres, no
antialiasing: the same function as ``layers.Resizing``), giving float32 values 0-255.
``"lanczos3"``/``"lanczos5"`` use Pillow's Lanczos filter; ``"gaussian"`` and
``"mitchellcubic"`` are not available.
"""

import numpy as np
import torch
import torch.nn.functional as F

from lamina.backend.config import standardize_data_format
from lamina.utils import directory_index

ALLOWLIST_FORMATS = (".bmp", ".gif", ".jpeg", ".jpg", ".png")
_TORCH_INTERPOLATIONS = ("bilinear", "nearest", "bicubic", "area")
_PIL_INTERPOLATIONS = ("lanczos3", "lanczos5")
_MODES = {"rgb": ("RGB", 3), "rgba": ("RGBA", 4), "grayscale": ("L", 1)}


def load_image(path, color_mode, image_size, interpolation, crop_to_aspect_ratio=False, pad_to_aspect_ratio=False):
    """One image file as a float32 ``(height, width, channels)`` array with values 0-255."""
    from PIL import Image

    from lamina.layers.preprocessing_image import aspect_crop_box, resize_nchw

    height, width = image_size
    with Image.open(path) as image:
        image.seek(0)  # animated GIFs: the first frame
        image = image.convert(_MODES[color_mode][0])
        if interpolation in _PIL_INTERPOLATIONS:
            if crop_to_aspect_ratio:
                top, left, h, w = aspect_crop_box(image.height, image.width, height, width)
                image = image.crop((left, top, left + w, top + h))
            image = image.resize((width, height), Image.Resampling.LANCZOS)
            pixels = np.asarray(image, dtype="float32")
            return pixels.reshape(height, width, -1)
        pixels = np.asarray(image, dtype="float32")
    x = torch.from_numpy(pixels.reshape(pixels.shape[0], pixels.shape[1], -1).copy()).permute(2, 0, 1)[None]
    in_h, in_w = x.shape[-2:]
    if crop_to_aspect_ratio:
        top, left, h, w = aspect_crop_box(in_h, in_w, height, width)
        x = x[:, :, top:top + h, left:left + w]
    elif pad_to_aspect_ratio:
        pad_h = max(in_h, int(float(in_w * height) / width))
        pad_w = max(in_w, int(float(in_h * width) / height))
        top, left = int(float(pad_h - in_h) / 2), int(float(pad_w - in_w) / 2)
        x = F.pad(x, (left, pad_w - in_w - left, top, pad_h - in_h - top))
    return resize_nchw(x, height, width, interpolation)[0].permute(1, 2, 0).numpy()


def image_dataset_from_directory(directory, labels="inferred", label_mode="int", class_names=None, color_mode="rgb",
                                 batch_size=32, image_size=(256, 256), shuffle=True, seed=None, validation_split=None,
                                 subset=None, interpolation="bilinear", follow_links=False, crop_to_aspect_ratio=False,
                                 pad_to_aspect_ratio=False, data_format=None, verbose=True):
    """A dataset of ``(images, labels)`` batches from ``directory/<class>/<image>`` (Keras 3 arguments).

    Args:
        directory: the folder; with ``labels="inferred"`` each sub-folder is a class.
        labels: ``"inferred"``, ``None`` (images only), or a list of int labels in file order.
        label_mode: ``"int"`` (int32 ``(n,)``), ``"categorical"`` (float32 one-hot), ``"binary"``
            (float32 ``(n, 1)``, two classes) or ``None``.
        class_names: the classes to use, in label order (default: sorted sub-folder names).
        color_mode: ``"rgb"``, ``"rgba"`` or ``"grayscale"``.
        batch_size: images per batch (``None``: single images).
        image_size: ``(height, width)`` (or one int) to resize to.
        shuffle: shuffle the files (once, as Keras) and the order at each epoch.
        seed: seed of the shuffling; required with ``validation_split`` and ``shuffle``.
        validation_split: fraction of the files held out for validation.
        subset: ``"training"``, ``"validation"`` or ``"both"`` (returns both datasets).
        interpolation: ``"bilinear"``, ``"nearest"``, ``"bicubic"``, ``"area"``, ``"lanczos3"``, ``"lanczos5"``.
        follow_links: follow symbolic links to sub-folders.
        crop_to_aspect_ratio: center-crop to the target aspect ratio before resizing.
        pad_to_aspect_ratio: zero-pad to the target aspect ratio before resizing.
        data_format: ``"channels_last"`` or ``"channels_first"`` (default: the global setting).
        verbose: print the numbers of files and classes.

    Returns:
        A `lamina.utils.batch_dataset.BatchDataset` with ``class_names`` and ``file_paths``
        attributes, yielding float32 image tensors ``(batch, height, width, channels)`` and labels.
    """
    if labels not in ("inferred", None):
        if not isinstance(labels, (list, tuple)):
            raise ValueError("`labels` argument should be a list/tuple of integer labels, of the same size as the "
                             "number of image files in the target directory. If you wish to infer the labels from "
                             'the subdirectory names in the target directory, pass `labels="inferred"`. If you wish '
                             f"to get a dataset that only contains images (no labels), pass `labels=None`. Received: "
                             f"labels={labels}")
        if class_names:
            raise ValueError(f'You can only pass `class_names` if `labels="inferred"`. Received: labels={labels}, '
                             f"and class_names={class_names}")
    if label_mode not in ("int", "categorical", "binary", None):
        raise ValueError('`label_mode` argument must be one of "int", "categorical", "binary", or None. Received: '
                         f"label_mode={label_mode}")
    if labels is None or label_mode is None:
        labels, label_mode = None, None
    if color_mode not in _MODES:
        raise ValueError('`color_mode` must be one of {"rgb", "rgba", "grayscale"}. '
                         f"Received: color_mode={color_mode}")
    if isinstance(image_size, int):
        image_size = (image_size, image_size)
    elif not isinstance(image_size, (list, tuple)) or len(image_size) != 2:
        raise ValueError("Invalid `image_size` value. Expected a tuple of 2 integers. "
                         f"Received: image_size={image_size}")
    interpolation = interpolation.lower()
    if interpolation not in _TORCH_INTERPOLATIONS + _PIL_INTERPOLATIONS:
        raise ValueError(f"Argument `interpolation` should be one of {_TORCH_INTERPOLATIONS + _PIL_INTERPOLATIONS}. "
                         f"Received: interpolation={interpolation}")
    if crop_to_aspect_ratio and pad_to_aspect_ratio:
        raise ValueError("Only one of `crop_to_aspect_ratio` and `pad_to_aspect_ratio` can be True. Received: "
                         f"crop_to_aspect_ratio={crop_to_aspect_ratio}, pad_to_aspect_ratio={pad_to_aspect_ratio}")
    directory_index.check_validation_split_arg(validation_split, subset, shuffle, seed)
    data_format = standardize_data_format(data_format)
    if seed is None:
        seed = np.random.randint(1e6)
    paths, labels, class_names = directory_index.index_directory(
        directory, labels, ALLOWLIST_FORMATS, class_names=class_names, shuffle=shuffle, seed=seed,
        follow_links=follow_links, verbose=verbose)
    if label_mode == "binary" and len(class_names) != 2:
        raise ValueError(f'When passing `label_mode="binary"`, there must be exactly 2 class_names. Received: '
                         f"class_names={class_names}")
    size = (int(image_size[0]), int(image_size[1]))

    def read_images(batch_paths):
        images = np.stack([load_image(p, color_mode, size, interpolation, crop_to_aspect_ratio, pad_to_aspect_ratio)
                           for p in batch_paths])
        return images.transpose(0, 3, 1, 2).copy() if data_format == "channels_first" else images

    return directory_index.build(read_images, paths, labels, label_mode, class_names, batch_size, shuffle, seed,
                                 validation_split, subset, verbose, f"images ({ALLOWLIST_FORMATS}) ")
