"""ReduceLROnPlateau and LearningRateScheduler: the learning rate each epoch runs with."""

import numpy as np
import pytest

import lamina
from lamina.callbacks import LearningRateScheduler, ReduceLROnPlateau
from tests.callbacks.helpers import Script, data, tiny_model


def _fit(callbacks, epochs, lr=0.1, **kwargs):
    model = tiny_model(lr=lr, **kwargs)
    x, y = data()
    history = model.fit(x, y, epochs=epochs, verbose=0, callbacks=callbacks)
    return model, history


def _lrs(history):
    return [round(v, 8) for v in history.history["learning_rate"]]


def test_reduce_after_patience_then_cooldown():
    values = [1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0]
    reduce = ReduceLROnPlateau(monitor="val_loss", factor=0.5, patience=2, cooldown=2)
    model, history = _fit([Script("val_loss", values), reduce], epochs=7)
    # Epochs 1, 2 wait -> reduce at the end of epoch 2; the cooldown ends in epoch 4, which already counts as
    # a wait (as in Keras); epoch 5 waits again -> reduce at the end of epoch 5.
    assert _lrs(history) == [0.1, 0.1, 0.1, 0.05, 0.05, 0.05, 0.025]
    assert round(float(model.optimizer.learning_rate), 8) == 0.025


def test_improvements_reset_the_wait_and_min_lr_bounds():
    reduce = ReduceLROnPlateau(monitor="val_loss", factor=0.1, patience=1, min_delta=0.01, min_lr=0.005)
    # 0.995 is not 0.01 better than 1.0: reduce; 0.5 improves; then plateau: reduce to max(0.001, 0.005).
    _, history = _fit([Script("val_loss", [1.0, 0.995, 0.5, 0.5, 0.5, 0.5]), reduce], epochs=6)
    assert _lrs(history) == [0.1, 0.1, 0.01, 0.01, 0.005, 0.005]


def test_the_reduced_rate_is_the_one_sgd_uses():
    model, _ = _fit([Script("val_loss", [1.0, 1.0]), ReduceLROnPlateau(factor=0.5, patience=1)], epochs=2)
    before = model.get_weights()[0].copy()
    x, y = data()
    x, y = x[:1], y[:1]
    with lamina.GradientTape() as tape:
        loss = lamina.losses.mean_squared_error(lamina.ops.convert_to_tensor(y), model(x)).mean()
    grad = tape.gradient(loss, model.trainable_variables)[0]
    model.train_on_batch(x, y)
    np.testing.assert_allclose(model.get_weights()[0], before - 0.05 * grad.numpy(), rtol=1e-5, atol=1e-7)


def test_reduce_warnings_and_errors():
    with pytest.raises(ValueError, match="does not support a factor >= 1.0. Received factor=1.5"):
        ReduceLROnPlateau(factor=1.5)
    with pytest.warns(UserWarning, match="Learning rate reduction is conditioned on metric `val_loss` which is not "
                                         "available. Available metrics are: loss,learning_rate."):
        _fit([ReduceLROnPlateau()], epochs=1)


def test_scheduler_with_both_signatures():
    _, history = _fit([LearningRateScheduler(lambda epoch, lr: lr * 0.5 if epoch else lr)], epochs=3)
    assert _lrs(history) == [0.1, 0.05, 0.025]
    model, history = _fit([LearningRateScheduler(lambda epoch: 0.01 * (epoch + 1))], epochs=3)
    assert _lrs(history) == [0.01, 0.02, 0.03]
    assert round(float(model.optimizer.learning_rate), 8) == 0.03


def test_scheduler_verbose_and_errors(capsys):
    _fit([LearningRateScheduler(lambda epoch: 0.5, verbose=1)], epochs=1)
    assert "Epoch 1: LearningRateScheduler setting learning rate to 0.5." in capsys.readouterr().out
    with pytest.raises(ValueError, match="The output of the `schedule` function should be a float. Got: 1"):
        _fit([LearningRateScheduler(lambda epoch: 1)], epochs=1)
    with pytest.raises(TypeError, match="Received: schedule=0.1"):
        LearningRateScheduler(0.1)
    schedule = lamina.optimizers.schedules.ExponentialDecay(0.1, decay_steps=1, decay_rate=0.5)
    with pytest.raises(TypeError, match="hence its learning rate is not settable"):
        _fit([LearningRateScheduler(lambda epoch: 0.5)], epochs=1,
             optimizer=lamina.optimizers.SGD(learning_rate=schedule))
