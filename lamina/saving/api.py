"""``save_model`` / ``load_model`` / ``save_weights`` / ``load_weights``: the format follows the path.

``.keras`` is the Keras 3 archive; ``.h5`` / ``.hdf5`` the legacy Keras 2 file;
``.weights.h5`` the Keras 3 weights layout (spec §1). Loading never runs code
from the file (DESIGN.md decision 8): classes come only from lamina's registry
and ``custom_objects``, and bytecode (``Lambda``) needs ``safe_mode=False``.

>>> import os, tempfile, numpy as np, lamina
>>> from lamina import layers
>>> inputs = lamina.Input((3,), name="x")
>>> model = lamina.Model(inputs, layers.Dense(2, name="d")(inputs))
>>> folder = tempfile.mkdtemp()
>>> for name in ("m.keras", "m.h5"):
...     save_model(model, os.path.join(folder, name))
...     again = load_model(os.path.join(folder, name))
...     print(name, np.allclose(again.predict(np.ones((1, 3)), verbose=0), model.predict(np.ones((1, 3)), verbose=0)))
m.keras True
m.h5 True
"""

import os

import h5py

from lamina.saving import h5_utils, keras_zip, legacy_h5, legacy_model, weights_h5
from lamina.saving.atomic import atomic_path
from lamina.saving.errors import FileFormatError

_ZIP_SIGNATURE = b"PK\x03\x04"


def _path(filepath):
    if not isinstance(filepath, (str, os.PathLike)):
        raise TypeError(f"Expected a file path (str or os.PathLike). Received: filepath={filepath!r}")
    return os.fspath(filepath)


def save_model(model, filepath, overwrite=True, include_optimizer=True, **kwargs):
    """Saves ``model`` as ``.keras`` (Keras 3) or ``.h5`` / ``.hdf5`` (legacy Keras 2)."""
    path = _path(filepath)
    kwargs.pop("save_format", None)
    if kwargs:
        raise TypeError(f"save_model() got unexpected keyword arguments: {sorted(kwargs)}")
    if path.endswith(".keras"):
        return keras_zip.save_model(model, path, overwrite, include_optimizer)
    if path.endswith((".h5", ".hdf5")):
        return legacy_model.save_model(model, path, overwrite, include_optimizer)
    raise ValueError(
        "Invalid filepath extension for saving. Please add either a `.keras` extension for the native Keras "
        "format (recommended) or a `.h5` extension. Use `model.export(filepath, format='onnx')` or "
        f"`format='torch'` to export for inference. Received: filepath={path}"
    )


def _signature(path):
    try:
        with open(path, "rb") as handle:
            return handle.read(8)
    except FileNotFoundError:
        raise ValueError(f"File not found: filepath={path}. Please ensure the file is an accessible `.keras` "
                         "zip file or `.h5` file.") from None
    except OSError as error:
        raise FileFormatError(f"Cannot read '{path}': {error}") from error


def load_model(filepath, custom_objects=None, compile=True, safe_mode=True):
    """Loads a model saved with `save_model` (or by Keras 3 / tf.keras 2).

    Args:
        filepath: a ``.keras`` archive or a legacy ``.h5`` / ``.hdf5`` file.
        custom_objects: ``{name: class or function}`` for custom layers, losses, ...
        compile: compile the model from the saved configuration and restore the optimizer state.
        safe_mode: refuse to rebuild Python bytecode (``Lambda`` layers). Pass ``False`` only for
            files from a source you trust.
    """
    path = _path(filepath)
    head = _signature(path)
    if head.startswith(_ZIP_SIGNATURE) or path.endswith(".keras"):
        return keras_zip.load_model(path, custom_objects, compile, safe_mode)
    if head == h5_utils.HDF5_SIGNATURE or path.endswith((".h5", ".hdf5")):
        return legacy_model.load_model(path, custom_objects, compile, safe_mode)
    raise ValueError(f"File format not supported: filepath={path}. lamina loads `.keras` archives and legacy "
                     "`.h5` files.")


def save_weights(model, filepath, overwrite=True, **kwargs):
    """``*.weights.h5`` (Keras 3 layout) or other ``*.h5`` (legacy tf.keras layout, as tf.keras 2 chooses)."""
    path = _path(filepath)
    kwargs.pop("save_format", None)
    if kwargs:
        raise TypeError(f"save_weights() got unexpected keyword arguments: {sorted(kwargs)}")
    if path.endswith(".weights.h5"):
        writer = weights_h5.save_weights_to_file
    elif path.endswith((".h5", ".hdf5")):
        writer = legacy_h5.save_weights_to_group
    else:
        raise ValueError(f"The filename must end in `.weights.h5` (Keras 3 layout) or `.h5` (legacy layout). "
                         f"Received: filepath={path}")
    with atomic_path(path, overwrite) as tmp:
        if tmp is None:
            return
        with h5py.File(tmp, "w") as f:
            if writer is weights_h5.save_weights_to_file:
                writer(model, f)
            else:
                writer(f, model)


def load_weights(model, filepath, skip_mismatch=False, by_name=False, **kwargs):
    """Loads weights from ``.weights.h5``, ``.keras`` or legacy ``.h5`` into an existing ``model``.

    Every layer is checked (counts and shapes) before anything is assigned; a mismatch raises
    `WeightsMismatchError` listing all problems, unless ``skip_mismatch=True``.
    """
    path = _path(filepath)
    kwargs.pop("options", None)
    if kwargs:
        raise TypeError(f"load_weights() got unexpected keyword arguments: {sorted(kwargs)}")
    head = _signature(path)
    if head.startswith(_ZIP_SIGNATURE):
        if by_name:
            raise ValueError("`by_name=True` is only supported for legacy `.h5` weights files.")
        return keras_zip.load_weights(model, path, skip_mismatch)
    with h5_utils.open_h5(path) as f:
        if weights_h5.is_keras3_layout(f):
            if by_name:
                raise ValueError("`by_name=True` is only supported for legacy `.h5` weights files; "
                                 f"'{path}' uses the Keras 3 layout, which is matched by object path.")
            return weights_h5.load_weights_from_file(model, f, skip_mismatch, filename=path)
        group = h5_utils.child(f, "model_weights", h5py.Group) if "model_weights" in f else f
        return legacy_h5.load_weights_from_group(group, model, skip_mismatch, by_name)
