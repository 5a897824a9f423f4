"""Initializers: shapes, dtypes, sample statistics against the Keras formulas, fans, orthogonality,
seeds, configs (exact Keras 3 keys) and error messages.

Statistical tolerances: with N samples, a sample mean is within 5 standard errors
(5 * sigma / sqrt(N)) and a sample std within 2% of the population value; failures at those
bounds have probability well below 1e-6 for N >= 100_000.
"""

import json
import math
import random as py_random

import numpy as np
import pytest
import torch

import lamina
from lamina import initializers
from lamina.backend import config
from lamina.backend.random import SeedGenerator, set_random_seed
from lamina.saving import registry

TRUNC_STD = 0.87962566103423978  # std of N(0, 1) truncated to [-2, 2]
N = 200_000


def _np(t):
    return t.detach().cpu().double().numpy()


def _check_normal(sample, mean, std):
    x = _np(sample).ravel()
    assert abs(x.mean() - mean) < 5 * std / math.sqrt(x.size)
    assert x.std() == pytest.approx(std, rel=0.02)


# ---- shapes, dtypes, devices -------------------------------------------------------------

ALL_FACTORIES = [
    initializers.Zeros, initializers.Ones, lambda: initializers.Constant(2.5), initializers.RandomNormal,
    initializers.RandomUniform, initializers.TruncatedNormal, initializers.VarianceScaling,
    initializers.GlorotUniform, initializers.GlorotNormal, initializers.HeUniform, initializers.HeNormal,
    initializers.LecunUniform, initializers.LecunNormal, initializers.Orthogonal,
]


@pytest.mark.parametrize("factory", ALL_FACTORIES)
@pytest.mark.parametrize("dtype", [None, "float32", "float64", torch.float16, "bfloat16"])
def test_shape_dtype_device(factory, dtype):
    out = factory()((3, 2, 4), dtype=dtype)
    assert isinstance(out, torch.Tensor)
    assert tuple(out.shape) == (3, 2, 4)
    expected = torch.float32 if dtype is None else lamina.backend.dtypes.to_torch_dtype(dtype)
    assert out.dtype == expected
    assert out.device.type == config.device().type
    assert not out.requires_grad


def test_default_dtype_follows_floatx():
    config.set_floatx("float64")
    try:
        assert initializers.GlorotUniform()((2, 2)).dtype == torch.float64
        assert initializers.Ones()((2,)).dtype == torch.float64
    finally:
        config.set_floatx("float32")


def test_constant_initializers_values():
    assert initializers.Zeros()((2, 3)).tolist() == [[0.0] * 3] * 2
    assert initializers.Ones()((2,), dtype="int32").tolist() == [1, 1]
    assert initializers.Ones()((2,), dtype="int32").dtype == torch.int32
    assert initializers.Constant(-1.5)((2, 2)).tolist() == [[-1.5, -1.5]] * 2
    assert initializers.Constant(7)((3,), dtype="int64").tolist() == [7, 7, 7]
    # An array value broadcasts to the requested shape, as Keras's `value * ones(shape)`.
    out = initializers.Constant(np.array([1.0, 2.0]))((3, 2))
    np.testing.assert_array_equal(_np(out), np.tile([1.0, 2.0], (3, 1)))
    assert initializers.Zeros()(()).shape == ()


def test_constant_bad_broadcast_message():
    with pytest.raises(ValueError, match=r"cannot be broadcast to the requested shape \(2, 2\)"):
        initializers.Constant(np.ones(3))((2, 2))


def test_identity():
    np.testing.assert_array_equal(_np(initializers.Identity()((3, 3))), np.eye(3))
    np.testing.assert_array_equal(_np(initializers.Identity(gain=0.5)((2, 4))), 0.5 * np.eye(2, 4))
    np.testing.assert_array_equal(_np(initializers.Identity()((4, 2))), np.eye(4, 2))
    with pytest.raises(ValueError, match=r"only be used for 2D matrices. Received: shape=\(2, 2, 2\) of rank 3"):
        initializers.Identity()((2, 2, 2))


