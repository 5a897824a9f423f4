"""`SGD` with Keras 3's momentum convention.

Without momentum: ``var -= lr * g``. With it, the velocity ``m`` holds the step:
``m = momentum * m - lr * g`` then ``var += m``; with ``nesterov=True``,
``var += momentum * m - lr * g`` (using the new ``m``).

>>> import lamina, torch
>>> w = lamina.Variable([1.0], name="w")
>>> optimizer = SGD(learning_rate=0.1, momentum=0.9)
>>> for _ in range(2):
...     optimizer.apply([torch.tensor([1.0])], [w])
>>> round(float(w.numpy()[0]), 4)  # 1 - 0.1 - (0.09 + 0.1)
0.71
"""

import torch

from lamina.optimizers.base import Optimizer, base_arguments, to_float


class SGD(Optimizer):
    """Gradient descent, optionally with (Nesterov) momentum.

    Args:
        learning_rate: a float, a `LearningRateSchedule` or a callable; defaults to 0.01.
        momentum: a float in ``[0, 1]``; 0 is plain gradient descent.
        nesterov: whether to use Nesterov momentum.
        **kwargs: the base `Optimizer` arguments.
    """

    def __init__(self, learning_rate=0.01, momentum=0.0, nesterov=False, weight_decay=None, clipnorm=None,
                 clipvalue=None, global_clipnorm=None, use_ema=False, ema_momentum=0.99, ema_overwrite_frequency=None,
                 loss_scale_factor=None, gradient_accumulation_steps=None, name=None, **kwargs):
        super().__init__(learning_rate, name=name, **base_arguments(locals()), **kwargs)
        if not isinstance(momentum, float) or momentum < 0 or momentum > 1:
            raise ValueError(f"`momentum` must be a float between [0, 1]. Received: momentum={momentum!r}")
        self.momentum = momentum
        self.nesterov = nesterov

    def build(self, variables):
        if self.built:
            return
        variables = list(variables)
        super().build(variables)
        self.momentums = self.add_optimizer_variables(variables, "momentum") if self.momentum != 0 else []

    def _backend_update_step(self, grads, variables, learning_rate):
        lr = to_float(learning_rate)
        params = [v.value for v in variables]
        if self.momentum == 0:
            torch._foreach_add_(params, grads, alpha=-lr)
            return
        m = self._slots(self.momentums, self._indices(variables))
        torch._foreach_mul_(m, self.momentum)
        torch._foreach_add_(m, grads, alpha=-lr)
        if self.nesterov:
            step = torch._foreach_mul(m, self.momentum)
            torch._foreach_add_(step, grads, alpha=-lr)
            torch._foreach_add_(params, step)
        else:
            torch._foreach_add_(params, m)

    def get_config(self):
        config = super().get_config()
        config.update({"momentum": self.momentum, "nesterov": self.nesterov})
        return config
