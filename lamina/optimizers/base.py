"""`Optimizer`: the Keras 3 optimizer base class over in-place, multi-tensor torch updates.

The state is lamina `Variable`s, ordered as Keras orders ``optimizer.variables`` (the
weights files depend on it): ``iteration``, ``learning_rate`` (absent when it is a
schedule or callable), the EMA averages, the gradient accumulators, then each
optimizer's slots interleaved per model variable (``hidden_kernel_momentum``,
``hidden_kernel_velocity``, ``hidden_bias_momentum``, ...). ``iteration`` and
``learning_rate`` live on the host so reading them each step never waits for an
accelerator. An update runs the Keras pipeline (drop ``None`` gradients, unscale,
accumulate, clip, decoupled weight decay, update, EMA, constraints, count) with
``torch._foreach_*`` ops over all variables at once.

>>> import lamina, torch
>>> from lamina.optimizers import SGD
>>> w = lamina.Variable([1.0, 2.0], name="w")
>>> optimizer = SGD(learning_rate=0.1)
>>> optimizer.apply([torch.tensor([1.0, -1.0])], [w])
>>> [round(x, 4) for x in w.numpy().tolist()], int(optimizer.iterations)
([0.9, 2.1], 1)
"""

import warnings

import numpy as np
import torch

from lamina.backend import config
from lamina.backend.naming import to_snake_case, unique_name
from lamina.backend.variable import Variable
from lamina.optimizers import gradients as gradient_ops
from lamina.optimizers import schedules
from lamina.optimizers.gradients import to_float
from lamina.optimizers.serialization import OptimizerSerialization
from lamina.optimizers.weight_decay_ema import WeightDecayAndEMA

_BASE_ARGUMENTS = ("weight_decay", "clipnorm", "clipvalue", "global_clipnorm", "use_ema", "ema_momentum",
                   "ema_overwrite_frequency", "loss_scale_factor", "gradient_accumulation_steps")


def base_arguments(arguments):
    """The base `Optimizer` arguments picked from a subclass's ``locals()``."""
    return {key: arguments[key] for key in _BASE_ARGUMENTS}


def _is_float(value):
    return isinstance(value, (float, np.floating)) and not isinstance(value, bool)


