"""Activation functions with Keras 3 names, and `get`/`serialize`/`deserialize`.

Each function takes a tensor (or an array, list or Variable) and returns a
`torch.Tensor`. Integer inputs are computed in floatx, except by `relu`/`relu6`
with default arguments, which keep the dtype as torch does.

>>> import torch
>>> relu(torch.tensor([-1.0, 2.0])).tolist()
[0.0, 2.0]
>>> get("swish") is silu, serialize(get("swish"))
(True, 'silu')
"""

import inspect
import warnings

import torch
import torch.nn.functional as F

from lamina.backend import config
from lamina.backend.dtypes import to_torch_dtype
from lamina.saving import registry


def _tensor(x):
    if isinstance(x, torch.Tensor):
        return x
    from lamina.ops.core import convert_to_tensor  # lazy: lamina.ops imports this module

    return convert_to_tensor(x)


def _float(x):
    x = _tensor(x)
    if not (x.is_floating_point() or x.is_complex()):
        x = x.to(to_torch_dtype(config.floatx()))
    return x


def relu(x, negative_slope=0.0, max_value=None, threshold=0.0):
    """Rectified linear unit: ``max(x, 0)``, optionally leaky, capped and thresholded.

    With non-default arguments it returns ``x`` for ``threshold < x < max_value``,
    ``max_value`` above it and ``negative_slope * (x - threshold)`` below ``threshold``.

    Args:
        x: input tensor.
        negative_slope: slope for values below ``threshold``.
        max_value: saturation value (``None`` for no cap).
        threshold: values at or below it are damped (or set to zero).

    >>> relu([-10.0, -5.0, 0.0, 5.0, 10.0], negative_slope=0.5).tolist()
    [-5.0, -2.5, 0.0, 5.0, 10.0]
    >>> relu([-10.0, 0.0, 5.0, 10.0], max_value=5.0).tolist()
    [0.0, 0.0, 5.0, 5.0]
    """
    x = _tensor(x)
    if negative_slope == 0.0 and max_value is None and threshold == 0.0:
        return torch.relu(x)
    x = _float(x)
    if negative_slope != 0.0 and max_value is None and threshold == 0.0:
        return F.leaky_relu(x, negative_slope)
    if threshold != 0.0:
        out = torch.where(x > threshold, x, torch.zeros_like(x))
    else:
        out = torch.relu(x)
    if max_value is not None:
        out = torch.clamp(out, 0.0, float(max_value))
    if negative_slope != 0.0:
        out = out - negative_slope * torch.relu(threshold - x)
    return out


def apply_to_fresh(activation, x):
    """``activation(x)`` for a tensor ``x`` that the caller has just computed and no one else holds.

    `relu` then runs in place: on the CPU a fresh output of a large layer costs page faults, and
    ``relu_`` on it measured 3.2 ms against 39.7 ms for ``relu`` (a 1024x32x26x26 conv output).
    Autograd is unaffected: relu's backward needs only its output, and the layers that call this
    (`Dense`, the convolutions) need only their inputs.

    >>> import torch
    >>> apply_to_fresh(relu, torch.tensor([-1.0, 2.0])).tolist()
    [0.0, 2.0]
    """
    if activation is relu and x.is_floating_point():
        return torch.relu_(x)
    return activation(x)


def relu6(x):
    """ReLU capped at 6: ``min(max(x, 0), 6)``.

    >>> relu6([-1.0, 3.0, 8.0]).tolist()
    [0.0, 3.0, 6.0]
    """
    x = _tensor(x)
    return F.relu6(x) if x.is_floating_point() else torch.clamp(x, 0, 6)


def leaky_relu(x, negative_slope=0.2):
    """``x`` for ``x >= 0`` and ``negative_slope * x`` otherwise.

    >>> leaky_relu([-1.0, 2.0]).tolist()
    [-0.20000000298023224, 2.0]
    """
    return F.leaky_relu(_float(x), negative_slope)


