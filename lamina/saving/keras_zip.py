"""The Keras 3 ``.keras`` archive: ``metadata.json``, ``config.json``, ``model.weights.h5``.

Written as Keras writes it (spec §5): members STORED in that order, JSON on one
line, the weights in the Keras 3 layout. Reading checks the archive before
trusting it: member sizes (no zip bombs), JSON validity, and class names that
resolve only through lamina's registry and ``custom_objects``.

>>> import os, tempfile, lamina
>>> from lamina import layers
>>> inputs = lamina.Input((3,), name="x")
>>> model = lamina.Model(inputs, layers.Dense(2, name="d")(inputs))
>>> path = os.path.join(tempfile.mkdtemp(), "m.keras")
>>> save_model(model, path)
>>> import zipfile
>>> zipfile.ZipFile(path).namelist()
['metadata.json', 'config.json', 'model.weights.h5']
>>> load_model(path).get_layer("d").units
2
"""

import datetime
import io
import json
import zipfile

import h5py

from lamina.saving import assets, compile_state, h5_utils, registry, weights_h5
from lamina.saving.atomic import atomic_path
from lamina.saving.errors import FileFormatError, file_errors

MAX_MEMBER_BYTES = 4 * 1024**3
MAX_EXPANSION = 100
MAX_CONFIG_BYTES = 256 * 1024**2


def model_config(model):
    """``config.json`` content: the serialized model with ``build_config`` and ``compile_config``."""
    from lamina.engine.functional import Functional
    from lamina.saving.serialization import model_to_dict

    config = model_to_dict(model)
    config.pop("keras_version", None)
    config.pop("backend", None)
    if isinstance(model, Functional):
        config["build_config"] = {"input_shape": None}
    else:
        build = model.get_build_config() if model.built else None
        if build is not None:
            config["build_config"] = _jsonable(build)
    config["compile_config"] = compile_state.compile_config(model)
    return config


def _jsonable(value):
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    return value


def _member(name, when):
    info = zipfile.ZipInfo(name, date_time=when)
    info.compress_type = zipfile.ZIP_STORED
    info.external_attr = 0o600 << 16
    return info


def save_model(model, path, overwrite=True, include_optimizer=True):
    """Writes ``model`` to a ``.keras`` archive atomically."""
    from lamina.saving.serialization import KERAS_VERSION

    config = json.dumps(model_config(model))
    now = datetime.datetime.now()
    metadata = json.dumps({"keras_version": KERAS_VERSION, "date_saved": now.strftime("%Y-%m-%d@%H:%M:%S")})
    weights = io.BytesIO()
    with h5py.File(weights, "w") as f:
        weights_h5.save_weights_to_file(model, f, include_optimizer=include_optimizer)
    with atomic_path(path, overwrite) as tmp:
        if tmp is None:
            return
        with zipfile.ZipFile(tmp, "w", zipfile.ZIP_STORED) as archive:
            archive.writestr(_member("metadata.json", (1980, 1, 1, 0, 0, 0)), metadata)
            archive.writestr(_member("config.json", (1980, 1, 1, 0, 0, 0)), config)
            archive.writestr(_member("model.weights.h5", now.timetuple()[:6]), weights.getvalue())
            assets.write_assets(model, archive, lambda name: _member(name, now.timetuple()[:6]))


def _open(path):
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError, EOFError, ValueError) as error:
        raise FileFormatError(f"'{path}' is not a readable .keras archive (truncated or corrupted): {error}") from error
    for info in archive.infolist():
        if info.file_size > MAX_MEMBER_BYTES and info.file_size > MAX_EXPANSION * max(info.compress_size, 1):
            raise FileFormatError(f"Refusing '{path}': member '{info.filename}' declares {info.file_size} bytes "
                                  f"from {info.compress_size} stored (a zip bomb?).")
    return archive


