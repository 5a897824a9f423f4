"""`SimpleRNNCell` and `SimpleRNN`: ``h' = activation(x @ kernel + h @ recurrent_kernel + bias)``.

Weights (owned by the cell, paths ``simple_rnn/simple_rnn_cell/...``): ``kernel
(input_dim, u)``, ``recurrent_kernel (u, u)``, ``bias (u,)``. With a tanh or relu
activation the layer runs on torch's fused Elman kernels (``torch._VF.rnn_tanh`` /
``rnn_relu``).

>>> import torch
>>> rnn = SimpleRNN(3, return_sequences=True)
>>> rnn(torch.ones(2, 4, 5)).shape, rnn.last_call_path
(torch.Size([2, 4, 3]), 'fused')
"""

import torch

from lamina import activations
from lamina.engine.input_spec import InputSpec
from lamina.layers.rnn_base import RNN, forward_to_cell
from lamina.layers.rnn_cells import RecurrentCell, dropped
from lamina.layers.rnn_fused import simple_params

_CELL_KEYS = ("units", "activation", "use_bias", "kernel_initializer", "recurrent_initializer", "bias_initializer",
              "kernel_regularizer", "recurrent_regularizer", "bias_regularizer", "kernel_constraint",
              "recurrent_constraint", "bias_constraint", "dropout", "recurrent_dropout", "seed")
# Keras 3's SimpleRNN config has no `seed` (its constructor takes one).
_LAYER_KEYS = _CELL_KEYS[:9] + ("activity_regularizer",) + _CELL_KEYS[9:14]


class SimpleRNNCell(RecurrentCell):
    """One fully-connected recurrent step; `SimpleRNN` runs it over a sequence.

    Args:
        units: positive int, dimensionality of the output and state.
        activation: default ``'tanh'``.
        use_bias, kernel_initializer (``'glorot_uniform'``), recurrent_initializer (``'orthogonal'``),
        bias_initializer (``'zeros'``), regularizers, constraints: as in `Dense`.
        dropout, recurrent_dropout: dropout rates of the inputs / of the state, in training.
        seed: seed of the dropout masks.

    Call arguments:
        inputs: ``(batch, features)``; states: ``[h]`` or ``h``, ``(batch, units)``.

    Returns:
        ``(h', [h'])`` (``(h', h')`` when ``states`` is a tensor).
    """

    def __init__(self, units, activation="tanh", use_bias=True, kernel_initializer="glorot_uniform",
                 recurrent_initializer="orthogonal", bias_initializer="zeros", kernel_regularizer=None,
                 recurrent_regularizer=None, bias_regularizer=None, kernel_constraint=None, recurrent_constraint=None,
                 bias_constraint=None, dropout=0.0, recurrent_dropout=0.0, seed=None, **kwargs):
        super().__init__(units, activation, None, use_bias, kernel_initializer, recurrent_initializer,
                         bias_initializer, kernel_regularizer, recurrent_regularizer, bias_regularizer,
                         kernel_constraint, recurrent_constraint, bias_constraint, dropout, recurrent_dropout, seed,
                         **kwargs)

    def build(self, input_shape):
        self._add_weights(self._input_dim(input_shape), 1, (self.units,))

    def call(self, inputs, states, training=False):
        nested = isinstance(states, (list, tuple))
        h = states[0] if nested else states
        dp = self.get_dropout_mask(inputs) if training else None
        rec = self.get_recurrent_dropout_mask(h) if training else None
        z = dropped(inputs, dp) @ self.kernel.value
        if self.bias is not None:
            z = z + self.bias.value
        output = self.activation(z + dropped(h, rec) @ self.recurrent_kernel.value)
        return output, ([output] if nested else output)

    def get_config(self):
        return self._weight_config(_CELL_KEYS)


class SimpleRNN(RNN):
    """Fully-connected RNN whose output is fed back as its state (Keras 3 arguments and defaults).

    Args:
        units: positive int, dimensionality of the output.
        activation, use_bias, kernel_initializer, recurrent_initializer, bias_initializer,
        kernel_regularizer, recurrent_regularizer, bias_regularizer, kernel_constraint,
        recurrent_constraint, bias_constraint, dropout, recurrent_dropout, seed: passed to
        the `SimpleRNNCell`.
        activity_regularizer: penalty on the output.
        return_sequences, return_state, go_backwards, stateful, unroll: see `RNN`.

    Input shape:
        ``(batch, timesteps, features)``.

    Output shape:
        ``(batch, units)`` or ``(batch, timesteps, units)``; with ``return_state``
        followed by the final state ``(batch, units)``.
    """

    def __init__(self, units, activation="tanh", use_bias=True, kernel_initializer="glorot_uniform",
                 recurrent_initializer="orthogonal", bias_initializer="zeros", kernel_regularizer=None,
                 recurrent_regularizer=None, bias_regularizer=None, activity_regularizer=None, kernel_constraint=None,
                 recurrent_constraint=None, bias_constraint=None, dropout=0.0, recurrent_dropout=0.0,
                 return_sequences=False, return_state=False, go_backwards=False, stateful=False, unroll=False,
                 seed=None, **kwargs):
        cell = SimpleRNNCell(units, activation=activation, use_bias=use_bias, kernel_initializer=kernel_initializer,
                             recurrent_initializer=recurrent_initializer, bias_initializer=bias_initializer,
                             kernel_regularizer=kernel_regularizer, recurrent_regularizer=recurrent_regularizer,
                             bias_regularizer=bias_regularizer, kernel_constraint=kernel_constraint,
                             recurrent_constraint=recurrent_constraint, bias_constraint=bias_constraint,
                             dropout=dropout, recurrent_dropout=recurrent_dropout, seed=seed,
                             dtype=kwargs.get("dtype"), trainable=kwargs.get("trainable", True),
                             name="simple_rnn_cell")
        super().__init__(cell, return_sequences=return_sequences, return_state=return_state,
                         go_backwards=go_backwards, stateful=stateful, unroll=unroll,
                         activity_regularizer=activity_regularizer, **kwargs)
        self.input_spec = InputSpec(ndim=3)

    def _fused_params(self, training):
        cell = self.cell
        kernels = {activations.tanh: torch._VF.rnn_tanh, activations.relu: torch._VF.rnn_relu}
        kernel = kernels.get(cell.activation)
        if kernel is None or (training and cell.recurrent_dropout):
            return None
        bias = cell.bias.value if cell.bias is not None else None
        return kernel, simple_params(cell.kernel.value, cell.recurrent_kernel.value, bias), bias is not None

    def get_config(self):
        return self._layer_config(_LAYER_KEYS)


forward_to_cell(SimpleRNN, set(_CELL_KEYS))
