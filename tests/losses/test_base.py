"""`Loss` reductions, sample weights and masks against a NumPy reference of Keras 3's rules; configs,
`get`/`serialize`/`deserialize` and errors."""

import json

import numpy as np
import pytest
import torch

import lamina
from lamina import losses
from lamina.saving import registry

RTOL = 1e-6
RNG = np.random.default_rng(3)


def np_reduce(values, sample_weight=None, mask=None, reduction="sum_over_batch_size"):
    """Keras 3: the mask joins the weights (rescaled by total/valid for averaging reductions), then reduce."""
    weights = None if sample_weight is None else np.asarray(sample_weight, np.float64)
    if mask is not None:
        mask = mask.astype(np.float64)
        if reduction in ("sum_over_batch_size", "mean"):
            mask = mask * mask.size / mask.sum()
        weights = mask if weights is None else weights * mask
    if weights is not None:
        if weights.ndim == values.ndim + 1 and weights.shape[-1] == 1:
            # a rank-1 loss is expanded to (batch, 1), anything else loses the weights' trailing 1
            values, weights = (values[:, None], weights) if values.ndim == 1 else (values, weights[..., 0])
        values = values * weights
    if reduction in (None, "none"):
        return values
    if reduction == "sum":
        return values.sum()
    if reduction == "mean_with_sample_weight" and weights is not None:
        return values.sum() / weights.sum()
    return values.sum() / values.size


def _mse(t, p):
    return np.mean((t - p) ** 2, -1)


REDUCTIONS = ["sum_over_batch_size", "sum", "mean", "mean_with_sample_weight", "none", None]


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weights", [None, "batch", "batch1", "scalar"])
def test_reductions_with_per_sample_weights(reduction, weights):
    t, p = RNG.normal(size=(5, 3)), RNG.normal(size=(5, 3))
    sw = {None: None, "batch": RNG.uniform(size=5), "batch1": RNG.uniform(size=(5, 1)), "scalar": 0.5}[weights]
    out = losses.MeanSquaredError(reduction=reduction, dtype="float64")(t, p, sample_weight=sw)
    np.testing.assert_allclose(out.numpy(), (np_reduce(_mse(t, p), sw, reduction=reduction)), rtol=RTOL)


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_per_timestep_weights_and_masks(reduction):
    t, p = RNG.normal(size=(2, 4, 3)), RNG.normal(size=(2, 4, 3))
    sw = RNG.uniform(size=(2, 4))
    mask = np.array([[1, 1, 0, 1], [1, 0, 0, 0]], bool)
    y_pred = torch.tensor(p)
    y_pred._keras_mask = torch.tensor(mask)
    loss = losses.MeanSquaredError(reduction=reduction, dtype="float64")
    np.testing.assert_allclose(loss(t, y_pred, sample_weight=sw).numpy(),
                               np_reduce(_mse(t, p), sw, mask, reduction), rtol=RTOL)
    np.testing.assert_allclose(loss(t, y_pred).numpy(), np_reduce(_mse(t, p), None, mask, reduction), rtol=RTOL)


def test_masked_average_counts_only_unmasked_entries():
    y_pred = torch.tensor([[[0.9, 0.1], [0.3, 0.7]]])
    y_pred._keras_mask = torch.tensor([[True, False]])
    out = losses.SparseCategoricalCrossentropy()(torch.tensor([[0, 1]]), y_pred)
    assert float(out) == pytest.approx(-np.log(0.9), rel=1e-6)


def test_per_sample_weights_broadcast_over_trailing_loss_axes():
    t, p = RNG.normal(size=(3, 4, 2)), RNG.normal(size=(3, 4, 2))
    sw = np.array([1.0, 0.0, 2.0])
    out = losses.MeanSquaredError(reduction="sum", dtype="float64")(t, p, sample_weight=sw)
    assert float(out) == pytest.approx(np.sum(_mse(t, p) * sw[:, None]), rel=RTOL)
    with pytest.raises(ValueError, match=r"Loss 'mean_squared_error': `sample_weight` of shape \(2,\) does not "
                                         r"broadcast to the per-sample loss of shape \(3, 4\)"):
        losses.MeanSquaredError()(t, p, sample_weight=[1.0, 2.0])


