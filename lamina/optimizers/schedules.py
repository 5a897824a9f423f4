"""Learning rate schedules with Keras 3 names, formulas, defaults and configs.

A schedule is a callable ``schedule(step) -> learning rate``; an optimizer given one
evaluates it at its ``iterations`` counter before each update. Values are float32
scalar tensors computed as Keras computes them (in the dtype of
``initial_learning_rate``, float32 for Python floats).

>>> schedule = ExponentialDecay(0.1, decay_steps=10, decay_rate=0.5)
>>> round(float(schedule(10)), 6), round(float(schedule(20)), 6)
(0.05, 0.025)
>>> serialize(schedule)["class_name"]
'ExponentialDecay'
"""

import math

import torch

from lamina.backend import config
from lamina.backend.dtypes import to_torch_dtype
from lamina.backend.variable import Variable
from lamina.saving import registry


def _scalar(value, dtype=None):
    """A 0-d tensor on the host (schedules are scalar math; the host avoids device syncs)."""
    if isinstance(value, Variable):
        value = value.value
    if isinstance(value, torch.Tensor):
        value = value.detach()
        return value.to(device="cpu", dtype=dtype or value.dtype)
    if dtype is None:
        dtype = to_torch_dtype(config.floatx()) if isinstance(value, float) else None
    return torch.as_tensor(value, dtype=dtype, device="cpu")


def _check_steps(value, arg):
    if value <= 0:
        raise ValueError(f"Argument `{arg}` must be > 0. Received: {arg}={value}")


class LearningRateSchedule:
    """Base class: subclasses implement ``__call__(step)`` and ``get_config()``.

    >>> class InverseStep(LearningRateSchedule):
    ...     def __init__(self, initial_learning_rate):
    ...         self.initial_learning_rate = initial_learning_rate
    ...     def __call__(self, step):
    ...         return self.initial_learning_rate / (step + 1)
    ...     def get_config(self):
    ...         return {"initial_learning_rate": self.initial_learning_rate}
    >>> InverseStep(0.1)(1)
    0.05
    """

    _keras_module = "keras.optimizers.schedules"

    def __call__(self, step):
        raise NotImplementedError(
            f"Learning rate schedule '{type(self).__name__}' must override `__call__(self, step)`."
        )

    def get_config(self):
        raise NotImplementedError(
            f"Learning rate schedule '{type(self).__name__}' must override `get_config()` in order to be serializable."
        )

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def __repr__(self):
        try:
            args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        except NotImplementedError:
            args = ""
        return f"<{type(self).__name__} {args}>" if args else f"<{type(self).__name__}>"


class _StepDecay(LearningRateSchedule):
    """Shared state of the schedules driven by ``step / decay_steps`` (floored if ``staircase``)."""

    def __init__(self, initial_learning_rate, decay_steps, decay_rate, staircase, name):
        self.initial_learning_rate = initial_learning_rate
        self.decay_steps = decay_steps
        self.decay_rate = decay_rate
        self.staircase = staircase
        self.name = name
        _check_steps(decay_steps, "decay_steps")

    def _progress(self, step):
        """The initial rate as a scalar tensor, and ``step / decay_steps`` in its dtype (floored if ``staircase``)."""
        lr = _scalar(self.initial_learning_rate)
        p = _scalar(step, lr.dtype) / _scalar(self.decay_steps, lr.dtype)
        if self.staircase:
            p = torch.floor(p)
        return lr, p

    def get_config(self):
        return {
            "initial_learning_rate": self.initial_learning_rate,
            "decay_steps": self.decay_steps,
            "decay_rate": self.decay_rate,
            "staircase": self.staircase,
            "name": self.name,
        }


class ExponentialDecay(_StepDecay):
    """``initial_learning_rate * decay_rate ** (step / decay_steps)`` (floored exponent if ``staircase``).

    Args:
        initial_learning_rate: the learning rate at step 0.
        decay_steps: positive number of steps per decay period.
        decay_rate: the factor applied per period.
        staircase: whether the exponent is ``floor(step / decay_steps)``.
        name: the name of the schedule.

    >>> float(ExponentialDecay(1.0, decay_steps=2, decay_rate=0.5, staircase=True)(3))
    0.5
    """

    def __init__(self, initial_learning_rate, decay_steps, decay_rate, staircase=False, name="ExponentialDecay"):
        super().__init__(initial_learning_rate, decay_steps, decay_rate, staircase, name)

    def __call__(self, step):
        lr, p = self._progress(step)
        return lr * torch.pow(_scalar(self.decay_rate, lr.dtype), p)


