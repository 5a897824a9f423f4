"""Cross-check lamina's files with real tf.keras 2 and Keras 3 (not part of the pytest run).

Two phases, two environments:

1. In lamina's environment, write models and their predictions::

       .venv/bin/python tests/saving/check_with_real_keras.py write /tmp/lamina_files

2. In an environment with ``tensorflow-cpu==2.21.0 tf-keras==2.21.0 keras==3.15.1 h5py``
   (no lamina or torch needed), load each file in both libraries and compare predictions::

       python tests/saving/check_with_real_keras.py check /tmp/lamina_files

Phase 2 prints one line per (file, reader): ``OK`` with the largest difference, or the
error. Files that a Keras version cannot read by design (spec §10: tf.keras cannot read
Keras 3 ``.keras``; Keras 3 cannot resolve nested-model node indices of Keras 2 configs)
are reported as ``expected-fail``.
"""

import json
import os
import re
import sys

import numpy as np


def write(folder):
    import lamina
    from lamina import layers

    os.makedirs(folder, exist_ok=True)
    rng = np.random.default_rng(0)

    def mlp():
        inputs = lamina.Input((4,), name="x")
        hidden = layers.Dense(8, activation="relu", name="hidden")(inputs)
        return lamina.Model(inputs, layers.Dense(3, activation="softmax", name="out")(hidden), name="mlp")

    def sequential():
        return lamina.Sequential([lamina.Input((4,)), layers.Dense(8, activation="relu", name="hidden"),
                                  layers.Dense(3, name="out")], name="seq")

    def nested():
        sub_in = lamina.Input((4,), name="sub_in")
        encoder = lamina.Model(sub_in, layers.Dense(6, name="sub_dense")(sub_in), name="encoder")
        n_in = lamina.Input((4,), name="n_in")
        return lamina.Model(n_in, layers.Dense(2, name="n_out")(layers.Activation("relu", name="act")(encoder(n_in))),
                            name="nested")

    def shared():
        a, b = lamina.Input((4,), name="a"), lamina.Input((4,), name="b")
        dense = layers.Dense(5, name="shared")
        merged = layers.Concatenate(name="concat")([dense(a), dense(b)])
        return lamina.Model([a, b], layers.Dense(1, name="head")(merged), name="two_in_shared")

    def conv_bn():
        inputs = lamina.Input((8, 8, 1), name="img")
        x = layers.Conv2D(4, 3, name="conv")(inputs)
        x = layers.BatchNormalization(name="bn")(x)
        x = layers.Flatten(name="flat")(layers.Dropout(0.5, name="drop")(x))
        return lamina.Model(inputs, layers.Dense(2, name="dense")(x), name="convnet")

    def emb_lstm():
        inputs = lamina.Input((None,), dtype="int32", name="tokens")
        x = layers.LSTM(3, name="lstm")(layers.Embedding(20, 4, name="emb")(inputs))
        return lamina.Model(inputs, layers.Dense(1, name="dense")(x), name="lstm_model")

    cases = {"mlp": (mlp, (2, 4)), "seq": (sequential, (2, 4)), "nested": (nested, (2, 4)),
             "shared": (shared, [(2, 4), (2, 4)]), "conv_bn": (conv_bn, (2, 8, 8, 1)), "emb_lstm": (emb_lstm, (2, 5))}
    manifest = {}
    for name, (build, shape) in cases.items():
        model = build()
        model.set_weights([rng.uniform(-0.5, 0.5, size=w.shape).astype(w.dtype) + (0.6 if "variance" in v.path else 0)
                           for w, v in zip(model.get_weights(), model.weights)])
        if name == "emb_lstm":
            x = rng.integers(0, 20, size=shape).astype("int32")
        elif isinstance(shape, list):
            x = [rng.normal(size=s).astype("float32") for s in shape]
        else:
            x = rng.normal(size=shape).astype("float32")
        _write_case(folder, name, model, x, manifest)
    _write_catalogue(folder, manifest)
    trained = mlp()
    trained.compile(optimizer=lamina.optimizers.Adam(1e-3), loss="sparse_categorical_crossentropy",
                    metrics=["accuracy"])
    trained.fit(rng.normal(size=(16, 4)).astype("float32"), rng.integers(0, 3, size=(16,)), batch_size=8, verbose=0)
    x = rng.normal(size=(2, 4)).astype("float32")
    np.save(os.path.join(folder, "trained_x0.npy"), x)
    np.save(os.path.join(folder, "trained_y.npy"), np.asarray(trained.predict(x, verbose=0)))
    trained.save(os.path.join(folder, "trained.keras"))
    trained.save(os.path.join(folder, "trained.h5"))
    manifest["trained"] = 1
    with open(os.path.join(folder, "manifest.json"), "w") as f:
        json.dump(manifest, f)
    print(f"wrote {len(manifest)} models to {folder}")


def _write_case(folder, name, model, x, manifest):
    """``model`` in the four formats, its inputs and its predictions, under ``folder/name*``."""
    y = np.asarray(model.predict(x, verbose=0))
    np.save(os.path.join(folder, f"{name}_y.npy"), y)
    for i, part in enumerate(x if isinstance(x, list) else [x]):
        np.save(os.path.join(folder, f"{name}_x{i}.npy"), part)
    model.save(os.path.join(folder, f"{name}.keras"))
    model.save(os.path.join(folder, f"{name}.h5"))
    model.save_weights(os.path.join(folder, f"{name}.weights.h5"))
    model.save_weights(os.path.join(folder, f"{name}_weights.h5"))
    manifest[name] = len(x) if isinstance(x, list) else 1


