"""Weight initializers with Keras 3 names, defaults and configs, and `get`/`serialize`/`deserialize`.

An initializer is called as ``init(shape, dtype=None)`` and returns a `torch.Tensor` on
`lamina.config.device()`; ``dtype=None`` means floatx. As in Keras 3, a random initializer
created with ``seed=None`` draws an int seed from Python's `random` when it is created (so
`lamina.utils.set_random_seed` makes it repeatable); a seeded or unseeded initializer returns the
same values on every call, and a `lamina.random.SeedGenerator` seed gives new values per call.

>>> init = get("glorot_uniform")
>>> w = init((3, 4))
>>> tuple(w.shape), str(w.dtype), bool((w.abs() <= (6 / 7) ** 0.5).all())
((3, 4), 'torch.float32', True)
>>> serialize(RandomNormal(stddev=1.0, seed=3))["config"]
{'seed': 3, 'mean': 0.0, 'stddev': 1.0}
"""

import math
import random as _py_random

import numpy as np
import torch

from lamina.backend import config, random
from lamina.backend.dtypes import FLOAT_TYPES, standardize_dtype, to_torch_dtype
from lamina.backend.naming import to_snake_case
from lamina.saving import object_lookup, registry

# Standard deviation of a unit normal truncated to [-2, 2]; VarianceScaling divides by it.
_TRUNCATED_NORMAL_STDDEV = 0.87962566103423978


class Initializer:
    """Base class: subclasses implement ``__call__(shape, dtype=None)`` and `get_config`.

    >>> class Twos(Initializer):
    ...     def __call__(self, shape, dtype=None):
    ...         return 2.0 * Ones()(shape, dtype)
    >>> Twos()((2,)).tolist()
    [2.0, 2.0]
    """

    _keras_module = "keras.initializers"

    def __call__(self, shape, dtype=None):
        raise NotImplementedError(
            f"Initializer {type(self).__name__} does not implement __call__(shape, dtype=None)."
        )

    def get_config(self):
        """The constructor arguments, JSON-serializable (Keras 3 keys)."""
        return {}

    @classmethod
    def from_config(cls, config):
        """Creates the initializer from `get_config`'s output.

        A ``dtype`` key (written by TF 1.x era files) is ignored.
        """
        config = dict(config)
        config.pop("dtype", None)
        return cls(**config)

    def clone(self):
        """A new initializer with the same config (an unseeded one gets a new seed)."""
        return self.__class__.from_config(self.get_config())

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"<{type(self).__name__}{' ' if args else ''}{args}>"


def _shape(shape):
    if isinstance(shape, (int, np.integer)):
        shape = (shape,)
    try:
        shape = tuple(int(d) for d in shape)
    except (TypeError, ValueError):
        raise ValueError(f"An initializer needs a fully defined shape of ints. Received: shape={shape!r}") from None
    if any(d < 0 for d in shape):
        raise ValueError(f"An initializer needs non-negative dimensions. Received: shape={shape!r}")
    return shape


def _float_dtype(initializer, dtype):
    dtype = standardize_dtype(dtype)
    if dtype not in FLOAT_TYPES:
        raise ValueError(
            f"{type(initializer).__name__} can only produce floating-point tensors. "
            f"Expected a dtype in {sorted(FLOAT_TYPES)}. Received: dtype={dtype!r}"
        )
    return dtype


# ---- constant initializers ----------------------------------------------------------------


class Zeros(Initializer):
    """Fills tensors with 0.

    >>> Zeros()((2,), dtype="int32").tolist()
    [0, 0]
    """

    def __call__(self, shape, dtype=None):
        return torch.zeros(_shape(shape), dtype=to_torch_dtype(dtype), device=config.device())


class Ones(Initializer):
    """Fills tensors with 1.

    >>> Ones()((2,)).tolist()
    [1.0, 1.0]
    """

    def __call__(self, shape, dtype=None):
        return torch.ones(_shape(shape), dtype=to_torch_dtype(dtype), device=config.device())


