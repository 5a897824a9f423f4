"""EarlyStopping: stopping epoch, patience/min_delta/baseline/start_from_epoch rules, best-weight restore."""

import numpy as np
import pytest

from lamina.callbacks import EarlyStopping
from tests.callbacks.helpers import Script, data, tiny_model


def _run(values, key="val_loss", epochs=None, **kwargs):
    model = tiny_model()
    script = Script(key, values)
    stop = EarlyStopping(monitor=key, **kwargs)
    x, y = data()
    history = model.fit(x, y, epochs=epochs or len(values), verbose=0, callbacks=[script, stop])
    return model, history, stop, script


@pytest.mark.parametrize("values, kwargs, epochs_run, stopped_epoch", [
    ([1.0, 0.9, 0.95, 0.96, 0.8], {"patience": 2}, 4, 3),  # best at epoch 1, then 2 epochs without improvement
    ([1.0, 0.9, 0.95, 0.8, 0.85, 0.9, 0.7], {"patience": 2}, 6, 5),  # the improvement at epoch 3 restarts the wait
    ([1.0, 1.0, 1.0], {"patience": 0}, 2, 1),  # patience 0 still never stops at epoch 0
    ([1.0, 0.95, 0.92, 0.9], {"patience": 1, "min_delta": 0.04}, 3, 2),  # 0.92 is not 0.04 better than 0.95
    ([1.0, 0.9, 0.8, 0.7], {"patience": 1, "baseline": 0.5}, 4, 0),  # improving: no stop, though above baseline
    ([1.0, 1.1, 0.9, 1.2], {"patience": 1, "baseline": 0.5}, 2, 1),  # not beating the baseline: the wait goes on
    ([5.0, 6.0, 7.0, 1.0, 2.0, 3.0], {"patience": 1, "start_from_epoch": 3}, 5, 4),  # epochs 0-2 are ignored
])
def test_stops_at_the_keras_epoch(values, kwargs, epochs_run, stopped_epoch):
    _, history, stop, _ = _run(values, **kwargs)
    assert len(history.epoch) == epochs_run
    assert stop.stopped_epoch == stopped_epoch


def test_max_mode_and_auto_direction_from_metric():
    _, history, _, _ = _run([0.5, 0.6, 0.55, 0.5], key="val_accuracy", patience=1, mode="max")
    assert len(history.epoch) == 3
    model = tiny_model(metrics=["accuracy", "mae"])
    x, y = data()
    for monitor, expected in (("val_accuracy", ">"), ("mae", "<"), ("loss", "<")):
        stop = EarlyStopping(monitor=monitor, patience=5)
        model.fit(x, y, epochs=1, verbose=0, validation_data=(x, y), callbacks=[stop])
        assert stop.monitor_op.__name__ == {">": "gt", "<": "lt"}[expected]
        assert stop.min_delta == 0


def test_restore_best_weights_restores_the_best_epoch():
    model, history, stop, script = _run([1.0, 0.5, 0.7, 0.8, 0.9], patience=2, restore_best_weights=True)
    assert len(history.epoch) == 4 and stop.best_epoch == 1 and stop.best == 0.5
    for got, best in zip(model.get_weights(), script.weights[1]):
        np.testing.assert_array_equal(got, best)
    assert not np.array_equal(script.weights[1][0], script.weights[3][0])  # training did move them
    model, _, _, script = _run([1.0, 0.5, 0.7], patience=5, restore_best_weights=True)  # no stop: still restored
    np.testing.assert_array_equal(model.get_weights()[0], script.weights[1][0])


def test_real_fit_on_val_loss_stops_when_learning_diverges():
    model = tiny_model(lr=0.0)  # nothing changes: val_loss is flat after the first epoch
    x, y = data()
    history = model.fit(x, y, epochs=10, verbose=0, validation_data=(x, y), callbacks=[EarlyStopping(patience=3)])
    assert history.epoch == [0, 1, 2, 3]


def test_missing_monitor_warns_and_never_stops():
    model = tiny_model()
    x, y = data()
    with pytest.warns(UserWarning, match="Early stopping conditioned on metric `val_loss` which is not available. "
                                         "Available metrics are: loss"):
        history = model.fit(x, y, epochs=3, verbose=0, callbacks=[EarlyStopping()])
    assert len(history.epoch) == 3


def test_unknown_mode_warns_and_unknown_direction_raises():
    with pytest.warns(UserWarning, match="EarlyStopping mode 'bigger' is unknown, fallback to auto mode."):
        stop = EarlyStopping(mode="bigger")
    assert stop.mode == "auto"
    with pytest.raises(ValueError, match="received monitor=custom_score, but lamina isn't able to automatically"):
        _run([1.0, 2.0], key="custom_score")


def test_verbose_messages(capsys):
    _run([1.0, 0.5, 0.7, 0.8], patience=1, restore_best_weights=True, verbose=1)
    out = capsys.readouterr().out
    assert "Epoch 3: early stopping" in out
    assert "Restoring model weights from the end of the best epoch: 2." in out
