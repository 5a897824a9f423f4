"""`LSTMCell` and `LSTM` (Hochreiter 1997), Keras weight layout, torch's fused kernel when possible.

Weights (owned by the cell, paths ``lstm/lstm_cell/...``): ``kernel (input_dim, 4u)``,
``recurrent_kernel (u, 4u)``, ``bias (4u,)``, gate blocks ``i, f, c, o`` — the same
order as torch's ``i, f, g, o``. One step::

    z = x @ kernel + h @ recurrent_kernel + bias;  i, f, c~, o = split(z)
    c' = sig(f) * c + sig(i) * tanh(c~);           h' = sig(o) * tanh(c')

>>> import torch
>>> lstm = LSTM(3, return_state=True)
>>> out, h, c = lstm(torch.ones(2, 4, 5))
>>> tuple(out.shape), tuple(c.shape), lstm.last_call_path
((2, 3), (2, 3), 'fused')
>>> [w.shape for w in lstm.weights]
[(5, 12), (3, 12), (12,)]
"""

import torch

from lamina import activations, initializers
from lamina.engine.input_spec import InputSpec
from lamina.layers.rnn_base import RNN, forward_to_cell, use_cudnn_flag
from lamina.layers.rnn_cells import RecurrentCell, dropped
from lamina.layers.rnn_fused import lstm_params

_CELL_KEYS = ("units", "activation", "recurrent_activation", "use_bias", "unit_forget_bias", "kernel_initializer",
              "recurrent_initializer", "bias_initializer", "kernel_regularizer", "recurrent_regularizer",
              "bias_regularizer", "kernel_constraint", "recurrent_constraint", "bias_constraint", "dropout",
              "recurrent_dropout", "seed")
_LAYER_KEYS = ("units", "activation", "recurrent_activation", "use_bias", "kernel_initializer",
               "recurrent_initializer", "bias_initializer", "unit_forget_bias", "kernel_regularizer",
               "recurrent_regularizer", "bias_regularizer", "activity_regularizer", "kernel_constraint",
               "recurrent_constraint", "bias_constraint", "dropout", "recurrent_dropout", "seed")


def forget_bias_initializer(bias_initializer, units):
    """Keras's ``unit_forget_bias``: the forget-gate block starts at 1, the others use ``bias_initializer``."""
    def initializer(shape, dtype=None):
        ones = initializers.get("ones")((units,), dtype=dtype)
        parts = [bias_initializer((units,), dtype=dtype), ones, bias_initializer((2 * units,), dtype=dtype)]
        return torch.cat([torch.as_tensor(p).to(ones.device) for p in parts])

    return initializer


class LSTMCell(RecurrentCell):
    """One LSTM step; `LSTM` runs it over a sequence.

    Args:
        units: positive int, dimensionality of the output and of both states.
        activation: for the candidate and the output (default ``'tanh'``).
        recurrent_activation: for the gates (default ``'sigmoid'``).
        use_bias, kernel_initializer (``'glorot_uniform'``), recurrent_initializer (``'orthogonal'``),
        bias_initializer (``'zeros'``), regularizers, constraints: as in `Dense`.
        unit_forget_bias: initialise the forget-gate bias to 1 (default True).
        dropout, recurrent_dropout: dropout rates of the inputs / of ``h``, in training.
        seed: seed of the dropout masks.

    Call arguments:
        inputs: ``(batch, features)``; states: ``[h, c]``, each ``(batch, units)``.

    Returns:
        ``(h', [h', c'])``.
    """

    def __init__(self, units, activation="tanh", recurrent_activation="sigmoid", use_bias=True,
                 kernel_initializer="glorot_uniform", recurrent_initializer="orthogonal", bias_initializer="zeros",
                 unit_forget_bias=True, kernel_regularizer=None, recurrent_regularizer=None, bias_regularizer=None,
                 kernel_constraint=None, recurrent_constraint=None, bias_constraint=None, dropout=0.0,
                 recurrent_dropout=0.0, seed=None, **kwargs):
        implementation = kwargs.pop("implementation", 2)
        super().__init__(units, activation, recurrent_activation, use_bias, kernel_initializer,
                         recurrent_initializer, bias_initializer, kernel_regularizer, recurrent_regularizer,
                         bias_regularizer, kernel_constraint, recurrent_constraint, bias_constraint, dropout,
                         recurrent_dropout, seed, **kwargs)
        self.unit_forget_bias = bool(unit_forget_bias)
        self.implementation = 1 if self.recurrent_dropout else implementation
        if self.implementation == 1:
            self.dropout_mask_count = 4  # one mask per gate, as Keras's implementation 1
        self.state_size = [self.units, self.units]

    def build(self, input_shape):
        bias_init = forget_bias_initializer(self.bias_initializer, self.units) if self.unit_forget_bias else None
        self._add_weights(self._input_dim(input_shape), 4, (4 * self.units,), bias_init)

    def call(self, inputs, states, training=False):
        h, c = states[0], states[1]
        dp = self.get_dropout_mask(inputs) if training else None
        rec = self.get_recurrent_dropout_mask(h) if training else None
        kernel, recurrent = self.kernel.value, self.recurrent_kernel.value
        if isinstance(dp, list) or isinstance(rec, list):  # implementation 1: a mask per gate
            kernels, recurrents = kernel.chunk(4, dim=1), recurrent.chunk(4, dim=1)
            z = torch.cat([dropped(inputs, dp, g) @ kernels[g] + dropped(h, rec, g) @ recurrents[g]
                           for g in range(4)], dim=-1)
        else:
            z = dropped(inputs, dp) @ kernel + dropped(h, rec) @ recurrent
        if self.bias is not None:
            z = z + self.bias.value
        zi, zf, zc, zo = z.chunk(4, dim=-1)
        act, rec_act = self.activation, self.recurrent_activation
        c = rec_act(zf) * c + rec_act(zi) * act(zc)
        h = rec_act(zo) * act(c)
        return h, [h, c]

    def get_config(self):
        return self._weight_config(_CELL_KEYS)


