"""Decoupled weight decay and the exponential moving average of variables, as Keras 3 applies them.

Weight decay scales each included variable by ``1 - weight_decay * learning_rate`` before
the update; the EMA keeps ``average = m * average + (1 - m) * variable`` after it, with
``m = 0`` on the first update (the average starts at the variable) and ``ema_momentum``
after. Both run as one multi-tensor op over all variables.

>>> import lamina, torch
>>> from lamina.optimizers import SGD
>>> w = lamina.Variable([1.0], name="w")
>>> optimizer = SGD(learning_rate=0.5, weight_decay=0.2, use_ema=True)
>>> optimizer.apply([torch.tensor([0.0])], [w])  # w *= 1 - 0.2 * 0.5
>>> round(float(w.numpy()[0]), 4), round(float(optimizer.variables[2].numpy()[0]), 4)
(0.9, 0.9)
"""

import re

import numpy as np
import torch

from lamina.optimizers.gradients import to_float


class WeightDecayAndEMA:
    """Mixed into `Optimizer`: `exclude_from_weight_decay`, `finalize_variable_values` and their steps."""

    def exclude_from_weight_decay(self, var_list=None, var_names=None):
        """Excludes ``var_list`` and variables whose name contains one of ``var_names`` from weight decay."""
        self._exclude_from_weight_decay = {id(v) for v in var_list} if var_list else set()
        self._exclude_from_weight_decay_pattern = re.compile("|".join(set(var_names))) if var_names else None
        self._exclude_from_weight_decay_cache = {}

    def _use_weight_decay(self, variable):
        cache = self.__dict__.setdefault("_exclude_from_weight_decay_cache", {})
        key = id(variable)
        if key not in cache:
            pattern = getattr(self, "_exclude_from_weight_decay_pattern", None)
            excluded = key in getattr(self, "_exclude_from_weight_decay", ()) or (
                pattern is not None and pattern.search(variable.name) is not None
            )
            cache[key] = not excluded
        return cache[key]

    def _apply_weight_decay(self, variables, learning_rate):
        if self.weight_decay is None:
            return
        decayed = [v.value for v in variables if self._use_weight_decay(v)]
        if decayed:
            factor = np.float32(1.0) - np.float32(self.weight_decay) * np.float32(to_float(learning_rate))
            torch._foreach_mul_(decayed, float(factor))

    # ---- EMA ------------------------------------------------------------------------
    def _update_ema(self):
        momentum = self.ema_momentum if self._update_count() != 0 else 0.0
        averages = [v.value for v in self._model_variables_moving_average]
        torch._foreach_mul_(averages, momentum)
        torch._foreach_add_(averages, [v.value for v in self._trainable_variables], alpha=1 - momentum)
        if self.ema_overwrite_frequency and (self._update_count() + 1) % self.ema_overwrite_frequency == 0:
            self._overwrite_model_variables_with_average_value(self._trainable_variables)

    def _overwrite_model_variables_with_average_value(self, trainable_variables):
        averages = self._model_variables_moving_average
        if len(trainable_variables) != len(averages):
            raise ValueError(
                f"The length of model variables ({len(trainable_variables)}) to override does not match the length "
                f"of model variables stored in the optimizer ({len(averages)}). Please check if the optimizer was "
                "called on your model."
            )
        with torch.no_grad():
            torch._foreach_copy_([v.value for v in trainable_variables], [a.value for a in averages])

    def finalize_variable_values(self, var_list):
        """With ``use_ema``, replaces the values of ``var_list`` by their moving averages."""
        if self.use_ema:
            self._overwrite_model_variables_with_average_value(list(var_list))