def test_zero_weights_and_empty_batches_give_zero_not_nan():
    loss = losses.MeanSquaredError(reduction="mean_with_sample_weight")
    assert float(loss(np.ones((2, 2)), np.zeros((2, 2)), sample_weight=[0.0, 0.0])) == 0.0
    assert losses.MeanSquaredError()(np.ones((0, 2)), np.zeros((0, 2))).shape == (0,)


def test_dtype_casts_inputs_and_defaults_to_floatx():
    t, p = np.zeros((2, 2)), np.ones((2, 2))
    assert losses.MeanSquaredError()(t, p).dtype == torch.float32
    loss = losses.MeanSquaredError(dtype="float64")
    assert loss.dtype == "float64" and loss(t, p).dtype == torch.float64
    policy = lamina.mixed_precision.DTypePolicy("mixed_bfloat16")
    assert losses.MeanSquaredError(dtype=policy).dtype == "bfloat16"


def test_subclass_call_names_and_repr():
    class ScaledError(losses.Loss):
        def call(self, y_true, y_pred):
            return torch.sum(torch.abs(y_true - y_pred), dim=-1)

    first, second = ScaledError(), ScaledError()
    assert first.name == "scaled_error" and second.name.startswith("scaled_error_")
    assert float(first(np.zeros((2, 3)), np.ones((2, 3)))) == 3.0
    assert repr(losses.Huber(delta=2.0)) == "<Huber name='huber_loss', reduction='sum_over_batch_size', delta=2.0>"
    with pytest.raises(NotImplementedError, match="must implement `call"):
        losses.Loss()(np.zeros(2), np.zeros(2))


def test_invalid_reduction_and_input_types_are_clear_errors():
    with pytest.raises(ValueError, match=r"`reduction` of BinaryCrossentropy.*Received: reduction='avg'"):
        losses.BinaryCrossentropy(reduction="avg")
    with pytest.raises(TypeError, match=r"Loss 'mean_squared_error' expects `y_pred` to be a tensor.*"
                                        r"Received: y_pred='abc' of type str"):
        losses.MeanSquaredError()(np.zeros(2), "abc")
    assert losses.BinaryCrossentropy(reduction="auto").reduction == "sum_over_batch_size"  # tf.keras 2 name


# ---- configs -----------------------------------------------------------------------------------------

CONFIGS = [
    (losses.BinaryCrossentropy, {"from_logits": True, "label_smoothing": 0.1, "axis": -1}),
    (losses.BinaryFocalCrossentropy, {"apply_class_balancing": True, "alpha": 0.4, "gamma": 3.0,
                                      "from_logits": True, "label_smoothing": 0.0, "axis": -1}),
    (losses.CategoricalCrossentropy, {"from_logits": True, "label_smoothing": 0.2, "axis": 1}),
    (losses.CategoricalFocalCrossentropy, {"alpha": 0.5, "gamma": 1.0, "from_logits": False,
                                           "label_smoothing": 0.0, "axis": -1}),
    (losses.SparseCategoricalCrossentropy, {"from_logits": True, "ignore_class": 255, "axis": -1}),
    (losses.CategoricalGeneralizedCrossEntropy, {"q": 0.7}),
    (losses.MeanSquaredError, {}), (losses.MeanAbsoluteError, {}), (losses.MeanAbsolutePercentageError, {}),
    (losses.MeanSquaredLogarithmicError, {}), (losses.CosineSimilarity, {"axis": 0}),
    (losses.Huber, {"delta": 2.5}), (losses.LogCosh, {}), (losses.KLDivergence, {}), (losses.Poisson, {}),
    (losses.Hinge, {}), (losses.SquaredHinge, {}), (losses.CategoricalHinge, {}),
    (losses.Dice, {"axis": [1, 2]}), (losses.Tversky, {"alpha": 0.3, "beta": 0.7, "axis": None}), (losses.CTC, {}),
]


@pytest.mark.parametrize("cls,kwargs", CONFIGS, ids=[c.__name__ for c, _ in CONFIGS])
def test_config_round_trips(cls, kwargs):
    loss = cls(reduction="sum", name="my_loss", **kwargs)
    config = loss.get_config()
    assert config == {"name": "my_loss", "reduction": "sum", **kwargs}
    assert cls.from_config(config).get_config() == config
    serialized = json.loads(json.dumps(losses.serialize(loss)))
    assert serialized == {"module": "keras.losses", "class_name": cls.__name__, "config": config,
                          "registered_name": None}
    restored = losses.deserialize(serialized)
    assert type(restored) is cls and restored.get_config() == config


