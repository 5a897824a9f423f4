"""LSTM/GRU forward+backward time of lamina against raw ``torch.nn.LSTM``/``GRU``, in one run.

Shapes: batch 64, 50 timesteps, 32 features -> 64 units, float32, the input requires grad.
Each step is forward, ``sum()`` of the last output, backward. The torch module holds
lamina's weights (Keras layout mapped to torch's: transposed, GRU gates z, r, h -> r, z, n),
and both sides are checked to give the same loss before timing. Cases:

* unmasked, ``return_sequences=False`` (torch: ``module(x)[0][:, -1]``);
* unmasked, ``return_sequences=True`` (torch: ``module(x)[0]``);
* right-padded, masked (lamina gets ``mask=``, packs the batch by length on the fused
  kernel; torch packs with ``pack_padded_sequence`` and takes ``h_n``);
* the step-loop fallback (``use_cudnn=False``), for scale, against torch's fused module.

Each round times lamina and torch back to back with ``torch.utils.benchmark`` (median of
a blocked autorange); the ratio is the median of the per-round ratios lamina / torch
(the target is <= 1.1x), the times are medians over the rounds.

    python bench/bench_rnn.py           # 7 rounds
    python bench/bench_rnn.py --quick   # 3 shorter rounds
"""

import argparse
import statistics

import torch
import torch.utils.benchmark as benchmark
from torch.nn.utils.rnn import pack_padded_sequence

import lamina
from lamina import layers

BATCH, STEPS, FEATURES, UNITS = 64, 50, 32, 64


def _median_time(fn, min_run_time):
    # Timer runs on one thread unless told: time with torch's thread count, as users run.
    timer = benchmark.Timer(stmt="fn()", globals={"fn": fn}, num_threads=torch.get_num_threads())
    return timer.blocked_autorange(min_run_time=min_run_time).median


def compare(name, lamina_fn, torch_fn, rounds, min_run_time):
    """Interleaved rounds; prints and returns the median per-round ratio lamina / torch."""
    for _ in range(3):  # warm-up (oneDNN primitives, allocator)
        lamina_fn()
        torch_fn()
    lamina_times, torch_times = [], []
    for _ in range(rounds):
        lamina_times.append(_median_time(lamina_fn, min_run_time))
        torch_times.append(_median_time(torch_fn, min_run_time))
    ratio = statistics.median(a / b for a, b in zip(lamina_times, torch_times))
    print(f"  {name:<36} lamina {statistics.median(lamina_times) * 1e3:7.2f} ms   "
          f"torch {statistics.median(torch_times) * 1e3:7.2f} ms   ratio {ratio:4.2f}x")
    return ratio


def torch_module(layer, device):
    """``torch.nn.LSTM``/``GRU`` holding ``layer``'s weights (the documented Keras -> torch mapping)."""
    kernel, recurrent, bias = (torch.as_tensor(w) for w in layer.get_weights())
    gru = isinstance(layer, layers.GRU)
    module = (torch.nn.GRU if gru else torch.nn.LSTM)(kernel.shape[0], layer.units, batch_first=True)
    with torch.no_grad():
        if gru:  # Keras z, r, h -> torch r, z, n; bias rows: input, recurrent
            def swap(w):
                z, r, h = w.chunk(3, dim=-1)
                return torch.cat([r, z, h], dim=-1)
            kernel, recurrent, bias = swap(kernel), swap(recurrent), swap(bias)
            module.bias_ih_l0.copy_(bias[0])
            module.bias_hh_l0.copy_(bias[1])
        else:
            module.bias_ih_l0.copy_(bias)
            module.bias_hh_l0.zero_()
        module.weight_ih_l0.copy_(kernel.T)
        module.weight_hh_l0.copy_(recurrent.T)
    return module.to(device)


def lamina_loss(layer, x, mask=None):
    out = layer(x) if mask is None else layer(x, mask=mask)
    return out.sum()


def torch_loss(module, x, lengths=None, sequences=False):
    if lengths is None:
        out = module(x)[0]
        return (out if sequences else out[:, -1]).sum()
    _, hidden = module(pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False))
    hidden = hidden[0] if isinstance(hidden, tuple) else hidden
    return hidden[-1].sum()


def step(loss_fn, *args, **kwargs):
    def run():
        loss_fn(*args, **kwargs).backward()
    return run


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer, shorter rounds")
    parser.add_argument("--threads", type=int, default=None, help="torch intra-op threads (default: torch's)")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    rounds, min_run_time = (3, 0.2) if args.quick else (7, 0.5)
    torch.manual_seed(0)
    device = lamina.config.device()
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, device {device}, float32, eager, "
          "forward+backward")
    print(f"batch {BATCH}, {STEPS} steps, {FEATURES} -> {UNITS} units")
    x = torch.randn(BATCH, STEPS, FEATURES, device=device, requires_grad=True)
    lengths = torch.randint(STEPS // 2, STEPS + 1, (BATCH,))
    mask = (torch.arange(STEPS)[None] < lengths[:, None]).to(device)
    ratios = {}
    for cls in (layers.LSTM, layers.GRU):
        kind = cls.__name__
        layer, sequences = cls(UNITS), cls(UNITS, return_sequences=True)
        layer(x)
        sequences(x)
        sequences.set_weights(layer.get_weights())
        module = torch_module(layer, device)
        loop = cls(UNITS, use_cudnn=False)
        loop(x)
        loop.set_weights(layer.get_weights())
        # Same computation on both sides: same loss (and the path each case claims).
        torch.testing.assert_close(lamina_loss(layer, x), torch_loss(module, x), rtol=1e-4, atol=1e-3)
        assert layer.last_call_path == "fused"
        torch.testing.assert_close(lamina_loss(sequences, x), torch_loss(module, x, sequences=True),
                                   rtol=1e-4, atol=1e-3)
        torch.testing.assert_close(lamina_loss(layer, x, mask), torch_loss(module, x, lengths), rtol=1e-4, atol=1e-3)
        assert layer.last_call_path == "fused"
        torch.testing.assert_close(lamina_loss(loop, x), torch_loss(module, x), rtol=1e-4, atol=1e-3)
        assert loop.last_call_path == "loop"

        ratios[kind] = compare(f"{kind}", step(lamina_loss, layer, x), step(torch_loss, module, x),
                               rounds, min_run_time)
        ratios[f"{kind} return_sequences"] = compare(
            f"{kind} return_sequences", step(lamina_loss, sequences, x),
            step(torch_loss, module, x, sequences=True), rounds, min_run_time)
        ratios[f"{kind} masked"] = compare(f"{kind} masked (right-padded)", step(lamina_loss, layer, x, mask),
                                           step(torch_loss, module, x, lengths), rounds, min_run_time)
        compare(f"{kind} step loop (fallback, for scale)", step(lamina_loss, loop, x), step(torch_loss, module, x),
                max(2, rounds // 2), min_run_time)
    worst = max(ratios, key=ratios.get)
    print(f"worst fused ratio {ratios[worst]:.2f}x ({worst}; target <= 1.10x)")


if __name__ == "__main__":
    main()