def _array_config(value):
    return {"value": value.tolist(), "dtype": standardize_dtype(value.dtype)}


def _serialize_value(value):
    """Keras's serialized form of a constant: plain numbers, or ``__numpy__``/``__tensor__`` dicts."""
    if isinstance(value, torch.Tensor):
        value = value.detach().cpu()
        return {"class_name": "__tensor__", "config": _array_config(value)}
    if isinstance(value, np.ndarray) and value.ndim > 0:
        return {"class_name": "__numpy__", "config": _array_config(value)}
    if isinstance(value, (np.generic, np.ndarray)):
        return value.item()
    return value


def _deserialize_value(value):
    if isinstance(value, dict) and value.get("class_name") in ("__numpy__", "__tensor__"):
        inner = value.get("config", {})
        return np.asarray(inner["value"], dtype=inner.get("dtype"))
    return value


class Constant(Initializer):
    """Fills tensors with ``value`` (a scalar, or an array that broadcasts to the shape).

    Args:
        value: the fill value.

    >>> Constant(3.0)((2, 2)).tolist()
    [[3.0, 3.0], [3.0, 3.0]]
    """

    def __init__(self, value=0.0):
        self.value = value

    def __call__(self, shape, dtype=None):
        torch_dtype = to_torch_dtype(dtype)
        value = torch.as_tensor(np.asarray(self.value) if not isinstance(self.value, torch.Tensor) else self.value)
        value = value.to(device=config.device(), dtype=torch_dtype)
        shape = _shape(shape)
        try:
            return value * torch.ones(shape, dtype=torch_dtype, device=config.device())
        except RuntimeError:
            raise ValueError(
                f"Constant value of shape {tuple(value.shape)} cannot be broadcast to the requested shape "
                f"{shape}. Received: value={self.value!r}"
            ) from None

    def get_config(self):
        return {"value": _serialize_value(self.value)}

    @classmethod
    def from_config(cls, config):
        return cls(_deserialize_value(config["value"]))


class Identity(Initializer):
    """The identity matrix times ``gain`` (2-D shapes only; non-square ones get a partial identity).

    Args:
        gain: multiplicative factor.

    >>> Identity(gain=2.0)((2, 3)).tolist()
    [[2.0, 0.0, 0.0], [0.0, 2.0, 0.0]]
    """

    def __init__(self, gain=1.0):
        self.gain = gain

    def __call__(self, shape, dtype=None):
        shape = _shape(shape)
        if len(shape) != 2:
            raise ValueError(
                "Identity matrix initializer can only be used for 2D matrices. "
                f"Received: shape={shape} of rank {len(shape)}."
            )
        eye = torch.eye(*shape, dtype=to_torch_dtype(dtype), device=config.device())
        return self.gain * eye

    def get_config(self):
        return {"gain": self.gain}


# ---- random initializers ------------------------------------------------------------------


class RandomInitializer(Initializer):
    """Base of the random initializers: holds and serializes the ``seed``.

    Args:
        seed: ``None`` (an int drawn from Python's `random` now), an int, a
            `lamina.random.SeedGenerator`, or its serialized dict.
    """

    def __init__(self, seed=None):
        self._init_seed = seed
        if seed is None:
            seed = _py_random.randint(1, int(1e9))
        elif isinstance(seed, dict):
            seed = registry.deserialize_keras_object(
                seed, module_objects={"SeedGenerator": random.SeedGenerator}, printable_module_name="seed generator"
            )
        elif isinstance(seed, np.integer):
            seed = int(seed)
        if isinstance(seed, bool) or not isinstance(seed, (int, random.SeedGenerator)):
            raise ValueError(
                "`seed` argument should be an instance of `lamina.random.SeedGenerator()` or an integer. "
                f"Received: seed={seed!r}"
            )
        self.seed = seed

    def get_config(self):
        seed = self._init_seed
        if isinstance(seed, random.SeedGenerator):
            seed = {"module": "keras.random", "class_name": "SeedGenerator", "config": seed.get_config(),
                    "registered_name": None}
        elif isinstance(seed, np.integer):
            seed = int(seed)
        return {"seed": seed}


