"""`lamina.distribute.DataParallel` on a real two-process gloo group (CPU), against single-process training."""

import numpy as np
import pytest

import lamina
from lamina.distribute.data_sharding import shard_bounds
from tests.distribute import workers


@pytest.fixture(scope="module")
def two_process_run(tmp_path_factory):
    checkpoint_dir = tmp_path_factory.mktemp("checkpoints")
    lamina.utils.set_random_seed(0)
    initial = workers.build_model().get_weights()
    results = lamina.distribute.launch(workers.train_data_parallel, num_processes=2, backend="gloo",
                                       args=(initial, str(checkpoint_dir)), timeout=240)
    return initial, results, checkpoint_dir


def _single_process(initial):
    x, y = workers.data()
    model = workers.build_model(initial)
    model.compile(optimizer=lamina.optimizers.SGD(0.1, momentum=0.9), loss="mse", metrics=["mae"])
    history = model.fit(x, y, batch_size=32, epochs=3, shuffle=False, verbose=0)
    evaluation = model.evaluate(x, y, batch_size=25, verbose=0, return_dict=True)
    return model, history.history, evaluation


def test_group_and_roles(two_process_run):
    _, results, _ = two_process_run
    assert [r["rank"] for r in results] == [0, 1]
    assert [r["num_processes"] for r in results] == [2, 2]
    assert [r["is_chief"] for r in results] == [True, False]


def test_batches_are_split_between_processes(two_process_run):
    _, results, _ = two_process_run
    # 90 samples in global batches of 32: 32, 32, 26 -> halves of 16, 16, 13.
    assert results[0]["local_batch_sizes"] == [16, 16, 13]
    assert results[1]["local_batch_sizes"] == [16, 16, 13]
    assert [shard_bounds(7, 3, r) for r in range(3)] == [(0, 3), (3, 5), (5, 7)]


def test_fit_equals_single_process_fit_on_the_global_batches(two_process_run):
    initial, results, _ = two_process_run
    model, history, evaluation = _single_process(initial)
    for result in results:  # both replicas end with the single-process weights (rank 1 started elsewhere)
        for got, expected in zip(result["weights"], model.get_weights()):
            np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)
        # Epoch logs are global: the loss/mae of all 90 samples, as one process reports them.
        np.testing.assert_allclose(result["history"]["loss"], history["loss"], rtol=1e-5)
        np.testing.assert_allclose(result["history"]["mae"], history["mae"], rtol=1e-5)
        np.testing.assert_allclose(result["evaluation"]["loss"], evaluation["loss"], rtol=1e-5)
        np.testing.assert_allclose(result["evaluation"]["mae"], evaluation["mae"], rtol=1e-5)


def test_predict_returns_every_row_in_order(two_process_run):
    initial, results, _ = two_process_run
    model, _, _ = _single_process(initial)
    x, _ = workers.data()
    expected = model.predict(x, batch_size=25, verbose=0)
    for result in results:
        assert result["predictions"].shape == (90, 2)
        np.testing.assert_allclose(result["predictions"], expected, rtol=1e-5, atol=1e-6)


def test_replicas_stay_identical_with_shuffling(two_process_run):
    _, results, _ = two_process_run
    for a, b in zip(results[0]["weights_after_shuffled_fit"], results[1]["weights_after_shuffled_fit"]):
        np.testing.assert_array_equal(a, b)
    assert not np.allclose(results[0]["weights_after_shuffled_fit"][0], results[0]["weights"][0])


def test_only_process_zero_writes_checkpoints(two_process_run):
    _, _, checkpoint_dir = two_process_run
    assert sorted(p.name for p in checkpoint_dir.iterdir()) == ["written_by_rank0.weights.h5"]


def test_single_process_is_a_no_op():
    strategy = lamina.distribute.DataParallel()
    assert (strategy.num_processes, strategy.data_shard_id, strategy.active) == (1, 0, False)
    with strategy.scope():
        model = workers.build_model()
        model.compile(optimizer="sgd", loss="mse")
    assert model._distribution is None
    x, y = workers.data(20)
    model.fit(x, y, batch_size=8, verbose=0)


def test_bad_arguments():
    with pytest.raises(ValueError, match="bucket_cap_mb"):
        lamina.distribute.DataParallel(bucket_cap_mb=0)
    with pytest.raises(TypeError, match="DataParallel"):
        lamina.distribute.set_distribution("data_parallel")
    with pytest.raises(ValueError, match="backend"):
        lamina.distribute.launch(workers.data, num_processes=2, backend="tcp")