class LSTM(RNN):
    """Long Short-Term Memory layer (Keras 3 arguments and defaults).

    Runs on torch's fused LSTM kernel (``torch._VF.lstm``) when ``activation`` is tanh,
    ``recurrent_activation`` is sigmoid, ``unroll`` is False, there is no recurrent
    dropout in training, and the mask (if any) is right-padded; otherwise on the step
    loop (``last_call_path`` tells which ran).

    Args:
        units: positive int, dimensionality of the output.
        activation, recurrent_activation, use_bias, kernel_initializer, recurrent_initializer,
        bias_initializer, unit_forget_bias, kernel_regularizer, recurrent_regularizer,
        bias_regularizer, kernel_constraint, recurrent_constraint, bias_constraint, dropout,
        recurrent_dropout, seed: passed to the `LSTMCell`.
        activity_regularizer: penalty on the output.
        return_sequences, return_state, go_backwards, stateful, unroll: see `RNN`.
        use_cudnn: ``'auto'`` (fused kernel when possible), True (require it) or False (step loop).

    Input shape:
        ``(batch, timesteps, features)``.

    Output shape:
        ``(batch, units)`` or ``(batch, timesteps, units)``; with ``return_state``
        followed by ``h`` and ``c``, each ``(batch, units)``.
    """

    def __init__(self, units, activation="tanh", recurrent_activation="sigmoid", use_bias=True,
                 kernel_initializer="glorot_uniform", recurrent_initializer="orthogonal", bias_initializer="zeros",
                 unit_forget_bias=True, kernel_regularizer=None, recurrent_regularizer=None, bias_regularizer=None,
                 activity_regularizer=None, kernel_constraint=None, recurrent_constraint=None, bias_constraint=None,
                 dropout=0.0, recurrent_dropout=0.0, seed=None, return_sequences=False, return_state=False,
                 go_backwards=False, stateful=False, unroll=False, use_cudnn="auto", **kwargs):
        cell = LSTMCell(units, activation=activation, recurrent_activation=recurrent_activation, use_bias=use_bias,
                        kernel_initializer=kernel_initializer, recurrent_initializer=recurrent_initializer,
                        bias_initializer=bias_initializer, unit_forget_bias=unit_forget_bias,
                        kernel_regularizer=kernel_regularizer, recurrent_regularizer=recurrent_regularizer,
                        bias_regularizer=bias_regularizer, kernel_constraint=kernel_constraint,
                        recurrent_constraint=recurrent_constraint, bias_constraint=bias_constraint, dropout=dropout,
                        recurrent_dropout=recurrent_dropout, seed=seed, dtype=kwargs.get("dtype"),
                        trainable=kwargs.get("trainable", True), name="lstm_cell",
                        implementation=kwargs.pop("implementation", 2))
        super().__init__(cell, return_sequences=return_sequences, return_state=return_state,
                         go_backwards=go_backwards, stateful=stateful, unroll=unroll,
                         activity_regularizer=activity_regularizer, **kwargs)
        self.input_spec = InputSpec(ndim=3)
        self.use_cudnn = use_cudnn_flag(use_cudnn, "LSTM")

    def _fused_params(self, training):
        cell = self.cell
        if cell.activation is not activations.tanh or cell.recurrent_activation is not activations.sigmoid:
            return None
        if training and (cell.recurrent_dropout or (cell.implementation == 1 and cell.dropout)):
            return None
        bias = cell.bias.value if cell.bias is not None else None
        return torch._VF.lstm, lstm_params(cell.kernel.value, cell.recurrent_kernel.value, bias), bias is not None

    def get_config(self):
        return self._layer_config(_LAYER_KEYS)


forward_to_cell(LSTM, set(_LAYER_KEYS) - {"activity_regularizer"})
