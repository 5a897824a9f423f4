"""`Ftrl` (Follow The Regularized Leader) with Keras 3's update rule.

With ``n`` the accumulator, ``z`` the linear term and ``p = learning_rate_power``:
``g' = g + 2 * l2_shrinkage * var``; ``n_new = n + g**2``;
``z += g' - (n_new**-p - n**-p) / lr * var``;
``var = (clip(z, -l1, l1) - z) / (n_new**-p / lr + 2 * (l2 + beta / (2 * lr)))``; ``n = n_new``.

>>> import lamina, torch
>>> w = lamina.Variable([0.0], name="w")
>>> Ftrl(learning_rate=0.1).apply([torch.tensor([1.0])], [w])
>>> round(float(w.numpy()[0]), 4)  # -1 / (sqrt(1.1) / 0.1)
-0.0953
"""

import torch

from lamina import initializers
from lamina.optimizers.base import Optimizer, base_arguments, to_float


def _check_sign(value, arg, positive=True):
    if (value < 0.0) if positive else (value > 0.0):
        rule = "positive or zero" if positive else "negative or zero"
        raise ValueError(f"`{arg}` needs to be {rule}. Received: {arg}={value}.")


class Ftrl(Optimizer):
    """FTRL-proximal (McMahan et al., 2013) with online L2 and shrinkage-type L2 regularization.

    Args:
        learning_rate: a float, a `LearningRateSchedule` or a callable; defaults to 0.001.
        learning_rate_power: ``<= 0``; how the per-coordinate rate decreases (0: fixed).
        initial_accumulator_value: ``>= 0``; the starting value of the accumulators.
        l1_regularization_strength: ``>= 0``.
        l2_regularization_strength: ``>= 0``; the stabilization penalty.
        l2_shrinkage_regularization_strength: ``>= 0``; the magnitude penalty.
        beta: the beta of the paper.
        **kwargs: the base `Optimizer` arguments.
    """

    def __init__(self, learning_rate=0.001, learning_rate_power=-0.5, initial_accumulator_value=0.1,
                 l1_regularization_strength=0.0, l2_regularization_strength=0.0,
                 l2_shrinkage_regularization_strength=0.0, beta=0.0, weight_decay=None, clipnorm=None,
                 clipvalue=None, global_clipnorm=None, use_ema=False, ema_momentum=0.99, ema_overwrite_frequency=None,
                 loss_scale_factor=None, gradient_accumulation_steps=None, name=None, **kwargs):
        super().__init__(learning_rate, name=name, **base_arguments(locals()), **kwargs)
        _check_sign(initial_accumulator_value, "initial_accumulator_value")
        _check_sign(learning_rate_power, "learning_rate_power", positive=False)
        _check_sign(l1_regularization_strength, "l1_regularization_strength")
        _check_sign(l2_regularization_strength, "l2_regularization_strength")
        _check_sign(l2_shrinkage_regularization_strength, "l2_shrinkage_regularization_strength")
        self.learning_rate_power = learning_rate_power
        self.initial_accumulator_value = initial_accumulator_value
        self.l1_regularization_strength = l1_regularization_strength
        self.l2_regularization_strength = l2_regularization_strength
        self.l2_shrinkage_regularization_strength = l2_shrinkage_regularization_strength
        self.beta = beta

    def build(self, var_list):
        if self.built:
            return
        var_list = list(var_list)
        super().build(var_list)
        self._accumulators, self._linears = self.add_optimizer_variables(
            var_list, ["accumulator", "linear"],
            initializer=[initializers.Constant(self.initial_accumulator_value), "zeros"],
        )

    def _backend_update_step(self, grads, variables, learning_rate):
        lr = to_float(learning_rate)
        power = -self.learning_rate_power
        l1 = self.l1_regularization_strength
        l2 = self.l2_regularization_strength + self.beta / (2.0 * lr)
        indices = self._indices(variables)
        params = [v.value for v in variables]
        accumulators = self._slots(self._accumulators, indices)
        linears = self._slots(self._linears, indices)

        grad_to_use = torch._foreach_add(grads, params, alpha=2 * self.l2_shrinkage_regularization_strength)
        new_accumulators = torch._foreach_addcmul(accumulators, grads, grads)
        new_powered = torch._foreach_pow(new_accumulators, power)
        sigma = torch._foreach_sub(new_powered, torch._foreach_pow(accumulators, power))
        torch._foreach_div_(sigma, lr)
        torch._foreach_mul_(sigma, params)
        torch._foreach_add_(linears, torch._foreach_sub(grad_to_use, sigma))
        quadratic = torch._foreach_div(new_powered, lr)
        torch._foreach_add_(quadratic, 2 * l2)
        clipped = torch._foreach_clamp_min(linears, -l1)
        torch._foreach_clamp_max_(clipped, l1)
        torch._foreach_sub_(clipped, linears)
        torch._foreach_div_(clipped, quadratic)
        torch._foreach_copy_(params, clipped)
        torch._foreach_copy_(accumulators, new_accumulators)

    def get_config(self):
        config = super().get_config()
        config.update({
            "learning_rate_power": self.learning_rate_power,
            "initial_accumulator_value": self.initial_accumulator_value,
            "l1_regularization_strength": self.l1_regularization_strength,
            "l2_regularization_strength": self.l2_regularization_strength,
            "l2_shrinkage_regularization_strength": self.l2_shrinkage_regularization_strength,
            "beta": self.beta,
        })
        return config
