"""`Adagrad` with Keras 3's update rule: ``acc += g**2; var -= lr * g / sqrt(acc + epsilon)``.

>>> import lamina, torch
>>> w = lamina.Variable([1.0], name="w")
>>> Adagrad(learning_rate=0.1).apply([torch.tensor([1.0])], [w])
>>> round(float(w.numpy()[0]), 4)  # 1 - 0.1 / sqrt(0.1 + 1)
0.9047
"""

import torch

from lamina import initializers
from lamina.optimizers.base import Optimizer, base_arguments, to_float


class Adagrad(Optimizer):
    """Adagrad (Duchi et al., 2011): per-parameter rates shrinking with the sum of squared gradients.

    Args:
        learning_rate: a float, a `LearningRateSchedule` or a callable; defaults to 0.001.
        initial_accumulator_value: the starting value of the accumulators.
        epsilon: added under the square root.
        **kwargs: the base `Optimizer` arguments.
    """

    def __init__(self, learning_rate=0.001, initial_accumulator_value=0.1, epsilon=1e-7, weight_decay=None,
                 clipnorm=None, clipvalue=None, global_clipnorm=None, use_ema=False, ema_momentum=0.99,
                 ema_overwrite_frequency=None, loss_scale_factor=None, gradient_accumulation_steps=None,
                 name=None, **kwargs):
        super().__init__(learning_rate, name=name, **base_arguments(locals()), **kwargs)
        self.initial_accumulator_value = initial_accumulator_value
        self.epsilon = epsilon

    def build(self, var_list):
        if self.built:
            return
        var_list = list(var_list)
        super().build(var_list)
        initializer = initializers.Constant(self.initial_accumulator_value)
        self._accumulators = self.add_optimizer_variables(var_list, "accumulator", initializer=initializer)

    def _backend_update_step(self, grads, variables, learning_rate):
        lr = to_float(learning_rate)
        params = [v.value for v in variables]
        accumulators = self._slots(self._accumulators, self._indices(variables))
        torch._foreach_addcmul_(accumulators, grads, grads)
        denominator = torch._foreach_add(accumulators, self.epsilon)
        torch._foreach_sqrt_(denominator)
        increment = torch._foreach_mul(grads, lr)
        torch._foreach_div_(increment, denominator)
        torch._foreach_sub_(params, increment)

    def get_config(self):
        config = super().get_config()
        config.update({"initial_accumulator_value": self.initial_accumulator_value, "epsilon": self.epsilon})
        return config
