"""Writes `reference.json`: what Keras 3 does on the training-loop cases of `cases.py`.

Run in a venv with Keras 3 (made with keras 3.15.1 on tensorflow-cpu 2.21, TF backend)::

    /tmp/keras-venv/bin/python tests/training/keras_reference/make_reference.py

The inputs and initial weights come from a seeded NumPy RNG and are stored in the file, so the
lamina test (tests/training/test_against_keras.py) starts from exactly the same numbers.
"""

import json
import os
import sys
import tempfile

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

import numpy as np  # noqa: E402


def main():
    # Imported here, so that pytest's doctest collection (in lamina's venv, without Keras) can import this file.
    import keras

    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import cases
    rng = np.random.default_rng(20261206)
    data = cases.make_data(rng)
    kinds = sorted({case["model"] for case in cases.CASES})
    weights = {kind: cases.initial_weights(keras, kind, rng) for kind in kinds}
    results = {}
    for case in cases.CASES:
        keras.utils.clear_session()
        with tempfile.TemporaryDirectory() as folder:
            try:
                results[case["name"]] = cases.run_case(keras, case, data, weights[case["model"]], folder)
            except Exception as error:  # a case Keras refuses: lamina must refuse it with the same type
                results[case["name"]] = {"error": type(error).__name__, "message": str(error)}
    out = {
        "versions": {"keras": keras.__version__, "backend": keras.backend.backend()},
        "data": {k: {"dtype": str(v.dtype), "value": cases.to_json(v)} for k, v in data.items()},
        "weights": {k: cases.to_json(v) for k, v in weights.items()},
        "results": results,
    }
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "reference.json")
    with open(path, "w") as f:
        json.dump(out, f, indent=0, sort_keys=False)
    print(f"wrote {path} ({os.path.getsize(path)} bytes, {len(results)} cases)")


if __name__ == "__main__":
    main()
