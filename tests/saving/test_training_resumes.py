"""Compile state and optimizer state survive a save: training resumes exactly where it stopped.

``fit`` for 2 epochs must equal ``fit`` for 1 epoch, save, load, ``fit`` for 1 more epoch, weight for
weight, for every optimizer with state (moments, momentum, iteration-dependent schedules).
"""

import io
import zipfile

import h5py
import numpy as np
import pytest

import lamina
from lamina import layers

from .conftest import mlp


def _data():
    rng = np.random.default_rng(3)
    return rng.normal(size=(32, 4)).astype("float32"), rng.integers(0, 3, size=(32,))


def _compiled(optimizer):
    lamina.utils.set_random_seed(7)
    model = mlp()
    model.compile(optimizer=optimizer(), loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


OPTIMIZERS = {
    "adam": lambda: lamina.optimizers.Adam(learning_rate=0.01),
    "sgd_momentum": lambda: lamina.optimizers.SGD(learning_rate=0.05, momentum=0.9, nesterov=True),
    "rmsprop": lambda: lamina.optimizers.RMSprop(learning_rate=0.01, momentum=0.5),
    "adamw_schedule": lambda: lamina.optimizers.AdamW(
        learning_rate=lamina.optimizers.schedules.ExponentialDecay(0.02, decay_steps=2, decay_rate=0.5)),
}


@pytest.mark.parametrize("suffix", [".keras", ".h5"])
@pytest.mark.parametrize("optimizer", sorted(OPTIMIZERS))
def test_fit_two_epochs_equals_fit_save_load_fit(tmp_path, optimizer, suffix):
    x, y = _data()
    straight = _compiled(OPTIMIZERS[optimizer])
    straight.fit(x, y, epochs=2, batch_size=8, shuffle=False, verbose=0)

    resumed = _compiled(OPTIMIZERS[optimizer])
    resumed.fit(x, y, epochs=1, batch_size=8, shuffle=False, verbose=0)
    resumed.save(tmp_path / f"m{suffix}")
    loaded = lamina.models.load_model(tmp_path / f"m{suffix}")
    assert loaded.compiled and type(loaded.optimizer) is type(resumed.optimizer)
    assert int(loaded.optimizer.iterations.numpy()) == 4
    for saved, restored in zip(resumed.optimizer.variables, loaded.optimizer.variables):
        np.testing.assert_array_equal(restored.numpy(), saved.numpy())
    loaded.fit(x, y, epochs=1, batch_size=8, shuffle=False, verbose=0)

    assert int(loaded.optimizer.iterations.numpy()) == int(straight.optimizer.iterations.numpy()) == 8
    for a, b in zip(loaded.get_weights(), straight.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)
    assert loaded.evaluate(x, y, verbose=0, return_dict=True) == pytest.approx(
        straight.evaluate(x, y, verbose=0, return_dict=True), rel=1e-6)


def test_loss_metrics_and_loss_weights_are_restored(tmp_path):
    inputs = lamina.Input((4,), name="x")
    hidden = layers.Dense(5, activation="relu", name="hidden")(inputs)
    model = lamina.Model(inputs, [layers.Dense(1, name="reg")(hidden), layers.Dense(3, name="cls")(hidden)])
    model.compile(optimizer="adam", loss={"reg": "mse", "cls": lamina.losses.SparseCategoricalCrossentropy(
        from_logits=True)}, loss_weights={"reg": 0.5, "cls": 2.0}, metrics={"reg": ["mae"], "cls": ["accuracy"]})
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(16, 4)).astype("float32"), {"reg": rng.normal(size=(16, 1)).astype("float32"),
                                                         "cls": rng.integers(0, 3, size=(16,))}
    model.fit(x, y, epochs=1, batch_size=8, verbose=0)
    expected = model.evaluate(x, y, verbose=0, return_dict=True)
    for suffix in (".keras", ".h5"):
        model.save(tmp_path / f"m{suffix}")
        loaded = lamina.models.load_model(tmp_path / f"m{suffix}")
        assert loaded.get_compile_config()["loss_weights"] == {"reg": 0.5, "cls": 2.0}, suffix
        assert loaded.evaluate(x, y, verbose=0, return_dict=True) == pytest.approx(expected, rel=1e-6), suffix
        loaded_uncompiled = lamina.models.load_model(tmp_path / f"m{suffix}", compile=False)
        assert not loaded_uncompiled.compiled


@pytest.mark.parametrize("suffix", [".keras", ".h5"])
def test_include_optimizer_false_saves_no_optimizer_state(tmp_path, suffix):
    x, y = _data()
    model = _compiled(OPTIMIZERS["adam"])
    model.fit(x, y, epochs=1, batch_size=8, verbose=0)
    path = tmp_path / f"m{suffix}"
    model.save(path, include_optimizer=False)
    if suffix == ".keras":
        with zipfile.ZipFile(path) as archive, h5py.File(io.BytesIO(archive.read("model.weights.h5"))) as f:
            assert "optimizer" not in f and "layers" in f
    else:
        with h5py.File(path) as f:
            assert "optimizer_weights" not in f and "model_weights" in f
    loaded = lamina.models.load_model(path)
    if suffix == ".h5":  # as tf.keras 2 (and Keras 3's legacy writer): no training_config, so not compiled
        assert not loaded.compiled
        loaded.compile(optimizer=OPTIMIZERS["adam"](), loss="sparse_categorical_crossentropy")
    assert loaded.compiled and type(loaded.optimizer) is type(model.optimizer)  # a fresh optimizer
    assert int(loaded.optimizer.iterations.numpy()) == 0
    for a, b in zip(loaded.get_weights(), model.get_weights()):
        np.testing.assert_array_equal(a, b)
    loaded.fit(x, y, epochs=1, batch_size=8, verbose=0)
    assert int(loaded.optimizer.iterations.numpy()) == 4
