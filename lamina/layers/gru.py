"""`GRUCell` and `GRU` (Cho et al. 2014), Keras weight layout, torch's fused kernel when possible.

Weights (owned by the cell, paths ``gru/gru_cell/...``): ``kernel (input_dim, 3u)``,
``recurrent_kernel (u, 3u)``, gate blocks ``z, r, h``; ``bias (2, 3u)`` (input and
recurrent bias) with ``reset_after=True`` (the default) or ``(3u,)`` otherwise. One step::

    z = sig(x Wz + bz + h Uz (+ b'z));  r = sig(x Wr + br + h Ur (+ b'r))
    hh = tanh(x Wh + bh + r * (h Uh + b'h))       # reset_after=True
    hh = tanh(x Wh + bh + (r * h) Uh)             # reset_after=False
    h' = z * h + (1 - z) * hh

torch's GRU is the ``reset_after=True`` form with gates ordered ``r, z, n``.

>>> import torch
>>> gru = GRU(3)
>>> gru(torch.ones(2, 4, 5)).shape, gru.last_call_path
(torch.Size([2, 3]), 'fused')
>>> [w.shape for w in gru.weights]
[(5, 9), (3, 9), (2, 9)]
"""

import torch

from lamina import activations
from lamina.engine.input_spec import InputSpec
from lamina.layers.rnn_base import RNN, forward_to_cell, use_cudnn_flag
from lamina.layers.rnn_cells import RecurrentCell, dropped
from lamina.layers.rnn_fused import gru_params

_CELL_KEYS = ("units", "activation", "recurrent_activation", "use_bias", "kernel_initializer",
              "recurrent_initializer", "bias_initializer", "kernel_regularizer", "recurrent_regularizer",
              "bias_regularizer", "kernel_constraint", "recurrent_constraint", "bias_constraint", "dropout",
              "recurrent_dropout", "reset_after", "seed")
_LAYER_KEYS = _CELL_KEYS[:10] + ("activity_regularizer",) + _CELL_KEYS[10:]


class GRUCell(RecurrentCell):
    """One GRU step; `GRU` runs it over a sequence.

    Args:
        units: positive int, dimensionality of the output and state.
        activation: for the candidate (default ``'tanh'``).
        recurrent_activation: for the gates (default ``'sigmoid'``).
        use_bias, kernel_initializer (``'glorot_uniform'``), recurrent_initializer (``'orthogonal'``),
        bias_initializer (``'zeros'``), regularizers, constraints: as in `Dense`.
        dropout, recurrent_dropout: dropout rates of the inputs / of ``h``, in training.
        reset_after: apply the reset gate after the recurrent matmul (default True).
        seed: seed of the dropout masks.

    Call arguments:
        inputs: ``(batch, features)``; states: ``[h]`` or ``h``, ``(batch, units)``.

    Returns:
        ``(h', [h'])`` (``(h', h')`` when ``states`` is a tensor).
    """

    def __init__(self, units, activation="tanh", recurrent_activation="sigmoid", use_bias=True,
                 kernel_initializer="glorot_uniform", recurrent_initializer="orthogonal", bias_initializer="zeros",
                 kernel_regularizer=None, recurrent_regularizer=None, bias_regularizer=None, kernel_constraint=None,
                 recurrent_constraint=None, bias_constraint=None, dropout=0.0, recurrent_dropout=0.0,
                 reset_after=True, seed=None, **kwargs):
        implementation = kwargs.pop("implementation", 2)
        super().__init__(units, activation, recurrent_activation, use_bias, kernel_initializer,
                         recurrent_initializer, bias_initializer, kernel_regularizer, recurrent_regularizer,
                         bias_regularizer, kernel_constraint, recurrent_constraint, bias_constraint, dropout,
                         recurrent_dropout, seed, **kwargs)
        self.reset_after = bool(reset_after)
        self.implementation = 1 if self.recurrent_dropout else implementation
        if self.implementation == 1:
            self.dropout_mask_count = 3  # one mask per gate, as Keras's implementation 1

    def build(self, input_shape):
        bias_shape = (2, 3 * self.units) if self.reset_after else (3 * self.units,)
        self._add_weights(self._input_dim(input_shape), 3, bias_shape)

    def call(self, inputs, states, training=False):
        nested = isinstance(states, (list, tuple))
        h = states[0] if nested else states
        u = self.units
        dp = self.get_dropout_mask(inputs) if training else None
        rec = self.get_recurrent_dropout_mask(h) if training else None
        kernel, recurrent = self.kernel.value, self.recurrent_kernel.value
        bias = self.bias.value if self.bias is not None else None
        input_bias, recurrent_bias = (bias[0], bias[1]) if bias is not None and self.reset_after else (bias, None)
        if isinstance(dp, list):
            x = torch.cat([dropped(inputs, dp, g) @ kernel[:, g * u:(g + 1) * u] for g in range(3)], dim=-1)
        else:
            x = dropped(inputs, dp) @ kernel
        if input_bias is not None:
            x = x + input_bias
        h_z, h_r, h_h = (dropped(h, rec, g) for g in range(3)) if isinstance(rec, list) else (dropped(h, rec),) * 3
        if self.reset_after:
            inner = torch.cat([h_z @ recurrent[:, :u], h_r @ recurrent[:, u:2 * u], h_h @ recurrent[:, 2 * u:]], -1) \
                if isinstance(rec, list) else h_z @ recurrent
            if recurrent_bias is not None:
                inner = inner + recurrent_bias
        else:
            inner = torch.cat([h_z @ recurrent[:, :u], h_r @ recurrent[:, u:2 * u]], -1)
        x_z, x_r, x_h = x.split(u, dim=-1)
        z = self.recurrent_activation(x_z + inner[:, :u])
        r = self.recurrent_activation(x_r + inner[:, u:2 * u])
        if self.reset_after:
            candidate = r * inner[:, 2 * u:]
        else:
            candidate = (r * h_h) @ recurrent[:, 2 * u:]
        hh = self.activation(x_h + candidate)
        h = z * h + (1 - z) * hh
        return h, ([h] if nested else h)

    def get_config(self):
        return self._weight_config(_CELL_KEYS)