def test_bad_shapes_are_value_errors():
    with pytest.raises(ValueError, match=r"fully defined shape of ints. Received: shape=\(None, 3\)"):
        initializers.GlorotUniform()((None, 3))
    with pytest.raises(ValueError, match="non-negative dimensions"):
        initializers.Zeros()((-1, 3))


def test_random_initializers_reject_integer_dtypes():
    for init in (initializers.RandomNormal(), initializers.TruncatedNormal(), initializers.GlorotUniform(),
                 initializers.Orthogonal()):
        with pytest.raises(ValueError, match=r"floating-point tensors.*Received: dtype='int32'"):
            init((2, 2), dtype="int32")


# ---- statistics --------------------------------------------------------------------------


def test_random_normal_statistics():
    _check_normal(initializers.RandomNormal(mean=1.0, stddev=2.0, seed=1)((N,)), 1.0, 2.0)
    _check_normal(initializers.RandomNormal(seed=2)((N,)), 0.0, 0.05)  # Keras defaults


def test_random_uniform_statistics_and_bounds():
    x = _np(initializers.RandomUniform(minval=-1.0, maxval=3.0, seed=3)((N,)))
    assert x.min() >= -1.0 and x.max() < 3.0
    _check_normal(torch.from_numpy(x), 1.0, 4.0 / math.sqrt(12.0))
    x = _np(initializers.RandomUniform(seed=4)((N,)))
    assert x.min() >= -0.05 and x.max() < 0.05


def test_random_uniform_integer_dtype():
    x = initializers.RandomUniform(minval=0, maxval=5, seed=1)((1000,), dtype="int32")
    assert x.dtype == torch.int32 and int(x.min()) >= 0 and int(x.max()) <= 4


def test_truncated_normal_statistics_and_bounds():
    x = _np(initializers.TruncatedNormal(mean=0.5, stddev=2.0, seed=5)((N,)))
    assert x.min() >= 0.5 - 4.0 and x.max() <= 0.5 + 4.0
    _check_normal(torch.from_numpy(x), 0.5, 2.0 * TRUNC_STD)


# (shape, fan_in, fan_out) worked out by hand: conv kernels multiply by the receptive field.
FAN_CASES = [
    ((), 1, 1),
    ((7,), 7, 7),
    ((5, 7), 5, 7),
    ((3, 4, 8), 12, 24),
    ((3, 3, 16, 32), 144, 288),
    ((2, 3, 3, 4, 5), 72, 90),
]


@pytest.mark.parametrize("shape, fan_in, fan_out", FAN_CASES)
def test_compute_fans(shape, fan_in, fan_out):
    assert initializers.compute_fans(shape) == (fan_in, fan_out)


def test_compute_fans_with_axes():
    assert initializers.compute_fans((8, 4, 16), input_axes=[0], output_axes=[1, 2]) == (8, 64)
    assert initializers.compute_fans((8, 4, 16), input_axes=[0, 1]) == (32, 16)
    assert initializers.compute_fans((8, 4, 16), output_axes=-1) == (32, 16)
    with pytest.raises(ValueError, match=r"out of range for a rank-3 shape. Received: input_axes=\[3\]"):
        initializers.compute_fans((8, 4, 16), input_axes=[3])


def _variance_scaling_reference(scale, mode, shape):
    fan_in, fan_out = dict((s, (a, b)) for s, a, b in FAN_CASES)[shape]
    n = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2}[mode]
    return scale / max(1.0, n)  # target variance