class PiecewiseConstantDecay(LearningRateSchedule):
    """``values[0]`` while ``step <= boundaries[0]``, ``values[i]`` for ``boundaries[i-1] < step <= boundaries[i]``.

    Args:
        boundaries: strictly increasing step boundaries.
        values: one more value than boundaries.
        name: the name of the schedule.

    >>> schedule = PiecewiseConstantDecay([10, 20], [1.0, 0.5, 0.1])
    >>> [round(float(schedule(s)), 3) for s in (10, 11, 21)]
    [1.0, 0.5, 0.1]
    """

    def __init__(self, boundaries, values, name="PiecewiseConstant"):
        if len(boundaries) != len(values) - 1:
            raise ValueError(
                "The length of boundaries should be 1 less than the length of values. "
                f"Received: boundaries={boundaries} of length {len(boundaries)}, and values={values} "
                f"of length {len(values)}."
            )
        self.boundaries = boundaries
        self.values = values
        self.name = name

    def __call__(self, step):
        step = _scalar(step)
        boundaries = [_scalar(b).to(step.dtype) for b in self.boundaries]
        values = [_scalar(v) for v in self.values]
        dtype = values[0].dtype
        result = (step <= boundaries[0]).to(dtype) * values[0]
        result = result + (step > boundaries[-1]).to(dtype) * values[-1]
        for low, high, value in zip(boundaries[:-1], boundaries[1:], values[1:-1]):
            result = result + ((step > low) & (step <= high)).to(dtype) * value
        return result

    def get_config(self):
        return {"boundaries": self.boundaries, "values": self.values, "name": self.name}


class PolynomialDecay(LearningRateSchedule):
    """Decays to ``end_learning_rate`` over ``decay_steps`` along ``(1 - step / decay_steps) ** power``.

    With ``cycle=True`` the period restarts at the first multiple of ``decay_steps``
    that is at least ``step``; otherwise ``step`` is capped at ``decay_steps``.

    Args:
        initial_learning_rate: the learning rate at step 0.
        decay_steps: positive number of steps to decay over.
        end_learning_rate: the final learning rate.
        power: the power of the polynomial.
        cycle: whether to restart after ``decay_steps``.
        name: the name of the schedule.

    >>> round(float(PolynomialDecay(1.0, 10, end_learning_rate=0.0)(5)), 6)
    0.5
    """

    def __init__(self, initial_learning_rate, decay_steps, end_learning_rate=0.0001, power=1.0, cycle=False,
                 name="PolynomialDecay"):
        self.initial_learning_rate = initial_learning_rate
        self.decay_steps = decay_steps
        self.end_learning_rate = end_learning_rate
        self.power = power
        self.cycle = cycle
        self.name = name
        _check_steps(decay_steps, "decay_steps")

    def __call__(self, step):
        lr = _scalar(self.initial_learning_rate)
        end = _scalar(self.end_learning_rate, lr.dtype)
        step = _scalar(step, lr.dtype)
        decay_steps = _scalar(self.decay_steps, lr.dtype)
        if self.cycle:
            multiplier = torch.where(step == 0, torch.ones_like(step), torch.ceil(step / self.decay_steps))
            decay_steps = decay_steps * multiplier
        else:
            step = torch.minimum(step, decay_steps)
        p = step / decay_steps
        return (lr - end) * torch.pow(1 - p, _scalar(self.power, lr.dtype)) + end

    def get_config(self):
        return {
            "initial_learning_rate": self.initial_learning_rate,
            "decay_steps": self.decay_steps,
            "end_learning_rate": self.end_learning_rate,
            "power": self.power,
            "cycle": self.cycle,
            "name": self.name,
        }


class InverseTimeDecay(_StepDecay):
    """``initial_learning_rate / (1 + decay_rate * step / decay_steps)`` (floored ratio if ``staircase``).

    Args:
        initial_learning_rate: the learning rate at step 0.
        decay_steps: positive number of steps per decay unit.
        decay_rate: the decay rate.
        staircase: whether ``step / decay_steps`` is floored.
        name: the name of the schedule.

    >>> round(float(InverseTimeDecay(1.0, decay_steps=1, decay_rate=0.5)(2)), 6)
    0.5
    """

    def __init__(self, initial_learning_rate, decay_steps, decay_rate, staircase=False, name="InverseTimeDecay"):
        super().__init__(initial_learning_rate, decay_steps, decay_rate, staircase, name)

    def __call__(self, step):
        lr, p = self._progress(step)
        return lr / (1 + _scalar(self.decay_rate, lr.dtype) * p)


