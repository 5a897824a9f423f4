"""The Keras 2 (tf.keras) HDF5 layout: ``save_weights("w.h5")`` and ``save("m.h5")``.

Weights live in one group per layer, named after the layer, with a ``weight_names``
attribute; each name is a dataset path inside that group (``hidden/kernel:0``),
in the layer's ``trainable_weights + non_trainable_weights`` order (spec §3).
Readers pair stored layers with the model's layers that have weights, in order
(or by name), check every count and shape first, and assign only when all fit.

>>> import os, tempfile, h5py, lamina
>>> from lamina import layers
>>> inputs = lamina.Input((2,), name="x")
>>> model = lamina.Model(inputs, layers.Dense(3, name="hidden")(inputs))
>>> path = os.path.join(tempfile.mkdtemp(), "w.h5")
>>> with h5py.File(path, "w") as f:
...     save_weights_to_group(f, model)
>>> with h5py.File(path, "r") as f:
...     [(g, sorted(f[g][g])) for g in ("hidden",)]
[('hidden', ['bias:0', 'kernel:0'])]
"""

import warnings

import h5py
import numpy as np

from lamina.saving import h5_utils
from lamina.saving.errors import FileFormatError, WeightsMismatchError, mismatch_message

BACKEND = "torch"


def keras_version():
    from lamina.saving.serialization import KERAS_VERSION

    return KERAS_VERSION


def legacy_layers(model):
    """The layers a legacy file lists: ``model.layers`` (Sequential: without its InputLayer)."""
    return list(model.layers)


def layer_weights(layer):
    """A layer's weights in legacy order: trainable then non-trainable, at the current flags."""
    seen, out = set(), []
    for variable in list(layer.trainable_weights) + list(layer.non_trainable_weights):
        if id(variable) not in seen:
            seen.add(id(variable))
            out.append(variable)
    return out


def weight_names(layer, variables):
    """tf.keras-style names: ``<layer>/<var>:0``; sublayer variables keep their own prefix."""
    from lamina.engine.model import Model

    own = {id(v) for v in layer._variables}
    names, used = [], set()
    for variable in variables:
        path = getattr(variable, "path", None) or variable.name
        if id(variable) in own:
            base = f"{layer.name}/{variable.name}"
        elif isinstance(layer, Model):
            base = path
        else:
            base = f"{layer.name}/{path}"
        name, suffix = f"{base}:0", 0
        while name in used:
            suffix += 1
            name = f"{base}_{suffix}:0"
        used.add(name)
        names.append(name)
    return names


def save_weights_to_group(group, model):
    """Writes ``layer_names``, one group per layer and ``top_level_model_weights`` (spec §3.2)."""
    layers = legacy_layers(model)
    h5_utils.write_name_list(group, "layer_names", [layer.name for layer in layers])
    group.attrs["backend"] = BACKEND.encode("utf-8")
    group.attrs["keras_version"] = keras_version().encode("utf-8")
    for layer in sorted(layers, key=lambda item: item.name):
        _write_weights(group.create_group(h5_utils.check_name(layer.name, "layer name")), layer, layer_weights(layer))
    top = [v for v in model._variables]
    _write_weights(group.create_group("top_level_model_weights"), model, top)


def _write_weights(group, layer, variables):
    names = weight_names(layer, variables)
    h5_utils.write_name_list(group, "weight_names", names)
    for name, variable in zip(names, variables):
        h5_utils.write_array(group, h5_utils.check_name(name, "weight name"), h5_utils.variable_value(variable),
                             mark_bfloat16=False)


# ---- reading --------------------------------------------------------------------------------------------

def _stored_layers(group):
    """``[(layer_name, [(weight_name, dataset), ...]), ...]`` in ``layer_names`` order, validated."""
    names = h5_utils.read_name_list(group, "layer_names")
    if not names and "layer_names" not in group.attrs and "layer_names0" not in group.attrs:
        raise FileFormatError(f"'{group.file.filename}' has no 'layer_names' attribute: not a Keras weights file.")
    stored = []
    for name in names:
        layer_group = h5_utils.child(group, h5_utils.check_name(name, "layer name"), h5py.Group)
        if layer_group is None:
            raise FileFormatError(f"The file lists layer '{name}' but has no group for it.")
        stored.append((name, _stored_weights(layer_group)))
    return stored


def _stored_weights(layer_group):
    out = []
    for weight_name in h5_utils.read_name_list(layer_group, "weight_names"):
        dataset = h5_utils.child(layer_group, weight_name, h5py.Dataset, f" of layer '{layer_group.name}'")
        if dataset is None:
            raise FileFormatError(f"Weight '{weight_name}' listed in '{layer_group.name}' is missing from the file.")
        out.append((weight_name, h5_utils.check_dataset(dataset)))
    return out


