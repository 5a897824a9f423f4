"""Global settings: default float type, fuzz factor, image layout and device.

Mirrors ``keras.config``. Values are module-level so the hot path reads them
without a function call.

>>> from lamina import config
>>> config.floatx()
'float32'
>>> config.image_data_format()
'channels_last'
"""

import os

import torch

_FLOATX = "float32"
_EPSILON = 1e-7
_IMAGE_DATA_FORMAT = "channels_last"
_DEVICE = None  # resolved lazily: CUDA when present, as Keras does
_RUN_FUNCTIONS_EAGERLY = False


def floatx():
    """The default float dtype name (``'float32'`` unless changed)."""
    return _FLOATX


def set_floatx(value):
    global _FLOATX
    allowed = ("float16", "bfloat16", "float32", "float64")
    if value not in allowed:
        raise ValueError(f"Unknown floatx type. Expected one of {allowed}. Received: value={value!r}")
    _FLOATX = value


def epsilon():
    """The fuzz factor used in numeric expressions (``1e-7``)."""
    return _EPSILON


def set_epsilon(value):
    global _EPSILON
    _EPSILON = float(value)


def image_data_format():
    """``'channels_last'`` (default) or ``'channels_first'``."""
    return _IMAGE_DATA_FORMAT


def set_image_data_format(value):
    global _IMAGE_DATA_FORMAT
    if value not in ("channels_last", "channels_first"):
        raise ValueError(
            "The `image_data_format` must be 'channels_last' or 'channels_first'. "
            f"Received: value={value!r}"
        )
    _IMAGE_DATA_FORMAT = value


def standardize_data_format(data_format):
    """Returns ``data_format`` or the global default, validated."""
    if data_format is None:
        return _IMAGE_DATA_FORMAT
    data_format = str(data_format).lower()
    if data_format not in ("channels_last", "channels_first"):
        raise ValueError(
            "The `data_format` argument must be one of 'channels_first', 'channels_last'. "
            f"Received: data_format={data_format!r}"
        )
    return data_format


def device():
    """The torch device new weights and data are placed on: CUDA when available, or ``$LAMINA_DEVICE``."""
    global _DEVICE
    if _DEVICE is None:
        chosen = os.environ.get("LAMINA_DEVICE")  # e.g. LAMINA_DEVICE=cpu on a CUDA machine
        _DEVICE = torch.device(chosen or ("cuda" if torch.cuda.is_available() else "cpu"))
    return _DEVICE


def set_device(value):
    """Sets the device for new weights and data, e.g. ``'cpu'`` or ``'cuda:1'``."""
    global _DEVICE
    _DEVICE = torch.device(value)


def run_functions_eagerly(run_eagerly):
    """Makes every `lamina.function` run its Python code eagerly (for debugging), as TensorFlow."""
    global _RUN_FUNCTIONS_EAGERLY
    _RUN_FUNCTIONS_EAGERLY = bool(run_eagerly)


def functions_run_eagerly():
    """Whether `lamina.function` is told to run eagerly (``False`` by default)."""
    return _RUN_FUNCTIONS_EAGERLY


def backend():
    """Always ``'torch'``: lamina has one compute engine."""
    return "torch"


_COMPILE_BACKEND = "inductor"


def compile_backend():
    """The `torch.compile` backend used by ``jit_compile=True`` and `lamina.function` (``'inductor'``)."""
    return _COMPILE_BACKEND


def set_compile_backend(name):
    """Chooses the `torch.compile` backend, e.g. ``'inductor'``, ``'aot_eager'`` or ``'cudagraphs'``."""
    global _COMPILE_BACKEND
    if not isinstance(name, str) or not name:
        raise ValueError(f"The compile backend must be a backend name string. Received: name={name!r}")
    _COMPILE_BACKEND = name


def set_reuse_freed_memory(enabled):
    """Whether ``fit``/``evaluate``/``predict`` on the CPU keep freed host memory for the next batch.

    On (the default) with glibc: see `lamina.backend.host_memory` for what is changed and the figures.
    """
    from lamina.backend import host_memory

    host_memory.set_reuse_freed_memory(enabled)
