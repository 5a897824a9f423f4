"""`RMSprop` with Keras 3's update rule (epsilon inside the square root).

``velocity = rho * velocity + (1 - rho) * g**2``; with ``centered``,
``average_gradient = rho * average_gradient + (1 - rho) * g`` and the denominator is
``sqrt(velocity - average_gradient**2 + epsilon)``, else ``sqrt(velocity + epsilon)``.
The increment ``lr * g / denominator`` is subtracted, or accumulated into
``momentum = momentum_coef * momentum + increment`` which is subtracted.

>>> import lamina, torch
>>> w = lamina.Variable([1.0], name="w")
>>> RMSprop(learning_rate=0.01).apply([torch.tensor([2.0])], [w])
>>> round(float(w.numpy()[0]), 4)  # 1 - 0.01 * 2 / sqrt(0.1 * 4)
0.9684
"""

import torch

from lamina.optimizers.base import Optimizer, base_arguments, to_float


class RMSprop(Optimizer):
    """RMSprop (Hinton, 2012), optionally centered and with momentum.

    Args:
        learning_rate: a float, a `LearningRateSchedule` or a callable; defaults to 0.001.
        rho: the discounting factor of the squared-gradient average.
        momentum: the momentum coefficient (0: none).
        epsilon: added under the square root.
        centered: whether to normalize by the estimated variance of the gradient.
        **kwargs: the base `Optimizer` arguments.
    """

    def __init__(self, learning_rate=0.001, rho=0.9, momentum=0.0, epsilon=1e-7, centered=False, weight_decay=None,
                 clipnorm=None, clipvalue=None, global_clipnorm=None, use_ema=False, ema_momentum=0.99,
                 ema_overwrite_frequency=None, loss_scale_factor=None, gradient_accumulation_steps=None,
                 name=None, **kwargs):
        super().__init__(learning_rate, name=name, **base_arguments(locals()), **kwargs)
        self.rho = rho
        self.momentum = momentum
        self.epsilon = epsilon
        self.centered = centered

    def build(self, var_list):
        if self.built:
            return
        var_list = list(var_list)
        super().build(var_list)
        self._velocities = self.add_optimizer_variables(var_list, "velocity")
        self._momentums = self.add_optimizer_variables(var_list, "momentum") if self.momentum > 0 else []
        self._average_gradients = self.add_optimizer_variables(var_list, "average_gradient") if self.centered else []

    def _backend_update_step(self, grads, variables, learning_rate):
        lr = to_float(learning_rate)
        rho = self.rho
        indices = self._indices(variables)
        params = [v.value for v in variables]
        velocity = self._slots(self._velocities, indices)
        torch._foreach_mul_(velocity, rho)
        torch._foreach_addcmul_(velocity, grads, grads, value=1 - rho)
        if self.centered:
            average = self._slots(self._average_gradients, indices)
            torch._foreach_mul_(average, rho)
            torch._foreach_add_(average, grads, alpha=1 - rho)
            denominator = torch._foreach_addcmul(velocity, average, average, value=-1)
            torch._foreach_add_(denominator, self.epsilon)
        else:
            denominator = torch._foreach_add(velocity, self.epsilon)
        torch._foreach_sqrt_(denominator)
        increment = torch._foreach_mul(grads, lr)
        torch._foreach_div_(increment, denominator)
        if self.momentum > 0:
            momentum = self._slots(self._momentums, indices)
            torch._foreach_mul_(momentum, self.momentum)
            torch._foreach_add_(momentum, increment)
            increment = momentum
        torch._foreach_sub_(params, increment)

    def get_config(self):
        config = super().get_config()
        config.update({"rho": self.rho, "momentum": self.momentum, "epsilon": self.epsilon, "centered": self.centered})
        return config