@pytest.mark.parametrize("mode", ["fan_in", "fan_out", "fan_avg"])
@pytest.mark.parametrize("distribution", ["truncated_normal", "untruncated_normal", "uniform"])
@pytest.mark.parametrize("shape", [(5, 7), (3, 3, 16, 32)])
def test_variance_scaling_statistics(mode, distribution, shape):
    var = _variance_scaling_reference(1.7, mode, shape)
    reps = N // math.prod(shape) + 1
    init = initializers.VarianceScaling(scale=1.7, mode=mode, distribution=distribution, seed=SeedGenerator(11))
    x = np.concatenate([_np(init(shape)).ravel() for _ in range(reps)])
    if distribution == "uniform":
        limit = math.sqrt(3 * var)
        assert x.min() >= -limit and x.max() <= limit
        assert np.abs(x).max() > 0.99 * limit
    if distribution == "truncated_normal":
        # The pre-truncation stddev is corrected so the truncated values have variance `var`.
        bound = 2 * math.sqrt(var) / TRUNC_STD
        assert np.abs(x).max() <= bound * (1 + 1e-6)
    _check_normal(torch.from_numpy(x), 0.0, math.sqrt(var))


@pytest.mark.parametrize("cls, scale, mode, distribution", [
    (initializers.GlorotUniform, 1.0, "fan_avg", "uniform"),
    (initializers.GlorotNormal, 1.0, "fan_avg", "truncated_normal"),
    (initializers.HeUniform, 2.0, "fan_in", "uniform"),
    (initializers.HeNormal, 2.0, "fan_in", "truncated_normal"),
    (initializers.LecunUniform, 1.0, "fan_in", "uniform"),
    (initializers.LecunNormal, 1.0, "fan_in", "truncated_normal"),
])
def test_presets_match_keras_formulas(cls, scale, mode, distribution):
    init = cls(seed=3)
    assert (init.scale, init.mode, init.distribution) == (scale, mode, distribution)
    shape = (3, 3, 16, 32)
    var = _variance_scaling_reference(scale, mode, shape)
    x = np.concatenate([_np(cls(seed=s)(shape)).ravel() for s in range(14)])
    _check_normal(torch.from_numpy(x), 0.0, math.sqrt(var))
    if distribution == "uniform":
        assert np.abs(x).max() <= math.sqrt(3 * var)


def test_glorot_uniform_limit_for_dense_kernel():
    x = _np(initializers.GlorotUniform(seed=0)((400, 600)))
    limit = math.sqrt(6.0 / (400 + 600))
    assert np.abs(x).max() <= limit and np.abs(x).max() > 0.99 * limit


# ---- orthogonal --------------------------------------------------------------------------


@pytest.mark.parametrize("shape", [(6, 6), (8, 3), (3, 8), (3, 3, 4, 8), (2, 5, 3)])
@pytest.mark.parametrize("gain", [1.0, 2.5])
def test_orthogonal(shape, gain):
    w = _np(initializers.Orthogonal(gain=gain, seed=1)(shape, dtype="float64"))
    assert w.shape == shape
    flat = w.reshape(-1, shape[-1])
    rows, cols = flat.shape
    gram = flat.T @ flat if rows >= cols else flat @ flat.T
    np.testing.assert_allclose(gram, gain**2 * np.eye(min(rows, cols)), atol=1e-10)


def test_orthogonal_low_precision_and_errors():
    w = initializers.Orthogonal(seed=0)((4, 4), dtype="float16")
    assert w.dtype == torch.float16
    np.testing.assert_allclose(_np(w).T @ _np(w), np.eye(4), atol=5e-3)
    with pytest.raises(ValueError, match=r"at least two-dimensional. Received: shape=\(5,\) of rank 1"):
        initializers.Orthogonal()((5,))


def test_orthogonal_is_not_just_identity():
    w = _np(initializers.Orthogonal(seed=2)((5, 5)))
    assert np.abs(w - np.eye(5)).max() > 0.1


# ---- seeds -------------------------------------------------------------------------------

SEEDED = [initializers.RandomNormal, initializers.RandomUniform, initializers.TruncatedNormal,
          initializers.VarianceScaling, initializers.GlorotUniform, initializers.HeNormal, initializers.Orthogonal]


