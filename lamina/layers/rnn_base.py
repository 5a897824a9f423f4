"""`RNN`: runs a cell over the time axis (masks, initial and stateful states, go_backwards).

Built-in layers (`LSTM`, `GRU`, `SimpleRNN`) run on torch's fused kernels when their
configuration allows (see `rnn_fused`) and otherwise on the step loop here, which
calls the cell once per timestep. ``layer.last_call_path`` records which one ran
(``"fused"`` or ``"loop"``).

Masked timesteps follow Keras: the states keep their last valid value and the
output repeats the last valid output (zeros with ``zero_output_for_mask=True``;
zeros before the first valid step).

>>> import torch
>>> from lamina import layers
>>> rnn = layers.RNN(layers.SimpleRNNCell(4), return_sequences=True, return_state=True)
>>> out, state = rnn(torch.ones(2, 5, 3))
>>> tuple(out.shape), tuple(state.shape), rnn.last_call_path
((2, 5, 4), (2, 4), 'loop')
>>> [w.path for w in rnn.weights]
['rnn/simple_rnn_cell/kernel', 'rnn/simple_rnn_cell/recurrent_kernel', 'rnn/simple_rnn_cell/bias']
"""

import numpy as np
import torch

from lamina import regularizers
from lamina.engine.layer import Layer
from lamina.engine.node import flatten, pack_like
from lamina.layers.rnn_cells import StackedRNNCells, dropout_mask_scope, serialize_or_none
from lamina.layers.rnn_fused import right_padded_lengths, run_fused


def assign_paths(layer, prefix):
    """Sets Keras-style variable paths (``lstm/lstm_cell/kernel``) on ``layer``'s tree."""
    for variable in layer._variables:
        variable.path = f"{prefix}/{variable.name}"
    for sub in layer._layers:
        assign_paths(sub, f"{prefix}/{sub.name}")


def _expand(mask_t, like):
    return mask_t.reshape(mask_t.shape + (1,) * (like.dim() - 1))


def rnn_loop(step, sequences, states, mask=None, go_backwards=False, zero_output_for_mask=False,
             return_sequences=True):
    """Keras's ``backend.rnn``: ``step(x_t, states) -> (output, new_states)`` over axis 1.

    Returns ``(last_output, outputs, final_states)``; ``outputs`` is ``(batch, time, ...)``
    in processing order (reversed for ``go_backwards``), or the last output alone
    (``(batch, 1, ...)``) when ``return_sequences`` is False.
    """
    steps = sequences.shape[1]
    if steps == 0:
        raise ValueError(f"Cannot run a recurrent layer on a sequence with 0 timesteps. "
                         f"Received: inputs.shape={tuple(sequences.shape)}")
    outputs = []
    previous = None
    for t in (range(steps - 1, -1, -1) if go_backwards else range(steps)):
        output, new_states = step(sequences[:, t], states)
        if mask is not None:
            keep = mask[:, t]
            if previous is None or zero_output_for_mask:
                previous = torch.zeros_like(output)
            output = torch.where(_expand(keep, output), output, previous)
            merged = [torch.where(_expand(keep, new), new, old)
                      for new, old in zip(flatten(new_states), flatten(states))]
            new_states = pack_like(new_states, merged)
            previous = output
        states = new_states
        if return_sequences:
            outputs.append(output)
    last = output
    return last, (torch.stack(outputs, dim=1) if return_sequences else last[:, None]), states


