"""`Adadelta` with Keras 3's update rule.

``acc_g = rho * acc_g + (1 - rho) * g**2``;
``delta = -sqrt(acc_delta + epsilon) * g / sqrt(acc_g + epsilon)``;
``acc_delta = rho * acc_delta + (1 - rho) * delta**2``; ``var += lr * delta``.

>>> import lamina, torch
>>> w = lamina.Variable([1.0], name="w")
>>> Adadelta(learning_rate=1.0).apply([torch.tensor([1.0])], [w])
>>> round(float(w.numpy()[0]), 6)  # 1 - sqrt(1e-7) / sqrt(0.05 + 1e-7)
0.998586
"""

import torch

from lamina.optimizers.base import Optimizer, base_arguments, to_float


class Adadelta(Optimizer):
    """Adadelta (Zeiler, 2012): step sizes from running averages of squared gradients and updates.

    Args:
        learning_rate: a float, a `LearningRateSchedule` or a callable; defaults to 0.001.
        rho: the decay rate of both running averages.
        epsilon: added under the square roots.
        **kwargs: the base `Optimizer` arguments.
    """

    def __init__(self, learning_rate=0.001, rho=0.95, epsilon=1e-7, weight_decay=None, clipnorm=None,
                 clipvalue=None, global_clipnorm=None, use_ema=False, ema_momentum=0.99, ema_overwrite_frequency=None,
                 loss_scale_factor=None, gradient_accumulation_steps=None, name=None, **kwargs):
        super().__init__(learning_rate, name=name, **base_arguments(locals()), **kwargs)
        self.rho = rho
        self.epsilon = epsilon

    def build(self, var_list):
        if self.built:
            return
        var_list = list(var_list)
        super().build(var_list)
        self._accumulated_grads, self._accumulated_delta_vars = self.add_optimizer_variables(
            var_list, ["accumulated_grad", "accumulated_delta_var"]
        )

    def _backend_update_step(self, grads, variables, learning_rate):
        lr = to_float(learning_rate)
        rho = self.rho
        indices = self._indices(variables)
        params = [v.value for v in variables]
        acc_grad = self._slots(self._accumulated_grads, indices)
        acc_delta = self._slots(self._accumulated_delta_vars, indices)
        torch._foreach_mul_(acc_grad, rho)
        torch._foreach_addcmul_(acc_grad, grads, grads, value=1 - rho)
        delta = torch._foreach_add(acc_delta, self.epsilon)
        torch._foreach_sqrt_(delta)
        torch._foreach_mul_(delta, grads)
        rms_grad = torch._foreach_add(acc_grad, self.epsilon)
        torch._foreach_sqrt_(rms_grad)
        torch._foreach_div_(delta, rms_grad)
        torch._foreach_neg_(delta)
        torch._foreach_mul_(acc_delta, rho)
        torch._foreach_addcmul_(acc_delta, delta, delta, value=1 - rho)
        torch._foreach_add_(params, delta, alpha=lr)

    def get_config(self):
        config = super().get_config()
        config.update({"rho": self.rho, "epsilon": self.epsilon})
        return config
