"""Writes ``samples/catalogue/``: every row of ``tests/saving/layer_table.py`` saved by real Keras.

Run in an environment with ``tensorflow-cpu==2.21.0 tf-keras==2.21.0 keras==3.15.1 h5py`` (no
lamina or torch), from the repository root::

    python tests/saving/samples/scripts/make_catalogue.py

For each row whose classes the library has, the model ``Input -> layer`` gets distinct weights
(``layer_table.randomize``) and is saved: ``tfk_<row>.h5`` by tf_keras 2 (legacy HDF5) and
``k3_<row>.keras`` by Keras 3 (TensorFlow backend). ``<prefix>_<row>.npz`` holds the inputs
(``x0``, ``x1``, ...) and the predictions ``y`` of the saved file reloaded by its writer;
``manifest.json`` lists the files, the
rows a library could not build and why.
"""

import json
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", "..", ".."))
OUT = os.path.join(ROOT, "tests", "saving", "samples", "catalogue")


def main():
    import keras
    import tf_keras

    sys.path.insert(0, ROOT)
    from tests.saving import layer_table

    os.makedirs(OUT, exist_ok=True)
    manifest = {"versions": {"tf_keras": tf_keras.__version__, "keras": keras.__version__}, "files": {},
                "not_written": {}}
    for prefix, library, suffix in (("tfk", tf_keras, ".h5"), ("k3", keras, ".keras")):
        for key in sorted(layer_table.TABLE):
            missing = [name for name in layer_table.classes(key) if not hasattr(library.layers, name)]
            name = f"{prefix}_{layer_table.file_stem(key)}"
            if missing:
                manifest["not_written"][name] = f"{prefix} has no {', '.join(missing)}"
                continue
            try:
                x = layer_table.make_data(key)
                model = layer_table.make_model(key, library)
                predict = _predict_strings if isinstance(x, np.ndarray) and x.dtype.kind == "U" else _predict
                predict(model, x)
                layer_table.randomize(model)
                in_memory = predict(model, x)
                model.save(os.path.join(OUT, name + suffix))
                # The reference is what the writer predicts for the file it wrote: for some layers
                # (adapted Normalization/Discretization after set_weights) the model in memory differs.
                y = predict(library.models.load_model(os.path.join(OUT, name + suffix)), x)
            except Exception as error:  # a row this library cannot build or save: record why
                manifest["not_written"][name] = f"{type(error).__name__}: {str(error)[:300]}"
                continue
            parts = [np.asarray(part, dtype=str) if part.dtype == object else part
                     for part in (x if isinstance(x, list) else [x])]
            np.savez(os.path.join(OUT, name + ".npz"), y=y, **{f"x{i}": part for i, part in enumerate(parts)})
            manifest["files"][name + suffix] = {"row": key, "inputs": len(parts),
                                                "reload_differs": bool(in_memory.shape != y.shape
                                                                       or not np.allclose(in_memory, y, atol=1e-6))}
    with open(os.path.join(OUT, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=1, sort_keys=True)
    print(f"wrote {len(manifest['files'])} models to {OUT}; not written: {len(manifest['not_written'])}")


def _predict(model, x):
    return np.asarray(model.predict(x, verbose=0))


def _predict_strings(model, x):
    import tensorflow as tf

    return np.asarray(model(tf.constant(x)))  # Keras 3 predict refuses NumPy string arrays


if __name__ == "__main__":
    main()