def elu(x, alpha=1.0):
    """Exponential linear unit: ``x`` if ``x > 0`` else ``alpha * (exp(x) - 1)``."""
    return F.elu(_float(x), alpha)


def selu(x):
    """Scaled ELU: ``scale * elu(x, alpha)`` with ``alpha=1.67326324``, ``scale=1.05070098``."""
    return F.selu(_float(x))


def celu(x, alpha=1.0):
    """Continuously differentiable ELU: ``max(0, x) + min(0, alpha * (exp(x / alpha) - 1))``."""
    return F.celu(_float(x), alpha)


def gelu(x, approximate=False):
    """Gaussian error linear unit: ``x * Phi(x)``; the tanh approximation if ``approximate``.

    >>> round(gelu([1.0]).item(), 4)
    0.8413
    """
    return F.gelu(_float(x), approximate="tanh" if approximate else "none")


def sigmoid(x):
    """``1 / (1 + exp(-x))``. The output remembers its logits (``_keras_logits``) for losses."""
    output = torch.sigmoid(_float(x))
    output._keras_logits = x
    return output


def hard_sigmoid(x):
    """Piecewise-linear sigmoid (Keras 3): ``relu6(x + 3) / 6``.

    >>> hard_sigmoid([-4.0, 0.0, 1.5, 4.0]).tolist()
    [0.0, 0.5, 0.75, 1.0]
    """
    x = _float(x)
    if x.requires_grad and torch.is_grad_enabled():
        # `F.hardsigmoid` has no second derivative (gradient penalties need one); `relu6` has.
        return F.relu6(x + 3.0) / 6.0
    return F.hardsigmoid(x)


@registry.register_keras_serializable(package="lamina")
def hard_sigmoid_keras2(x):
    """tf.keras 2's hard sigmoid: ``clip(0.2 * x + 0.5, 0, 1)``.

    Keras 3 redefined the name ``'hard_sigmoid'`` as ``relu6(x + 3) / 6``. Legacy ``.h5`` files
    written by tf.keras 2 (whose ConvLSTM layers default to it) load with this function instead,
    so that they predict what they predicted there. It serializes as
    ``'lamina>hard_sigmoid_keras2'``, which neither Keras reads: a file lamina writes is refused
    there rather than computing the other curve.

    >>> hard_sigmoid_keras2([-3.0, -1.0, 0.0, 1.0, 3.0]).tolist()
    [0.0, 0.3, 0.5, 0.7, 1.0]
    """
    return torch.clamp(_float(x) * 0.2 + 0.5, 0.0, 1.0)


def sparse_sigmoid(x):
    """``0`` for ``x <= -1``, ``1`` for ``x >= 1``, ``(x + 1) / 2`` in between."""
    x = _float(x)
    return torch.clamp(0.5 * (x + 1.0), 0.0, 1.0)


def silu(x):
    """Swish / SiLU: ``x * sigmoid(x)``."""
    return F.silu(_float(x))


def hard_silu(x):
    """Hard swish: ``x * hard_sigmoid(x)``."""
    return F.hardswish(_float(x))


def softmax(x, axis=-1):
    """``exp(x) / sum(exp(x))`` along ``axis`` (an int, a tuple of ints, or ``None`` for all).

    As in Keras 3, a 1-D input is normalized over its only axis. The output
    remembers its logits (``_keras_logits``) for losses.

    >>> softmax([0.0, 0.0]).tolist()
    [0.5, 0.5]
    """
    logits = x
    x = _float(x)
    output = _softmax_like(F.softmax, x, axis, "softmax")
    output._keras_logits = logits
    return output


def log_softmax(x, axis=-1):
    """``x - logsumexp(x)`` along ``axis`` (int, tuple of ints, or ``None`` for all)."""
    return _softmax_like(F.log_softmax, _float(x), axis, "log_softmax")


