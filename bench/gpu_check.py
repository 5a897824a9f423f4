"""GPU checks (run where CUDA is available): placement, training, mixed precision, compile, files.

    python bench/gpu_check.py

Each check prints a line and asserts what it claims; the script exits non-zero on the first
failure. The CPU test suite covers the numerics; this covers what only a GPU can show.
"""

import os
import tempfile
import time

import numpy as np
import torch

import lamina
from lamina import layers


def check(name, fn):
    start = time.perf_counter()
    detail = fn()
    print(f"ok  {name:55s} {time.perf_counter() - start:6.1f}s  {detail or ''}", flush=True)


def data(n=2048):
    rng = np.random.default_rng(0)
    return rng.normal(size=(n, 8, 8, 1)).astype("float32"), rng.integers(0, 10, size=(n,))


def cnn(dtype=None):
    inputs = lamina.Input((8, 8, 1))
    x = layers.Conv2D(16, 3, padding="same", activation="relu", dtype=dtype)(inputs)
    x = layers.BatchNormalization(dtype=dtype)(x)
    x = layers.MaxPooling2D(dtype=dtype)(x)
    x = layers.Flatten(dtype=dtype)(x)
    outputs = layers.Dense(10, activation="softmax", dtype="float32")(x)
    return lamina.Model(inputs, outputs)


def placement():
    assert lamina.config.device().type == "cuda", lamina.config.device()
    model = cnn()
    assert all(w.value.is_cuda for w in model.weights)
    out = model(np.zeros((2, 8, 8, 1), "float32"))
    assert out.is_cuda
    return f"device={torch.cuda.get_device_name()}"


def training():
    x, y = data()
    model = cnn()
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    history = model.fit(x, y, batch_size=64, epochs=3, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]
    assert model.predict(x[:5], verbose=0).shape == (5, 10)
    return f"loss {history.history['loss'][0]:.3f} -> {history.history['loss'][-1]:.3f}"


def mixed_precision():
    x, y = data()
    model = cnn(dtype="mixed_float16")
    conv = model.layers[1]
    assert conv.compute_dtype == "float16" and conv.kernel.dtype == "float32"
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    model.fit(x, y, batch_size=64, epochs=1, verbose=0)
    hidden = conv(torch.zeros(2, 8, 8, 1, device="cuda"))
    assert hidden.dtype == torch.float16, hidden.dtype
    assert model(x[:2]).dtype == torch.float32
    return "conv computes in float16 with float32 weights"


def recurrent_and_attention():
    tokens = lamina.Input((12,), dtype="int32")
    h = layers.Embedding(50, 16, mask_zero=True)(tokens)
    h = layers.LSTM(32, return_sequences=True)(h)
    h = layers.MultiHeadAttention(2, 8)(h, h)
    model = lamina.Model(tokens, layers.Dense(1)(layers.GlobalAveragePooling1D()(h)))
    x = np.random.default_rng(0).integers(1, 50, size=(64, 12))
    x[:, 8:] = 0
    model.compile(optimizer="adam", loss="mse")
    model.fit(x, np.zeros((64, 1)), epochs=1, verbose=0)
    lstm = model.layers[2]
    return f"LSTM path={lstm.last_call_path}"


def compiled():
    x, y = data(512)
    model = cnn()
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", jit_compile=True)
    eager = cnn()
    eager.set_weights(model.get_weights())
    eager.compile(optimizer="adam", loss="sparse_categorical_crossentropy", jit_compile=False)
    a = model.fit(x, y, batch_size=64, epochs=1, shuffle=False, verbose=0).history["loss"][0]
    b = eager.fit(x, y, batch_size=64, epochs=1, shuffle=False, verbose=0).history["loss"][0]
    assert abs(a - b) < 1e-3, (a, b)
    return f"compiled loss {a:.5f} vs eager {b:.5f}"


def files():
    x, _ = data(16)
    model = cnn()
    expected = model.predict(x, verbose=0)
    with tempfile.TemporaryDirectory() as folder:
        for name in ("m.keras", "m.h5"):
            path = os.path.join(folder, name)
            model.save(path)
            loaded = lamina.models.load_model(path)
            assert all(w.value.is_cuda for w in loaded.weights)
            np.testing.assert_allclose(loaded.predict(x, verbose=0), expected, rtol=1e-5, atol=1e-6)
    return ".keras and .h5 round trips on CUDA"


if __name__ == "__main__":
    for name, fn in [("placement", placement), ("training", training), ("mixed precision", mixed_precision),
                     ("recurrent + attention", recurrent_and_attention), ("jit_compile", compiled),
                     ("files", files)]:
        check(name, fn)