class Optimizer(WeightDecayAndEMA, OptimizerSerialization):
    """Base class of lamina optimizers, with Keras 3's arguments and behaviour.

    Subclasses create their slots in ``build`` with `add_optimizer_variables` and
    implement ``_backend_update_step(grads, variables, learning_rate)`` over whole
    lists, or ``update_step(gradient, variable, learning_rate)`` for one variable
    (the Keras custom-optimizer API, run in a loop).

    Args:
        learning_rate: a float, a `LearningRateSchedule` (called with ``iterations``)
            or a callable without arguments returning the rate.
        weight_decay: if set, each step first scales the variables by
            ``1 - weight_decay * learning_rate`` (see `exclude_from_weight_decay`).
        clipnorm: clips each gradient to this L2 norm.
        clipvalue: clips each gradient element to ``[-clipvalue, clipvalue]``.
        global_clipnorm: clips all gradients together to this global L2 norm.
        use_ema: keep an exponential moving average of the variables.
        ema_momentum: the EMA momentum.
        ema_overwrite_frequency: every this many steps the variables are replaced
            by their EMA (``None``: only through `finalize_variable_values`).
        loss_scale_factor: the loss is multiplied by it and the gradients divided.
        gradient_accumulation_steps: update every this many calls with the mean of
            the gradients since the last update.
        name: the name, used as the path prefix of the optimizer's variables.
    """

    _keras_module = "keras.optimizers"

    def __init__(self, learning_rate, weight_decay=None, clipnorm=None, clipvalue=None, global_clipnorm=None,
                 use_ema=False, ema_momentum=0.99, ema_overwrite_frequency=None, loss_scale_factor=None,
                 gradient_accumulation_steps=None, name=None, **kwargs):
        object.__setattr__(self, "_variables", [])
        object.__setattr__(self, "_variable_ids", set())
        if kwargs.pop("decay", None) is not None:
            warnings.warn("Argument `decay` is no longer supported and will be ignored.", stacklevel=2)
        if kwargs:
            raise ValueError(f"Argument(s) not recognized: {kwargs}")
        self.name = name if name is not None else unique_name(to_snake_case(type(self).__name__))
        self.weight_decay = weight_decay
        self.clipnorm = clipnorm
        self.global_clipnorm = global_clipnorm
        self.clipvalue = clipvalue
        self.use_ema = use_ema
        self.loss_scale_factor = loss_scale_factor
        self.gradient_accumulation_steps = gradient_accumulation_steps
        if gradient_accumulation_steps and not gradient_accumulation_steps >= 2:
            raise ValueError(
                "`gradient_accumulation_steps` must be an integer >= 2. "
                f"Received: gradient_accumulation_steps={gradient_accumulation_steps}"
            )
        if use_ema:
            if ema_momentum > 1 or ema_momentum < 0:
                raise ValueError(f"`ema_momentum` must be in the range [0, 1]. Received: ema_momentum={ema_momentum}")
            frequency = ema_overwrite_frequency
            if frequency and (not isinstance(frequency, int) or frequency < 1):
                raise ValueError(
                    "`ema_overwrite_frequency` must be an integer >= 1 or None. "
                    f"Received: ema_overwrite_frequency={ema_overwrite_frequency}"
                )
        self.ema_momentum = ema_momentum
        self.ema_overwrite_frequency = ema_overwrite_frequency
        if sum(a is not None for a in (clipnorm, clipvalue, global_clipnorm)) > 1:
            raise ValueError(
                "Only one of `clipnorm`, `clipvalue` and `global_clipnorm` can be set. "
                f"Received: clipnorm={clipnorm}, clipvalue={clipvalue}, global_clipnorm={global_clipnorm}"
            )
        self.built = False
        self._trainable_variables = []
        self._trainable_variables_indices = {}
        self._iterations = self._add_scalar(0, "iteration", "int64")
        if isinstance(learning_rate, schedules.LearningRateSchedule) or callable(learning_rate):
            self._learning_rate = learning_rate
        else:
            if not _is_float(learning_rate):
                raise ValueError(
                    "Argument `learning_rate` should be float, or an instance of LearningRateSchedule, or a callable "
                    "(that takes in the current iteration value and returns the corresponding learning rate value). "
                    f"Received instead: learning_rate={learning_rate}"
                )
            self._learning_rate = self._add_scalar(float(learning_rate), "learning_rate", config.floatx())

    # ---- state -------------------------------------------------------------------
    def __setattr__(self, name, value):
        # Like Keras, a state Variable set as an attribute (e.g. in a custom ``build``) is tracked.
        if isinstance(value, Variable):
            self._track_variable(value)
        object.__setattr__(self, name, value)

    def _track_variable(self, variable):
        if id(variable) not in self._variable_ids:
            self._variable_ids.add(id(variable))
            self._variables.append(variable)

    def _untrack_variable(self, variable):
        if id(variable) in self._variable_ids:
            self._variable_ids.discard(id(variable))
            self._variables.remove(next(v for v in self._variables if v is variable))

    def _add_scalar(self, value, name, dtype):
        variable = Variable(value, dtype=dtype, trainable=False, name=name, path=f"{self.name}/{name}", device="cpu")
        self._track_variable(variable)
        return variable

    @property
    def variables(self):
        """All state Variables, in Keras order (the order weights files store them in)."""
        return self._variables[:]

    @property
    def iterations(self):
        """The step counter; counts updates (not calls) when gradients are accumulated."""
        if self.gradient_accumulation_steps:
            return torch.floor_divide(self._iterations.value.detach(), self.gradient_accumulation_steps)
        return self._iterations

    def _update_count(self):
        """``int(iterations)``, the number of updates applied so far."""
        count = int(self._iterations.value)
        return count // self.gradient_accumulation_steps if self.gradient_accumulation_steps else count

    @property
    def learning_rate(self):
        return self._get_current_learning_rate()

    @learning_rate.setter
    def learning_rate(self, learning_rate):
        previous = self._learning_rate if isinstance(self._learning_rate, Variable) else None
        if isinstance(learning_rate, schedules.LearningRateSchedule) or callable(learning_rate):
            object.__setattr__(self, "_learning_rate", learning_rate)
        elif isinstance(self._learning_rate, schedules.LearningRateSchedule):
            raise TypeError(
                "This optimizer was created with a `LearningRateSchedule` object as its `learning_rate` constructor "
                "argument, hence its learning rate is not settable. If you need the learning rate to be settable, "
                "you should instantiate the optimizer with a float `learning_rate` argument."
            )
        elif previous is None:
            # Going from a callable back to a float: a new learning_rate Variable.
            self._learning_rate = self._add_scalar(to_float(learning_rate), "learning_rate", config.floatx())
        else:
            previous.assign(learning_rate)
        if previous is not None and not isinstance(self._learning_rate, Variable):
            self._untrack_variable(previous)

    def _get_current_learning_rate(self):
        if isinstance(self._learning_rate, schedules.LearningRateSchedule):
            return self._learning_rate(self._iterations)
        if callable(self._learning_rate) and not isinstance(self._learning_rate, Variable):
            return self._learning_rate()
        return self._learning_rate

    # ---- building ------------------------------------------------------------------
    def build(self, var_list):
        """Creates the state for ``var_list``: EMA averages and gradient accumulators here, slots in subclasses."""
        var_list = list(var_list)
        for i, variable in enumerate(var_list):
            self._trainable_variables_indices[id(variable)] = i
        if self.use_ema:
            self._model_variables_moving_average = self.add_optimizer_variables(var_list, "average")
        if self.gradient_accumulation_steps:
            self._accumulated_gradients = self.add_optimizer_variables(var_list, "gradient_accumulator")
        self._trainable_variables = var_list[:]
        self._all_indices = list(range(len(var_list)))
        self.built = True

    def add_variable(self, shape, initializer="zeros", dtype=None, aggregation="none", name=None, device=None):
        """Creates and tracks a non-trainable state Variable with path ``'<optimizer name>/<name>'``."""
        name = name or unique_name("variable")
        variable = Variable(initializer, shape=shape, dtype=dtype or config.floatx(), trainable=False, name=name,
                            path=f"{self.name}/{name}", aggregation=aggregation, device=device)
        self._track_variable(variable)
        return variable

    def add_variable_from_reference(self, reference_variable, name=None, initializer="zeros"):
        """A Variable shaped like ``reference_variable``, named ``'<its path with _>_<name>'``."""
        prefix = getattr(reference_variable, "path", None) or str(reference_variable.name).replace(":", "_")
        return self.add_variable(reference_variable.shape, initializer=initializer, dtype=reference_variable.dtype,
                                 name=f"{prefix.replace('/', '_')}_{name or 'var'}",
                                 device=getattr(reference_variable, "device", None))

    def add_optimizer_variables(self, trainable_variables, name, initializer="zeros"):
        """One slot per variable per name, interleaved per variable; a list per name (a list for a str name)."""
        names = [name] if isinstance(name, str) else list(name)
        initializers = [initializer] * len(names) if not isinstance(initializer, (list, tuple)) else list(initializer)
        if len(names) != len(initializers):
            raise ValueError(
                "The number of provided names must match the number of provided initializers. "
                f"Received name='{name}', initializer='{initializer}'"
            )
        slots = tuple([] for _ in names)
        for variable in trainable_variables:
            for i, (slot_name, slot_init) in enumerate(zip(names, initializers)):
                slots[i].append(self.add_variable_from_reference(variable, name=slot_name, initializer=slot_init))
        return slots[0] if isinstance(name, str) else slots

    def _var_key(self, variable):
        return id(variable)

    def _get_variable_index(self, variable):
        return self._trainable_variables_indices[id(variable)]

    # ---- applying gradients ---------------------------------------------------------
    def apply_gradients(self, grads_and_vars):
        """Applies ``[(gradient, variable), ...]``; returns the iterations Variable (as tf.keras)."""
        pairs = list(grads_and_vars)
        if pairs:
            grads, variables = zip(*pairs)
            self.apply(list(grads), list(variables))
        return self._iterations

    @torch.compiler.disable  # the update reads step counts as Python numbers: keep it out of compiled graphs
    def apply(self, grads, trainable_variables=None):
        """Updates ``trainable_variables`` (default: those the optimizer was built with) with ``grads``."""
        grads = list(grads)
        if not grads:
            return
        variables = self._resolve_variables(grads, trainable_variables)
        grads, variables = gradient_ops.prepare(grads, variables)
        with torch.no_grad():
            if self.loss_scale_factor is not None:
                grads = torch._foreach_div(grads, self.loss_scale_factor)
            if self.gradient_accumulation_steps:
                self._accumulate_and_update(grads, variables)
            else:
                self._clip_decay_and_update(grads, variables)
            if self.use_ema:
                self._update_ema()
            for variable in variables:
                if variable.constraint is not None:
                    variable.apply_constraint()
            self._iterations.value.add_(self._one_step())

    def _one_step(self):
        """A 0-d 1 like the iteration counter (adding a Python number costs a few us more per step)."""
        counter = self._iterations.value
        one = self.__dict__.get("_one")
        if one is None or one.device != counter.device or one.dtype != counter.dtype:
            one = torch.ones((), dtype=counter.dtype, device=counter.device)
            self.__dict__["_one"] = one
        return one

    def _resolve_variables(self, grads, trainable_variables):
        if trainable_variables is None:
            if not self.built:
                raise ValueError(
                    "When passing `grads` without `variables`, the optimizer must already be built on a list of "
                    "variables. Call `optimizer.build(trainable_variables)` first."
                )
            if len(grads) != len(self._trainable_variables):
                raise ValueError(
                    "When passing `grads` as a list of gradient tensors, the gradients must match "
                    f"`optimizer.variables` one-to-one. Received a list of {len(grads)} gradients, but the "
                    f"optimizer is tracking {len(self._trainable_variables)} trainable variables."
                )
            return self._trainable_variables
        variables = list(trainable_variables)
        if len(grads) != len(variables):
            raise ValueError(
                f"Optimizer '{self.name}' needs one gradient per variable. "
                f"Received: len(grads)={len(grads)}, len(trainable_variables)={len(variables)}"
            )
        if not self.built:
            self.build(variables)
        known = self._trainable_variables_indices
        for variable in variables:
            if id(variable) not in known:
                raise ValueError(
                    f"Unknown variable: {variable}. This optimizer can only be called for the variables it was "
                    "originally built with. When working with a new set of variables, you should recreate a new "
                    "optimizer instance."
                )
        return variables

    def _clip_decay_and_update(self, grads, variables):
        grads = self._clip_gradients(grads)
        learning_rate = self.learning_rate
        self._apply_weight_decay(variables, learning_rate)
        self._backend_update_step(grads, variables, learning_rate)

    def _accumulate_and_update(self, grads, variables):
        steps = self.gradient_accumulation_steps
        accumulators = [self._accumulated_gradients[self._get_variable_index(v)].value for v in variables]
        if (int(self._iterations.value) + 1) % steps == 0:
            grads = torch._foreach_add(grads, accumulators)
            torch._foreach_div_(grads, steps)
            self._clip_decay_and_update(grads, variables)
            torch._foreach_zero_([v.value for v in self._accumulated_gradients])
        else:
            torch._foreach_add_(accumulators, grads)

    def _clip_gradients(self, grads):
        if self.clipnorm and self.clipnorm > 0:
            return gradient_ops.clip_by_norm(grads, self.clipnorm)
        if self.global_clipnorm and self.global_clipnorm > 0:
            return gradient_ops.clip_by_global_norm(grads, self.global_clipnorm)
        if self.clipvalue and self.clipvalue > 0:
            return gradient_ops.clip_by_value(grads, self.clipvalue)
        return grads

    def _backend_update_step(self, grads, trainable_variables, learning_rate):
        """Updates all variables; built-in optimizers override this with multi-tensor ops."""
        for grad, variable in zip(grads, trainable_variables):
            self.update_step(grad, variable, learning_rate)

    def update_step(self, gradient, variable, learning_rate):
        raise NotImplementedError(f"{type(self).__name__}.update_step() must be implemented.")

    def _slots(self, slots, indices):
        """The tensors of ``slots`` (a per-variable list) for the variables at ``indices``."""
        return [slots[i].value for i in indices]

    def _indices(self, variables):
        index = self._trainable_variables_indices
        return [index[id(v)] for v in variables]

    def assign(self, variable, value):
        variable.assign(value)

    def assign_add(self, variable, value):
        variable.assign_add(value)

    def assign_sub(self, variable, value):
        variable.assign_sub(value)

    # ---- losses and gradients -------------------------------------------------------
    def scale_loss(self, loss):
        """Multiplies ``loss`` by ``loss_scale_factor`` when one is set."""
        return loss * self.loss_scale_factor if self.loss_scale_factor is not None else loss

    def minimize(self, loss, var_list, tape=None):
        """Computes the gradients of ``loss`` and applies them to ``var_list``.

        Args:
            loss: a scalar tensor, or a callable without arguments returning one.
            var_list: the Variables, or a callable returning them (called after ``loss``).
            tape: an optional `lamina.GradientTape` that recorded ``loss``.
        """
        grads, variables = gradient_ops.compute_gradients(loss, var_list, tape)
        self.apply(grads, variables)