class RandomNormal(RandomInitializer):
    """Samples from a normal distribution N(mean, stddev**2).

    Args:
        mean: mean of the values.
        stddev: standard deviation of the values.
        seed: see `RandomInitializer`.

    >>> w = RandomNormal(mean=1.0, stddev=0.1, seed=0)((1000,))
    >>> round(float(w.mean()), 1), round(float(w.std()), 1)
    (1.0, 0.1)
    """

    def __init__(self, mean=0.0, stddev=0.05, seed=None):
        self.mean = mean
        self.stddev = stddev
        super().__init__(seed=seed)

    def __call__(self, shape, dtype=None):
        dtype = _float_dtype(self, dtype)
        return random.normal(_shape(shape), mean=self.mean, stddev=self.stddev, dtype=dtype, seed=self.seed)

    def get_config(self):
        return {**super().get_config(), "mean": self.mean, "stddev": self.stddev}


class TruncatedNormal(RandomInitializer):
    """Samples from N(mean, stddev**2), redrawing values more than two stddevs from the mean.

    Args:
        mean: mean of the values before truncation.
        stddev: standard deviation before truncation.
        seed: see `RandomInitializer`.

    >>> w = TruncatedNormal(stddev=1.0, seed=0)((1000,))
    >>> bool((w.abs() <= 2.0).all())
    True
    """

    def __init__(self, mean=0.0, stddev=0.05, seed=None):
        self.mean = mean
        self.stddev = stddev
        super().__init__(seed=seed)

    def __call__(self, shape, dtype=None):
        dtype = _float_dtype(self, dtype)
        return random.truncated_normal(_shape(shape), mean=self.mean, stddev=self.stddev, dtype=dtype, seed=self.seed)

    def get_config(self):
        return {**super().get_config(), "mean": self.mean, "stddev": self.stddev}


class RandomUniform(RandomInitializer):
    """Samples uniformly from ``[minval, maxval)``.

    Args:
        minval: lower bound (inclusive).
        maxval: upper bound (exclusive).
        seed: see `RandomInitializer`.

    >>> w = RandomUniform(0.0, 1.0, seed=0)((1000,))
    >>> bool((w >= 0).all() and (w < 1).all())
    True
    """

    def __init__(self, minval=-0.05, maxval=0.05, seed=None):
        self.minval = minval
        self.maxval = maxval
        super().__init__(seed=seed)

    def __call__(self, shape, dtype=None):
        dtype = standardize_dtype(dtype)
        if dtype == "bool" or dtype.startswith("complex"):
            raise ValueError(f"RandomUniform cannot produce {dtype} tensors. Received: dtype={dtype!r}")
        return random.uniform(_shape(shape), minval=self.minval, maxval=self.maxval, dtype=dtype, seed=self.seed)

    def get_config(self):
        return {**super().get_config(), "minval": self.minval, "maxval": self.maxval}


def _normalize_axes(axes, rank, name):
    if isinstance(axes, int):
        axes = (axes,)
    out = []
    for axis in axes:
        if not -rank <= int(axis) < rank:
            raise ValueError(f"`{name}` has an axis out of range for a rank-{rank} shape. Received: {name}={axes!r}")
        out.append(int(axis) % rank)
    return out


