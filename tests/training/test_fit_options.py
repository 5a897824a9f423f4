"""fit/evaluate/predict options against NumPy references and Keras semantics: initial_epoch, validation_steps,
validation_batch_size, validation_freq, weighted_metrics, class_weight, add_loss, steps_per_execution, the
progress display (terminal and not), pandas inputs and TensorDataset slicing.

Models are linear (a single Dense layer) and most fits use SGD(0.0), so the weights stay fixed and every
logged number can be recomputed exactly from the weights with NumPy (float32 model, float64 references,
rtol 1e-5).
"""

import io
import re
import sys

import numpy as np
import pytest
import torch

import lamina
from lamina import layers

RTOL = 1e-5


def _data(n=40, seed=0, features=3):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, features)).astype("float32")
    y = (x @ rng.normal(size=(features, 1)) + 0.3 * rng.normal(size=(n, 1))).astype("float32")
    return x, y


def _linear(seed=0, features=3, units=1, activation=None):
    lamina.utils.set_random_seed(seed)
    inputs = lamina.Input((features,))
    return lamina.Model(inputs, layers.Dense(units, activation=activation, name="dense")(inputs))


def _predict_np(model, x):
    layer = model.get_layer("dense")
    return x.astype(np.float64) @ layer.kernel.numpy().astype(np.float64) + layer.bias.numpy()


