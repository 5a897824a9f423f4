"""Running Keras recurrent layers on torch's fused RNN kernels (``torch._VF.lstm``/``gru``/``rnn_tanh``).

The fused kernels compute a whole sequence in C++ (cuDNN on GPU). They take
torch-layout weights, which `LSTM`/`GRU`/`SimpleRNN` derive from their Keras-layout
variables on every call (transposed views, one gate reorder for GRU), so the
variables stay the single source of truth. Masks are supported when they are
right-padded (each sequence's valid steps first): the batch is packed by length and
the outputs are rearranged to be exactly those of Keras's step loop.

>>> import torch
>>> torch.equal(right_padded_lengths(torch.tensor([[1, 1, 0], [1, 1, 1]]).bool())[1], torch.tensor([2, 3]))
True
>>> right_padded_lengths(torch.tensor([[1, 0, 1]]).bool())
(False, None)
"""

import warnings

import torch
from torch.nn.utils.rnn import PackedSequence, pack_padded_sequence, pad_packed_sequence


def right_padded_lengths(mask):
    """``(usable, lengths)`` for a boolean ``(batch, time)`` mask.

    ``usable`` is False when some row is not ``True...True False...False`` or is all
    False (the fused kernels need a non-empty prefix); ``lengths`` is None when every
    step is valid (no packing needed).
    """
    steps = mask.shape[1]
    lengths = mask.sum(dim=1)
    prefix = torch.arange(steps, device=mask.device) < lengths[:, None]
    if not bool(torch.equal(prefix, mask)) or bool((lengths == 0).any()):
        return False, None
    if bool((lengths == steps).all()):
        return True, None
    return True, lengths


def run_fused(kernel, params, has_biases, sequences, states, lengths=None, go_backwards=False,
              zero_output_for_mask=False, return_sequences=True):
    """One fused kernel call with Keras semantics.

    Args:
        kernel: ``torch._VF.lstm``, ``torch._VF.gru``, ``torch._VF.rnn_tanh`` or ``torch._VF.rnn_relu``.
        params: torch-layout weights ``[w_ih, w_hh(, b_ih, b_hh)]``.
        has_biases: whether ``params`` holds the two biases.
        sequences: ``(batch, time, features)``.
        states: list of ``(batch, units)`` initial states (``[h, c]`` for LSTM, ``[h]`` otherwise).
        lengths: per-sequence valid lengths of a right-padded mask, or None.
        go_backwards: process each sequence from its last valid step; outputs are in processing order.
        zero_output_for_mask: masked timesteps output zeros instead of the last valid output.
        return_sequences: whether the full output sequence is needed.

    Returns:
        ``(last_output, outputs, final_states)`` exactly as Keras's step loop returns them.
    """
    if sequences.is_cuda:
        # cuDNN needs contiguous weights; it then copies them into its flat buffer on each call (its
        # "not part of single contiguous chunk" warning), the price of deriving them from the Keras variables.
        params = [p.contiguous() for p in params]
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="RNN module weights are not part of single contiguous chunk")
            return _dispatch()(kernel, params, has_biases, sequences, states, lengths, go_backwards,
                               zero_output_for_mask, return_sequences)
    return _dispatch()(kernel, params, has_biases, sequences, states, lengths, go_backwards, zero_output_for_mask,
                       return_sequences)


def _dispatch():
    # Inside torch.compile the kernel call runs eagerly (packed sequences have data-dependent sizes); in
    # eager mode the plain function runs, without the few microseconds of the disable wrapper per call.
    return _run_eagerly_when_compiling if torch.compiler.is_compiling() else _run


def _run(kernel, params, has_biases, sequences, states, lengths, go_backwards, zero_output_for_mask,
         return_sequences):
    train = torch.is_grad_enabled()
    hx = tuple(s.unsqueeze(0) for s in states) if len(states) > 1 else states[0].unsqueeze(0)
    if lengths is None:
        x = sequences.flip(1) if go_backwards else sequences
        result = kernel(x, hx, params, has_biases, 1, 0.0, train, False, True)
        outputs = result[0]
        return outputs[:, -1], outputs, [h.squeeze(0) for h in result[1:]]

    steps = sequences.shape[1]
    time = torch.arange(steps, device=sequences.device)
    lengths = lengths.to(sequences.device)
    valid = time < lengths[:, None]
    x = sequences
    if go_backwards:  # reverse each sequence within its own length
        index = torch.where(valid, lengths[:, None] - 1 - time, time)
        x = x.gather(1, index[..., None].expand_as(x))
    packed = pack_padded_sequence(x, lengths.cpu(), batch_first=True, enforce_sorted=False)
    order, restore = packed.sorted_indices, packed.unsorted_indices
    if isinstance(hx, tuple):
        hx = tuple(h.index_select(1, order) for h in hx)
    else:
        hx = hx.index_select(1, order)
    result = kernel(packed.data, packed.batch_sizes, hx, params, has_biases, 1, 0.0, train, False)
    final = [h.index_select(1, restore).squeeze(0) for h in result[1:]]
    last = final[0]
    if not go_backwards and zero_output_for_mask:
        # Keras's last output is the output of the last step, zeroed when that step is masked.
        last = torch.where((lengths == steps)[:, None], last, torch.zeros_like(last))
    if not return_sequences:
        return last, last[:, None], final
    padded, _ = pad_packed_sequence(PackedSequence(result[0], packed.batch_sizes, order, restore),
                                    batch_first=True, total_length=steps)
    if go_backwards:
        # Processing order: the padding comes first (outputs 0), then the reversed valid steps.
        shift = (steps - lengths)[:, None]
        source = (time - shift).clamp(min=0)
        outputs = padded.gather(1, source[..., None].expand_as(padded))
        outputs = torch.where((time >= shift)[..., None], outputs, torch.zeros_like(outputs))
    else:
        fill = torch.zeros_like(padded) if zero_output_for_mask else final[0][:, None].expand_as(padded)
        outputs = torch.where(valid[..., None], padded, fill)
    return last, outputs, final


_run_eagerly_when_compiling = torch.compiler.disable(_run)


def lstm_params(kernel, recurrent_kernel, bias):
    """torch LSTM weights from Keras ones: same gate order (i, f, c/g, o), transposed; bias goes to ``b_ih``."""
    params = [kernel.t(), recurrent_kernel.t()]
    if bias is not None:
        params += [bias, torch.zeros_like(bias)]
    return params


_GRU_ORDER = {}  # (units, device) -> the gate permutation index (a constant, not a weight)


def gru_params(kernel, recurrent_kernel, bias, units):
    """torch GRU weights from Keras ones (``reset_after=True``): gates z, r, h -> r, z, n; bias rows -> b_ih, b_hh."""
    key = (units, str(kernel.device))
    order = _GRU_ORDER.get(key)
    if order is None:
        order = torch.cat([torch.arange(units, 2 * units), torch.arange(units), torch.arange(2 * units, 3 * units)])
        order = _GRU_ORDER[key] = order.to(kernel.device)
    params = [kernel.index_select(1, order).t(), recurrent_kernel.index_select(1, order).t()]
    if bias is not None:
        bias = bias.index_select(1, order)
        params += [bias[0], bias[1]]
    return params


def simple_params(kernel, recurrent_kernel, bias):
    """torch Elman-RNN weights from Keras ones (transposed; bias goes to ``b_ih``)."""
    return lstm_params(kernel, recurrent_kernel, bias)