def compute_fans(shape, input_axes=None, output_axes=None):
    """``(fan_in, fan_out)`` of a weight shape, as Keras computes them.

    Scalars give ``(1, 1)``, vectors ``(n, n)``, matrices ``(rows, cols)``; higher ranks are
    convolution kernels ``(*spatial, in, out)`` whose spatial size multiplies both fans.
    With ``input_axes``/``output_axes`` the fans are the products of those dimensions (an
    omitted one is the product of the remaining axes).

    >>> compute_fans((3, 3, 16, 32))
    (144, 288)
    >>> compute_fans((8, 4, 16), input_axes=[0], output_axes=[1, 2])
    (8, 64)
    """
    shape = _shape(shape)
    if input_axes is not None or output_axes is not None:
        rank = len(shape)
        ins = _normalize_axes(input_axes, rank, "input_axes") if input_axes is not None else None
        outs = _normalize_axes(output_axes, rank, "output_axes") if output_axes is not None else None
        if ins is None:
            ins = [a for a in range(rank) if a not in outs]
        if outs is None:
            outs = [a for a in range(rank) if a not in ins]
        return int(math.prod(shape[a] for a in ins)), int(math.prod(shape[a] for a in outs))
    if len(shape) < 1:
        return 1, 1
    if len(shape) == 1:
        return shape[0], shape[0]
    if len(shape) == 2:
        return shape[0], shape[1]
    receptive_field = math.prod(shape[:-2])
    return shape[-2] * receptive_field, shape[-1] * receptive_field


class VarianceScaling(RandomInitializer):
    """Samples with variance ``scale / n``, ``n`` the fan chosen by ``mode``.

    ``"truncated_normal"`` (and ``"normal"``) draws from a normal truncated at two standard
    deviations with ``stddev = sqrt(scale / n) / 0.8796...`` so the truncated values have variance
    ``scale / n``; ``"untruncated_normal"`` uses ``stddev = sqrt(scale / n)``; ``"uniform"`` draws
    from ``[-limit, limit]`` with ``limit = sqrt(3 * scale / n)``.

    Args:
        scale: positive scaling factor.
        mode: ``"fan_in"``, ``"fan_out"`` or ``"fan_avg"``.
        distribution: ``"truncated_normal"``, ``"untruncated_normal"`` or ``"uniform"``.
        seed: see `RandomInitializer`.
        input_axes: optional axes whose product is ``fan_in`` (see `compute_fans`).
        output_axes: optional axes whose product is ``fan_out``.

    >>> w = VarianceScaling(scale=2.0, mode="fan_in", distribution="uniform", seed=1)((8, 4))
    >>> bool((w.abs() <= (3 * 2.0 / 8) ** 0.5).all())
    True
    """

    def __init__(self, scale=1.0, mode="fan_in", distribution="truncated_normal", seed=None, input_axes=None,
                 output_axes=None):
        if not isinstance(scale, (int, float, np.number)) or isinstance(scale, bool) or scale <= 0.0:
            raise ValueError(f"Argument `scale` must be positive float. Received: scale={scale!r}")
        allowed_modes = ("fan_in", "fan_out", "fan_avg")
        if mode not in allowed_modes:
            raise ValueError(f"Invalid `mode` argument: expected one of {allowed_modes}. Received: mode={mode!r}")
        allowed = ("uniform", "truncated_normal", "untruncated_normal")
        if not isinstance(distribution, str) or distribution.lower() not in allowed + ("normal",):
            raise ValueError(
                f"Invalid `distribution` argument: expected one of {allowed}. Received: distribution={distribution!r}"
            )
        distribution = distribution.lower()
        self.scale = scale
        self.mode = mode
        self.distribution = "truncated_normal" if distribution == "normal" else distribution
        self.input_axes = list(input_axes) if isinstance(input_axes, (list, tuple)) else input_axes
        self.output_axes = list(output_axes) if isinstance(output_axes, (list, tuple)) else output_axes
        super().__init__(seed=seed)

    def __call__(self, shape, dtype=None):
        dtype = _float_dtype(self, dtype)
        shape = _shape(shape)
        fan_in, fan_out = compute_fans(shape, self.input_axes, self.output_axes)
        n = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2.0}[self.mode]
        scale = self.scale / max(1.0, n)
        if self.distribution == "truncated_normal":
            stddev = math.sqrt(scale) / _TRUNCATED_NORMAL_STDDEV
            return random.truncated_normal(shape, mean=0.0, stddev=stddev, dtype=dtype, seed=self.seed)
        if self.distribution == "untruncated_normal":
            return random.normal(shape, mean=0.0, stddev=math.sqrt(scale), dtype=dtype, seed=self.seed)
        limit = math.sqrt(3.0 * scale)
        return random.uniform(shape, minval=-limit, maxval=limit, dtype=dtype, seed=self.seed)

    def get_config(self):
        config = {**super().get_config(), "scale": self.scale, "mode": self.mode, "distribution": self.distribution}
        return {**config, **self._axes_config()}

    def _axes_config(self):
        # Keras 3.15 writes these keys even when None, which tf.keras 2 and older Keras 3 reject;
        # lamina writes them only when set (the seeds show {"seed": None}) and reads them either way.
        axes = {"input_axes": self.input_axes, "output_axes": self.output_axes}
        return {k: v for k, v in axes.items() if v is not None}


