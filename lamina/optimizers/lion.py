"""`Lion` (evolved sign momentum) with Keras 3's update rule.

``var -= lr * sign(beta_1 * m + (1 - beta_1) * g)``, then
``m = beta_2 * m + (1 - beta_2) * g``.

>>> import lamina, torch
>>> w = lamina.Variable([1.0, 1.0], name="w")
>>> Lion(learning_rate=0.1).apply([torch.tensor([3.0, -0.5])], [w])
>>> [round(x, 4) for x in w.numpy().tolist()]
[0.9, 1.1]
"""

import numpy as np
import torch

from lamina.optimizers.base import Optimizer, base_arguments, to_float


class Lion(Optimizer):
    """Lion (Chen et al., 2023).

    Args:
        learning_rate: a float, a `LearningRateSchedule` or a callable; defaults to 0.001.
        beta_1: the interpolation factor of the update direction, in ``(0, 1]``.
        beta_2: the decay rate of the momentum.
        **kwargs: the base `Optimizer` arguments.
    """

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.99, weight_decay=None, clipnorm=None,
                 clipvalue=None, global_clipnorm=None, use_ema=False, ema_momentum=0.99, ema_overwrite_frequency=None,
                 loss_scale_factor=None, gradient_accumulation_steps=None, name=None, **kwargs):
        super().__init__(learning_rate, name=name, **base_arguments(locals()), **kwargs)
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        if beta_1 <= 0 or beta_1 > 1:
            raise ValueError(
                "Argument `beta_1` must be in the [0, 1] range. Otherwise, the optimizer degenerates to SignSGD. "
                f"Received: beta_1={beta_1}."
            )

    def build(self, var_list):
        if self.built:
            return
        var_list = list(var_list)
        super().build(var_list)
        self._momentums = self.add_optimizer_variables(var_list, "momentum")

    def _backend_update_step(self, grads, variables, learning_rate):
        lr = to_float(learning_rate)
        beta_1, beta_2 = np.float32(self.beta_1), np.float32(self.beta_2)
        params = [v.value for v in variables]
        m = self._slots(self._momentums, self._indices(variables))
        direction = torch._foreach_mul(m, float(beta_1))
        torch._foreach_add_(direction, grads, alpha=float(np.float32(1) - beta_1))
        torch._foreach_sign_(direction)
        torch._foreach_add_(params, direction, alpha=-lr)
        torch._foreach_mul_(m, float(beta_2))
        torch._foreach_add_(m, grads, alpha=float(np.float32(1) - beta_2))

    def get_config(self):
        config = super().get_config()
        config.update({"beta_1": self.beta_1, "beta_2": self.beta_2})
        return config
