"""`Adam` and `AdamW` with Keras 3's update rule.

Per step ``t``: ``m += (g - m) * (1 - beta_1)``, ``v += (g**2 - v) * (1 - beta_2)``
(with ``amsgrad``, ``v_hat = max(v_hat, v)`` is used for ``v``), then
``var -= m * alpha / (sqrt(v) + epsilon)`` with
``alpha = lr * sqrt(1 - beta_2**t) / (1 - beta_1**t)`` (epsilon outside the square
root, as TensorFlow/Keras). `AdamW` is Adam with decoupled weight decay
(``var *= 1 - weight_decay * lr`` before the update).

On CPU and CUDA the update runs in torch's fused Adam kernel, with its learning
rate and epsilon rescaled so that it computes exactly the Keras formula above.

>>> import lamina, torch
>>> w = lamina.Variable([1.0, -1.0], name="w")
>>> optimizer = Adam(learning_rate=0.1)
>>> optimizer.apply([torch.tensor([0.5, -2.0])], [w])
>>> [round(x, 4) for x in w.numpy().tolist()]
[0.9, -0.9]
>>> [v.path for v in optimizer.variables]
['adam/iteration', 'adam/learning_rate', 'adam/w_momentum', 'adam/w_velocity']
"""

import math

import numpy as np
import torch

from lamina.optimizers.base import Optimizer, base_arguments, to_float

_F32 = np.float32


def fused_device(variables):
    """The device when torch's fused kernels can update ``variables`` together, else ``None``."""
    values = [v.value for v in variables]
    if not values:
        return None
    first = values[0]
    same = all(p.device == first.device and p.dtype == first.dtype and p.is_contiguous() for p in values)
    if same and first.is_floating_point() and first.device.type in ("cpu", "cuda"):
        return first.device
    return None


class Adam(Optimizer):
    """Adam (Kingma & Ba, 2014) with Keras 3 defaults.

    Args:
        learning_rate: a float, a `LearningRateSchedule` or a callable; defaults to 0.001.
        beta_1: the decay rate of the first moment.
        beta_2: the decay rate of the second moment.
        epsilon: added to ``sqrt(v)`` (the "epsilon hat" of the paper).
        amsgrad: whether to use the maximum of past second moments (AMSGrad).
        **kwargs: the base `Optimizer` arguments (``weight_decay``, ``clipnorm``,
            ``use_ema``, ``gradient_accumulation_steps``, ``name``, ...).
    """

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7, amsgrad=False, weight_decay=None,
                 clipnorm=None, clipvalue=None, global_clipnorm=None, use_ema=False, ema_momentum=0.99,
                 ema_overwrite_frequency=None, loss_scale_factor=None, gradient_accumulation_steps=None, name=None,
                 **kwargs):
        super().__init__(learning_rate, name=name, **base_arguments(locals()), **kwargs)
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.amsgrad = amsgrad

    def build(self, var_list):
        if self.built:
            return
        var_list = list(var_list)
        super().build(var_list)
        self._momentums, self._velocities = self.add_optimizer_variables(var_list, ["momentum", "velocity"])
        if self.amsgrad:
            self._velocity_hats = self.add_optimizer_variables(var_list, "velocity_hat")
        device = fused_device(var_list)
        self._fused_step = None if device is None else torch.zeros((), dtype=torch.float32, device=device)

    def _backend_update_step(self, grads, variables, learning_rate):
        t = self._update_count() + 1
        lr = _F32(to_float(learning_rate))
        beta_1_power = _F32(self.beta_1) ** _F32(t)
        beta_2_power = _F32(self.beta_2) ** _F32(t)
        alpha = float(lr * np.sqrt(_F32(1) - beta_2_power) / (_F32(1) - beta_1_power))
        indices = self._indices(variables)
        params = [v.value for v in variables]
        m = self._slots(self._momentums, indices)
        v = self._slots(self._velocities, indices)
        v_hat = self._slots(self._velocity_hats, indices) if self.amsgrad else []
        if self._fused_step is not None:
            self._fused_update(params, grads, m, v, v_hat, t, alpha)
            return
        torch._foreach_lerp_(m, grads, 1 - self.beta_1)
        torch._foreach_lerp_(v, torch._foreach_mul(grads, grads), 1 - self.beta_2)
        if self.amsgrad:
            torch._foreach_maximum_(v_hat, v)
            v = v_hat
        denominator = torch._foreach_sqrt(v)
        torch._foreach_add_(denominator, self.epsilon)
        torch._foreach_addcdiv_(params, m, denominator, value=-alpha)

    def _fused_update(self, params, grads, m, v, v_hat, t, alpha):
        # torch's kernel computes p -= lr/bc1 * m / (sqrt(v)/sqrt(bc2) + eps) with bc_i = 1 - beta_i**t in
        # double precision; these lr and eps turn it into Keras's p -= alpha * m / (sqrt(v) + epsilon).
        sqrt_bc2 = math.sqrt(1.0 - self.beta_2 ** t)
        lr = alpha * (1.0 - self.beta_1 ** t) / sqrt_bc2
        grads = [g if g.is_contiguous() else g.contiguous() for g in grads]
        self._fused_step.fill_(t)
        torch._fused_adam_(
            params, grads, m, v, v_hat, [self._fused_step] * len(params), lr=lr, beta1=self.beta_1,
            beta2=self.beta_2, weight_decay=0.0, eps=self.epsilon / sqrt_bc2, amsgrad=self.amsgrad, maximize=False,
        )

    def get_config(self):
        config = super().get_config()
        config.update({"beta_1": self.beta_1, "beta_2": self.beta_2, "epsilon": self.epsilon, "amsgrad": self.amsgrad})
        return config


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov & Hutter, 2019); ``weight_decay`` defaults to 0.004.

    Each step first scales the variables by ``1 - weight_decay * learning_rate``
    (see `Optimizer.exclude_from_weight_decay`), then applies the `Adam` update.

    >>> AdamW().get_config()["weight_decay"]
    0.004
    """

    def __init__(self, learning_rate=0.001, weight_decay=0.004, beta_1=0.9, beta_2=0.999, epsilon=1e-7,
                 amsgrad=False, clipnorm=None, clipvalue=None, global_clipnorm=None, use_ema=False,
                 ema_momentum=0.99, ema_overwrite_frequency=None, loss_scale_factor=None,
                 gradient_accumulation_steps=None, name=None, **kwargs):
        super().__init__(learning_rate, beta_1=beta_1, beta_2=beta_2, epsilon=epsilon, amsgrad=amsgrad, name=name,
                         **base_arguments(locals()), **kwargs)
        if self.weight_decay is None:
            raise ValueError("Argument `weight_decay` must be a float. Received: weight_decay=None")
