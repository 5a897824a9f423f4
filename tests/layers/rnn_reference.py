"""Independent NumPy references for the recurrent layers: one step per cell, and Keras's masked loop.

Written from the formulas (Keras docs and specs/keras-formats.md §8.2), not from lamina's code.
"""

import numpy as np


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def lstm_step(x, states, kernel, recurrent, bias, act=np.tanh, rec_act=sigmoid):
    h, c = states
    z = x @ kernel + h @ recurrent + (0 if bias is None else bias)
    i, f, g, o = np.split(z, 4, axis=-1)
    c = rec_act(f) * c + rec_act(i) * act(g)
    h = rec_act(o) * act(c)
    return h, [h, c]


def gru_step(x, states, kernel, recurrent, bias, reset_after=True, act=np.tanh, rec_act=sigmoid):
    (h,) = states
    u = h.shape[-1]
    if bias is None:
        b_in, b_rec = np.zeros(3 * u), np.zeros(3 * u)
    elif reset_after:
        b_in, b_rec = bias[0], bias[1]
    else:
        b_in, b_rec = bias, np.zeros(3 * u)
    xz, xr, xh = np.split(x @ kernel + b_in, 3, axis=-1)
    wz, wr, wh = np.split(recurrent, 3, axis=-1)
    bz, br, bh = np.split(b_rec, 3)
    z = rec_act(xz + h @ wz + bz)
    r = rec_act(xr + h @ wr + br)
    hh = act(xh + r * (h @ wh + bh)) if reset_after else act(xh + (r * h) @ wh)
    h = z * h + (1 - z) * hh
    return h, [h]


def simple_step(x, states, kernel, recurrent, bias, act=np.tanh):
    h = act(x @ kernel + states[0] @ recurrent + (0 if bias is None else bias))
    return h, [h]


def run(step, x, states, mask=None, go_backwards=False, zero_output_for_mask=False):
    """Keras's loop: masked steps keep the states and repeat the previous output (zeros at first).

    Returns ``(outputs (batch, time, units) in processing order, last_output, final_states)``.
    """
    steps = x.shape[1]
    outputs, previous = [], None
    for t in (range(steps - 1, -1, -1) if go_backwards else range(steps)):
        out, new = step(x[:, t], states)
        if mask is not None:
            keep = mask[:, t][:, None]
            if previous is None or zero_output_for_mask:
                previous = np.zeros_like(out)
            out = np.where(keep, out, previous)
            new = [np.where(keep, n, s) for n, s in zip(new, states)]
        previous, states = out, new
        outputs.append(out)
    return np.stack(outputs, axis=1), outputs[-1], states


def weights(layer):
    """The cell's (kernel, recurrent_kernel, bias or None) as float64 arrays."""
    cell = layer.cell
    bias = None if cell.bias is None else cell.bias.numpy().astype("float64")
    return cell.kernel.numpy().astype("float64"), cell.recurrent_kernel.numpy().astype("float64"), bias