class GRU(RNN):
    """Gated Recurrent Unit layer (Keras 3 arguments and defaults).

    Runs on torch's fused GRU kernel (``torch._VF.gru``) when ``reset_after`` is True,
    ``activation`` is tanh, ``recurrent_activation`` is sigmoid, ``unroll`` is False,
    there is no recurrent dropout in training, and the mask (if any) is right-padded;
    otherwise on the step loop (``last_call_path`` tells which ran).

    Args:
        units: positive int, dimensionality of the output.
        activation, recurrent_activation, use_bias, kernel_initializer, recurrent_initializer,
        bias_initializer, kernel_regularizer, recurrent_regularizer, bias_regularizer,
        kernel_constraint, recurrent_constraint, bias_constraint, dropout, recurrent_dropout,
        reset_after, seed: passed to the `GRUCell`.
        activity_regularizer: penalty on the output.
        return_sequences, return_state, go_backwards, stateful, unroll: see `RNN`.
        use_cudnn: ``'auto'`` (fused kernel when possible), True (require it) or False (step loop).

    Input shape:
        ``(batch, timesteps, features)``.

    Output shape:
        ``(batch, units)`` or ``(batch, timesteps, units)``; with ``return_state``
        followed by the final state ``(batch, units)``.
    """

    def __init__(self, units, activation="tanh", recurrent_activation="sigmoid", use_bias=True,
                 kernel_initializer="glorot_uniform", recurrent_initializer="orthogonal", bias_initializer="zeros",
                 kernel_regularizer=None, recurrent_regularizer=None, bias_regularizer=None,
                 activity_regularizer=None, kernel_constraint=None, recurrent_constraint=None, bias_constraint=None,
                 dropout=0.0, recurrent_dropout=0.0, seed=None, return_sequences=False, return_state=False,
                 go_backwards=False, stateful=False, unroll=False, reset_after=True, use_cudnn="auto", **kwargs):
        cell = GRUCell(units, activation=activation, recurrent_activation=recurrent_activation, use_bias=use_bias,
                       kernel_initializer=kernel_initializer, recurrent_initializer=recurrent_initializer,
                       bias_initializer=bias_initializer, kernel_regularizer=kernel_regularizer,
                       recurrent_regularizer=recurrent_regularizer, bias_regularizer=bias_regularizer,
                       kernel_constraint=kernel_constraint, recurrent_constraint=recurrent_constraint,
                       bias_constraint=bias_constraint, dropout=dropout, recurrent_dropout=recurrent_dropout,
                       reset_after=reset_after, seed=seed, dtype=kwargs.get("dtype"),
                       trainable=kwargs.get("trainable", True), name="gru_cell",
                       implementation=kwargs.pop("implementation", 2))
        super().__init__(cell, return_sequences=return_sequences, return_state=return_state,
                         go_backwards=go_backwards, stateful=stateful, unroll=unroll,
                         activity_regularizer=activity_regularizer, **kwargs)
        self.input_spec = InputSpec(ndim=3)
        self.use_cudnn = use_cudnn_flag(use_cudnn, "GRU")

    def _fused_params(self, training):
        cell = self.cell
        if not cell.reset_after or cell.activation is not activations.tanh \
                or cell.recurrent_activation is not activations.sigmoid:
            return None
        if training and (cell.recurrent_dropout or (cell.implementation == 1 and cell.dropout)):
            return None
        bias = cell.bias.value if cell.bias is not None else None
        params = gru_params(cell.kernel.value, cell.recurrent_kernel.value, bias, cell.units)
        return torch._VF.gru, params, bias is not None

    def get_config(self):
        return self._layer_config(_LAYER_KEYS)


forward_to_cell(GRU, set(_CELL_KEYS))