@pytest.mark.parametrize("cls", SEEDED)
def test_int_seed_is_deterministic(cls):
    a, b = cls(seed=42), cls(seed=42)
    torch.testing.assert_close(a((4, 5)), a((4, 5)), rtol=0, atol=0)
    torch.testing.assert_close(a((4, 5)), b((4, 5)), rtol=0, atol=0)
    assert not torch.equal(a((4, 5)), cls(seed=43)((4, 5)))


@pytest.mark.parametrize("cls", SEEDED)
def test_unseeded_like_keras3(cls):
    # Keras 3: an unseeded initializer draws an int seed once, so repeated calls agree, while
    # separate instances (and clones) differ.
    init = cls()
    torch.testing.assert_close(init((4, 5)), init((4, 5)), rtol=0, atol=0)
    assert not torch.equal(init((4, 5)), cls()((4, 5)))
    assert not torch.equal(init((4, 5)), init.clone()((4, 5)))
    assert init.get_config()["seed"] is None


def test_set_random_seed_makes_unseeded_reproducible():
    set_random_seed(123)
    first = initializers.GlorotUniform()((3, 3))
    set_random_seed(123)
    second = initializers.GlorotUniform()((3, 3))
    torch.testing.assert_close(first, second, rtol=0, atol=0)


def test_seed_generator_gives_new_values_per_call():
    init = initializers.RandomNormal(seed=SeedGenerator(5))
    a, b = init((10,)), init((10,))
    assert not torch.equal(a, b)
    again = initializers.RandomNormal(seed=SeedGenerator(5))
    torch.testing.assert_close(again((10,)), a, rtol=0, atol=0)
    cfg = init.get_config()["seed"]
    assert cfg == {"module": "keras.random", "class_name": "SeedGenerator", "config": {"seed": 5},
                   "registered_name": None}
    restored = initializers.RandomNormal.from_config(init.get_config())
    assert isinstance(restored.seed, SeedGenerator) and restored.seed.seed == 5


def test_numpy_int_seed_and_bad_seeds():
    assert initializers.RandomNormal(seed=np.int64(3)).get_config()["seed"] == 3
    for bad in ("3", 1.5, True):
        with pytest.raises(ValueError, match=r"SeedGenerator\(\)` or an integer. Received: seed="):
            initializers.RandomUniform(seed=bad)


def test_unseeded_draws_from_python_random():
    py_random.seed(7)
    a = initializers.RandomNormal()
    py_random.seed(7)
    b = initializers.RandomNormal()
    assert a.seed == b.seed
    torch.testing.assert_close(a((3,)), b((3,)), rtol=0, atol=0)


# ---- configs -----------------------------------------------------------------------------

EXPECTED_CONFIGS = [
    (initializers.Zeros(), "Zeros", {}),
    (initializers.Ones(), "Ones", {}),
    (initializers.Constant(), "Constant", {"value": 0.0}),
    (initializers.Identity(), "Identity", {"gain": 1.0}),
    (initializers.RandomNormal(), "RandomNormal", {"seed": None, "mean": 0.0, "stddev": 0.05}),
    (initializers.RandomUniform(), "RandomUniform", {"seed": None, "minval": -0.05, "maxval": 0.05}),
    (initializers.TruncatedNormal(), "TruncatedNormal", {"seed": None, "mean": 0.0, "stddev": 0.05}),
    (initializers.VarianceScaling(), "VarianceScaling", {
        "seed": None, "scale": 1.0, "mode": "fan_in", "distribution": "truncated_normal"}),
    (initializers.GlorotUniform(), "GlorotUniform", {"seed": None}),
    (initializers.GlorotNormal(seed=1), "GlorotNormal", {"seed": 1}),
    (initializers.HeUniform(), "HeUniform", {"seed": None}),
    (initializers.HeNormal(), "HeNormal", {"seed": None}),
    (initializers.LecunUniform(), "LecunUniform", {"seed": None}),
    (initializers.LecunNormal(), "LecunNormal", {"seed": None}),
    (initializers.Orthogonal(), "Orthogonal", {"seed": None, "gain": 1.0}),
]