def test_default_names_match_keras():
    names = {cls.__name__: cls().name for cls, _ in CONFIGS}
    assert names["Huber"] == "huber_loss" and names["LogCosh"] == "log_cosh"
    assert names["KLDivergence"] == "kl_divergence" and names["BinaryCrossentropy"] == "binary_crossentropy"


def test_keras2_configs_are_read():
    config = {"class_name": "BinaryCrossentropy",
              "config": {"reduction": "auto", "name": "binary_crossentropy", "from_logits": True,
                         "label_smoothing": 0.0, "axis": -1}}
    loss = losses.deserialize(config)
    assert loss.from_logits and loss.reduction == "sum_over_batch_size"


def test_loss_function_wrapper_config_round_trip():
    wrapper = losses.LossFunctionWrapper(losses.huber, name="wrapped", reduction="sum", delta=3.0)
    config = wrapper.get_config()
    assert config == {"name": "wrapped", "reduction": "sum", "delta": 3.0,
                      "fn": {"module": "keras.losses", "class_name": "function", "config": "huber",
                             "registered_name": "huber"}}
    restored = losses.LossFunctionWrapper.from_config(json.loads(json.dumps(config)))
    assert restored.fn is losses.huber and restored._fn_kwargs == {"delta": 3.0}
    t, p = np.zeros((2, 2)), np.full((2, 2), 5.0)
    assert float(restored(t, p)) == float(losses.Huber(delta=3.0, reduction="sum")(t, p))


def test_get_accepts_names_aliases_classes_dicts_and_callables():
    assert losses.get(None) is None
    assert losses.get("binary_crossentropy") is losses.binary_crossentropy
    for alias, fn in [("mse", losses.mean_squared_error), ("MSE", losses.mean_squared_error),
                      ("mae", losses.mean_absolute_error), ("mape", losses.mean_absolute_percentage_error),
                      ("msle", losses.mean_squared_logarithmic_error), ("kld", losses.kl_divergence),
                      ("logcosh", losses.log_cosh), ("bce", losses.binary_crossentropy),
                      ("sparse_categorical_crossentropy", losses.sparse_categorical_crossentropy)]:
        assert losses.get(alias) is fn
    assert losses.mse is losses.MSE is losses.mean_squared_error and losses.kl_divergence is losses.kld
    assert isinstance(losses.get("CategoricalCrossentropy"), losses.CategoricalCrossentropy)
    assert isinstance(losses.get(losses.Huber), losses.Huber)
    loss = losses.get({"class_name": "CategoricalCrossentropy", "config": {"from_logits": True}})
    assert loss.from_logits
    assert losses.get({"module": "keras.losses", "class_name": "function", "config": "mean_squared_error",
                       "registered_name": "mean_squared_error"}) is losses.mean_squared_error
    instance = losses.Poisson()
    assert losses.get(instance) is instance
    assert losses.serialize(losses.mse)["config"] == "mean_squared_error"


def test_unknown_identifiers_raise_value_errors_naming_them():
    with pytest.raises(ValueError, match="Could not interpret loss identifier: 'not_a_loss'"):
        losses.get("not_a_loss")
    with pytest.raises(ValueError, match="NotALoss"):
        losses.get({"class_name": "NotALoss", "config": {}})
    with pytest.raises(ValueError, match="Could not interpret loss identifier: 3"):
        losses.get(3)


def test_registered_custom_losses_round_trip():
    @registry.register_keras_serializable(package="loss_test")
    class Scaled(losses.Loss):
        def __init__(self, scale=1.0, **kwargs):
            super().__init__(**kwargs)
            self.scale = scale

        def call(self, y_true, y_pred):
            return self.scale * torch.mean(torch.abs(y_true - y_pred), dim=-1)

        def get_config(self):
            return {**super().get_config(), "scale": self.scale}

    serialized = losses.serialize(Scaled(2.0, name="scaled"))
    assert serialized["registered_name"] == "loss_test>Scaled" and serialized["module"] == __name__
    restored = losses.get(serialized)
    assert isinstance(restored, Scaled) and restored.scale == 2.0 and restored.name == "scaled"
    assert losses.get("loss_test>Scaled").scale == 1.0