def _write_catalogue(folder, manifest):
    """Every row of the shared layer table, alone in a functional model: ``layer_<key>``."""
    import lamina

    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
    from tests.saving import layer_table

    for key, (_, _, kind) in sorted(layer_table.TABLE.items()):
        if kind in ("string", "text"):
            continue  # string-input models: Keras predicts on tf string tensors, compared in the lamina tests
        x = layer_table.make_data(key)
        model = layer_table.make_model(key, lamina)
        model.predict(x, verbose=0)  # layers that create weights on their first real call have them now
        _write_case(folder, f"layer_{layer_table.file_stem(key)}", layer_table.randomize(model), x, manifest)


# Combinations that fail by design in the real libraries (spec §10, §12.2).
EXPECTED_FAIL = {
    ("tf_keras", ".keras"), ("keras3", "nested.h5"), ("keras3", "emb_lstm.h5"),
    # Keras 3 cannot read these layers from legacy HDF5 at all (also not tf.keras 2's own files).
    ("keras3", "layer_MultiHeadAttention.h5"), ("keras3", "layer_GroupQueryAttention.h5"),
    # tf.keras 2 names MultiHeadAttention's sublayers `_query_dense`; Keras 3.15 (and lamina) `query_dense`.
    ("tf_keras", "layer_MultiHeadAttention.weights.h5"),
    # tf.keras 2.21 cannot rebuild SpectralNormalization (it cannot save one either).
    ("tf_keras", "layer_SpectralNormalization.h5"), ("tf_keras", "layer_SpectralNormalization_weights.h5"),
    ("tf_keras", "layer_SpectralNormalization.weights.h5"),
    # The Keras 2 schema's Discretization dtype is the output's, 'int64' (tf.keras 2 needs it); Keras 3
    # takes it as the input policy and floors the inputs, for tf.keras 2's own files too.
    ("keras3", "layer_Discretization.h5"), ("keras3", "layer_Discretization_adapted.h5"),
    # Keras 3.15.1's RandomCrop returns the uncropped input at inference (its output shape says cropped):
    # keras-team/keras#21868.
    ("keras3", "layer_RandomCrop.h5"), ("keras3", "layer_RandomCrop.keras"), ("keras3", "layer_RandomCrop_weights.h5"),
    ("keras3", "layer_RandomCrop.weights.h5"),
}


def check(folder):
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import keras
    import tf_keras

    with open(os.path.join(folder, "manifest.json")) as f:
        manifest = json.load(f)
    results = []
    libraries = {"tf_keras": tf_keras, "keras3": keras}

    def record(reader, filename, expected, fn, *args):
        known = ((reader, os.path.splitext(filename)[1]) in EXPECTED_FAIL or (reader, filename) in EXPECTED_FAIL
                 or _layer_missing_in(libraries[reader], filename))
        try:
            y = np.asarray(fn(*args))
            diff = float(np.max(np.abs(y - expected)))
            status = "OK" if diff < 1e-5 else "expected-fail" if known else "WRONG"
            results.append((status, reader, filename, f"max |diff| = {diff:.2e}"))
        except Exception as error:  # report every failure, keep going
            results.append(("expected-fail" if known else "FAIL", reader, filename,
                            f"{type(error).__name__}: {str(error)[:200]}"))

    for name, n_inputs in manifest.items():
        _check_model(folder, name, n_inputs, record, libraries)
    for status, reader, filename, detail in results:
        print(f"{status:13s} {reader:9s} {filename:38s} {detail}")
    failures = [r for r in results if r[0] in ("FAIL", "WRONG")]
    print(f"\n{len(results) - len(failures)} / {len(results)} as expected")
    return 1 if failures else 0


def _layer_missing_in(library, filename):
    """``layer_<Class>`` files whose class the reading library does not have (tf.keras 2 lacks the Keras 3 ones)."""
    if not filename.startswith("layer_"):
        return False
    names = re.findall(r"[A-Z]\w*?(?=_|\.|$)", filename.removeprefix("layer_").split(".")[0])
    return not all(hasattr(library.layers, name) for name in names)


def _check_model(folder, name, n_inputs, record, libraries):
    import h5py

    xs = [np.load(os.path.join(folder, f"{name}_x{i}.npy")) for i in range(n_inputs)]
    x = xs if n_inputs > 1 else xs[0]
    y = np.load(os.path.join(folder, f"{name}_y.npy"))

    def path(suffix):
        return os.path.join(folder, f"{name}{suffix}")

    for reader, library in libraries.items():
        for suffix in (".h5", ".keras"):
            if reader == "tf_keras" and suffix == ".keras":
                continue
            record(reader, f"{name}{suffix}", y, _predict_loaded, library, path(suffix), x)
        if name == "trained":
            continue
        with h5py.File(path(".h5"), "r") as f:
            config = f.attrs["model_config"]
        config = config.decode() if isinstance(config, bytes) else config
        for suffix in ("_weights.h5", ".weights.h5"):
            # Keras 3 cannot read a Keras 2 JSON envelope: it rebuilds from lamina's .keras instead.
            source = config if reader == "tf_keras" else path(".keras")
            record(reader, f"{name}{suffix}", y, _predict_with_weights, library, source, path(suffix), x)


def _predict_loaded(library, path, x):
    return library.models.load_model(path).predict(x, verbose=0)


def _predict_with_weights(library, source, path, x):
    """Weights-only files go into a model rebuilt from lamina's legacy config (or its .keras file)."""
    model = library.models.load_model(source) if source.endswith(".keras") else library.models.model_from_json(source)
    model.set_weights([np.zeros_like(w) for w in model.get_weights()])
    model.load_weights(path)
    return model.predict(x, verbose=0)


if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[1] not in ("write", "check"):
        sys.exit(__doc__)
    sys.exit(write(sys.argv[2]) if sys.argv[1] == "write" else check(sys.argv[2]))