class RNN(Layer):
    """Base class of recurrent layers: applies ``cell`` to every timestep of a sequence.

    Args:
        cell: a cell (a layer with ``call(inputs, states) -> (output, new_states)`` and a
            ``state_size``), or a list of cells (stacked with `StackedRNNCells`).
        return_sequences: return the whole output sequence instead of the last output.
        return_state: also return the final states (``[output, *states]``).
        go_backwards: process the sequence backwards (the output sequence is reversed).
        stateful: reuse the final states of a batch as the initial states of the next
            (sample ``i`` continues sample ``i``); `reset_state` zeroes them.
        unroll: Keras's unrolling hint; here it also keeps the layer on the step loop.
        zero_output_for_mask: masked timesteps output zeros instead of the last valid output.

    Call arguments:
        sequences: ``(batch, timesteps, features)``.
        initial_state: a tensor or list of tensors, the initial states.
        mask: ``(batch, timesteps)`` booleans, False for steps to skip.
        training: passed to the cell (dropout).

    Output shape:
        ``(batch, units)``, ``(batch, timesteps, units)`` with ``return_sequences``, and
        the final states after it with ``return_state``.
    """

    supports_jit = False  # graph breaks under torch.compile: jit_compile='auto' keeps models with it eager

    use_cudnn = "auto"  # LSTM/GRU/SimpleRNN: 'auto' fused when possible, True required, False never

    def __init__(self, cell, return_sequences=False, return_state=False, go_backwards=False, stateful=False,
                 unroll=False, zero_output_for_mask=False, **kwargs):
        time_major = bool(kwargs.pop("time_major", False))  # Keras 2 option, read from old configs
        if isinstance(cell, (list, tuple)):
            cell = StackedRNNCells(cell)
        if not callable(getattr(cell, "call", None)):
            raise ValueError(f"Argument `cell` should have a `call` method. Received: cell={cell!r}")
        if getattr(cell, "state_size", None) is None:
            raise ValueError("The RNN cell should have a `state_size` attribute (single integer or list of "
                             f"integers, one integer per RNN state). Received: cell={cell!r}")
        super().__init__(**kwargs)
        self.cell = cell
        self.return_sequences = bool(return_sequences)
        self.return_state = bool(return_state)
        self.go_backwards = bool(go_backwards)
        self.stateful = bool(stateful)
        self.unroll = bool(unroll)
        self.zero_output_for_mask = bool(zero_output_for_mask)
        self.time_major = time_major
        self.supports_masking = True
        self.states = None
        self.last_call_path = None
        state_size = cell.state_size
        if not isinstance(state_size, (list, tuple, int)):
            raise ValueError("state_size must be an integer, or a list/tuple of integers (one for each state "
                             f"tensor). Received: state_size={state_size!r}")
        self.single_state = isinstance(state_size, int)
        self.state_size = [state_size] if self.single_state else list(state_size)

    # ---- building ---------------------------------------------------------------------------------
    def _batch_major(self, shape):
        shape = tuple(shape)
        if len(shape) < 3:
            raise ValueError(f'Layer "{self.name}" ({type(self).__name__}) expects inputs of shape '
                             f"(batch, timesteps, ...features). Received: input_shape={shape}")
        return (shape[1], shape[0]) + shape[2:] if self.time_major else shape

    def build(self, sequences_shape, initial_state_shape=None):
        shape = self._batch_major(sequences_shape)
        if isinstance(self.cell, Layer) and not self.cell.built:
            self.cell.build((shape[0],) + shape[2:])
            self.cell.built = True
        assign_paths(self, self.name)
        if self.stateful:
            if shape[0] is None:
                raise ValueError("When using `stateful=True` in a RNN, the batch size must be static. Found dynamic "
                                 f"batch size: sequence.shape={shape}")
            self.states = self._zero_states(shape[0])

    # ---- states ----------------------------------------------------------------------------------------
    def _zero_states(self, batch_size):
        states = self.get_initial_state(batch_size)
        return pack_like(states, [s.detach() for s in flatten(states)])

    def get_initial_state(self, batch_size):
        """Zero initial states: the cell's ``get_initial_state`` or zeros of ``(batch, size)``."""
        if hasattr(self.cell, "get_initial_state"):
            states = self.cell.get_initial_state(batch_size=batch_size)
            return list(states) if isinstance(states, (list, tuple)) else [states]
        dtype = self._dtype_policy.torch_compute_dtype
        return [torch.zeros((batch_size, size), dtype=dtype) for size in self.state_size]

    def reset_state(self, states=None):
        """Zeroes the states of a stateful layer, or sets them to ``states`` (arrays)."""
        if not self.stateful:
            raise AttributeError(f"Layer '{self.name}' must be stateful to reset its states.")
        if self.states is None:
            return
        flat = flatten(self.states)
        if states is None:
            values = [torch.zeros_like(s) for s in flat]
        else:
            given = flatten(states if isinstance(states, (list, tuple)) else [states])
            if len(given) != len(flat) or any(tuple(np.shape(g)) != tuple(s.shape) for g, s in zip(given, flat)):
                raise ValueError(f"Layer '{self.name}' expects states of shapes {[tuple(s.shape) for s in flat]}. "
                                 f"Received: states with shapes {[tuple(np.shape(g)) for g in given]}")
            values = [torch.as_tensor(np.asarray(g), dtype=s.dtype, device=s.device) for g, s in zip(given, flat)]
        self.states = pack_like(self.states, values)

    def reset_states(self, states=None):
        """Keras 2 name of `reset_state`."""
        self.reset_state(states)

    def _initial_states(self, sequences, initial_state):
        batch = sequences.shape[0]
        dtype, device = sequences.dtype, sequences.device
        if initial_state is None:
            if self.stateful:
                if self.states is None:
                    self.states = self._zero_states(batch)
                first = flatten(self.states)[0]
                if first.shape[0] != batch:
                    raise ValueError(f"Stateful layer '{self.name}' was built for batch size {first.shape[0]}; "
                                     f"call it with that batch size or rebuild it. Received: batch size {batch}")
                states = self.states
            else:
                states = self.get_initial_state(batch)
        else:
            states = list(initial_state) if isinstance(initial_state, (list, tuple)) else [initial_state]
            expected = len(flatten(self.state_size))
            if all(isinstance(s, int) and s > 0 for s in flatten(self.state_size)) and len(flatten(states)) != expected:
                raise ValueError(f"Layer '{self.name}' expects {expected} initial state tensor(s). "
                                 f"Received: initial_state with {len(flatten(states))} tensor(s)")
        flat = flatten(states)
        if all(isinstance(s, torch.Tensor) and s.dtype == dtype and s.device == device for s in flat):
            return states  # the common case (zero or given states already in place): nothing to convert
        flat = [torch.as_tensor(s.value if hasattr(s, "value") else s).to(device=device, dtype=dtype) for s in flat]
        return pack_like(states, flat)

    # ---- calling -----------------------------------------------------------------------------------------
    def call(self, sequences, initial_state=None, mask=None, training=False):
        if self.time_major:
            sequences = sequences.transpose(0, 1)
        states = self._initial_states(sequences, initial_state)
        if isinstance(mask, (list, tuple)):
            mask = mask[0]
        if mask is not None:
            mask = mask.to(device=sequences.device, dtype=torch.bool)
        result = self._try_fused(sequences, states, mask, training)
        # A plain string attribute: set directly, past the Variable/sublayer tracking of __setattr__.
        if result is None:
            object.__setattr__(self, "last_call_path", "loop")
            result = self._loop(sequences, states, mask, training)
        else:
            object.__setattr__(self, "last_call_path", "fused")
        last, outputs, states = result
        if self.stateful:
            self.states = pack_like(states, [s.detach() for s in flatten(states)])
        output = outputs if self.return_sequences else last
        if self.return_sequences and self.time_major:
            output = output.transpose(0, 1)
        if self.return_state:
            return (output, *states)
        return output

    def _loop(self, sequences, states, mask, training):
        cell = self.cell
        step_fn = cell.call if isinstance(cell, Layer) else cell
        kwargs = {"training": training} if getattr(cell, "_call_has_training", False) else {}

        def step(x, states):
            output, new_states = step_fn(x, list(states), **kwargs)
            return output, (list(new_states) if isinstance(new_states, (list, tuple)) else [new_states])

        with dropout_mask_scope(cell):
            return rnn_loop(step, sequences, states, mask, self.go_backwards, self.zero_output_for_mask,
                            self.return_sequences)

    def _fused_params(self, training):
        """``(kernel, params, has_biases)`` for torch's fused kernel, or None (the step loop runs)."""
        return None

    def _try_fused(self, sequences, states, mask, training):
        result = None if self.use_cudnn is False else self._run_fused(sequences, states, mask, training)
        if result is None and self.use_cudnn is True:
            raise ValueError(f"use_cudnn=True was specified for layer '{self.name}', but the fused kernel does not "
                             "support this configuration or mask. Pass use_cudnn='auto' to fall back to the loop.")
        return result

    def _run_fused(self, sequences, states, mask, training):
        if self.unroll:
            return None
        spec = self._fused_params(training)
        if spec is None:
            return None
        lengths = None
        if mask is not None:
            usable, lengths = right_padded_lengths(mask)
            if not usable:
                return None
        kernel, params, has_biases = spec
        if params[0].dtype != sequences.dtype:  # mixed precision: compute in the input's dtype
            params = [p.to(sequences.dtype) for p in params]
        if training and getattr(self.cell, "dropout", 0) > 0:
            with dropout_mask_scope(self.cell):
                sequences = sequences * self.cell.get_dropout_mask(sequences[:, 0])[:, None]
        return run_fused(kernel, params, has_biases, sequences, list(states), lengths, self.go_backwards,
                         self.zero_output_for_mask, self.return_sequences)

    # ---- shapes, masks, config ----------------------------------------------------------------------------
    def compute_output_shape(self, sequences_shape, initial_state_shape=None):
        shape = self._batch_major(sequences_shape)
        batch, steps = shape[0], shape[1]
        states = [[(batch, s) for s in size] if isinstance(size, (list, tuple)) else (batch, size)
                  for size in self.state_size]
        size = getattr(self.cell, "output_size", None)
        if size is None:
            size = flatten(self.state_size)[0]
        if self.return_sequences:
            output = (steps, batch, size) if self.time_major else (batch, steps, size)
        else:
            output = (batch, size)
        return (output, *states) if self.return_state else output

    def compute_mask(self, inputs, mask=None):
        if isinstance(mask, (list, tuple)):
            mask = mask[0]
        output_mask = mask if self.return_sequences else None
        if self.return_state:
            return [output_mask] + [None] * len(self.state_size)
        return output_mask

    def _rnn_config(self):
        config = {**super().get_config(), "return_sequences": self.return_sequences,
                  "return_state": self.return_state, "go_backwards": self.go_backwards, "stateful": self.stateful,
                  "unroll": self.unroll, "zero_output_for_mask": self.zero_output_for_mask}
        if self.time_major:
            config["time_major"] = True
        return config

    def _layer_config(self, keys):
        """The config of a built-in layer: the RNN keys, then ``keys`` read from the cell (Keras order)."""
        values = self.cell._config_values()
        values["activity_regularizer"] = serialize_or_none(regularizers, self.activity_regularizer)
        return {**self._rnn_config(), **{k: values[k] for k in keys}}

    def get_config(self):
        from lamina.layers.serialization import serialize

        return {**self._rnn_config(), "cell": serialize(self.cell)}

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = dict(config)
        if "cell" in config:  # the generic RNN; built-in layers create their own cell
            from lamina.layers.serialization import deserialize

            config["cell"] = deserialize(config["cell"], custom_objects=custom_objects)
        return super().from_config(config)

    def __repr__(self):
        return f"<{type(self).__name__} name={self.name}, cell={type(self.cell).__name__}, built={self.built}>"


def use_cudnn_flag(value, cls):
    if value not in ("auto", True, False):
        raise ValueError(f"Invalid value received for argument `use_cudnn` of {cls}. Expected one of "
                         f"{{'auto', True, False}}. Received: use_cudnn={value!r}")
    return value


def forward_to_cell(cls, names):
    """Adds read-only properties to ``cls`` that return the cell's attributes (``lstm.units``)."""
    for name in names:
        setattr(cls, name, property(lambda self, name=name: getattr(self.cell, name), doc=f"The cell's `{name}`."))
    return cls
