import io
import re
import sys

import numpy as np
import pytest
import torch

import lamina
from lamina import layers


def _data(n=64, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 4)).astype("float32")
    y = (x @ np.array([1.0, -2.0, 0.5, 3.0], dtype="float32") > 0).astype("float32")[:, None]
    return x, y


def _mlp(seed=0):
    lamina.utils.set_random_seed(seed)
    inputs = lamina.Input((4,))
    hidden = layers.Dense(8, activation="relu", name="hidden")(inputs)
    return lamina.Model(inputs, layers.Dense(1, activation="sigmoid", name="out")(hidden))


def test_fit_before_compile_is_a_clear_error():
    x, y = _data()
    with pytest.raises(RuntimeError, match=r"You must call `compile\(\)` before calling `fit\(\)`"):
        _mlp().fit(x, y)


def test_fit_reduces_loss_and_returns_history():
    x, y = _data(256)
    model = _mlp()
    model.compile(optimizer=lamina.optimizers.Adam(0.05), loss="binary_crossentropy", metrics=["accuracy"])
    history = model.fit(x, y, batch_size=32, epochs=5, verbose=0)
    assert set(history.history) == {"loss", "accuracy"}
    assert history.history["loss"][-1] < history.history["loss"][0]
    assert history.epoch == [0, 1, 2, 3, 4]
    loss, accuracy = model.evaluate(x, y, verbose=0)
    assert accuracy > 0.85 and loss == pytest.approx(model.evaluate(x, y, verbose=0, return_dict=True)["loss"])
    assert model.predict(x, verbose=0).shape == (256, 1)