def read_member(archive, name, path, limit=MAX_MEMBER_BYTES):
    """The bytes of one member; a missing, oversized or corrupted member raises `FileFormatError`."""
    try:
        info = archive.getinfo(name)
    except KeyError:
        raise FileFormatError(f"'{path}' has no '{name}': not a Keras 3 .keras archive "
                              f"(members: {archive.namelist()[:10]}).") from None
    if info.file_size > limit:
        raise FileFormatError(f"Refusing '{path}': '{name}' is {info.file_size} bytes.")
    try:
        return archive.read(info)
    except (zipfile.BadZipFile, OSError, EOFError, ValueError, NotImplementedError, RuntimeError) as error:
        raise FileFormatError(f"Cannot read '{name}' from '{path}' (truncated or corrupted): {error}") from error


def read_config(archive, path):
    raw = read_member(archive, "config.json", path, MAX_CONFIG_BYTES)
    try:
        config = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as error:
        raise FileFormatError(f"'config.json' in '{path}' is not valid JSON: {error}") from error
    if not isinstance(config, dict) or not isinstance(config.get("class_name"), str):
        raise FileFormatError(f"'config.json' in '{path}' is not a serialized model (no 'class_name').")
    return config


def open_weights(archive, path):
    """``model.weights.h5`` as an open h5py file (in memory)."""
    raw = read_member(archive, "model.weights.h5", path)
    if raw[:8] != h5_utils.HDF5_SIGNATURE:
        raise FileFormatError(f"'model.weights.h5' in '{path}' is not an HDF5 file.")
    try:
        return h5py.File(io.BytesIO(raw), "r")
    except h5_utils.OPEN_ERRORS as error:
        raise FileFormatError(f"'model.weights.h5' in '{path}' is corrupted: {error}") from error


def build_model(config, custom_objects=None, safe_mode=True, where="the file"):
    """A fresh model from a serialized config, resolved only through the registry."""
    from lamina.layers.serialization import deserialize

    # Any error of a constructor, `from_config` or the graph rebuild means a config lamina cannot use:
    # it becomes a FileFormatError with the original message (unknown/unsafe names stay DeserializationError).
    with file_errors(f"deserializing the model config in {where}"):
        with registry.custom_object_scope(custom_objects or {}), registry.safe_mode_scope(safe_mode):
            model = deserialize(config, custom_objects=custom_objects)
    from lamina.engine.layer import Layer

    if not isinstance(model, Layer):
        raise FileFormatError(f"The config in {where} describes a {type(model).__name__}, not a model.")
    with file_errors(f"building the model of {where} from its build_config"):
        ensure_built(model, config.get("build_config"))
    return model


def ensure_built(model, build_config):
    """Creates a subclassed model's weights from its ``build_config`` (one call on zeros)."""
    import torch

    if model.built and model.weights:
        return
    shape = (build_config or {}).get("input_shape")
    if shape is None:
        return
    model.build_from_config(build_config)
    if not model.weights and isinstance(shape, list) and all(isinstance(d, int) or d is None for d in shape):
        with torch.no_grad():
            model(torch.zeros([1 if d is None else d for d in shape]), training=False)


def load_model(path, custom_objects=None, compile=True, safe_mode=True):
    """Loads a ``.keras`` archive into a new model (weights assigned only after every check)."""
    with _open(path) as archive:
        config = read_config(archive, path)
        model = build_model(config, custom_objects, safe_mode, f"'{path}'")
        with open_weights(archive, path) as weights:
            if compile and config.get("compile_config"):
                with file_errors(f"compiling the model of '{path}' from its compile_config"):
                    compile_state.compile_from_saved(model, config["compile_config"], custom_objects)
                    if "optimizer" in weights:
                        compile_state.build_optimizer(model)
            with file_errors(f"loading the weights in '{path}' (corrupted)"):
                weights_h5.load_weights_from_file(model, weights, filename=f"{path}::model.weights.h5")
        with file_errors(f"reading the assets of '{path}'"):
            assets.read_assets(model, archive, f"'{path}'")
    return model


def load_weights(model, path, skip_mismatch=False):
    """``model.load_weights("m.keras")``: reads only the archive's weights file."""
    with _open(path) as archive, open_weights(archive, path) as weights:
        with file_errors(f"loading the weights in '{path}' (corrupted)"):
            weights_h5.load_weights_from_file(model, weights, skip_mismatch, filename=f"{path}::model.weights.h5")
