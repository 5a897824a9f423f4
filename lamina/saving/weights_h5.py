"""The Keras 3 weights layout (``*.weights.h5`` and ``model.weights.h5`` inside ``.keras``).

Each object found by the `object_graph.walk` gets a group ``<path>/vars`` with a
``name`` attribute and its own variables as datasets ``"0"``, ``"1"``, ... (spec
§7). Paths come from the object graph, never from layer names, so the file
loads into any equally built model, and Keras 3 loads lamina's files by path.

>>> import io, h5py, lamina
>>> from lamina import layers
>>> inputs = lamina.Input((4,), name="x")
>>> model = lamina.Model(inputs, layers.Dense(2, name="d")(inputs))
>>> buffer = io.BytesIO()
>>> with h5py.File(buffer, "w") as f:
...     save_weights_to_file(model, f)
...     sorted(f["layers/dense/vars"]), f["layers/dense/vars"].attrs["name"]
(['0', '1'], 'd')
"""

import warnings

import h5py

from lamina.saving import h5_utils, object_graph
from lamina.saving.errors import FileFormatError, WeightsMismatchError, mismatch_message
from lamina.saving.legacy_h5 import assign_all


def save_weights_to_file(model, f, include_optimizer=True):
    """Writes every object's own variables under its object-graph path."""
    for path, obj in object_graph.walk(model):
        variables = object_graph.own_variables(obj)
        if object_graph._is_optimizer(obj) and not (variables and include_optimizer):
            continue
        group = f.require_group(f"{path}/vars" if path else "vars")
        group.attrs["name"] = str(obj.name)
        for index, variable in enumerate(variables):
            h5_utils.write_array(group, str(index), h5_utils.variable_value(variable))


def _stored(f, path):
    """The datasets of ``<path>/vars`` in numeric order (empty if the group is missing)."""
    group = h5_utils.child(f, f"{path}/vars" if path else "vars", h5py.Group)
    if group is None:
        return []
    names = list(group.keys())
    if any(not name.isdigit() or len(name) > 9 for name in names):
        raise FileFormatError(f"'{group.name}' holds non-numeric entries {names[:5]}: not a Keras weights file.")
    datasets = []
    for name in sorted(names, key=int):
        dataset = h5_utils.child(group, name, h5py.Dataset)
        if dataset is None:
            raise FileFormatError(f"'{group.name}/{name}' is not a dataset.")
        datasets.append(h5_utils.check_dataset(dataset))
    return datasets


def is_keras3_layout(f):
    """Whether an open HDF5 file uses this layout (rather than the legacy ``layer_names`` one)."""
    return "layer_names" not in f.attrs and "layer_names0" not in f.attrs and "model_weights" not in f \
        and ("vars" in f or "layers" in f or "optimizer" in f or not len(f))


def load_weights_from_file(model, f, skip_mismatch=False, filename=None):
    """Loads weights by object-graph path; checks every group first, then assigns."""
    filename = filename or f.file.filename
    problems, pairs = [], []
    for path, obj in object_graph.walk(model):
        variables = object_graph.own_variables(obj)
        stored = _stored(f, path)
        where = f"'{path or '/'}'"
        if object_graph._is_optimizer(obj):
            if not stored:  # saved with include_optimizer=False (or uncompiled): the optimizer starts fresh
                continue
            if len(stored) != len(variables):
                warnings.warn(f"Skipping variable loading for optimizer '{obj.name}', because it has "
                              f"{len(variables)} variables whereas the saved optimizer has {len(stored)} variables.",
                              stacklevel=3)
                continue
        if len(stored) != len(variables):
            problems.append(f"Layer '{obj.name}' (at {where}) expected {len(variables)} variables, but received "
                            f"{len(stored)} variables during loading. Expected: "
                            f"{[v.path for v in variables]}")
            continue
        bad = [f"variable {i} '{v.path}': file {tuple(ds.shape)} vs model {tuple(v.shape)}"
               for i, (v, ds) in enumerate(zip(variables, stored)) if tuple(ds.shape) != tuple(v.shape)]
        if bad:
            problems.append(f"Layer '{obj.name}' (at {where}) shape mismatch: " + "; ".join(bad))
            continue
        pairs.extend(zip(variables, stored))
    if problems:
        if not skip_mismatch:
            raise WeightsMismatchError(mismatch_message("Keras 3 weights", filename, problems))
        warnings.warn("Skipped loading some weights (skip_mismatch=True):\n" + "\n".join(problems), stacklevel=3)
    values = [(v, h5_utils.read_dataset(ds, bfloat16=ds.attrs.get("dtype") in ("bfloat16", b"bfloat16")))
              for v, ds in pairs]
    assign_all(values)