def _softmax_like(fn, x, axis, name):
    if axis is None:
        return fn(x.reshape(-1), dim=-1).reshape(x.shape)
    if isinstance(axis, (tuple, list)):
        axes = sorted({a % x.dim() for a in axis}) if x.dim() else []
        keep = [a for a in range(x.dim()) if a not in axes]
        moved = x.permute(*keep, *axes)
        flat = moved.reshape(*moved.shape[: len(keep)], -1)
        out = fn(flat, dim=-1).reshape(moved.shape)
        inverse = [0] * x.dim()
        for position, a in enumerate(keep + axes):
            inverse[a] = position
        return out.permute(*inverse)
    if not isinstance(axis, int) or not -max(x.dim(), 1) <= axis < max(x.dim(), 1):
        raise ValueError(f"`axis` of {name} must be an integer within the rank {x.dim()} of the input, a tuple "
                         f"of such integers, or None. Received: axis={axis!r}")
    if x.dim() and x.shape[axis] == 1:
        warnings.warn(
            f"You are using a {name} over axis {axis} of a tensor of shape {tuple(x.shape)}. This axis has size 1. "
            "The softmax operation will always return the value 1, which is likely not what you intended. "
            "Did you mean to use a sigmoid instead?",
            stacklevel=3,
        )
    return fn(x, dim=axis)


def sparsemax(x, axis=-1):
    """Sparsemax: the Euclidean projection of ``x`` onto the probability simplex along ``axis``.

    >>> sparsemax([1.0, 0.0, 3.0]).tolist()
    [0.0, 0.0, 1.0]
    """
    x = _float(x)
    moved = x.movedim(axis, -1)
    z, _ = torch.sort(moved, dim=-1, descending=True)
    cumulative = torch.cumsum(z, dim=-1)
    k = torch.arange(1, z.shape[-1] + 1, dtype=x.dtype, device=x.device)
    support = (1.0 + k * z) > cumulative
    k_max = support.sum(dim=-1, keepdim=True)
    tau = (torch.gather(cumulative, -1, k_max - 1) - 1.0) / k_max.to(x.dtype)
    return torch.relu(moved - tau).movedim(-1, axis)


def softplus(x):
    """``log(exp(x) + 1)``."""
    return F.softplus(_float(x))


def softsign(x):
    """``x / (abs(x) + 1)``."""
    return F.softsign(_float(x))


def sparse_plus(x):
    """``0`` for ``x <= -1``, ``x`` for ``x >= 1``, ``(x + 1)**2 / 4`` in between."""
    x = _float(x)
    middle = 0.25 * torch.square(x + 1.0)
    return torch.where(x <= -1.0, torch.zeros_like(x), torch.where(x >= 1.0, x, middle))


def squareplus(x, b=4):
    """``(x + sqrt(x**2 + b)) / 2``, a smooth ReLU.

    >>> squareplus([0.0]).tolist()
    [1.0]
    """
    x = _float(x)
    return 0.5 * (x + torch.sqrt(torch.square(x) + b))


def tanh(x):
    """Hyperbolic tangent."""
    return torch.tanh(_float(x))


def tanh_shrink(x):
    """``x - tanh(x)``."""
    return F.tanhshrink(_float(x))


def hard_tanh(x):
    """``tanh`` made piecewise linear: ``clip(x, -1, 1)``."""
    return F.hardtanh(_float(x))


def soft_shrink(x, threshold=0.5):
    """``x - threshold`` above ``threshold``, ``x + threshold`` below ``-threshold``, else ``0``."""
    return F.softshrink(_float(x), threshold)


def hard_shrink(x, threshold=0.5):
    """``x`` where ``abs(x) > threshold``, else ``0``."""
    return F.hardshrink(_float(x), threshold)


def threshold(x, threshold, default_value):
    """``x`` where ``x > threshold``, else ``default_value``.

    >>> threshold([0.5, 2.0], 1.0, -1.0).tolist()
    [-1.0, 2.0]
    """
    return F.threshold(_float(x), threshold, default_value)