class _FixedVarianceScaling(VarianceScaling):
    """A `VarianceScaling` preset: only ``seed`` (and the fan axes) are arguments."""

    _preset = {}

    def __init__(self, seed=None, input_axes=None, output_axes=None):
        super().__init__(**self._preset, seed=seed, input_axes=input_axes, output_axes=output_axes)

    def get_config(self):
        return {"seed": super().get_config()["seed"], **self._axes_config()}


class GlorotUniform(_FixedVarianceScaling):
    """Glorot (Xavier) uniform: ``U(-limit, limit)``, ``limit = sqrt(6 / (fan_in + fan_out))``.

    >>> GlorotUniform(seed=0).get_config()
    {'seed': 0}
    """

    _preset = {"scale": 1.0, "mode": "fan_avg", "distribution": "uniform"}


class GlorotNormal(_FixedVarianceScaling):
    """Glorot (Xavier) normal: truncated normal with ``stddev = sqrt(2 / (fan_in + fan_out))``.

    >>> tuple(GlorotNormal(seed=0)((2, 3)).shape)
    (2, 3)
    """

    _preset = {"scale": 1.0, "mode": "fan_avg", "distribution": "truncated_normal"}


class HeUniform(_FixedVarianceScaling):
    """He uniform: ``U(-limit, limit)``, ``limit = sqrt(6 / fan_in)``.

    >>> bool((HeUniform(seed=0)((24, 5)).abs() <= 0.5).all())
    True
    """

    _preset = {"scale": 2.0, "mode": "fan_in", "distribution": "uniform"}


class HeNormal(_FixedVarianceScaling):
    """He normal: truncated normal with ``stddev = sqrt(2 / fan_in)``.

    >>> tuple(HeNormal(seed=0)((3, 3, 2, 4)).shape)
    (3, 3, 2, 4)
    """

    _preset = {"scale": 2.0, "mode": "fan_in", "distribution": "truncated_normal"}


class LecunUniform(_FixedVarianceScaling):
    """LeCun uniform: ``U(-limit, limit)``, ``limit = sqrt(3 / fan_in)``.

    >>> bool((LecunUniform(seed=0)((12, 5)).abs() <= 0.5).all())
    True
    """

    _preset = {"scale": 1.0, "mode": "fan_in", "distribution": "uniform"}


class LecunNormal(_FixedVarianceScaling):
    """LeCun normal: truncated normal with ``stddev = sqrt(1 / fan_in)``.

    >>> tuple(LecunNormal(seed=0)((4, 2)).shape)
    (4, 2)
    """

    _preset = {"scale": 1.0, "mode": "fan_in", "distribution": "truncated_normal"}