def _check_layer(problems, layer, stored, stored_name):
    variables = layer_weights(layer)
    if len(variables) != len(stored):
        problems.append(f"Layer '{layer.name}' (stored as '{stored_name}') expects {len(variables)} weights, "
                        f"the file has {len(stored)}: {[name for name, _ in stored]}.")
        return None
    bad = [f"'{name}': file {tuple(ds.shape)} vs model {tuple(v.shape)}"
           for v, (name, ds) in zip(variables, stored) if tuple(ds.shape) != tuple(v.shape)]
    if bad:
        problems.append(f"Layer '{layer.name}' weight shape mismatch: " + "; ".join(bad))
        return None
    return list(zip(variables, [ds for _, ds in stored]))


def load_weights_from_group(group, model, skip_mismatch=False, by_name=False):
    """Loads legacy weights into ``model``: validates everything, then assigns."""
    _require_built(model)
    stored = _stored_layers(group)
    problems, pairs, appliers = [], [], []
    if by_name:
        by_layer = {layer.name: layer for layer in legacy_layers(model)}
        for name, weights in stored:
            if name in by_layer and not _takes_tf_keras_state(by_layer[name], weights, problems, appliers):
                pairs.extend(_check_layer(problems, by_layer[name], weights, name) or [])
    else:
        by_layer = {layer.name: layer for layer in legacy_layers(model)}
        file_layers = []
        for name, weights in stored:
            if weights and not _takes_tf_keras_state(by_layer.get(name), weights, problems, appliers):
                file_layers.append((name, weights))
        model_layers = [layer for layer in legacy_layers(model) if layer_weights(layer)]
        if len(file_layers) != len(model_layers):
            raise WeightsMismatchError(mismatch_message("legacy HDF5", group.file.filename, [
                f"Layer count mismatch: the model has {len(model_layers)} layers with weights "
                f"{[layer.name for layer in model_layers]}, the file has {len(file_layers)} "
                f"{[name for name, _ in file_layers]}."]))
        for layer, (name, weights) in zip(model_layers, file_layers):
            pairs.extend(_check_layer(problems, layer, weights, name) or [])
    if "top_level_model_weights" in group:
        top = _stored_weights(h5_utils.child(group, "top_level_model_weights", h5py.Group))
        if top or model._variables:
            own = _check_own(problems, model, top)
            pairs.extend(own)
    _finish(problems, skip_mismatch, "legacy HDF5", group.file.filename)
    assign_all([(variable, h5_utils.read_dataset(ds)) for variable, ds in pairs])
    for apply in appliers:
        apply()


def _takes_tf_keras_state(layer, stored, problems, appliers):
    """Whether ``layer`` keeps as plain state what tf.keras 2 stored as weights (an adapted
    Discretization's ``summary``) and these are they; their checked values' applier joins ``appliers``.

    Such a layer declares the weights' names (``_tf_keras_state_weights``) and a
    ``_tf_keras_state_loader(arrays)`` that validates them and returns a function applying them.
    """
    names = getattr(layer, "_tf_keras_state_weights", None)
    if not names or layer_weights(layer) or [_base_name(name) for name, _ in stored] != list(names):
        return False
    try:
        appliers.append(layer._tf_keras_state_loader([h5_utils.read_dataset(ds) for _, ds in stored]))
    except ValueError as error:
        problems.append(f"Layer '{layer.name}': {error}")
    return True


def _base_name(weight_name):
    """``'discretization_1/summary:0'`` -> ``'summary'``."""
    return weight_name.rsplit("/", 1)[-1].split(":", 1)[0]


def _check_own(problems, model, stored):
    variables = list(model._variables)
    if len(variables) != len(stored) or any(tuple(v.shape) != tuple(ds.shape) for v, (_, ds) in zip(variables, stored)):
        problems.append(f"Model '{model.name}' own weights: file has {[(n, ds.shape) for n, ds in stored]}, "
                        f"model has {[(v.name, tuple(v.shape)) for v in variables]}.")
        return []
    return list(zip(variables, [ds for _, ds in stored]))


def _finish(problems, skip_mismatch, kind, path):
    if not problems:
        return
    if not skip_mismatch:
        raise WeightsMismatchError(mismatch_message(kind, path, problems))
    warnings.warn("Skipped loading some weights (skip_mismatch=True):\n" + "\n".join(problems), stacklevel=3)


def _require_built(model):
    if not model.built:
        raise ValueError(
            f"Unable to load weights into model '{model.name}', which has not created its variables yet. "
            "Call the model on a batch of data (or `model.build(input_shape)`) first, then load the weights."
        )


def assign_all(pairs):
    """Assigns ``(variable, value)`` pairs after converting every value first (nothing half-done)."""
    import torch

    converted = []
    for variable, value in pairs:
        target = variable.value
        tensor = value if isinstance(value, torch.Tensor) else torch.from_numpy(np.ascontiguousarray(value))
        converted.append((variable, tensor.to(device=target.device, dtype=target.dtype)))
    for variable, tensor in converted:
        variable.assign(tensor)
