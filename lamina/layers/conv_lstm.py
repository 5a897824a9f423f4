"""`ConvLSTM2D`: an LSTM whose input and recurrent transformations are 2-D convolutions.

Weights (owned by the cell, paths ``conv_lstm2d/conv_lstm_cell/...``): ``kernel
(kh, kw, channels, 4 * filters)``, ``recurrent_kernel (kh, kw, filters, 4 * filters)``,
``bias (4 * filters,)``, gate blocks ``i, f, c, o`` as in `LSTM`. The input
convolution uses ``strides``/``padding``/``dilation_rate``; the recurrent one is
stride 1, ``'same'`` padding. Computed with `lamina.ops.conv` (TensorFlow padding).

>>> import torch
>>> layer = ConvLSTM2D(2, 3, padding="same", return_sequences=True)
>>> layer(torch.ones(1, 4, 5, 5, 3)).shape
torch.Size([1, 4, 5, 5, 2])
>>> [w.shape for w in layer.weights]
[(3, 3, 3, 8), (3, 3, 2, 8), (8,)]
"""

import torch

from lamina import ops
from lamina.backend import config
from lamina.engine.input_spec import InputSpec
from lamina.layers.lstm import forget_bias_initializer
from lamina.layers.rnn_base import RNN, forward_to_cell
from lamina.layers.rnn_cells import RecurrentCell, dropped

_KEYS = ("filters", "kernel_size", "strides", "padding", "data_format", "dilation_rate", "activation",
         "recurrent_activation", "use_bias", "kernel_initializer", "recurrent_initializer", "bias_initializer",
         "unit_forget_bias", "kernel_regularizer", "recurrent_regularizer", "bias_regularizer", "kernel_constraint",
         "recurrent_constraint", "bias_constraint", "dropout", "recurrent_dropout", "seed")
_LAYER_KEYS = _KEYS[:16] + ("activity_regularizer",) + _KEYS[16:]


def _pair(value, name, cls):
    values = (value, value) if isinstance(value, int) and not isinstance(value, bool) else value
    if isinstance(values, (list, tuple)) and len(values) == 2 and all(
            isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in values):
        return tuple(values)
    raise ValueError(f"The `{name}` argument of {cls} must be an int or a tuple of 2 positive ints. "
                     f"Received: {name}={value!r}")