def log_sigmoid(x):
    """``log(sigmoid(x)) = -softplus(-x)``, computed stably."""
    return F.logsigmoid(_float(x))


def mish(x):
    """``x * tanh(softplus(x))``."""
    return F.mish(_float(x))


def glu(x, axis=-1):
    """Gated linear unit: splits ``x`` in halves ``a, b`` along ``axis`` and returns ``a * sigmoid(b)``.

    >>> glu([[1.0, 0.0]]).tolist()
    [[0.5]]
    """
    x = _float(x)
    if x.dim() == 0 or x.shape[axis] % 2 != 0:
        raise ValueError(
            "The `axis` of glu must have an even size, to be split into two halves. "
            f"Received: x.shape={tuple(x.shape)}, axis={axis}"
        )
    return F.glu(x, dim=axis)


def exponential(x):
    """``exp(x)``."""
    return torch.exp(_float(x))


def linear(x):
    """The identity: returns ``x`` unchanged."""
    return x


ALL_OBJECTS = (
    relu, leaky_relu, relu6, softmax, celu, elu, selu, softplus, softsign, squareplus, soft_shrink,
    sparse_plus, silu, gelu, glu, tanh, tanh_shrink, threshold, sigmoid, sparse_sigmoid, exponential,
    hard_sigmoid, hard_silu, hard_tanh, hard_shrink, linear, mish, log_softmax, log_sigmoid, sparsemax,
)
ALL_OBJECTS_DICT = {fn.__name__: fn for fn in ALL_OBJECTS}
ALL_OBJECTS_DICT["swish"] = silu
ALL_OBJECTS_DICT["hard_swish"] = hard_silu
for _fn in ALL_OBJECTS:
    _fn._keras_name = _fn.__name__  # what `serialize_keras_object` writes
swish = silu
hard_swish = hard_silu


def serialize(activation):
    """The Keras 3 config of an activation: its name for built-ins, else a serialized dict.

    >>> serialize(relu)
    'relu'
    """
    if getattr(activation, "_keras_name", None) in ALL_OBJECTS_DICT and (
        ALL_OBJECTS_DICT[activation._keras_name] is activation
    ):
        return activation._keras_name
    if inspect.isfunction(activation) or inspect.isbuiltin(activation):
        return {
            "module": activation.__module__,
            "class_name": "function",
            "config": registry.get_registered_name(activation),
            "registered_name": "function",
        }
    if hasattr(activation, "get_config"):
        return registry.serialize_keras_object(activation)
    raise ValueError(
        f"Unknown activation function '{activation}' cannot be serialized: it is neither a lamina activation, "
        "a function, nor an object with `get_config()`. Use a built-in name or register it with "
        f"`@lamina.saving.register_keras_serializable()`. Received: activation={activation!r}"
    )


def deserialize(config, custom_objects=None):
    """The activation a name or serialized dict refers to (built-ins, registered or custom objects).

    >>> deserialize({"class_name": "function", "config": "relu"}) is relu
    True
    """
    return registry.deserialize_keras_object(
        config, module_objects=ALL_OBJECTS_DICT, custom_objects=custom_objects,
        printable_module_name="activation function",
    )


def get(identifier):
    """The activation callable for ``None`` (`linear`), a name, a serialized dict or a callable.

    Raises:
        ValueError: if ``identifier`` names no known activation.

    >>> get(None) is linear, get("relu") is relu
    (True, True)
    """
    if identifier is None:
        return linear
    if isinstance(identifier, dict):
        obj = deserialize(identifier)
    elif isinstance(identifier, str):
        obj = registry.get_registered_object(identifier, module_objects=ALL_OBJECTS_DICT)
    else:
        obj = identifier
    if callable(obj):
        return obj
    raise ValueError(
        f"Could not interpret activation function identifier: {identifier!r}. Expected None, a callable, "
        f"a serialized dict or one of {sorted(ALL_OBJECTS_DICT)}. Received: identifier={identifier!r}"
    )