class CosineDecay(LearningRateSchedule):
    """Cosine decay to ``alpha`` times the peak, after an optional linear warmup.

    Without ``warmup_target``: ``lr0 * ((1 - alpha) * 0.5 * (1 + cos(pi * s / decay_steps)) + alpha)``
    with ``s = min(step, decay_steps)``. With it, the rate first moves linearly from
    ``initial_learning_rate`` to ``warmup_target`` over ``warmup_steps``, then decays
    from ``warmup_target`` over ``decay_steps``.

    Args:
        initial_learning_rate: the learning rate at step 0.
        decay_steps: positive number of steps to decay over.
        alpha: the final rate as a fraction of the peak.
        name: the name of the schedule.
        warmup_target: the peak learning rate reached after warmup, or ``None``.
        warmup_steps: the number of warmup steps.

    >>> round(float(CosineDecay(1.0, 10)(5)), 6)
    0.5
    >>> round(float(CosineDecay(0.0, 10, warmup_target=1.0, warmup_steps=4)(2)), 6)
    0.5
    """

    def __init__(self, initial_learning_rate, decay_steps, alpha=0.0, name="CosineDecay", warmup_target=None,
                 warmup_steps=0):
        self.initial_learning_rate = initial_learning_rate
        self.decay_steps = decay_steps
        self.alpha = alpha
        self.name = name
        self.warmup_steps = warmup_steps
        self.warmup_target = warmup_target
        _check_steps(decay_steps, "decay_steps")

    def _decay(self, step, decay_steps, peak):
        cosine = 0.5 * (1.0 + torch.cos(math.pi * (step / decay_steps)))
        return peak * ((1 - self.alpha) * cosine + self.alpha)

    def __call__(self, step):
        lr = _scalar(self.initial_learning_rate)
        decay_steps = _scalar(self.decay_steps, lr.dtype)
        step = _scalar(step, lr.dtype)
        if self.warmup_target is None:
            return self._decay(torch.minimum(step, decay_steps), decay_steps, lr)
        target = _scalar(self.warmup_target, lr.dtype)
        warmup_steps = _scalar(self.warmup_steps, lr.dtype)
        step = torch.minimum(step, decay_steps + warmup_steps)
        if bool(step < warmup_steps):
            return (target - lr) * (step / warmup_steps) + lr
        return self._decay(step - warmup_steps, decay_steps, target)

    def get_config(self):
        return {
            "initial_learning_rate": self.initial_learning_rate,
            "decay_steps": self.decay_steps,
            "alpha": self.alpha,
            "name": self.name,
            "warmup_target": self.warmup_target,
            "warmup_steps": self.warmup_steps,
        }


class CosineDecayRestarts(LearningRateSchedule):
    """Cosine decay with warm restarts (SGDR).

    The first period lasts ``first_decay_steps``; each restart lasts ``t_mul`` times
    longer than the previous one and starts from ``m_mul`` times its peak.

    Args:
        initial_learning_rate: the learning rate at step 0.
        first_decay_steps: positive length of the first period.
        t_mul: the period growth factor.
        m_mul: the peak decay factor per restart.
        alpha: the minimum rate as a fraction of ``initial_learning_rate``.
        name: the name of the schedule.

    >>> schedule = CosineDecayRestarts(1.0, 10, t_mul=1.0)
    >>> round(float(schedule(10)), 6), round(float(schedule(15)), 6)
    (1.0, 0.5)
    """

    def __init__(self, initial_learning_rate, first_decay_steps, t_mul=2.0, m_mul=1.0, alpha=0.0, name="SGDRDecay"):
        self.initial_learning_rate = initial_learning_rate
        self.first_decay_steps = first_decay_steps
        self._t_mul = t_mul
        self._m_mul = m_mul
        self.alpha = alpha
        self.name = name
        _check_steps(first_decay_steps, "first_decay_steps")

    def __call__(self, step):
        lr = _scalar(self.initial_learning_rate)
        dtype = lr.dtype
        alpha = _scalar(self.alpha, dtype)
        t_mul = _scalar(self._t_mul, dtype)
        m_mul = _scalar(self._m_mul, dtype)
        fraction = _scalar(step, dtype) / _scalar(self.first_decay_steps, dtype)
        if bool(t_mul == 1.0):
            i_restart = torch.floor(fraction)
            fraction = fraction - i_restart
        else:
            # Periods grow geometrically: find the restart index from the partial sums of t_mul**i.
            i_restart = torch.floor(torch.log(1.0 - fraction * (1.0 - t_mul)) / torch.log(t_mul))
            sum_r = (1.0 - torch.pow(t_mul, i_restart)) / (1.0 - t_mul)
            fraction = (fraction - sum_r) / torch.pow(t_mul, i_restart)
        cosine = 0.5 * torch.pow(m_mul, i_restart) * (1.0 + torch.cos(math.pi * fraction))
        return lr * ((1 - alpha) * cosine + alpha)

    def get_config(self):
        return {
            "initial_learning_rate": self.initial_learning_rate,
            "first_decay_steps": self.first_decay_steps,
            "t_mul": self._t_mul,
            "m_mul": self._m_mul,
            "alpha": self.alpha,
            "name": self.name,
        }


_MODULE_OBJECTS = {
    cls.__name__: cls
    for cls in (LearningRateSchedule, ExponentialDecay, PiecewiseConstantDecay, PolynomialDecay, InverseTimeDecay,
                CosineDecay, CosineDecayRestarts)
}


def serialize(learning_rate_schedule):
    """The Keras 3 serialized dict of a schedule (``module`` is ``'keras.optimizers.schedules'``)."""
    return registry.serialize_keras_object(learning_rate_schedule)


def deserialize(config, custom_objects=None):
    """Creates a schedule from its serialized dict (Keras 3 or Keras 2 form).

    >>> deserialize({"class_name": "InverseTimeDecay",
    ...              "config": {"initial_learning_rate": 0.1, "decay_steps": 1, "decay_rate": 0.5}}).decay_rate
    0.5
    """
    return registry.deserialize_keras_object(
        config, module_objects=_MODULE_OBJECTS, custom_objects=custom_objects, printable_module_name="decay"
    )
