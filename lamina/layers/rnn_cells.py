"""What recurrent cells share: dropout masks, weight arguments, and `StackedRNNCells`.

A cell is a layer whose ``call(inputs, states)`` computes one timestep and returns
``(output, new_states)``; it declares ``state_size`` (and ``output_size``). `RNN`
runs a cell over the time axis. Dropout masks are drawn once per `RNN` call and
reused at every timestep, as Keras does; a cell called alone draws fresh masks.

>>> import torch
>>> from lamina import layers
>>> cells = layers.StackedRNNCells([layers.SimpleRNNCell(3), layers.SimpleRNNCell(2)])
>>> cells.state_size, cells.output_size
([3, 2], 2)
>>> out, states = cells(torch.ones(4, 5), [torch.zeros(4, 3), torch.zeros(4, 2)])
>>> tuple(out.shape), [tuple(s.shape) for s in states]
((4, 2), [(4, 3), (4, 2)])
"""

import contextlib

import torch

from lamina import activations, constraints, initializers, regularizers
from lamina.backend import config
from lamina.backend import random as lamina_random
from lamina.engine.layer import Layer
from lamina.layers.core import positive_int


def serialize_or_none(module, obj):
    return None if obj is None else module.serialize(obj)


def _rate(value, name, cls):
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"`{name}` of {cls} must be a float in [0, 1]. Received: {name}={value!r}")
    return min(1.0, max(0.0, float(value)))


class DropoutRNNCell:
    """Mixin: input and recurrent dropout masks, one draw per `RNN` call (Keras's ``DropoutRNNCell``).

    The cell defines ``dropout``, ``recurrent_dropout`` and ``seed_generator``; an
    optional ``dropout_mask_count`` asks for one mask per gate.
    """

    _mask_cache = None

    def _create_dropout_mask(self, step_input, rate):
        ones = torch.ones_like(step_input)
        count = getattr(self, "dropout_mask_count", None)
        if count is None:
            return lamina_random.dropout(ones, rate, seed=self.seed_generator)
        return [lamina_random.dropout(ones, rate, seed=self.seed_generator) for _ in range(count)]

    def _cached_mask(self, key, step_input, rate):
        if rate <= 0:
            return None
        cache = self._mask_cache
        if cache is not None and key in cache:
            return cache[key]
        mask = self._create_dropout_mask(step_input, rate)
        if cache is not None:
            cache[key] = mask
        return mask

    def get_dropout_mask(self, step_input):
        """The input dropout mask (``None`` when ``dropout`` is 0)."""
        return self._cached_mask("input", step_input, self.dropout)

    def get_recurrent_dropout_mask(self, step_input):
        """The recurrent-state dropout mask (``None`` when ``recurrent_dropout`` is 0)."""
        return self._cached_mask("recurrent", step_input, self.recurrent_dropout)

    def reset_dropout_mask(self):
        if self._mask_cache is not None:
            self._mask_cache.pop("input", None)

    def reset_recurrent_dropout_mask(self):
        if self._mask_cache is not None:
            self._mask_cache.pop("recurrent", None)


@contextlib.contextmanager
def dropout_mask_scope(cell):
    """Within the scope, ``cell`` (and stacked sub-cells) reuse one dropout mask per kind."""
    cells = [c for c in _all_cells(cell) if isinstance(c, DropoutRNNCell)]
    for c in cells:
        object.__setattr__(c, "_mask_cache", {})
    try:
        yield
    finally:
        for c in cells:
            object.__setattr__(c, "_mask_cache", None)


def _all_cells(cell):
    yield cell
    for sub in getattr(cell, "cells", None) or ():
        yield from _all_cells(sub)