class Recorder(lamina.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.events = []

    def on_epoch_begin(self, epoch, logs=None):
        self.events.append(("epoch_begin", epoch))

    def on_train_batch_begin(self, batch, logs=None):
        self.events.append(("train_begin", batch))

    def on_train_batch_end(self, batch, logs=None):
        self.events.append(("train_end", batch, dict(logs or {})))

    def on_test_batch_begin(self, batch, logs=None):
        self.events.append(("test_begin", batch))

    def on_test_batch_end(self, batch, logs=None):
        self.events.append(("test_end", batch, dict(logs or {})))

    def on_predict_batch_end(self, batch, logs=None):
        self.events.append(("predict_end", batch, logs["outputs"].shape[0]))

    def of(self, kind):
        return [e[1:] for e in self.events if e[0] == kind]


def _batch_sizes_of_test_steps(model):
    sizes = []
    step = model.test_step

    def counting(data):
        sizes.append(int(data[0].shape[0]))
        return step(data)

    model.test_step = counting
    return sizes


# ---- epochs and validation ----------------------------------------------------------------------------

def test_initial_epoch_runs_the_remaining_epochs_with_their_indices():
    x, y = _data()
    model = _linear()
    model.compile(optimizer="sgd", loss="mse")
    recorder = Recorder()
    history = model.fit(x, y, epochs=4, initial_epoch=2, batch_size=8, verbose=0, callbacks=[recorder])
    assert history.epoch == [2, 3]
    assert recorder.of("epoch_begin") == [(2,), (3,)]
    assert len(history.history["loss"]) == 2
    with_no_epochs_left = model.fit(x, y, epochs=2, initial_epoch=2, verbose=0)
    assert with_no_epochs_left.epoch == [] and with_no_epochs_left.history == {}


def test_initial_epoch_is_shown_in_the_epoch_lines(monkeypatch):
    x, y = _data()
    model = _linear()
    model.compile(optimizer="sgd", loss="mse")
    buffer = io.StringIO()
    monkeypatch.setattr(sys, "stdout", buffer)
    model.fit(x, y, epochs=3, initial_epoch=1, batch_size=40, verbose=2)
    lines = [line for line in buffer.getvalue().splitlines() if line]
    assert [line for line in lines if line.startswith("Epoch")] == ["Epoch 2/3", "Epoch 3/3"]


def test_validation_steps_and_validation_batch_size():
    x, y = _data(40)
    vx, vy = _data(30, seed=1)
    model = _linear()
    model.compile(optimizer=lamina.optimizers.SGD(0.0), loss="mse")
    sizes = _batch_sizes_of_test_steps(model)
    history = model.fit(x, y, batch_size=16, epochs=1, verbose=0, validation_data=(vx, vy),
                        validation_batch_size=7, validation_steps=3)
    assert sizes == [7, 7, 7]  # 3 steps of the validation batch size, not of `batch_size`
    expected = np.mean((_predict_np(model, vx[:21]) - vy[:21]) ** 2)
    assert history.history["val_loss"][0] == pytest.approx(expected, rel=RTOL)
    sizes.clear()
    history = model.fit(x, y, batch_size=16, epochs=1, verbose=0, validation_data=(vx, vy),
                        validation_batch_size=7)
    assert sizes == [7, 7, 7, 7, 2]  # the whole validation set, last partial batch kept
    expected = np.mean((_predict_np(model, vx) - vy) ** 2)
    assert history.history["val_loss"][0] == pytest.approx(expected, rel=RTOL)
    sizes.clear()
    model.fit(x, y, batch_size=16, epochs=1, verbose=0, validation_data=(vx, vy))
    assert sizes == [16, 14]  # without validation_batch_size, batch_size is used


@pytest.mark.parametrize("freq,validated", [(2, [1, 3]), ([1, 4], [0, 3]), (1, [0, 1, 2, 3])])
def test_validation_freq(freq, validated):
    x, y = _data(24)
    vx, vy = _data(10, seed=1)
    model = _linear()
    model.compile(optimizer="sgd", loss="mse")
    seen = []
    callback = lamina.callbacks.LambdaCallback(
        on_epoch_end=lambda epoch, logs: seen.append((epoch, "val_loss" in logs)))
    history = model.fit(x, y, epochs=4, batch_size=8, verbose=0, validation_data=(vx, vy),
                        validation_freq=freq, callbacks=[callback])
    assert [epoch for epoch, has_val in seen if has_val] == validated
    assert len(history.history["val_loss"]) == len(validated)
    assert len(history.history["loss"]) == 4


# ---- weights ------------------------------------------------------------------------------------------

def test_weighted_metrics_are_numpy_weighted_means():
    x, y = _data(40)
    sw = np.random.default_rng(5).uniform(0.0, 2.0, size=40).astype("float32")
    model = _linear()
    model.compile(optimizer=lamina.optimizers.SGD(0.0), loss="mse", metrics=["mae"], weighted_metrics=["mae"])
    logs = model.evaluate(x, y, sample_weight=sw, batch_size=16, verbose=0, return_dict=True)
    err = np.abs(_predict_np(model, x) - y)[:, 0]
    assert set(logs) == {"loss", "mae", "weighted_mae"}
    assert logs["weighted_mae"] == pytest.approx(np.average(err, weights=sw), rel=RTOL)
    assert logs["mae"] == pytest.approx(err.mean(), rel=RTOL)
    # loss: per batch sum(w * e**2) / batch size (sum_over_batch_size), averaged over batches by their sizes
    sq = err ** 2
    batches = [slice(0, 16), slice(16, 32), slice(32, 40)]
    per_batch = [np.sum(sw[b] * sq[b]) / len(sq[b]) for b in batches]
    expected_loss = np.average(per_batch, weights=[16, 16, 8])
    assert logs["loss"] == pytest.approx(expected_loss, rel=RTOL)
    history = model.fit(x, y, sample_weight=sw, batch_size=16, epochs=1, verbose=0, shuffle=False)
    assert history.history["weighted_mae"][0] == pytest.approx(np.average(err, weights=sw), rel=RTOL)
    assert history.history["loss"][0] == pytest.approx(expected_loss, rel=RTOL)


def test_class_weight_weights_each_sample_by_its_class():
    rng = np.random.default_rng(2)
    x = rng.normal(size=(32, 3)).astype("float32")
    labels = rng.integers(0, 3, size=32)
    model = _linear(units=3)
    model.compile(optimizer=lamina.optimizers.SGD(0.0),
                  loss=lamina.losses.SparseCategoricalCrossentropy(from_logits=True),
                  weighted_metrics=[lamina.metrics.SparseCategoricalCrossentropy(from_logits=True, name="ce")])
    class_weight = {0: 1.0, 1: 3.0, 2: 0.5}
    history = model.fit(x, labels, batch_size=32, epochs=1, verbose=0, class_weight=class_weight)
    logits = _predict_np(model, x)
    logp = logits - np.log(np.exp(logits).sum(-1, keepdims=True))
    ce = -logp[np.arange(32), labels]
    w = np.array([class_weight[c] for c in labels])
    # Keras: the loss divides the weighted sum by the batch size; a weighted metric by the sum of the weights
    assert history.history["loss"][0] == pytest.approx(np.sum(w * ce) / 32, rel=RTOL)
    # (named "ce": "weighted_" is added only when an unweighted metric has the same name, as in Keras)
    assert history.history["ce"][0] == pytest.approx(np.average(ce, weights=w), rel=RTOL)
    # Keras refuses class_weight together with sample_weight
    sw = rng.uniform(0.5, 1.5, size=32).astype("float32")
    with pytest.raises(ValueError, match="class_weight` and `sample_weight"):
        model.fit(x, labels, sample_weight=sw, batch_size=32, epochs=1, verbose=0, class_weight=class_weight)
    # one-hot labels pick the class by argmax
    model.compile(optimizer=lamina.optimizers.SGD(0.0), loss=lamina.losses.CategoricalCrossentropy(from_logits=True))
    history = model.fit(x, np.eye(3, dtype="float32")[labels], batch_size=32, epochs=1, verbose=0,
                        class_weight=class_weight)
    assert history.history["loss"][0] == pytest.approx(np.sum(w * ce) / 32, rel=RTOL)


class ActivityPenalty(layers.Layer):
    """Adds ``rate * mean(inputs ** 2)`` with `add_loss` and passes its input through."""

    def __init__(self, rate, **kwargs):
        super().__init__(**kwargs)
        self.rate = rate

    def call(self, inputs):
        self.add_loss(self.rate * lamina.ops.mean(inputs ** 2))
        return inputs


def test_add_loss_in_a_layer_is_added_to_the_fit_and_evaluate_loss():
    x, y = _data(40)
    lamina.utils.set_random_seed(0)
    inputs = lamina.Input((3,))
    hidden = layers.Dense(1, name="dense")(inputs)
    model = lamina.Model(inputs, ActivityPenalty(0.5)(hidden))
    model.compile(optimizer=lamina.optimizers.SGD(0.0), loss="mse")
    pred = _predict_np(model, x)
    batches = [slice(0, 16), slice(16, 32), slice(32, 40)]
    per_batch = [np.mean((pred[b] - y[b]) ** 2) + 0.5 * np.mean(pred[b] ** 2) for b in batches]
    expected = np.average(per_batch, weights=[16, 16, 8])
    history = model.fit(x, y, batch_size=16, epochs=1, verbose=0, shuffle=False)
    assert history.history["loss"][0] == pytest.approx(expected, rel=RTOL)
    assert model.evaluate(x, y, batch_size=16, verbose=0) == pytest.approx(expected, rel=RTOL)
    # the added loss is trained on: with only add_loss (no compiled loss) SGD shrinks the outputs
    model.compile(optimizer=lamina.optimizers.SGD(0.1))
    before = np.mean(model.predict(x, verbose=0) ** 2)
    model.fit(x, epochs=3, batch_size=40, verbose=0)
    assert np.mean(model.predict(x, verbose=0) ** 2) < 0.75 * before


# ---- steps_per_execution ------------------------------------------------------------------------------

def _spe_model(steps_per_execution, metrics=("mae",)):
    model = _linear()
    model.compile(optimizer=lamina.optimizers.SGD(0.05), loss="mse", metrics=list(metrics),
                  steps_per_execution=steps_per_execution)
    return model


def test_steps_per_execution_calls_batch_callbacks_once_per_execution():
    x, y = _data(40)  # 10 batches of 4
    reference, recorder_1 = _spe_model(1), Recorder()
    reference.fit(x, y, batch_size=4, epochs=2, shuffle=False, verbose=0, callbacks=[recorder_1])
    model, recorder = _spe_model(4), Recorder()
    history = model.fit(x, y, batch_size=4, epochs=2, shuffle=False, verbose=0, callbacks=[recorder])
    assert [b for (b,) in recorder.of("train_begin")] == [0, 4, 8, 0, 4, 8]
    ends = recorder.of("train_end")
    # As Keras: the nominal last index, first + 4 - 1, also for the partial last execution (batches 8 and 9)
    assert [b for b, _ in ends] == [3, 7, 11, 3, 7, 11]
    # the logs of an execution are those after its last step: the same as step-by-step training there
    by_step = {(i // 10, b): logs for i, (b, logs) in enumerate(recorder_1.of("train_end"))}
    for i, (b, logs) in enumerate(ends):
        expected = by_step[(i // 3, min(b, 9))]
        assert logs.keys() == expected.keys()
        for key in logs:
            assert float(logs[key]) == pytest.approx(float(expected[key]), rel=1e-6)
    # every batch is trained on: same weights and history as one step per execution
    np.testing.assert_allclose(model.get_weights()[0], reference.get_weights()[0], rtol=1e-6)
    assert history.history["loss"] == pytest.approx(reference.history.history["loss"], rel=1e-6)


def test_steps_per_execution_in_evaluate_and_predict():
    x, y = _data(40)
    model, recorder = _spe_model(3), Recorder()
    logs = model.evaluate(x, y, batch_size=4, verbose=0, callbacks=[recorder], return_dict=True)
    assert [b for (b,) in recorder.of("test_begin")] == [0, 3, 6, 9]
    assert [b for b, _ in recorder.of("test_end")] == [2, 5, 8, 11]  # Keras's nominal index for the last
    err = _predict_np(model, x) - y
    assert logs["loss"] == pytest.approx(np.mean(err ** 2), rel=RTOL)
    assert logs["mae"] == pytest.approx(np.mean(np.abs(err)), rel=RTOL)
    first = recorder.of("test_end")[0][1]  # after the first execution: batches 0-2, samples 0-11
    assert float(first["mae"]) == pytest.approx(np.mean(np.abs(err[:12])), rel=RTOL)
    out = model.predict(x, batch_size=4, verbose=0, callbacks=[recorder])
    assert recorder.of("predict_end") == [(2, 12), (5, 12), (8, 12), (11, 4)]  # outputs of each execution
    np.testing.assert_allclose(out, _predict_np(model, x), rtol=RTOL, atol=1e-6)


def test_steps_per_execution_stop_training_and_progress(monkeypatch):
    x, y = _data(40)
    model = _spe_model(4)
    stop = lamina.callbacks.LambdaCallback(
        on_train_batch_end=lambda batch, logs: setattr(model, "stop_training", batch >= 4))
    recorder = Recorder()
    model.fit(x, y, batch_size=4, epochs=3, verbose=0, callbacks=[stop, recorder])
    assert [b for b, _ in recorder.of("train_end")] == [3, 7]  # stops after the execution that asked
    assert int(model.optimizer.iterations) == 8
    buffer = io.StringIO()
    monkeypatch.setattr(sys, "stdout", buffer)
    _spe_model(4).fit(x, y, batch_size=4, epochs=1, verbose=2)
    assert re.match(r"10/10 - ", buffer.getvalue())
    with pytest.raises(ValueError, match="steps_per_execution"):
        _spe_model(0)
    with pytest.raises(ValueError, match="steps_per_execution"):
        _spe_model(2.5)


# ---- logs are computed where they are read ------------------------------------------------------------

def test_callbacks_calling_the_model_during_fit_get_their_own_logs():
    x, y = _data(40)
    model = _spe_model(1)
    seen = {}

    def on_epoch_end(epoch, logs):
        seen["test_on_batch"] = model.test_on_batch(x, y, return_dict=True)
        seen["epoch_logs"] = dict(logs)

    history = model.fit(x, y, batch_size=8, epochs=1, verbose=0,
                        callbacks=[lamina.callbacks.LambdaCallback(on_epoch_end=on_epoch_end)])
    err = _predict_np(model, x) - y
    assert seen["test_on_batch"]["loss"] == pytest.approx(np.mean(err ** 2), rel=RTOL)
    assert seen["test_on_batch"]["mae"] == pytest.approx(np.mean(np.abs(err)), rel=RTOL)
    assert set(seen["epoch_logs"]) == {"loss", "mae"}
    assert history.history["loss"][0] > 0


# ---- progress display ---------------------------------------------------------------------------------

class FakeTerminal(io.StringIO):
    def isatty(self):
        return True


def test_progress_bar_on_a_terminal(monkeypatch):
    x, y = _data(40)
    model = _linear()
    model.compile(optimizer="sgd", loss="mse", metrics=["mae"])
    terminal = FakeTerminal()
    monkeypatch.setattr(sys, "stdout", terminal)
    model.fit(x, y, batch_size=8, epochs=2, verbose="auto")  # 'auto' on a terminal is verbose=1
    text = terminal.getvalue()
    assert "Epoch 1/2\n" in text and "Epoch 2/2\n" in text
    # A line shorter than the one it overwrites is padded with spaces (a slower step printed a longer time).
    finals = re.findall(r"\r(5/5 ━{20} \d+s \d+(?:us|ms|s)/step - loss: \d+\.\d{4} - mae: \d+\.\d{4}) *\n", text)
    assert len(finals) == 2, text
    terminal.seek(0)
    terminal.truncate(0)
    model.evaluate(x, y, batch_size=8, verbose=1)
    assert re.search(r"\r5/5 ━{20} \d+s \d+(us|ms|s)/step - loss: \d+\.\d{4} - mae: \d+\.\d{4} *\n$",
                     terminal.getvalue())


def test_data_of_unknown_length_counts_up_then_knows_its_steps(monkeypatch):
    x, y = _data(40)

    class Samples(torch.utils.data.IterableDataset):  # iterable again each epoch; no length
        def __iter__(self):
            return iter(zip(x, y))

    model = _linear()
    model.compile(optimizer="sgd", loss="mse")
    terminal = FakeTerminal()
    monkeypatch.setattr(sys, "stdout", terminal)
    model.fit(torch.utils.data.DataLoader(Samples(), batch_size=8), epochs=2, verbose=1)
    first, second = terminal.getvalue().split("Epoch 2/2\n")
    draws = [line for line in first.split("\r") if line.strip()][1:]
    assert re.match(r" {6}1/Unknown \d+s \d+(?:us|ms|s)/step - loss: ", draws[0]), draws  # counts up
    final = r"5/5 ━{20} \d+s \d+(?:us|ms|s)/step - loss: \d+\.\d{4} *\n"
    assert re.fullmatch(final, draws[-1]), draws  # ends with the count it found
    draws = [line for line in second.split("\r") if line]
    assert re.match(r"1/5 ━{4} {16} \d+s ", draws[0]), draws  # epoch 2 knows it has 5 steps
    assert re.fullmatch(final, draws[-1]), draws


def test_verbose_2_prints_one_line_per_epoch(monkeypatch):
    x, y = _data(40)
    vx, vy = _data(8, seed=3)
    model = _linear()
    model.compile(optimizer="sgd", loss="mse")
    terminal = FakeTerminal()  # even on a terminal: no bar, no carriage returns
    monkeypatch.setattr(sys, "stdout", terminal)
    model.fit(x, y, batch_size=8, epochs=3, verbose=2, validation_data=(vx, vy))
    lines = terminal.getvalue().splitlines()
    assert "\r" not in terminal.getvalue()
    assert len(lines) == 6
    for epoch in range(3):
        assert lines[2 * epoch] == f"Epoch {epoch + 1}/3"
        assert re.fullmatch(r"5/5 - \d+s - \d+(us|ms|s)/step - loss: \d+\.\d{4} - val_loss: \d+\.\d{4}",
                            lines[2 * epoch + 1]), lines[2 * epoch + 1]


# ---- inputs -------------------------------------------------------------------------------------------

def test_pandas_dataframe_and_series_inputs():
    pd = pytest.importorskip("pandas")
    x, y = _data(40)
    frame = pd.DataFrame(x.astype("float64"), columns=["a", "b", "c"])
    series = pd.Series(y[:, 0].astype("float64"), name="target")
    model = _linear()
    model.compile(optimizer=lamina.optimizers.SGD(0.0), loss="mse")
    err = _predict_np(model, x)[:, 0] - y[:, 0]
    assert model.evaluate(frame, series, batch_size=40, verbose=0) == pytest.approx(np.mean(err ** 2), rel=RTOL)
    np.testing.assert_allclose(model.predict(frame, verbose=0), _predict_np(model, x), rtol=RTOL, atol=1e-6)
    history = model.fit(frame, series, batch_size=8, epochs=1, verbose=0, validation_split=0.25)
    assert history.history["val_loss"][0] == pytest.approx(np.mean(err[30:] ** 2), rel=RTOL)
    # a DataFrame of labels and a dict of Series for a two-input model
    lamina.utils.set_random_seed(0)
    a, b = lamina.Input((1,), name="a"), lamina.Input((2,), name="b")
    two = lamina.Model([a, b], layers.Dense(1)(layers.Concatenate()([a, b])))
    two.compile(optimizer="sgd", loss="mse")
    two.fit({"a": frame[["a"]], "b": frame[["b", "c"]]}, series.to_frame(), batch_size=8, epochs=1, verbose=0)
    np.testing.assert_allclose(two.predict({"a": frame[["a"]], "b": frame[["b", "c"]]}, verbose=0),
                               two.predict({"a": x[:, :1], "b": x[:, 1:]}, verbose=0), rtol=1e-6)


def test_tensor_dataset_is_sliced_in_whole_batches(monkeypatch):
    x, y = _data(40)
    dataset = torch.utils.data.TensorDataset(torch.from_numpy(x), torch.from_numpy(y))

    def per_sample(self, index):
        raise AssertionError("TensorDataset samples were fetched one by one")

    monkeypatch.setattr(torch.utils.data.TensorDataset, "__getitem__", per_sample)
    model = _linear()
    model.compile(optimizer=lamina.optimizers.SGD(0.0), loss="mse")
    sizes = _batch_sizes_of_test_steps(model)
    err = _predict_np(model, x) - y
    assert model.evaluate(dataset, batch_size=16, verbose=0) == pytest.approx(np.mean(err ** 2), rel=RTOL)
    assert sizes == [16, 16, 8]
    model.fit(dataset, batch_size=16, epochs=1, verbose=0)  # shuffled: one gather, then slices
    np.testing.assert_allclose(model.predict(torch.utils.data.TensorDataset(torch.from_numpy(x)), batch_size=16,
                                             verbose=0), _predict_np(model, x), rtol=RTOL, atol=1e-6)
    weighted = torch.utils.data.TensorDataset(torch.from_numpy(x), torch.from_numpy(y), torch.zeros(40))
    assert model.evaluate(weighted, verbose=0) == 0.0
    with pytest.raises(ValueError, match="must not be passed when `x` is a torch Dataset"):
        model.fit(dataset, y, verbose=0)


def test_steps_that_return_their_own_logs_are_not_replaced_by_metric_results():
    x, y = _data(16)
    model = _spe_model(1)
    model.test_step = lambda data: {"custom": torch.tensor(float(data[0].shape[0]))}  # set on the instance
    assert model.evaluate(x, y, batch_size=6, verbose=0, return_dict=True) == {"custom": 4.0}  # the last batch

    class Custom(lamina.Model):
        def __init__(self):
            super().__init__()
            self.dense = layers.Dense(1)

        def call(self, inputs):
            return self.dense(inputs)

        def train_step(self, data):
            super().train_step(data)
            return {"steps": self.optimizer.iterations.value.clone()}

    lamina.utils.set_random_seed(0)
    custom = Custom()
    custom.compile(optimizer="sgd", loss="mse", steps_per_execution=3)
    recorder = Recorder()
    history = custom.fit(x, y, batch_size=2, epochs=1, verbose=0, callbacks=[recorder])
    assert [(b, float(logs["steps"])) for b, logs in recorder.of("train_end")] == [(2, 3.0), (5, 6.0), (8, 8.0)]
    assert history.history == {"steps": [8.0]}