def test_full_batch_sgd_matches_gradient_tape_steps():
    x, y = _data(32)
    model, twin = _mlp(1), _mlp(1)
    twin.set_weights(model.get_weights())
    model.compile(optimizer=lamina.optimizers.SGD(0.1), loss="mse")
    model.fit(x, y, batch_size=32, epochs=3, shuffle=False, verbose=0)
    loss_fn = lamina.losses.MeanSquaredError()
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)
    for _ in range(3):
        with lamina.GradientTape() as tape:
            loss = loss_fn(yt, twin(xt))
        grads = tape.gradient(loss, twin.trainable_weights)
        for variable, grad in zip(twin.trainable_weights, grads):
            variable.assign(variable - 0.1 * grad)
    for a, b in zip(model.get_weights(), twin.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_validation_split_and_data_and_last_partial_batch():
    x, y = _data(50)
    model = _mlp()
    model.compile(optimizer="sgd", loss="mse", metrics=["mae"])
    seen = []

    class Sizes(lamina.callbacks.Callback):
        def on_train_batch_begin(self, batch, logs=None):
            seen.append(batch)

    history = model.fit(x, y, batch_size=16, epochs=2, validation_split=0.2, verbose=0, callbacks=[Sizes()])
    assert set(history.history) == {"loss", "mae", "val_loss", "val_mae"}
    assert seen == [0, 1, 2] * 2  # 40 training samples -> 16, 16, 8
    history = model.fit(x, y, epochs=1, validation_data=(x[:10], y[:10]), verbose=0)
    assert "val_loss" in history.history


def test_mismatched_lengths_and_unknown_names():
    x, y = _data(20)
    model = _mlp()
    model.compile(optimizer="adam", loss="mse")
    with pytest.raises(ValueError, match="Data cardinality is ambiguous"):
        model.fit(x, y[:10], verbose=0)
    with pytest.raises(ValueError, match="nonexistent_loss"):
        model.compile(optimizer="adam", loss="nonexistent_loss")
        model.fit(x, y, verbose=0)


def test_multi_output_losses_metrics_and_weights():
    lamina.utils.set_random_seed(3)
    inputs = lamina.Input((4,))
    h = layers.Dense(8, activation="relu")(inputs)
    reg = layers.Dense(1, name="reg")(h)
    cls = layers.Dense(3, activation="softmax", name="cls")(h)
    model = lamina.Model(inputs, [reg, cls])
    model.compile(optimizer="adam", loss={"reg": "mse", "cls": "sparse_categorical_crossentropy"},
                  loss_weights={"reg": 0.5, "cls": 1.0}, metrics={"cls": ["accuracy"]})
    x = np.random.rand(32, 4).astype("float32")
    y_reg, y_cls = np.random.rand(32, 1).astype("float32"), np.random.randint(0, 3, size=(32,))
    history = model.fit(x, {"reg": y_reg, "cls": y_cls}, epochs=1, batch_size=8, verbose=0)
    assert {"loss", "reg_loss", "cls_loss", "cls_accuracy"} <= set(history.history)
    logs = model.evaluate(x, [y_reg, y_cls], verbose=0, return_dict=True)
    assert logs["loss"] == pytest.approx(0.5 * logs["reg_loss"] + logs["cls_loss"], rel=1e-4)


def test_add_loss_and_regularizers_are_in_the_training_loss():
    inputs = lamina.Input((4,))
    out = layers.Dense(1, kernel_regularizer=lamina.regularizers.L2(10.0), name="d")(inputs)
    model = lamina.Model(inputs, out)
    model.compile(optimizer="sgd", loss="mse")
    x, y = _data(16)
    plain = lamina.losses.MeanSquaredError()(torch.from_numpy(y), model(torch.from_numpy(x)))
    penalty = 10.0 * float((model.get_layer("d").kernel.numpy() ** 2).sum())
    assert model.evaluate(x, y, verbose=0, batch_size=16) == pytest.approx(plain.item() + penalty, rel=1e-5)


def test_train_test_predict_on_batch_and_sample_weight():
    x, y = _data(16)
    model = _mlp()
    model.compile(optimizer="sgd", loss="mse")
    before = model.test_on_batch(x, y)
    model.train_on_batch(x, y)
    assert model.test_on_batch(x, y) < before
    assert model.predict_on_batch(x).shape == (16, 1)
    zero = model.test_on_batch(x, y, sample_weight=np.zeros(16))
    assert zero == pytest.approx(0.0)


def test_generators_dataloaders_and_pydataset_inputs():
    x, y = _data(40)
    model = _mlp()
    model.compile(optimizer="sgd", loss="mse")

    def generator():
        while True:
            for i in range(0, 40, 10):
                yield x[i:i + 10], y[i:i + 10]

    model.fit(generator(), steps_per_epoch=4, epochs=2, verbose=0)
    dataset = torch.utils.data.TensorDataset(torch.from_numpy(x), torch.from_numpy(y))
    model.fit(torch.utils.data.DataLoader(dataset, batch_size=8), epochs=1, verbose=0)
    model.fit(dataset, batch_size=8, epochs=1, verbose=0)
    assert model.evaluate(torch.utils.data.DataLoader(dataset, batch_size=8), verbose=0) > 0


def test_progress_output_one_line_per_epoch_when_not_a_terminal(monkeypatch):
    x, y = _data(64)
    model = _mlp()
    model.compile(optimizer="sgd", loss="mse")
    buffer = io.StringIO()
    monkeypatch.setattr(sys, "stdout", buffer)
    model.fit(x, y, batch_size=8, epochs=2, verbose="auto")
    lines = [line for line in buffer.getvalue().splitlines() if line]
    assert lines[0] == "Epoch 1/2" and lines[2] == "Epoch 2/2"
    assert re.fullmatch(r"8/8 - \d+s - \d+(us|ms)/step - loss: \d\.\d{4}", lines[1]), lines[1]
    assert len(lines) == 4
    buffer.truncate(0)
    buffer.seek(0)
    model.predict(x[:5])
    assert buffer.getvalue() == ""


def test_class_weight_scales_the_loss():
    x, y = _data(32)
    model = _mlp()
    model.compile(optimizer=lamina.optimizers.SGD(0.0), loss="binary_crossentropy", weighted_metrics=["mse"])
    base = model.fit(x, y, epochs=1, batch_size=32, verbose=0).history["loss"][0]
    doubled = model.fit(x, y, epochs=1, batch_size=32, verbose=0, class_weight={0: 2.0, 1: 2.0}).history["loss"][0]
    assert doubled == pytest.approx(2 * base, rel=1e-5)


@pytest.mark.parametrize("backend, rows", [("aot_eager", 64), ("inductor", 60)])
def test_jit_compile_agrees_with_eager(monkeypatch, backend, rows):
    """'aot_eager' runs Dynamo + AOTAutograd without code generation (fast); 'inductor', the default
    backend, generates C++ on the CPU (~20 s) and gets a last partial batch (60 rows in batches of 16)
    so the compiled steps also see a second shape."""
    monkeypatch.setattr(lamina.backend.config, "_COMPILE_BACKEND", backend)
    x, y = _data(rows)
    eager, compiled = _mlp(5), _mlp(5)
    compiled.set_weights(eager.get_weights())
    for model, jit in ((eager, False), (compiled, True)):
        model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"], jit_compile=jit)
    a = eager.fit(x, y, batch_size=16, epochs=2, shuffle=False, verbose=0).history
    b = compiled.fit(x, y, batch_size=16, epochs=2, shuffle=False, verbose=0).history
    assert compiled._compiled_steps and not eager._compiled_steps
    np.testing.assert_allclose(a["loss"], b["loss"], rtol=1e-5)
    np.testing.assert_allclose(a["accuracy"], b["accuracy"])
    for p, q in zip(eager.get_weights(), compiled.get_weights()):
        np.testing.assert_allclose(p, q, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(eager.evaluate(x, y, batch_size=16, verbose=0),
                               compiled.evaluate(x, y, batch_size=16, verbose=0), rtol=1e-5)
    np.testing.assert_allclose(eager.predict(x, batch_size=16, verbose=0),
                               compiled.predict(x, batch_size=16, verbose=0), rtol=1e-5, atol=1e-6)


def test_each_compiled_model_gets_its_own_graphs(monkeypatch):
    # torch.compile's budget of recompilations is per code object: models sharing the steps' code spent it,
    # and from the third model on the train and test steps ran eagerly.
    from torch._dynamo.utils import counters

    monkeypatch.setattr(lamina.backend.config, "_COMPILE_BACKEND", "aot_eager")
    x, y = _data(32)
    for _ in range(5):
        model = _mlp(3)
        model.compile(optimizer="sgd", loss="binary_crossentropy", jit_compile=True)
        before = counters["stats"]["unique_graphs"]
        model.fit(x, y, batch_size=16, epochs=1, verbose=0)
        model.evaluate(x, y, batch_size=16, verbose=0)
        model.predict(x, batch_size=16, verbose=0)
        assert counters["stats"]["unique_graphs"] - before >= 3  # train, test and predict graphs of this model


def test_jit_compile_auto_compiles_only_on_cuda_without_graph_breaking_layers(monkeypatch):
    from lamina.training import trainer

    dense, recurrent = _mlp(), lamina.Sequential([lamina.Input((3, 4)), layers.LSTM(2)])
    monkeypatch.setattr(lamina.backend.config, "_DEVICE", torch.device("cpu"))
    assert trainer._auto_jit(dense) is False
    monkeypatch.setattr(lamina.backend.config, "_DEVICE", torch.device("cuda"))
    assert trainer._auto_jit(dense) is True and trainer._auto_jit(recurrent) is False


class _CountingModel(lamina.Model):
    """A subclass overriding train_step/test_step as Keras 3 users do (a hand-written step with a tape)."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.hidden, self.out = layers.Dense(8, activation="relu"), layers.Dense(1, activation="sigmoid")
        self.train_calls = self.test_calls = 0

    def call(self, x, training=False):
        return self.out(self.hidden(x))

    def train_step(self, data):
        self.train_calls += 1
        x, y = data[0], data[1]
        with lamina.GradientTape() as tape:
            loss = self.compute_loss(x=x, y=y, y_pred=self(x, training=True))
        self.optimizer.apply(tape.gradient(loss, self.trainable_variables), self.trainable_variables)
        self._loss_tracker.update_state(loss.detach())
        return {"loss": self._loss_tracker.result(), "custom": torch.tensor(1.0)}

    def test_step(self, data):
        self.test_calls += 1
        return {"custom_test": torch.tensor(2.0)}


@pytest.mark.parametrize("jit", [False, True])
def test_overridden_steps_run_in_fit_and_evaluate(monkeypatch, jit):
    monkeypatch.setattr(lamina.backend.config, "_COMPILE_BACKEND", "aot_eager")
    x, y = _data(64)
    lamina.utils.set_random_seed(3)
    model = _CountingModel()
    model.compile(optimizer="sgd", loss="binary_crossentropy", jit_compile=jit)
    model(x[:2])
    before = model.get_weights()
    history = model.fit(x, y, batch_size=16, epochs=2, verbose=0).history
    if not jit:  # compiled, the Python counter runs when Dynamo traces; the "custom" log proves the step ran
        assert model.train_calls == 8
    assert history["custom"] == [1.0, 1.0]
    assert not np.allclose(before[0], model.get_weights()[0])
    assert model.evaluate(x, y, batch_size=32, verbose=0, return_dict=True) == {"custom_test": 2.0}
    assert model.test_calls >= 1
