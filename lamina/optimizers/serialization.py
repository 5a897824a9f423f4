"""Optimizer state in and out: `set_weights`, the weights-file hooks, Keras 3 configs and ``repr``.

``save_own_variables``/``load_own_variables`` write and read ``optimizer.variables`` under
the keys ``"0"``, ``"1"``, ... as Keras 3 weights files store them (``optimizer/vars``).

>>> from lamina.optimizers import SGD
>>> store = {}
>>> SGD(learning_rate=0.5).save_own_variables(store)
>>> sorted(store), float(store["1"])
(['0', '1'], 0.5)
"""

import warnings

import numpy as np
import torch

from lamina.backend.variable import Variable
from lamina.optimizers import schedules


class OptimizerSerialization:
    """Mixed into `Optimizer`: weights, configs and ``repr``."""

    def set_weights(self, weights):
        """Assigns ``weights`` (arrays in `variables` order) to the optimizer's Variables."""
        if not self.built:
            raise ValueError(
                "You are calling `set_weights()` on an optimizer that has not yet been built. Please call "
                "`optimizer.build(trainable_variables)` to create the optimizer weights before calling `set_weights()`."
            )
        for variable, weight in zip(self._variables, weights):
            if tuple(variable.shape) != tuple(np.shape(weight)):
                raise ValueError(
                    f"Optimizer variable {variable.path} has shape {variable.shape} not compatible with provided "
                    f"weight shape {tuple(np.shape(weight))}."
                )
            variable.assign(weight)

    def save_own_variables(self, store):
        """Writes the Variables into ``store`` under keys ``'0'``, ``'1'``, ... (Keras weights files)."""
        for i, variable in enumerate(self._variables):
            store[str(i)] = variable.numpy()

    def load_own_variables(self, store):
        """Reads the Variables from ``store``; warns and skips when the count differs (as Keras)."""
        if len(store.keys()) != len(self._variables):
            message = (
                f"Skipping variable loading for optimizer '{self.name}', because it has {len(self._variables)} "
                f"variables whereas the saved optimizer has {len(store.keys())} variables. "
            )
            if len(self._variables) == 0:
                message += "This is likely because the optimizer has not been called/built yet."
            warnings.warn(message, stacklevel=2)
            return
        for i, variable in enumerate(self._variables):
            variable.assign(store[str(i)])

    def get_config(self):
        """The constructor arguments, with Keras 3 keys (a schedule is serialized)."""
        lr = self._learning_rate
        if isinstance(lr, schedules.LearningRateSchedule):
            learning_rate = schedules.serialize(lr)
        elif isinstance(lr, Variable):
            learning_rate = float(lr.numpy())
        elif isinstance(lr, torch.Tensor):
            learning_rate = float(lr)
        else:
            from lamina.saving import registry

            learning_rate = registry.serialize_keras_object(lr)
        return {
            "name": self.name,
            "learning_rate": learning_rate,
            "weight_decay": self.weight_decay,
            "clipnorm": self.clipnorm,
            "global_clipnorm": self.global_clipnorm,
            "clipvalue": self.clipvalue,
            "use_ema": self.use_ema,
            "ema_momentum": self.ema_momentum,
            "ema_overwrite_frequency": self.ema_overwrite_frequency,
            "loss_scale_factor": self.loss_scale_factor,
            "gradient_accumulation_steps": self.gradient_accumulation_steps,
        }

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = dict(config)
        if isinstance(config.get("learning_rate"), dict):
            config["learning_rate"] = schedules.deserialize(config["learning_rate"], custom_objects=custom_objects)
        return cls(**config)

    def __repr__(self):
        lr = self._learning_rate
        lr_text = f"{float(lr.numpy()):.6g}" if isinstance(lr, Variable) else repr(lr)
        return (f"<{type(self).__name__} name={self.name}, learning_rate={lr_text}, "
                f"iterations={int(self._iterations.value)}, built={self.built}>")

