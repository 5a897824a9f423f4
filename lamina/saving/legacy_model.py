"""Whole models in the legacy HDF5 file (``model.save("m.h5")``), spec §3-§4.

Root attributes ``backend``, ``keras_version``, ``model_config`` (Keras 2 schema,
so tf.keras 2 can rebuild the model) and, once compiled, ``training_config``;
groups ``model_weights`` (the legacy weights layout) and ``optimizer_weights``.
Reading accepts files from tf.keras 2 (three optimizer naming schemes) and
Keras 3 (Keras 3 configs inside the Keras 2 envelope).

>>> import os, tempfile, h5py, lamina
>>> from lamina import layers
>>> inputs = lamina.Input((4,), name="x")
>>> model = lamina.Model(inputs, layers.Dense(2, name="d")(inputs), name="m")
>>> path = os.path.join(tempfile.mkdtemp(), "m.h5")
>>> save_model(model, path)
>>> with h5py.File(path) as f:
...     sorted(f.attrs), list(f["model_weights"].attrs["layer_names"])
(['backend', 'keras_version', 'model_config'], ['x', 'd'])
>>> load_model(path).name
'm'
"""

import json
import warnings

import h5py

from lamina.saving import compile_state, h5_utils, keras2_dialect, legacy_h5
from lamina.saving.atomic import atomic_path
from lamina.saving.errors import FileFormatError, file_errors
from lamina.saving.functional_config import keras2_model_config


def save_model(model, path, overwrite=True, include_optimizer=True):
    """Writes ``model`` (Functional or Sequential) to a legacy ``.h5`` file atomically."""
    from lamina.engine.functional import Functional
    from lamina.engine.sequential import Sequential

    if not isinstance(model, (Functional, Sequential)):
        raise ValueError(
            "Saving the model to HDF5 format requires the model to be a Functional model or a Sequential model. "
            f"It does not work for subclassed models such as '{type(model).__name__}'. Save it in the `.keras` "
            f"format instead: model.save('{model.name}.keras'). Received: filepath={path}"
        )
    config = json.dumps(keras2_model_config(model)).encode("utf-8")
    training = compile_state.training_config(model) if include_optimizer else None
    with atomic_path(path, overwrite) as tmp:
        if tmp is None:
            return
        with h5py.File(tmp, "w") as f:
            f.attrs["backend"] = legacy_h5.BACKEND
            f.attrs["keras_version"] = legacy_h5.keras_version()
            f.attrs["model_config"] = config
            if training is not None:
                f.attrs["training_config"] = json.dumps(training).encode("utf-8")
            legacy_h5.save_weights_to_group(f.create_group("model_weights"), model)
            optimizer = getattr(model, "optimizer", None)
            if include_optimizer and training is not None and optimizer is not None and optimizer.variables:
                _save_optimizer(f.create_group("optimizer_weights"), optimizer)


def _save_optimizer(group, optimizer):
    names, used = [], set()
    for index, variable in enumerate(optimizer.variables):
        base = f"{optimizer.name}/{getattr(variable, 'name', None) or index}"
        name, suffix = base, 0
        while name in used:
            suffix += 1
            name = f"{base}_{suffix}"
        used.add(name)
        names.append(name)
    h5_utils.write_name_list(group, "weight_names", names)
    for name, variable in zip(names, optimizer.variables):
        h5_utils.write_array(group, h5_utils.check_name(name, "optimizer weight name"),
                             h5_utils.variable_value(variable), mark_bfloat16=False)


def load_model(path, custom_objects=None, compile=True, safe_mode=True):
    """A new model from a legacy ``.h5`` file; weights assigned only after every check."""
    from lamina.saving.keras_zip import build_model

    with h5_utils.open_h5(path) as f:
        text = h5_utils.read_str_attr(f, "model_config")
        if text is None:
            raise FileFormatError(f"No model config found in the file at {path}. It holds only weights: build the "
                             "model in code and call `model.load_weights(path)`.")
        config = _json(text, "model_config", path)
        if not isinstance(config, dict) or not isinstance(config.get("class_name"), str):
            raise FileFormatError(f"'model_config' in '{path}' is not a serialized model.")
        if keras2_dialect.is_tf_keras_version(h5_utils.read_str_attr(f, "keras_version")):
            keras2_dialect.read_tf_keras(config)
        model = build_model(config, custom_objects, safe_mode, f"'{path}'")
        weights = h5_utils.child(f, "model_weights", h5py.Group)
        if weights is None:
            raise FileFormatError(f"'{path}' has a model config but no 'model_weights' group.")
        with file_errors(f"loading the weights in '{path}' (corrupted)"):
            legacy_h5.load_weights_from_group(weights, model)
        training = h5_utils.read_str_attr(f, "training_config")
        if compile and training is not None:
            config = _json(training, "training_config", path)
            if not isinstance(config, dict):
                raise FileFormatError(f"'training_config' in '{path}' is not a JSON object.")
            with file_errors(f"compiling the model of '{path}' from its training_config"):
                compile_state.compile_from_training_config(model, config, custom_objects)
                group = h5_utils.child(f, "optimizer_weights", h5py.Group)
                if group is not None:
                    _load_optimizer(group, model)
    return model


def _json(text, what, path):
    try:
        return json.loads(text)
    except (ValueError, RecursionError) as error:
        raise FileFormatError(f"'{what}' in '{path}' is not valid JSON: {error}") from error


def _load_optimizer(group, model):
    """Restores optimizer state from any of the three naming schemes of spec §3.3 (warns if it cannot)."""
    optimizer = compile_state.build_optimizer(model)
    names = h5_utils.read_name_list(group, "weight_names")
    datasets = [h5_utils.child(group, name, h5py.Dataset) for name in names]
    if any(ds is None for ds in datasets):
        raise FileFormatError(f"'optimizer_weights' in '{group.file.filename}' lists missing datasets.")
    variables = list(optimizer.variables)
    pairs = _match_optimizer(names, datasets, variables, len(model.trainable_variables))
    if pairs is None or any(tuple(ds.shape) != tuple(v.shape) for v, ds in pairs):
        warnings.warn(
            f"Error in loading the saved optimizer state: the file has {len(names)} optimizer weights "
            f"({names[:3]}...), the optimizer '{optimizer.name}' has {len(variables)}. As a result, your model is "
            "starting with a freshly initialized optimizer.", stacklevel=3)
        return
    legacy_h5.assign_all([(v, h5_utils.read_dataset(ds)) for v, ds in pairs])


def _match_optimizer(names, datasets, variables, n_trainable):
    if len(names) == len(variables):  # Keras 3 / lamina: iteration, learning_rate, then slots
        return list(zip(variables, datasets))
    if not names or len(names) != len(variables) - 1:
        return None
    slots = datasets[1:]
    if names[0].endswith("/iter:0") and n_trainable and len(slots) % n_trainable == 0:
        kinds = len(slots) // n_trainable  # tf.keras legacy optimizers: all m, then all v
        slots = [slots[k * n_trainable + i] for i in range(n_trainable) for k in range(kinds)]
    return [(variables[0], datasets[0])] + list(zip(variables[2:], slots))