class RecurrentCell(DropoutRNNCell, Layer):
    """Base of the built-in cells: the weight arguments every Keras cell takes.

    Args:
        units: positive int, the size of the output and of each state.
        activation, recurrent_activation: activation names or callables (``None``: linear).
        use_bias: whether the cell has a bias.
        kernel_initializer, recurrent_initializer, bias_initializer: initializers.
        kernel_regularizer, recurrent_regularizer, bias_regularizer: weight penalties.
        kernel_constraint, recurrent_constraint, bias_constraint: weight projections.
        dropout, recurrent_dropout: fractions in ``[0, 1]`` of inputs / states dropped in training.
        seed: int seed of the dropout masks.
    """

    kernel = recurrent_kernel = bias = None  # class defaults: the Parameters keep their Keras names in torch

    def __init__(self, units, activation="tanh", recurrent_activation="sigmoid", use_bias=True,
                 kernel_initializer="glorot_uniform", recurrent_initializer="orthogonal", bias_initializer="zeros",
                 kernel_regularizer=None, recurrent_regularizer=None, bias_regularizer=None, kernel_constraint=None,
                 recurrent_constraint=None, bias_constraint=None, dropout=0.0, recurrent_dropout=0.0, seed=None,
                 **kwargs):
        cls = type(self).__name__
        super().__init__(**kwargs)
        self.units = positive_int(units, "units", cls)
        self.activation = activations.get(activation)
        self.recurrent_activation = activations.get(recurrent_activation)
        self.use_bias = bool(use_bias)
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.recurrent_initializer = initializers.get(recurrent_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.recurrent_regularizer = regularizers.get(recurrent_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.kernel_constraint = constraints.get(kernel_constraint)
        self.recurrent_constraint = constraints.get(recurrent_constraint)
        self.bias_constraint = constraints.get(bias_constraint)
        self.dropout = _rate(dropout, "dropout", cls)
        self.recurrent_dropout = _rate(recurrent_dropout, "recurrent_dropout", cls)
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
            raise ValueError(f"The `seed` argument of {cls} must be an int or None. Received: seed={seed!r}")
        self.seed = seed
        self.seed_generator = lamina_random.SeedGenerator(seed)
        self.state_size = self.units
        self.output_size = self.units

    def _input_dim(self, input_shape):
        dim = input_shape[-1]
        if dim is None:
            raise ValueError(f'Layer "{self.name}" ({type(self).__name__}) needs a known last input dimension. '
                             f"Received: input_shape={tuple(input_shape)}")
        return dim

    def _add_weights(self, input_dim, gates, bias_shape, bias_initializer=None):
        self.kernel = self.add_weight(shape=(input_dim, gates * self.units), initializer=self.kernel_initializer,
                                      regularizer=self.kernel_regularizer, constraint=self.kernel_constraint,
                                      name="kernel")
        self.recurrent_kernel = self.add_weight(shape=(self.units, gates * self.units),
                                                initializer=self.recurrent_initializer,
                                                regularizer=self.recurrent_regularizer,
                                                constraint=self.recurrent_constraint, name="recurrent_kernel")
        if self.use_bias:
            self.bias = self.add_weight(shape=bias_shape, initializer=bias_initializer or self.bias_initializer,
                                        regularizer=self.bias_regularizer, constraint=self.bias_constraint,
                                        name="bias")

    def get_initial_state(self, batch_size=None):
        """Zero states, one ``(batch_size, size)`` tensor per entry of ``state_size``."""
        sizes = self.state_size if isinstance(self.state_size, (list, tuple)) else [self.state_size]
        return [torch.zeros((batch_size, s), dtype=self._dtype_policy.torch_compute_dtype, device=config.device())
                for s in sizes]

    def _config_values(self):
        return {
            "units": self.units,
            "activation": activations.serialize(self.activation),
            "recurrent_activation": activations.serialize(self.recurrent_activation),
            "use_bias": self.use_bias,
            "unit_forget_bias": getattr(self, "unit_forget_bias", None),
            "kernel_initializer": initializers.serialize(self.kernel_initializer),
            "recurrent_initializer": initializers.serialize(self.recurrent_initializer),
            "bias_initializer": initializers.serialize(self.bias_initializer),
            "kernel_regularizer": serialize_or_none(regularizers, self.kernel_regularizer),
            "recurrent_regularizer": serialize_or_none(regularizers, self.recurrent_regularizer),
            "bias_regularizer": serialize_or_none(regularizers, self.bias_regularizer),
            "kernel_constraint": serialize_or_none(constraints, self.kernel_constraint),
            "recurrent_constraint": serialize_or_none(constraints, self.recurrent_constraint),
            "bias_constraint": serialize_or_none(constraints, self.bias_constraint),
            "dropout": self.dropout,
            "recurrent_dropout": self.recurrent_dropout,
            "reset_after": getattr(self, "reset_after", None),
            "seed": self.seed,
        }

    def _weight_config(self, keys):
        values = self._config_values()
        return {**Layer.get_config(self), **{k: values[k] for k in keys}}

    def __repr__(self):
        return f"<{type(self).__name__} name={self.name}, units={self.units}, built={self.built}>"


def dropped(x, mask, index=None):
    """``x * mask`` (or the ``index``-th of a list of masks); ``x`` when there is no mask."""
    if mask is None:
        return x
    return x * (mask[index] if isinstance(mask, list) else mask)


class StackedRNNCells(Layer):
    """Stacks cells into one cell: each cell's output is the next cell's input.

    Args:
        cells: a list of cells (layers with ``call(inputs, states)`` and ``state_size``).

    The states are a list with one entry per cell (that cell's states).
    """

    def __init__(self, cells, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(cells, (list, tuple)) or not cells:
            raise ValueError(f"StackedRNNCells expects a non-empty list of cells. Received: cells={cells!r}")
        for cell in cells:
            if not callable(getattr(cell, "call", None)):
                raise ValueError(f"All cells must have a `call` method. Received cell without a `call` method: {cell}")
            if getattr(cell, "state_size", None) is None:
                raise ValueError(f"All cells must have a `state_size` attribute. Received: {cell}")
        self.cells = list(cells)

    @property
    def state_size(self):
        return [c.state_size for c in self.cells]

    @property
    def output_size(self):
        last = self.cells[-1]
        if getattr(last, "output_size", None) is not None:
            return last.output_size
        return last.state_size[0] if isinstance(last.state_size, (list, tuple)) else last.state_size

    def get_initial_state(self, batch_size=None):
        states = []
        for cell in self.cells:
            if hasattr(cell, "get_initial_state"):
                states.append(cell.get_initial_state(batch_size=batch_size))
            else:
                sizes = cell.state_size if isinstance(cell.state_size, (list, tuple)) else [cell.state_size]
                states.append([torch.zeros((batch_size, s), dtype=self._dtype_policy.torch_compute_dtype,
                                           device=config.device()) for s in sizes])
        return states

    def build(self, input_shape):
        for cell in self.cells:
            if isinstance(cell, Layer) and not cell.built:
                cell.build(tuple(input_shape))
                cell.built = True
            size = getattr(cell, "output_size", None)
            if size is None:
                size = cell.state_size[0] if isinstance(cell.state_size, (list, tuple)) else cell.state_size
            input_shape = (input_shape[0], size)

    def call(self, inputs, states, training=False):
        new_states = []
        for cell, cell_states in zip(self.cells, states):
            nested = isinstance(cell_states, (list, tuple))
            cell_states = list(cell_states) if nested else [cell_states]
            kwargs = {"training": training} if getattr(cell, "_call_has_training", False) else {}
            step = cell.call if isinstance(cell, Layer) else cell
            inputs, cell_states = step(inputs, cell_states, **kwargs)
            if not isinstance(cell_states, (list, tuple)):
                cell_states = [cell_states]
            new_states.append(list(cell_states) if nested or len(cell_states) > 1 else cell_states[0])
        return inputs, new_states

    def get_config(self):
        from lamina.layers.serialization import serialize

        return {**super().get_config(), "cells": [serialize(c) for c in self.cells]}

    @classmethod
    def from_config(cls, config, custom_objects=None):
        from lamina.layers.serialization import deserialize

        config = dict(config)
        config["cells"] = [deserialize(c, custom_objects=custom_objects) for c in config.pop("cells")]
        return super().from_config(config)
