"""Metric base class, Reduce/Sum/Mean/MeanMetricWrapper against NumPy, configs, masks, dtypes, errors."""

import json

import numpy as np
import pytest
import torch

from lamina import metrics
from lamina.metrics.base import Metric

RNG = np.random.default_rng(0)


def _np_mean_state(batches):
    """Keras's Mean: per-sample mean over non-batch axes, weighted; total / sum(weights)."""
    total, count = 0.0, 0.0
    for values, weights in batches:
        per_sample = values.reshape(values.shape[0], -1).mean(axis=1)
        w = np.ones(values.shape[0]) if weights is None else weights
        total += float((per_sample * w).sum())
        count += float(w.sum())
    return total / count if count else 0.0


def test_mean_matches_numpy_over_batches_with_weights():
    m = metrics.Mean()
    batches = []
    for i in range(4):
        values = RNG.normal(size=(5, 3)).astype(np.float32)
        weights = None if i == 0 else RNG.uniform(0, 2, size=5).astype(np.float32)
        batches.append((values, weights))
        m.update_state(values, sample_weight=weights)
    np.testing.assert_allclose(float(m.result()), _np_mean_state(batches), rtol=1e-5)


def test_mean_keras_examples_and_scalar_fast_path():
    m = metrics.Mean()
    m.update_state([1, 3, 5, 7])
    assert float(m.result()) == 4.0
    m.reset_state()
    m.update_state([1, 3, 5, 7], sample_weight=[1, 1, 0, 0])
    assert float(m.result()) == 2.0
    m.reset_state()
    m.update_state(torch.tensor(3.0), sample_weight=2)
    m.update_state(torch.tensor(6.0))
    # (3 * 2 + 6) / (2 + 1)
    assert float(m.result()) == pytest.approx(4.0)


def test_empty_mean_and_sum_are_zero_not_nan():
    assert float(metrics.Mean().result()) == 0.0
    assert float(metrics.Sum().result()) == 0.0
    m = metrics.Mean()
    m.update_state([1.0, 2.0], sample_weight=[0.0, 0.0])
    assert float(m.result()) == 0.0


def test_sum_and_weight_of_higher_rank():
    s = metrics.Sum()
    values = RNG.normal(size=(4, 3)).astype(np.float32)
    weights = RNG.uniform(size=(4, 3)).astype(np.float32)
    s.update_state(values, sample_weight=weights)
    np.testing.assert_allclose(float(s.result()), (values * weights).sum(), rtol=1e-5)
    m = metrics.Mean()
    m.update_state(values, sample_weight=weights)
    # weight rank 2: the weights are averaged per sample, as Keras does
    np.testing.assert_allclose(float(m.result()), (values * weights).mean(1).sum() / weights.mean(1).sum(), rtol=1e-5)


def test_reduce_sum_over_batch_size():
    r = metrics.Reduce("sum_over_batch_size")
    r.update_state([1.0, 2.0, 3.0], sample_weight=[1.0, 0.0, 1.0])
    r.update_state([[4.0, 4.0]])
    assert float(r.result()) == pytest.approx((1 + 3 + 8) / 5)
    assert r.get_config()["reduction"] == "sum_over_batch_size"
    with pytest.raises(ValueError, match="Received: reduction='median'"):
        metrics.Reduce("median")


def test_mean_metric_wrapper_kwargs_mask_and_config():
    def scaled_abs(y_true, y_pred, scale=1.0):
        return scale * (torch.as_tensor(y_pred) - torch.as_tensor(y_true)).abs().mean(-1)

    m = metrics.MeanMetricWrapper(scaled_abs, name="scaled", scale=2.0)
    y_true = torch.zeros(4, 2)
    y_pred = torch.tensor([[1.0, 1.0], [2.0, 2.0], [3.0, 3.0], [4.0, 4.0]])
    y_pred._keras_mask = torch.tensor([True, True, False, True])
    m.update_state(y_true, y_pred, sample_weight=torch.tensor([1.0, 0.5, 1.0, 1.0]))
    # masked sample dropped; weights 1, 0.5, 1 on values 2, 4, 8
    assert float(m.result()) == pytest.approx((2 + 2 + 8) / 2.5)
    assert m.name == "scaled"
    config = m.get_config()
    assert config["scale"] == 2.0 and config["name"] == "scaled"
    assert metrics.MeanMetricWrapper(scaled_abs).name.startswith("mean_metric_wrapper")


def test_mean_metric_wrapper_serializes_builtin_functions():
    m = metrics.MeanMetricWrapper(metrics.binary_accuracy, name="ba", threshold=0.7)
    config = m.get_config()
    assert config["fn"] == {"module": "keras.metrics", "class_name": "function", "config": "binary_accuracy",
                            "registered_name": "function"}
    clone = metrics.MeanMetricWrapper.from_config(json.loads(json.dumps(config)))
    assert clone._fn is metrics.binary_accuracy and clone._fn_kwargs == {"threshold": 0.7}
    clone.update_state([[1], [0]], [[0.8], [0.6]])
    assert float(clone.result()) == 1.0