@pytest.mark.parametrize("init, class_name, config_", EXPECTED_CONFIGS, ids=[c[1] for c in EXPECTED_CONFIGS])
def test_config_keys_and_round_trip(init, class_name, config_):
    assert init.get_config() == config_
    assert list(init.get_config()) == list(config_)  # key order as Keras writes it
    ser = initializers.serialize(init)
    assert ser == {"module": "keras.initializers", "class_name": class_name, "config": config_,
                   "registered_name": None}
    json.dumps(ser)
    restored = initializers.deserialize(json.loads(json.dumps(ser)))
    assert type(restored) is type(init) and restored.get_config() == config_
    assert type(init).from_config(init.get_config()).get_config() == config_
    assert initializers.get({"class_name": class_name, "config": config_}).get_config() == config_  # Keras 2 form


def test_seeded_round_trip_reproduces_values():
    init = initializers.HeUniform(seed=9)
    restored = initializers.deserialize(initializers.serialize(init))
    torch.testing.assert_close(restored((3, 4)), init((3, 4)), rtol=0, atol=0)


def test_reads_keras_3_15_and_legacy_configs():
    # As in a Keras 3.15 .keras file (keys in Keras's order).
    k3 = {"module": "keras.initializers", "class_name": "Orthogonal", "config": {"seed": None, "gain": 1.0},
          "registered_name": None}
    assert isinstance(initializers.get(k3), initializers.Orthogonal)
    k3_glorot = {"module": "keras.initializers", "class_name": "GlorotUniform",
                 "config": {"seed": None, "input_axes": None, "output_axes": None}, "registered_name": None}
    assert initializers.get(k3_glorot).get_config() == {"seed": None}
    axes = {"class_name": "HeNormal", "config": {"seed": 1, "input_axes": [0], "output_axes": [1, 2]}}
    init = initializers.get(axes)
    assert init.get_config() == {"seed": 1, "input_axes": [0], "output_axes": [1, 2]}
    # fan_in = 8 along axis 0 only: HeNormal's variance is 2 / 8.
    x = _np(init((8, 50, 40)))
    assert x.std() == pytest.approx(0.5, rel=0.02)
    # TF 1.x era files carry a dtype; Keras 2 wrote distribution="normal" for VarianceScaling.
    old = {"class_name": "VarianceScaling",
           "config": {"scale": 2.0, "mode": "fan_in", "distribution": "normal", "seed": None, "dtype": "float32"}}
    init = initializers.get(old)
    assert init.distribution == "truncated_normal" and init.scale == 2.0
    old_glorot = {"class_name": "GlorotUniform", "config": {"seed": None, "dtype": "float32"}}
    assert isinstance(initializers.get(old_glorot), initializers.GlorotUniform)
    assert isinstance(initializers.get({"class_name": "OrthogonalInitializer", "config": {}}), initializers.Orthogonal)


def test_constant_array_value_config():
    init = initializers.Constant(np.array([1.0, 2.0], dtype="float32"))
    cfg = init.get_config()
    assert cfg == {"value": {"class_name": "__numpy__", "config": {"value": [1.0, 2.0], "dtype": "float32"}}}
    restored = initializers.Constant.from_config(json.loads(json.dumps(cfg)))
    np.testing.assert_array_equal(_np(restored((2, 2))), [[1.0, 2.0], [1.0, 2.0]])
    assert initializers.Constant(np.float32(3.0)).get_config() == {"value": 3.0}
    tensor_cfg = initializers.Constant(torch.tensor([4.0])).get_config()["value"]
    assert tensor_cfg["class_name"] == "__tensor__" and tensor_cfg["config"]["value"] == [4.0]


def test_repr():
    assert repr(initializers.RandomNormal(seed=1)) == "<RandomNormal seed=1, mean=0.0, stddev=0.05>"
    assert repr(initializers.Zeros()) == "<Zeros>"


