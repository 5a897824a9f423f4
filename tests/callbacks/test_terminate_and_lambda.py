"""TerminateOnNaN stops in the batch whose loss is not finite; LambdaCallback calls every hook it is given."""

import numpy as np
import pytest

from lamina.callbacks import LambdaCallback, TerminateOnNaN
from tests.callbacks.helpers import data, tiny_model


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_terminate_on_nan_stops_in_the_bad_batch(bad, capsys):
    model = tiny_model()
    x, y = data(12)
    x[5, 0] = bad  # batch 2 with batch_size=2
    batches = []
    record = LambdaCallback(on_train_batch_end=lambda batch, logs: batches.append(batch))
    history = model.fit(x, y, batch_size=2, epochs=3, shuffle=False, verbose=0, callbacks=[TerminateOnNaN(), record])
    assert batches == [0, 1, 2] and history.epoch == [0]
    assert "Batch 2: Invalid loss, terminating training" in capsys.readouterr().out


def test_terminate_on_nan_leaves_finite_training_alone():
    model = tiny_model()
    history = model.fit(*data(), batch_size=4, epochs=2, verbose=0, callbacks=[TerminateOnNaN()])
    assert history.epoch == [0, 1]


def test_lambda_callback_calls_every_given_hook_in_order():
    calls = []
    def recorder(name):
        return lambda *args: calls.append((name,) + tuple(a for a in args if isinstance(a, int)))

    hooks = {name: recorder(name) for name in ("on_train_begin", "on_train_end", "on_epoch_begin", "on_epoch_end",
                                               "on_train_batch_begin", "on_train_batch_end")}
    extra = {"on_test_begin": lambda logs: calls.append(("on_test_begin",)),
             "on_predict_batch_end": lambda batch, logs: calls.append(("on_predict_batch_end", batch))}
    model = tiny_model()
    x, y = data(8)
    callback = LambdaCallback(**hooks, **extra)
    model.fit(x, y, batch_size=4, epochs=1, verbose=0, callbacks=[callback])
    assert calls == [("on_train_begin",), ("on_epoch_begin", 0), ("on_train_batch_begin", 0),
                     ("on_train_batch_end", 0), ("on_train_batch_begin", 1), ("on_train_batch_end", 1),
                     ("on_epoch_end", 0), ("on_train_end",)]
    calls.clear()
    model.evaluate(x, y, verbose=0, callbacks=[callback])
    model.predict(x, batch_size=4, verbose=0, callbacks=[callback])
    assert calls == [("on_test_begin",), ("on_predict_batch_end", 0), ("on_predict_batch_end", 1)]


def test_lambda_callback_legacy_batch_hook_and_errors():
    seen = []
    model = tiny_model()
    model.fit(*data(8), batch_size=4, epochs=1, verbose=0,
              callbacks=[LambdaCallback(on_batch_end=lambda batch, logs: seen.append(float(logs["loss"])))])
    assert len(seen) == 2 and all(np.isfinite(seen))
    with pytest.raises(TypeError, match="`on_epoch_end` must be callable. Received: on_epoch_end=3"):
        LambdaCallback(on_epoch_end=3)
