"""`Nadam` (Adam with Nesterov momentum) with Keras 3's update rule.

With ``u_t = beta_1 * (1 - 0.5 * 0.96**t)`` and the running product
``u_product`` of the ``u_t`` (a state Variable):
``m_hat = u_{t+1} * m / (1 - u_product * u_{t+1}) + (1 - u_t) * g / (1 - u_product)``,
``v_hat = v / (1 - beta_2**t)``, ``var -= lr * m_hat / (sqrt(v_hat) + epsilon)``.

>>> import lamina, torch
>>> w = lamina.Variable([1.0], name="w")
>>> Nadam(learning_rate=0.1).apply([torch.tensor([2.0])], [w])
>>> round(float(w.numpy()[0]), 4)
0.8937
"""

import numpy as np
import torch

from lamina.backend import config
from lamina.optimizers.base import Optimizer, base_arguments, to_float

_F32 = np.float32


class Nadam(Optimizer):
    """Nadam (Dozat, 2015).

    Args:
        learning_rate: a float, a `LearningRateSchedule` or a callable; defaults to 0.001.
        beta_1: the decay rate of the first moment.
        beta_2: the decay rate of the second moment.
        epsilon: added to ``sqrt(v_hat)``.
        **kwargs: the base `Optimizer` arguments.
    """

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7, weight_decay=None,
                 clipnorm=None, clipvalue=None, global_clipnorm=None, use_ema=False, ema_momentum=0.99,
                 ema_overwrite_frequency=None, loss_scale_factor=None, gradient_accumulation_steps=None,
                 name=None, **kwargs):
        super().__init__(learning_rate, name=name, **base_arguments(locals()), **kwargs)
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon

    def build(self, var_list):
        if self.built:
            return
        var_list = list(var_list)
        dtype = var_list[0].dtype if var_list else config.floatx()
        super().build(var_list)
        self._momentums, self._velocities = self.add_optimizer_variables(var_list, ["momentum", "velocity"])
        # Keras tracks this product as an unnamed Variable after the slots; it lives on the host.
        self._u_product = self.add_variable((), initializer="ones", dtype=dtype, name="variable", device="cpu")

    def _backend_update_step(self, grads, variables, learning_rate):
        t = _F32(self._update_count() + 1)
        beta_1, beta_2, decay = _F32(self.beta_1), _F32(self.beta_2), _F32(0.96)
        u_product = self._u_product.value
        u_product.mul_(float(beta_1 * (_F32(1) - _F32(0.5) * decay ** t)))
        u_t = beta_1 * (_F32(1) - _F32(0.5) * decay ** t)
        u_t_1 = beta_1 * (_F32(1) - _F32(0.5) * decay ** (t + _F32(1)))
        u_product_t = _F32(u_product.item())
        u_product_t_1 = u_product_t * u_t_1
        beta_2_power = beta_2 ** t
        lr = to_float(learning_rate)

        indices = self._indices(variables)
        params = [v.value for v in variables]
        m = self._slots(self._momentums, indices)
        v = self._slots(self._velocities, indices)
        torch._foreach_lerp_(m, grads, float(_F32(1) - beta_1))
        torch._foreach_lerp_(v, torch._foreach_mul(grads, grads), float(_F32(1) - beta_2))
        m_hat = torch._foreach_mul(m, float(u_t_1 / (_F32(1) - u_product_t_1)))
        torch._foreach_add_(m_hat, grads, alpha=float((_F32(1) - u_t) / (_F32(1) - u_product_t)))
        denominator = torch._foreach_div(v, float(_F32(1) - beta_2_power))
        torch._foreach_sqrt_(denominator)
        torch._foreach_add_(denominator, self.epsilon)
        torch._foreach_mul_(m_hat, lr)
        torch._foreach_div_(m_hat, denominator)
        torch._foreach_sub_(params, m_hat)

    def get_config(self):
        config = super().get_config()
        config.update({"beta_1": self.beta_1, "beta_2": self.beta_2, "epsilon": self.epsilon})
        return config
