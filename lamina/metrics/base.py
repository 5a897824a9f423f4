"""`Metric`: the base class of stateful metrics.

A metric keeps its state in non-trainable `lamina.Variable`s created with
`add_variable`, accumulates it with `update_state(y_true, y_pred, sample_weight)`
and computes the value with `result()`; `reset_state()` zeroes it again. State
lives on the device of the inputs: the first update with tensors on another
device moves the state there.

>>> import torch
>>> class Count(Metric):
...     def __init__(self, name="count", dtype=None):
...         super().__init__(name=name, dtype=dtype)
...         self.seen = self.add_variable(shape=(), initializer="zeros", name="seen")
...     def update_state(self, values, sample_weight=None):
...         self.seen.assign_add(torch.tensor(float(len(values))))
...     def result(self):
...         return self.seen.value.clone()
>>> m = Count()
>>> float(m([1, 2, 3])), [v.path for v in m.variables]
(3.0, ['count/seen'])
>>> m.reset_state(); float(m.result())
0.0
"""

import torch

from lamina.backend import config
from lamina.backend.dtypes import standardize_dtype
from lamina.backend.naming import to_snake_case, unique_name
from lamina.backend.variable import Variable
from lamina.metrics.utils import convert


class Metric:
    """Encapsulates metric state (Variables) and logic (`update_state`, `result`).

    Subclasses create their state in ``__init__`` (or lazily on the first update)
    with `add_variable`, implement `update_state` and `result`, and extend
    `get_config` with their constructor arguments.

    Args:
        name: the metric's name; defaults to the snake_case class name, made unique.
        dtype: the dtype of the state and of the result; defaults to floatx.
    """

    _keras_module = "keras.metrics"

    def __init__(self, name=None, dtype=None):
        if name is not None and not isinstance(name, str):
            raise TypeError(f"Metric name must be a string. Received: name={name!r}")
        self.name = name or unique_name(to_snake_case(type(self).__name__))
        self._dtype = standardize_dtype(dtype if dtype is not None else config.floatx())
        self._variables = []
        self._metrics = []

    # ---- state ----------------------------------------------------------------------
    @property
    def dtype(self):
        """The dtype name of the metric's state and result (e.g. ``'float32'``)."""
        return self._dtype

    def add_variable(self, shape, initializer, dtype=None, aggregation="sum", name=None, device=None):
        """Creates a non-trainable state Variable ``<metric name>/<name>`` and tracks it."""
        self._check_super_called()
        variable = Variable(
            initializer=initializer,
            shape=tuple(shape),
            dtype=dtype or self._dtype,
            trainable=False,
            name=name,
            path=f"{self.name.replace('/', '>')}/{name or 'variable'}",
            device=device if device is not None else self._state_device(),
            aggregation=aggregation,
        )
        self._variables.append(variable)
        return variable

    def add_weight(self, shape=(), initializer=None, dtype=None, name=None):
        """Alias of `add_variable` kept for Keras 2 code."""
        return self.add_variable(shape=shape, initializer=initializer or "zeros", dtype=dtype, name=name)

    @property
    def variables(self):
        """The state Variables of this metric, then those of nested metrics."""
        variables = list(self._variables)
        for metric in self._metrics:
            variables.extend(metric.variables)
        return variables

    # Keras exposes the same list under these names.
    weights = non_trainable_weights = non_trainable_variables = variables

    @property
    def trainable_weights(self):
        return []

    def __setattr__(self, name, value):
        if isinstance(value, Metric) and name != "_metrics" and "_metrics" in self.__dict__:
            if all(value is not m for m in self._metrics):
                self._metrics.append(value)
        super().__setattr__(name, value)

    def _check_super_called(self):
        if "_variables" not in self.__dict__:
            raise RuntimeError(
                f"{type(self).__name__}: call `super().__init__()` in `__init__()` before creating state."
            )

    def _state_device(self):
        for variable in self._variables:
            return variable.device
        return config.device()

    def _follow_device(self, tensor):
        """Moves the state to ``tensor``'s device when it lives elsewhere (once per device change)."""
        device = tensor.device
        for variable in self.variables:
            if variable.value.device != device:
                with torch.no_grad():
                    variable.value = torch.nn.Parameter(variable.value.to(device), requires_grad=False)
        return device

    def _convert(self, x, dtype=None, like=None):
        """``x`` as a detached tensor; tensors move the state to their device, other values join it.

        ``like`` (a tensor) gives the device for non-tensor values instead of the state's.
        """
        if isinstance(x, torch.Tensor) or isinstance(x, Variable):
            tensor = convert(x, dtype)
            if like is None:
                self._follow_device(tensor)
            elif tensor.device != like.device:
                tensor = tensor.to(like.device)
            return tensor
        return convert(x, dtype, like.device if like is not None else self._state_device())

    # ---- the protocol -----------------------------------------------------------------
    def update_state(self, *args, **kwargs):
        """Accumulates statistics for the metric."""
        raise NotImplementedError(f"{type(self).__name__} must implement `update_state()`.")

    def result(self):
        """The current value: a scalar tensor (or a tensor / dict of tensors)."""
        raise NotImplementedError(f"{type(self).__name__} must implement `result()`.")

    def reset_state(self):
        """Sets every state Variable back to zero (between epochs and evaluations)."""
        for variable in self.variables:
            with torch.no_grad():
                variable.value.zero_()

    def reset_states(self):
        """Keras 2 name of `reset_state`."""
        self.reset_state()

    def __call__(self, *args, **kwargs):
        """Updates the state with the arguments and returns `result()`."""
        self._check_super_called()
        self.update_state(*args, **kwargs)
        return self.result()

    # ---- serialization ---------------------------------------------------------------
    def get_config(self):
        """The constructor arguments (Keras 3 keys)."""
        return {"name": self.name, "dtype": self.dtype}

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def __repr__(self):
        return f"<{type(self).__name__} name={self.name}, dtype={self.dtype}>"

    __str__ = __repr__
