"""Normalization layers against NumPy formulas (Keras 3 conventions), with gradchecks, configs and errors."""

import json

import numpy as np
import pytest
import torch

from lamina import layers
from tests.layers.harness import run_layer_test

RNG = np.random.default_rng(0)


def _x(*shape, scale=1.0, shift=0.0):
    return (RNG.standard_normal(shape) * scale + shift).astype("float32")


def np_batch_norm(x, mean, var, gamma, beta, axis, epsilon):
    shape = [1] * x.ndim
    shape[axis] = x.shape[axis]
    return (x - mean.reshape(shape)) / np.sqrt(var.reshape(shape) + epsilon) * gamma.reshape(shape) + \
        beta.reshape(shape)


# ---- BatchNormalization --------------------------------------------------------------------------------

@pytest.mark.parametrize("shape, kwargs", [((4, 3), {}), ((2, 5, 3), {"center": False}),
                                           ((2, 3, 4, 4), {"axis": 1}), ((2, 4, 4, 3), {"scale": False}),
                                           ((2, 2, 3, 2, 3), {"momentum": 0.5, "epsilon": 1e-5})])
def test_batch_norm_harness_inference(shape, kwargs):
    axis = kwargs.get("axis", -1)
    names = (["gamma"] if kwargs.get("scale", True) else []) + (["beta"] if kwargs.get("center", True) else [])
    run_layer_test(layers.BatchNormalization, kwargs, input_shape=shape, expected_output_shape=shape,
                   expected_weight_names=names + ["moving_mean", "moving_variance"],
                   expected_num_non_trainable_weights=2, expected_weight_shapes=[(shape[axis],)] * (len(names) + 2),
                   supports_masking=True)


@pytest.mark.parametrize("shape, axis", [((6, 3), -1), ((2, 3, 4, 4), 1)])
def test_batch_norm_harness_training(shape, axis):
    # Each training call moves the moving statistics, which the harness's generic step check forbids.
    run_layer_test(layers.BatchNormalization, {"axis": axis}, input_shape=shape, call_kwargs={"training": True},
                   expected_output_shape=shape, run_training_check=False, supports_masking=True)