# ---- get ---------------------------------------------------------------------------------

NAMES = {
    "zeros": initializers.Zeros, "zero": initializers.Zeros, "Zeros": initializers.Zeros,
    "ones": initializers.Ones, "one": initializers.Ones, "constant": initializers.Constant,
    "random_normal": initializers.RandomNormal, "normal": initializers.RandomNormal,
    "random_uniform": initializers.RandomUniform, "uniform": initializers.RandomUniform,
    "truncated_normal": initializers.TruncatedNormal, "variance_scaling": initializers.VarianceScaling,
    "glorot_uniform": initializers.GlorotUniform, "GlorotUniform": initializers.GlorotUniform,
    "glorot_normal": initializers.GlorotNormal, "he_uniform": initializers.HeUniform,
    "he_normal": initializers.HeNormal, "lecun_uniform": initializers.LecunUniform,
    "lecun_normal": initializers.LecunNormal, "orthogonal": initializers.Orthogonal,
    "Orthogonal": initializers.Orthogonal, "identity": initializers.Identity,
    "IdentityInitializer": initializers.Identity,
}


@pytest.mark.parametrize("name", sorted(NAMES))
def test_get_by_name(name):
    obj = initializers.get(name)
    assert type(obj) is NAMES[name]
    assert initializers.deserialize(name) is not None


def test_get_passthrough_and_callables():
    assert initializers.get(None) is None
    init = initializers.HeNormal()
    assert initializers.get(init) is init
    assert isinstance(initializers.get(initializers.Ones), initializers.Ones)

    def fn(shape, dtype=None):
        return torch.full(shape, 3.0)

    assert initializers.get(fn) is fn
    v = lamina.Variable(fn, shape=(2,))
    assert v.numpy().tolist() == [3.0, 3.0]


def test_get_errors_name_the_identifier():
    with pytest.raises(ValueError, match=r"Could not interpret initializer identifier: 'glorot_uniformm'.*"
                                         r"Received: identifier='glorot_uniformm'"):
        initializers.get("glorot_uniformm")
    with pytest.raises(ValueError, match=r"Received: identifier=5"):
        initializers.get(5)
    with pytest.raises(ValueError, match="Unknown initializer: 'Nope'"):
        initializers.get({"class_name": "Nope", "config": {}})


def test_custom_registered_initializer_round_trip():
    @registry.register_keras_serializable(package="test_init")
    class Fives(initializers.Initializer):
        def __call__(self, shape, dtype=None):
            return initializers.Constant(5.0)(shape, dtype)

    ser = initializers.serialize(Fives())
    assert ser["registered_name"] == "test_init>Fives"
    assert isinstance(initializers.deserialize(ser), Fives)
    assert initializers.get("test_init>Fives")((1,)).tolist() == [5.0]


def test_base_initializer_call_raises():
    with pytest.raises(NotImplementedError, match="Initializer does not implement __call__"):
        initializers.Initializer()((2,))


def test_variance_scaling_argument_errors():
    with pytest.raises(ValueError, match=r"`scale` must be positive float. Received: scale=0"):
        initializers.VarianceScaling(scale=0)
    with pytest.raises(ValueError, match=r"Invalid `mode` argument.*Received: mode='fan'"):
        initializers.VarianceScaling(mode="fan")
    with pytest.raises(ValueError, match=r"Invalid `distribution` argument.*Received: distribution='gauss'"):
        initializers.VarianceScaling(distribution="gauss")
    assert initializers.VarianceScaling(distribution="Uniform").distribution == "uniform"


def test_used_by_layers_and_variables():
    layer = lamina.layers.Dense(4, kernel_initializer="ones", bias_initializer=initializers.Constant(0.5))
    layer.build((None, 3))
    assert layer.kernel.numpy().tolist() == [[1.0] * 4] * 3
    assert layer.bias.numpy().tolist() == [0.5] * 4
    assert layer.get_config()["bias_initializer"]["config"] == {"value": 0.5}