def test_variables_paths_reset_call_and_repr():
    m = metrics.Mean(name="loss")
    assert [v.path for v in m.variables] == ["loss/total", "loss/count"]
    assert all(not v.trainable for v in m.variables)
    assert float(m([2.0, 4.0])) == 3.0
    m.reset_state()
    assert [float(v.numpy()) for v in m.variables] == [0.0, 0.0]
    assert repr(m) == "<Mean name=loss, dtype=float32>"
    assert m.get_config() == {"name": "loss", "dtype": "float32"}
    clone = metrics.Mean.from_config(m.get_config())
    assert clone.name == "loss"


def test_float64_state_and_result():
    m = metrics.Mean(dtype="float64")
    m.update_state(np.array([1.0, 2.0]))
    assert m.result().dtype == torch.float64
    assert all(v.dtype == "float64" for v in m.variables)
    assert metrics.Mean().result().dtype == torch.float32


def test_default_names_are_unique_snake_case():
    a, b = metrics.AUC(), metrics.AUC()
    assert a.name.startswith("auc") and a.name != b.name


def test_nested_metric_variables_are_tracked():
    class Pair(Metric):
        def __init__(self):
            super().__init__(name="pair")
            self.first = metrics.Mean(name="first")
            self.second = metrics.Sum(name="second")

        def update_state(self, values):
            self.first.update_state(values)
            self.second.update_state(values)

        def result(self):
            return self.first.result() + self.second.result()

    p = Pair()
    assert [v.path for v in p.variables] == ["first/total", "first/count", "second/total"]
    assert float(p([1.0, 3.0])) == 6.0
    p.reset_state()
    assert float(p.result()) == 0.0


def test_errors():
    with pytest.raises(ValueError, match=r"Metric 'mean'.*Received: sample_weight.shape=\(3,\)"):
        metrics.Mean(name="mean").update_state([1.0, 2.0], sample_weight=[1.0, 1.0, 1.0])
    with pytest.raises(TypeError, match="Received: name=3"):
        metrics.Mean(name=3)
    with pytest.raises(TypeError, match="callable `fn`"):
        metrics.MeanMetricWrapper("not a function")

    class Forgot(Metric):
        def __init__(self):
            self.v = self.add_variable((), "zeros", name="v")

    with pytest.raises(RuntimeError, match="super"):
        Forgot()


def test_state_follows_input_device_on_meta():
    # Any device other than the state's moves the state there (meta stands in for CUDA).
    m = metrics.Sum()
    m.update_state(torch.ones(3, device="meta"))
    assert m.total.value.device.type == "meta"


@pytest.mark.parametrize("shape", [(3, 5, 2), (4, 4, 2)], ids=["b3_t5", "b4_t4"])
def test_masked_sequence_metric_with_per_sample_weights(shape):
    # Per-sample weights (batch,) on a masked (batch, time) metric weigh each sample's row, also where
    # batch == time; masked timesteps are left out of both the total and the count.
    rng = np.random.default_rng(11)
    t, p = rng.normal(size=shape).astype(np.float32), rng.normal(size=shape).astype(np.float32)
    mask = rng.uniform(size=shape[:2]) > 0.3
    sw = rng.uniform(0.2, 2.0, size=shape[0])
    pred = torch.from_numpy(p)
    pred._keras_mask = torch.from_numpy(mask)
    values = np.abs(t - p).mean(-1)
    weights = sw[:, None] * mask
    m = metrics.MeanAbsoluteError()
    m.update_state(t, pred, sample_weight=sw)
    assert float(m.result()) == pytest.approx(np.sum(values * weights) / np.sum(weights), rel=1e-5)
    m = metrics.MeanAbsoluteError()
    m.update_state(t, pred)
    assert float(m.result()) == pytest.approx(values[mask].mean(), rel=1e-5)


def test_mean_result_is_zero_before_updates_and_after_zero_weights():
    m = metrics.Mean()
    assert float(m.result()) == 0.0
    m.update_state(torch.tensor(3.0), sample_weight=0)  # the scalar fast path
    m.update_state([1.0, 2.0], sample_weight=[0.0, 0.0])
    assert float(m.result()) == 0.0 and not torch.isnan(m.result())
    m.update_state(torch.tensor(3.0), sample_weight=4)
    m.update_state([1.0, 2.0], sample_weight=[1.0, 3.0])
    assert float(m.result()) == pytest.approx((3.0 * 4 + 1.0 + 6.0) / 8)