@pytest.mark.parametrize("shape, axis", [((8, 3), -1), ((4, 5, 5, 3), -1), ((4, 3, 5, 5), 1), ((3, 4, 3), -1),
                                         ((1, 3), -1), ((4, 2, 3, 2, 2), 2)])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_batch_norm_moving_statistics_follow_keras_formula(shape, axis, dtype):
    momentum, epsilon = 0.9, 1e-3
    layer = layers.BatchNormalization(axis=axis, momentum=momentum, epsilon=epsilon, dtype=dtype,
                                      gamma_initializer="random_normal", beta_initializer="random_normal")
    reduce = tuple(i for i in range(len(shape)) if i != axis % len(shape))
    moving_mean, moving_var = np.zeros(shape[axis]), np.ones(shape[axis])
    for step in range(5):
        x = _x(*shape, scale=2.0 + step, shift=step - 1.0).astype(dtype)
        out = layer(x, training=True).detach().numpy()
        gamma, beta = layer.gamma.numpy(), layer.beta.numpy()
        mean, var = x.astype(np.float64).mean(axis=reduce), x.astype(np.float64).var(axis=reduce)  # biased
        np.testing.assert_allclose(out, np_batch_norm(x, mean, var, gamma, beta, axis, epsilon), rtol=1e-4,
                                   atol=1e-4)
        moving_mean = moving_mean * momentum + mean * (1 - momentum)
        moving_var = moving_var * momentum + var * (1 - momentum)
        np.testing.assert_allclose(layer.moving_mean.numpy(), moving_mean, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(layer.moving_variance.numpy(), moving_var, rtol=1e-5, atol=1e-6)
    # inference uses the moving statistics and leaves them alone
    x = _x(*shape).astype(dtype)
    for training in (False, None):
        out = layer(x, training=training).detach().numpy()
        np.testing.assert_allclose(out, np_batch_norm(x, moving_mean, moving_var, gamma, beta, axis, epsilon),
                                   rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(layer.moving_mean.numpy(), moving_mean, rtol=1e-5, atol=1e-6)


def test_batch_norm_frozen_layer_runs_in_inference_mode():
    layer = layers.BatchNormalization()
    x = _x(6, 3, shift=5.0)
    layer(x, training=True)
    moving = [layer.moving_mean.numpy().copy(), layer.moving_variance.numpy().copy()]
    layer.trainable = False
    out = layer(x, training=True).detach().numpy()
    np.testing.assert_allclose(out, np_batch_norm(x, moving[0], moving[1], np.ones(3), np.zeros(3), -1, 1e-3),
                               rtol=1e-5, atol=1e-5)
    np.testing.assert_array_equal(layer.moving_mean.numpy(), moving[0])
    np.testing.assert_array_equal(layer.moving_variance.numpy(), moving[1])
    assert layer.trainable_weights == [] and len(layer.non_trainable_weights) == 4
    layer.trainable = True  # moving statistics stay non-trainable
    assert [w.name for w in layer.trainable_weights] == ["gamma", "beta"]


def test_batch_norm_masked_statistics():
    layer = layers.BatchNormalization(momentum=0.0)
    x = _x(3, 5, 2, scale=3.0)
    mask = RNG.random((3, 5)) > 0.4
    out = layer(x, training=True, mask=torch.as_tensor(mask)).detach().numpy()
    kept = x[mask]
    mean = kept.sum(0) / (mask.sum() + 1e-7)
    var = ((kept - mean) ** 2).sum(0) / (mask.sum() + 1e-7)
    np.testing.assert_allclose(layer.moving_mean.numpy(), mean, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(layer.moving_variance.numpy(), var, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(out, np_batch_norm(x, mean, var, np.ones(2), np.zeros(2), -1, 1e-3), rtol=1e-4,
                               atol=1e-4)
    tensor = torch.as_tensor(x)
    tensor._keras_mask = torch.as_tensor(mask)
    assert torch.equal(layer(tensor)._keras_mask, tensor._keras_mask)


def test_batch_norm_renorm_follows_keras_3():
    layer = layers.BatchNormalization(momentum=0.8, renorm=True, renorm_momentum=0.5,
                                      renorm_clipping={"rmax": 1.5, "dmax": 0.5})
    eps = 1e-3
    moving_mean, moving_std = np.zeros(2), np.ones(2)
    renorm_mean, renorm_std = np.zeros(2), np.ones(2)
    for _ in range(3):
        x = _x(8, 2, scale=2.0, shift=1.0)
        out = layer(x, training=True).detach().numpy()
        mean, var = x.mean(0), x.var(0)
        std = np.sqrt(var + eps)
        r = np.minimum(std / np.maximum(renorm_std, np.sqrt(eps)), 1.5)
        d = np.clip((mean - renorm_mean) / np.maximum(renorm_std, np.sqrt(eps)), -0.5, 0.5)
        np.testing.assert_allclose(out, (x - mean) / std * r + d, rtol=1e-4, atol=1e-4)
        renorm_mean, renorm_std = renorm_mean * 0.5 + mean * 0.5, renorm_std * 0.5 + std * 0.5
        moving_mean, moving_std = moving_mean * 0.8 + mean * 0.2, moving_std * 0.8 + std * 0.2
    np.testing.assert_allclose(layer.moving_mean.numpy(), moving_mean, rtol=1e-5)
    np.testing.assert_allclose(layer.moving_variance.numpy(), np.maximum(moving_std ** 2 - eps, 0), rtol=1e-5)
    assert [w.name for w in layer.non_trainable_weights] == ["moving_mean", "moving_variance", "moving_stddev",
                                                             "renorm_mean", "renorm_stddev"]
    with pytest.raises(ValueError, match="invalid keys for the `renorm_clipping`"):
        layers.BatchNormalization(renorm=True, renorm_clipping={"rmx": 1})


def test_batch_norm_synchronized_single_process_group(tmp_path):
    import torch.distributed as dist

    dist.init_process_group("gloo", init_method=f"file://{tmp_path / 'store'}", rank=0, world_size=1)
    try:
        synced = layers.BatchNormalization(synchronized=True)
        plain = layers.BatchNormalization()
        x = torch.as_tensor(_x(4, 3, 3, scale=2.0)).requires_grad_(True)
        out = synced(x, training=True)
        torch.testing.assert_close(out, plain(x, training=True), rtol=1e-5, atol=1e-5)
        torch.testing.assert_close(synced.moving_variance.value, plain.moving_variance.value)
        (grad,) = torch.autograd.grad(out.pow(3).sum(), x)
        (expected,) = torch.autograd.grad(plain(x, training=True).pow(3).sum(), x)
        torch.testing.assert_close(grad, expected, rtol=1e-4, atol=1e-4)
    finally:
        dist.destroy_process_group()


@pytest.mark.parametrize("training", [True, False])
def test_batch_norm_gradients_match_finite_differences(training):
    layer = layers.BatchNormalization(axis=1, dtype="float64", gamma_initializer="random_normal",
                                      beta_initializer="random_normal", moving_variance_initializer="ones")
    x = torch.randn(3, 2, 3, dtype=torch.float64, requires_grad=True)
    layer(x)
    weights = [w.value for w in layer.trainable_weights]
    assert torch.autograd.gradcheck(lambda x, *w: layer(x, training=training), (x, *weights))


def test_batch_norm_config_and_errors():
    config = layers.BatchNormalization(name="bn").get_config()
    assert list(config) == ["name", "trainable", "dtype", "axis", "momentum", "epsilon", "center", "scale",
                            "beta_initializer", "gamma_initializer", "moving_mean_initializer",
                            "moving_variance_initializer", "beta_regularizer", "gamma_regularizer", "beta_constraint",
                            "gamma_constraint", "synchronized", "renorm", "renorm_clipping", "renorm_momentum"]
    assert (config["axis"], config["momentum"], config["epsilon"]) == (-1, 0.99, 1e-3)
    assert config["moving_variance_initializer"]["class_name"] == "Ones"
    assert json.loads(json.dumps(config)) == config
    assert layers.BatchNormalization.from_config({"axis": [3], "momentum": 0.9}).axis == 3  # tf.keras 2 config
    with pytest.raises(ValueError, match=r'"bn2".*axis 3 is out of bounds.*input_shape=\(2, 3\)'):
        layers.BatchNormalization(axis=3, name="bn2")(_x(2, 3))
    with pytest.raises(ValueError, match=r"mask must have one dimension less.*mask.shape=\(2, 3\)"):
        layers.BatchNormalization()(_x(2, 3), mask=torch.ones(2, 3, dtype=torch.bool), training=True)
    with pytest.raises(TypeError, match="`axis` argument of BatchNormalization must be an int"):
        layers.BatchNormalization(axis="last")
    layer = layers.BatchNormalization(name="bn3")
    layer(_x(2, 3))
    with pytest.raises(ValueError, match='layer "bn3" is incompatible.*axis -1 of input shape to have value 3'):
        layer(_x(2, 4))


# ---- LayerNormalization ---------------------------------------------------------------------------------

def np_layer_norm(x, axes, gamma, beta, epsilon, rms=False):
    axes = tuple(sorted(a % x.ndim for a in axes))
    shape = [x.shape[a] if a in axes else 1 for a in range(x.ndim)]
    var = x.var(axis=axes, keepdims=True)
    if rms:
        return x / np.sqrt(var + epsilon) * gamma.reshape(shape)
    out = (x - x.mean(axis=axes, keepdims=True)) / np.sqrt(var + epsilon)
    if gamma is not None:
        out = out * gamma.reshape(shape)
    return out + beta.reshape(shape) if beta is not None else out


@pytest.mark.parametrize("shape, kwargs, weight_shape", [
    ((4, 3), {}, (3,)), ((2, 3, 4), {"axis": [1, 2]}, (3, 4)), ((2, 3, 4), {"axis": 1}, (3,)),
    ((2, 3, 4, 2), {"axis": [1, 3]}, (3, 2)), ((2, 5), {"rms_scaling": True}, (5,)),
])
def test_layer_norm_harness_and_numpy(shape, kwargs, weight_shape):
    names = ["gamma"] if kwargs.get("rms_scaling") else ["gamma", "beta"]
    layer, out = run_layer_test(layers.LayerNormalization, {**kwargs, "beta_initializer": "random_normal",
                                                            "gamma_initializer": "random_normal"},
                                input_shape=shape, expected_output_shape=shape, expected_weight_names=names,
                                expected_weight_shapes=[weight_shape] * len(names), supports_masking=True)
    x = _x(*shape, scale=3.0, shift=1.0)
    weights = layer.get_weights() + [None]
    expected = np_layer_norm(x.astype(np.float64), layer.axis, weights[0], weights[1], 1e-3,
                             rms=kwargs.get("rms_scaling", False))
    np.testing.assert_allclose(layer(x).detach().numpy(), expected, rtol=1e-4, atol=1e-4)


def test_layer_norm_without_center_and_scale_and_gradients():
    layer = layers.LayerNormalization(center=False, scale=False, epsilon=1e-5)
    x = _x(3, 4)
    np.testing.assert_allclose(layer(x).numpy(), np_layer_norm(x, [-1], None, None, 1e-5), rtol=1e-4, atol=1e-5)
    assert layer.weights == []
    for kwargs in ({"axis": -1}, {"axis": [1]}, {"rms_scaling": True}):
        layer = layers.LayerNormalization(dtype="float64", gamma_initializer="random_normal", **kwargs)
        x = torch.randn(2, 3, 4, dtype=torch.float64, requires_grad=True)
        layer(x)
        weights = [w.value for w in layer.trainable_weights]
        assert torch.autograd.gradcheck(lambda x, *w, layer=layer: layer(x), (x, *weights))


def test_layer_norm_config_and_errors():
    layer = layers.LayerNormalization(name="ln")
    assert list(layer.get_config()) == ["name", "trainable", "dtype", "axis", "epsilon", "center", "scale",
                                        "rms_scaling", "beta_initializer", "gamma_initializer", "beta_regularizer",
                                        "gamma_regularizer", "beta_constraint", "gamma_constraint"]
    assert layer.get_config()["axis"] == -1 and layer.get_config()["epsilon"] == 1e-3
    layer(_x(2, 3))
    assert layer.get_config()["axis"] == [-1]  # Keras keeps the built axis as a list
    with pytest.raises(TypeError, match="`axis` argument of LayerNormalization.*Received: axis='x'"):
        layers.LayerNormalization(axis="x")
    with pytest.raises(ValueError, match=r'"ln2".*axis 2 is out of bounds.*input_shape=\(2, 3\)'):
        layers.LayerNormalization(axis=2, name="ln2")(_x(2, 3))


# ---- GroupNormalization ---------------------------------------------------------------------------------

def np_group_norm(x, groups, axis, gamma, beta, epsilon):
    x = np.moveaxis(x.astype(np.float64), axis, -1)
    grouped = x.reshape(*x.shape[:-1], groups, x.shape[-1] // groups)
    axes = tuple(range(1, grouped.ndim - 2)) + (grouped.ndim - 1,)
    mean = grouped.mean(axis=axes, keepdims=True)
    var = grouped.var(axis=axes, keepdims=True)
    out = ((grouped - mean) / np.sqrt(var + epsilon)).reshape(x.shape) * gamma + beta
    return np.moveaxis(out, -1, axis)


@pytest.mark.parametrize("shape, kwargs, groups", [
    ((2, 6), {"groups": 3}, 3), ((2, 5, 4), {"groups": 2}, 2), ((2, 4, 4, 6), {"groups": -1}, 6),
    ((2, 6, 3, 3), {"groups": 2, "axis": 1}, 2), ((2, 3, 2, 2, 4), {"groups": 1}, 1),
])
def test_group_norm_harness_and_numpy(shape, kwargs, groups):
    layer, _ = run_layer_test(layers.GroupNormalization, {**kwargs, "gamma_initializer": "random_normal",
                                                          "beta_initializer": "random_normal"},
                              input_shape=shape, expected_output_shape=shape, expected_weight_names=["gamma", "beta"],
                              supports_masking=True)
    x = _x(*shape, scale=2.0, shift=1.0)
    gamma, beta = layer.get_weights()
    expected = np_group_norm(x, groups, kwargs.get("axis", -1), gamma, beta, 1e-3)
    np.testing.assert_allclose(layer(x).detach().numpy(), expected, rtol=1e-4, atol=1e-4)
    assert layer.groups == groups


def test_group_norm_gradients_config_and_errors():
    layer = layers.GroupNormalization(groups=2, dtype="float64", gamma_initializer="random_normal")
    x = torch.randn(2, 3, 4, dtype=torch.float64, requires_grad=True)
    layer(x)
    assert torch.autograd.gradcheck(lambda x, g, b: layer(x), (x, layer.gamma.value, layer.beta.value))
    assert list(layers.GroupNormalization().get_config())[3:] == [
        "groups", "axis", "epsilon", "center", "scale", "beta_initializer", "gamma_initializer", "beta_regularizer",
        "gamma_regularizer", "beta_constraint", "gamma_constraint"]
    assert layers.GroupNormalization().groups == 32
    with pytest.raises(ValueError, match=r"number of groups \(32\) cannot be more than the number of channels \(4\)"):
        layers.GroupNormalization()(_x(2, 4))
    with pytest.raises(ValueError, match=r"channels \(6\) must be a multiple of the number of groups \(4\)"):
        layers.GroupNormalization(groups=4)(_x(2, 6))
    with pytest.raises(ValueError, match="Received: groups=0"):
        layers.GroupNormalization(groups=0)


# ---- UnitNormalization / RMSNormalization --------------------------------------------------------------------

@pytest.mark.parametrize("shape, axis", [((3, 4), -1), ((2, 3, 4), [1, 2]), ((2, 3, 4), 1)])
def test_unit_norm(shape, axis):
    x = _x(*shape)
    _, out = run_layer_test(layers.UnitNormalization, {"axis": axis}, input_data=x, expected_output_shape=shape,
                            expected_num_trainable_weights=0, supports_masking=True)
    norms = np.sqrt((x.astype(np.float64) ** 2).sum(axis=tuple(np.atleast_1d(axis)), keepdims=True))
    np.testing.assert_allclose(out.numpy(), x / norms, rtol=1e-5, atol=1e-6)
    assert layers.UnitNormalization()(torch.zeros(1, 3)).tolist() == [[0.0, 0.0, 0.0]]
    assert layers.UnitNormalization(axis=(1, 2)).get_config()["axis"] == [1, 2]


@pytest.mark.parametrize("shape, kwargs, weight_shape", [((3, 4), {}, (4,)), ((2, 3, 4), {"axis": [1, 2]}, (3, 4)),
                                                         ((2, 3, 4), {"axis": 1, "epsilon": 1e-3}, (3,))])
def test_rms_norm(shape, kwargs, weight_shape):
    layer, _ = run_layer_test(layers.RMSNormalization, kwargs, input_shape=shape, expected_output_shape=shape,
                              expected_weight_names=["scale"], expected_weight_shapes=[weight_shape])
    x = _x(*shape, scale=2.0)
    layer.set_weights([RNG.standard_normal(weight_shape).astype("float32")])
    axes = tuple(sorted(a % len(shape) for a in np.atleast_1d(kwargs.get("axis", -1))))
    scale_shape = [shape[a] if a in axes else 1 for a in range(len(shape))]
    rms = np.sqrt((x.astype(np.float64) ** 2).mean(axis=axes, keepdims=True) + kwargs.get("epsilon", 1e-6))
    expected = x / rms * layer.scale.numpy().reshape(scale_shape)
    np.testing.assert_allclose(layer(x).detach().numpy(), expected, rtol=1e-4, atol=1e-5)
    assert list(layer.get_config())[3:] == ["axis", "epsilon"]


# ---- SpectralNormalization --------------------------------------------------------------------------------

def test_spectral_norm_harness():
    dense = layers.serialize(layers.Dense(3))
    # The wrapped layer keeps its own dtype (as Keras's Wrapper): the float64 variant wraps a float64 Dense.
    run_layer_test(layers.SpectralNormalization, {"layer": dense}, input_shape=(2, 4), expected_output_shape=(2, 3),
                   expected_weight_names=["kernel", "bias", "vector_u"], expected_num_non_trainable_weights=1,
                   float64_init_kwargs={"layer": layers.Dense(3, dtype="float64")})


def test_spectral_norm_matches_numpy_power_iteration():
    layer = layers.SpectralNormalization(layers.Conv2D(3, 2), power_iterations=2)
    x = _x(1, 4, 4, 2)
    layer(x)
    kernel, u = layer.layer.kernel.numpy().astype(np.float64), layer.vector_u.numpy().astype(np.float64)
    out = layer(x, training=False)
    np.testing.assert_array_equal(layer.layer.kernel.numpy(), kernel.astype("float32"))  # inference: no update
    w = kernel.reshape(-1, 3)
    for _ in range(2):
        v = u @ w.T
        v /= np.linalg.norm(v)
        u = v @ w
        u /= np.linalg.norm(u)
    sigma = (v @ w @ u.T).item()
    layer(x, training=True)
    np.testing.assert_allclose(layer.layer.kernel.numpy(), kernel / sigma, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(layer.vector_u.numpy(), u, rtol=1e-5, atol=1e-6)
    for _ in range(30):
        out = layer(x, training=True)
    assert abs(np.linalg.svd(layer.layer.kernel.numpy().reshape(-1, 3), compute_uv=False)[0] - 1) < 1e-3
    assert out.shape == (1, 3, 3, 3)


def test_spectral_norm_embeddings_config_and_errors():
    layer = layers.SpectralNormalization(layers.Embedding(10, 4), name="sn")
    layer(torch.tensor([[1, 2]]), training=True)
    assert layer.vector_u.shape == (1, 4)
    config = layer.get_config()
    assert list(config) == ["name", "trainable", "dtype", "layer", "power_iterations"]
    clone = layers.SpectralNormalization.from_config(json.loads(json.dumps(config)))
    assert isinstance(clone.layer, layers.Embedding) and clone.layer.input_dim == 10
    with pytest.raises(ValueError, match="`power_iterations`.*Received: power_iterations=0"):
        layers.SpectralNormalization(layers.Dense(2), power_iterations=0)
    with pytest.raises(ValueError, match="no attribute 'kernel' nor 'embeddings'"):
        layers.SpectralNormalization(layers.MaxPooling1D())(_x(1, 4, 2))
