"""PyDataset: ordering, prefetching with threads and processes, errors, and fit/evaluate/predict on it."""

import os
import threading

import numpy as np
import pytest

import lamina
from lamina.utils import PyDataset
from tests.utils.py_dataset_fixtures import Endless, Linear, WhereMade

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

MODES = {
    "inline": {},
    "threads": {"workers": 2},
    "processes": {"workers": 2, "use_multiprocessing": True},
}


@pytest.fixture(autouse=True)
def importable_fixtures(monkeypatch):
    # Worker processes unpickle the datasets, importing `tests.utils.py_dataset_fixtures` by name.
    monkeypatch.syspath_prepend(ROOT)


def _model():
    lamina.utils.set_random_seed(0)
    model = lamina.Sequential([lamina.Input((2,)), lamina.layers.Dense(1)])
    model.compile(optimizer=lamina.optimizers.SGD(learning_rate=0.1), loss="mse", metrics=["mae"])
    return model


def test_batches_come_in_index_order_even_when_later_ones_finish_first():
    expected = [x for x, _, _ in Linear()]
    got = [x for x, _, _ in Linear(workers=3, delay=0.01, max_queue_size=4)]
    assert len(got) == 5
    for a, b in zip(expected, got):
        np.testing.assert_array_equal(a, b)


def test_workers_do_the_work():
    inline = [(int(x[1]), t) for x, t in WhereMade()]
    assert {t for _, t in inline} == {threading.get_ident()}
    threaded = [t for _, t in WhereMade(workers=2)]
    assert threading.get_ident() not in threaded
    pids = [int(x[1]) for x, _ in WhereMade(workers=2, use_multiprocessing=True)]
    assert os.getpid() not in pids


def test_at_most_max_queue_size_batches_in_flight():
    requested = []

    class Recording(PyDataset):
        def __len__(self):
            return 10

        def __getitem__(self, index):
            requested.append(index)
            return np.zeros((1, 1))

    iterator = iter(Recording(workers=2, max_queue_size=3))
    next(iterator)
    assert max(requested) <= 3  # the consumed batch 0, then at most 3 ahead (1, 2, 3)
    iterator.close()


@pytest.mark.parametrize("mode", list(MODES))
def test_fit_evaluate_predict_match_arrays(mode):
    data = Linear(**MODES[mode])
    x = np.concatenate([b[0] for b in Linear()])
    y = np.concatenate([b[1] for b in Linear()])
    reference = _model()
    ref_history = reference.fit(x, y, batch_size=8, epochs=2, shuffle=False, verbose=0)
    model = _model()
    history = model.fit(data, epochs=2, verbose=0)
    np.testing.assert_allclose(history.history["loss"], ref_history.history["loss"], rtol=1e-6)
    assert (data.epochs_begun, data.epochs_ended) == (2, 2)
    np.testing.assert_allclose(model.evaluate(data, verbose=0), reference.evaluate(x, y, batch_size=8, verbose=0),
                               rtol=1e-6)
    np.testing.assert_allclose(model.predict(data, verbose=0), reference.predict(x, batch_size=8, verbose=0),
                               rtol=1e-6)


@pytest.mark.parametrize("mode", list(MODES))
def test_errors_reach_the_main_process_with_the_index(mode):
    with pytest.raises(KeyError, match="no batch 3") as info:
        list(Linear(fail_at=3, **MODES[mode]))
    assert "Raised by Linear.__getitem__(3) in a PyDataset." in info.value.__notes__
    with pytest.raises(KeyError, match="no batch 1"):
        _model().fit(Linear(fail_at=1, **MODES[mode]), epochs=1, verbose=0)


def test_endless_dataset_with_steps_stops_and_shuts_its_workers_down():
    before = threading.active_count()
    history = _model().fit(Endless(workers=2), steps_per_epoch=3, epochs=2, verbose=0)
    assert len(history.history["loss"]) == 2
    assert threading.active_count() == before  # the thread pool was shut down after each epoch


def test_num_batches_and_defaults():
    assert Linear(batches=7).num_batches == 7
    assert Endless().num_batches is None
    data = Linear()
    assert (data.workers, data.use_multiprocessing, data.max_queue_size) == (1, False, 10)

    class NoSuper(PyDataset):
        def __init__(self):
            pass

        def __len__(self):
            return 1

        def __getitem__(self, index):
            return np.zeros((1, 1))

    assert NoSuper().workers == 1 and len(list(NoSuper())) == 1


def test_bad_arguments_and_missing_methods():
    with pytest.raises(ValueError, match="Received: workers=0"):
        Linear(workers=0)
    with pytest.raises(ValueError, match="Received: max_queue_size=0"):
        Linear(max_queue_size=0)
    with pytest.raises(NotImplementedError, match="must implement `__len__`"):
        _ = PyDataset().num_batches
    with pytest.raises(NotImplementedError, match="must implement `__getitem__"):
        PyDataset()[0]
    with pytest.raises(ValueError, match="`y` and `sample_weight` must not be passed"):
        _model().fit(Linear(), np.ones((40, 1)), verbose=0)