class Orthogonal(RandomInitializer):
    """A (semi-)orthogonal matrix times ``gain``, from the QR decomposition of a normal sample.

    Shapes of rank > 2 are flattened to ``(prod(shape[:-1]), shape[-1])`` and reshaped back.
    Tall matrices get orthonormal columns, wide ones orthonormal rows.

    Args:
        gain: multiplicative factor.
        seed: see `RandomInitializer`.

    >>> q = Orthogonal(seed=0)((4, 3))
    >>> bool(torch.allclose(q.T @ q, torch.eye(3), atol=1e-5))
    True
    """

    def __init__(self, gain=1.0, seed=None):
        self.gain = gain
        super().__init__(seed=seed)

    def __call__(self, shape, dtype=None):
        dtype = _float_dtype(self, dtype)
        shape = _shape(shape)
        if len(shape) < 2:
            raise ValueError(
                f"The tensor to initialize must be at least two-dimensional. Received: shape={shape} "
                f"of rank {len(shape)}."
            )
        rows, cols = math.prod(shape[:-1]), shape[-1]
        # QR needs float32/float64; half-precision results are cast at the end.
        work_dtype = "float64" if dtype == "float64" else "float32"
        a = random.normal((max(rows, cols), min(rows, cols)), dtype=work_dtype, seed=self.seed)
        q, r = torch.linalg.qr(a)
        q = q * torch.sign(torch.diagonal(r))  # makes the decomposition unique (uniform over O(n))
        if rows < cols:
            q = q.T
        return (self.gain * q.reshape(shape)).to(to_torch_dtype(dtype))

    def get_config(self):
        return {**super().get_config(), "gain": self.gain}


ALL_OBJECTS = (
    Initializer, Constant, Identity, Ones, Zeros, GlorotNormal, GlorotUniform, HeNormal, HeUniform, LecunNormal,
    LecunUniform, RandomNormal, TruncatedNormal, RandomUniform, VarianceScaling, Orthogonal,
)
ALL_OBJECTS_DICT = {cls.__name__: cls for cls in ALL_OBJECTS}
ALL_OBJECTS_DICT.update({to_snake_case(cls.__name__): cls for cls in ALL_OBJECTS})
ALL_OBJECTS_DICT.update({
    "uniform": RandomUniform,
    "normal": RandomNormal,
    "one": Ones,
    "zero": Zeros,
    "OrthogonalInitializer": Orthogonal,
    "IdentityInitializer": Identity,
})

# Lower-case aliases, as `keras.initializers.glorot_uniform` etc.
zeros, ones, constant, identity, orthogonal = Zeros, Ones, Constant, Identity, Orthogonal
random_normal, random_uniform, truncated_normal, variance_scaling = (
    RandomNormal, RandomUniform, TruncatedNormal, VarianceScaling,
)
glorot_uniform, glorot_normal, he_uniform, he_normal, lecun_uniform, lecun_normal = (
    GlorotUniform, GlorotNormal, HeUniform, HeNormal, LecunUniform, LecunNormal,
)
OrthogonalInitializer, IdentityInitializer = Orthogonal, Identity


def serialize(initializer):
    """The Keras 3 config dict of an initializer (``module`` is ``"keras.initializers"``).

    >>> serialize(Zeros())
    {'module': 'keras.initializers', 'class_name': 'Zeros', 'config': {}, 'registered_name': None}
    """
    return registry.serialize_keras_object(initializer)


def deserialize(config, custom_objects=None):
    """The initializer a Keras 2 or Keras 3 config (or a name) describes.

    >>> deserialize({"class_name": "Constant", "config": {"value": 2.0}})
    <Constant value=2.0>
    """
    return object_lookup.deserialize_object(config, ALL_OBJECTS_DICT, custom_objects, "initializer")


def get(identifier):
    """An initializer from ``None``, a name, a config dict, an instance, a class or a callable.

    Raises:
        ValueError: if ``identifier`` names no known initializer.

    >>> get("he_normal"), get(None)
    (<HeNormal seed=None>, None)
    """
    return object_lookup.get_object(identifier, ALL_OBJECTS_DICT, deserialize, "initializer", Initializer)