def _output_length(size, kernel, stride, dilation, padding):
    if size is None:
        return None
    if padding == "same":
        return -(-size // stride)
    return (size - ((kernel - 1) * dilation + 1)) // stride + 1


class ConvLSTMCell(RecurrentCell):
    """One ConvLSTM step over ``(batch, rows, cols, channels)`` (or channels-first) inputs."""

    def __init__(self, filters, kernel_size, strides=1, padding="valid", data_format=None, dilation_rate=1,
                 activation="tanh", recurrent_activation="sigmoid", use_bias=True, kernel_initializer="glorot_uniform",
                 recurrent_initializer="orthogonal", bias_initializer="zeros", unit_forget_bias=True,
                 kernel_regularizer=None, recurrent_regularizer=None, bias_regularizer=None, kernel_constraint=None,
                 recurrent_constraint=None, bias_constraint=None, dropout=0.0, recurrent_dropout=0.0, seed=None,
                 **kwargs):
        cls = "ConvLSTM2D"
        super().__init__(filters, activation, recurrent_activation, use_bias, kernel_initializer,
                         recurrent_initializer, bias_initializer, kernel_regularizer, recurrent_regularizer,
                         bias_regularizer, kernel_constraint, recurrent_constraint, bias_constraint, dropout,
                         recurrent_dropout, seed, **kwargs)
        self.filters = self.units
        self.kernel_size = _pair(kernel_size, "kernel_size", cls)
        self.strides = _pair(strides, "strides", cls)
        self.dilation_rate = _pair(dilation_rate, "dilation_rate", cls)
        if max(self.strides) > 1 and max(self.dilation_rate) > 1:
            raise ValueError("Specifying `strides > 1` is not compatible with `dilation_rate > 1`. "
                             f"Received: strides={self.strides} and dilation_rate={self.dilation_rate}")
        self.padding = padding.lower() if isinstance(padding, str) else padding
        if self.padding not in ("valid", "same"):
            raise ValueError(f"The `padding` argument of {cls} must be 'valid' or 'same'. "
                             f"Received: padding={padding!r}")
        self.data_format = config.standardize_data_format(data_format)
        self.unit_forget_bias = bool(unit_forget_bias)
        self.dropout_mask_count = 4
        self.state_size = -1  # the state is an image; see `get_initial_state`
        self.spatial_dims = None

    def build(self, input_shape):
        last = self.data_format == "channels_last"
        self.spatial_dims = tuple(input_shape[1:-1] if last else input_shape[2:])
        self.input_dim = input_shape[-1 if last else 1]
        if None in self.spatial_dims or self.input_dim is None:
            raise ValueError("ConvLSTM layers need static spatial and channel dimensions. "
                             f"Received: input_shape={tuple(input_shape)}")
        k = self.kernel_size
        self.kernel = self.add_weight(shape=k + (self.input_dim, 4 * self.filters), name="kernel",
                                      initializer=self.kernel_initializer, regularizer=self.kernel_regularizer,
                                      constraint=self.kernel_constraint)
        self.recurrent_kernel = self.add_weight(shape=k + (self.filters, 4 * self.filters), name="recurrent_kernel",
                                                initializer=self.recurrent_initializer,
                                                regularizer=self.recurrent_regularizer,
                                                constraint=self.recurrent_constraint)
        if self.use_bias:
            init = forget_bias_initializer(self.bias_initializer, self.filters) if self.unit_forget_bias else None
            self.bias = self.add_weight(shape=(4 * self.filters,), name="bias",
                                        initializer=init or self.bias_initializer,
                                        regularizer=self.bias_regularizer, constraint=self.bias_constraint)

    def state_shape(self, batch_size):
        rows, cols = (_output_length(s, k, st, d, self.padding) for s, k, st, d in
                      zip(self.spatial_dims, self.kernel_size, self.strides, self.dilation_rate))
        if self.data_format == "channels_last":
            return (batch_size, rows, cols, self.filters)
        return (batch_size, self.filters, rows, cols)

    def get_initial_state(self, batch_size=None):
        shape = self.state_shape(batch_size)
        dtype = self._dtype_policy.torch_compute_dtype
        return [torch.zeros(shape, dtype=dtype, device=config.device()) for _ in range(2)]

    def _conv(self, x, kernel, strides, padding, dilation):
        return ops.conv(x, kernel, strides=strides, padding=padding, data_format=self.data_format,
                        dilation_rate=dilation)

    def call(self, inputs, states, training=False):
        h, c = states[0], states[1]
        dp = self.get_dropout_mask(inputs) if training else None
        rec = self.get_recurrent_dropout_mask(h) if training else None
        axis = -1 if self.data_format == "channels_last" else 1
        kernel, recurrent = self.kernel.value, self.recurrent_kernel.value
        if dp is None:
            x = self._conv(inputs, kernel, self.strides, self.padding, self.dilation_rate)
        else:
            x = torch.cat([self._conv(dropped(inputs, dp, g), k, self.strides, self.padding, self.dilation_rate)
                           for g, k in enumerate(kernel.chunk(4, dim=-1))], dim=axis)
        if self.bias is not None:
            x = x + (self.bias.value if axis == -1 else self.bias.value.reshape(-1, 1, 1))
        if rec is None:
            r = self._conv(h, recurrent, 1, "same", 1)
        else:
            r = torch.cat([self._conv(dropped(h, rec, g), k, 1, "same", 1)
                           for g, k in enumerate(recurrent.chunk(4, dim=-1))], dim=axis)
        zi, zf, zc, zo = (x + r).chunk(4, dim=axis)
        act, rec_act = self.activation, self.recurrent_activation
        c = rec_act(zf) * c + rec_act(zi) * act(zc)
        h = rec_act(zo) * act(c)
        return h, [h, c]

    def _config_values(self):
        return {**super()._config_values(), "filters": self.filters, "kernel_size": self.kernel_size,
                "strides": self.strides, "padding": self.padding, "data_format": self.data_format,
                "dilation_rate": self.dilation_rate}

    def get_config(self):
        return self._weight_config(_KEYS)


class ConvLSTM2D(RNN):
    """2-D convolutional LSTM over ``(batch, time, rows, cols, channels)`` (Keras 3 arguments and defaults).

    Args:
        filters: positive int, number of output channels.
        kernel_size: int or pair, the convolution window.
        strides: int or pair (not with ``dilation_rate > 1``), of the input convolution.
        padding: ``'valid'`` (default) or ``'same'``, of the input convolution.
        data_format: ``'channels_last'`` (default from the config) or ``'channels_first'``.
        dilation_rate: int or pair, of the input convolution.
        activation (``'tanh'``), recurrent_activation (``'sigmoid'``), use_bias, initializers,
        unit_forget_bias, regularizers, constraints, dropout, recurrent_dropout, seed: as in `LSTM`.
        return_sequences, return_state, go_backwards, stateful: see `RNN`.

    Output shape:
        ``(batch, new_rows, new_cols, filters)``, with ``return_sequences``
        ``(batch, time, new_rows, new_cols, filters)`` (channels first: filters before rows).
    """

    def __init__(self, filters, kernel_size, strides=1, padding="valid", data_format=None, dilation_rate=1,
                 activation="tanh", recurrent_activation="sigmoid", use_bias=True, kernel_initializer="glorot_uniform",
                 recurrent_initializer="orthogonal", bias_initializer="zeros", unit_forget_bias=True,
                 kernel_regularizer=None, recurrent_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 kernel_constraint=None, recurrent_constraint=None, bias_constraint=None, dropout=0.0,
                 recurrent_dropout=0.0, seed=None, return_sequences=False, return_state=False, go_backwards=False,
                 stateful=False, **kwargs):
        cell = ConvLSTMCell(filters, kernel_size, strides=strides, padding=padding, data_format=data_format,
                            dilation_rate=dilation_rate, activation=activation,
                            recurrent_activation=recurrent_activation, use_bias=use_bias,
                            kernel_initializer=kernel_initializer, recurrent_initializer=recurrent_initializer,
                            bias_initializer=bias_initializer, unit_forget_bias=unit_forget_bias,
                            kernel_regularizer=kernel_regularizer, recurrent_regularizer=recurrent_regularizer,
                            bias_regularizer=bias_regularizer, kernel_constraint=kernel_constraint,
                            recurrent_constraint=recurrent_constraint, bias_constraint=bias_constraint,
                            dropout=dropout, recurrent_dropout=recurrent_dropout, seed=seed, name="conv_lstm_cell",
                            dtype=kwargs.get("dtype"), trainable=kwargs.get("trainable", True))
        super().__init__(cell, return_sequences=return_sequences, return_state=return_state,
                         go_backwards=go_backwards, stateful=stateful, activity_regularizer=activity_regularizer,
                         **kwargs)
        self.input_spec = InputSpec(ndim=5)

    def compute_output_shape(self, sequences_shape, initial_state_shape=None):
        batch, steps = sequences_shape[0], sequences_shape[1]
        cell = self.cell
        if cell.spatial_dims is None:
            last = cell.data_format == "channels_last"
            cell.spatial_dims = tuple(sequences_shape[2:-1] if last else sequences_shape[3:])
        state = cell.state_shape(batch)
        output = (batch, steps) + state[1:] if self.return_sequences else state
        return (output, state, state) if self.return_state else output

    def compute_mask(self, inputs, mask=None):
        if isinstance(mask, (list, tuple)):
            mask = mask[0]
        output_mask = mask if self.return_sequences else None
        return [output_mask, None, None] if self.return_state else output_mask

    def get_config(self):
        return self._layer_config(_LAYER_KEYS)


forward_to_cell(ConvLSTM2D, set(_KEYS))
