"""`Adamax` (Adam with the infinity norm) with Keras 3's update rule.

``m += (g - m) * (1 - beta_1)``; ``u = max(beta_2 * u, |g|)``;
``var -= lr * m / ((1 - beta_1**t) * (u + epsilon))``.

>>> import lamina, torch
>>> w = lamina.Variable([1.0], name="w")
>>> Adamax(learning_rate=0.1).apply([torch.tensor([2.0])], [w])
>>> round(float(w.numpy()[0]), 4)
0.9
"""

import numpy as np
import torch

from lamina.optimizers.base import Optimizer, base_arguments, to_float


class Adamax(Optimizer):
    """Adamax (Kingma & Ba, 2014, section 7).

    Args:
        learning_rate: a float, a `LearningRateSchedule` or a callable; defaults to 0.001.
        beta_1: the decay rate of the first moment.
        beta_2: the decay rate of the exponentially weighted infinity norm.
        epsilon: added to the norm.
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
        super().build(var_list)
        self._m, self._u = self.add_optimizer_variables(var_list, ["momentum", "norm"])

    def _backend_update_step(self, grads, variables, learning_rate):
        lr = to_float(learning_rate)
        beta_1_power = np.float32(self.beta_1) ** np.float32(self._update_count() + 1)
        indices = self._indices(variables)
        params = [v.value for v in variables]
        m = self._slots(self._m, indices)
        u = self._slots(self._u, indices)
        torch._foreach_lerp_(m, grads, 1 - self.beta_1)
        torch._foreach_mul_(u, self.beta_2)
        torch._foreach_maximum_(u, torch._foreach_abs(grads))
        denominator = torch._foreach_add(u, self.epsilon)
        torch._foreach_mul_(denominator, float(np.float32(1) - beta_1_power))
        step = torch._foreach_mul(m, lr)
        torch._foreach_div_(step, denominator)
        torch._foreach_sub_(params, step)

    def get_config(self):
        config = super().get_config()
        config.update({"beta_1": self.beta_1, "beta_2": self.beta_2, "epsilon": self.epsilon})
        return config
