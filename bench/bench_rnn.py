"""LSTM/GRU forward+backward time of lamina against raw ``torch.nn.LSTM``/``GRU``, in one run.

Shapes: batch 64, 50 timesteps, 32 features -> 64 units (return_sequences=False), the
loss is the sum of the last output; each round is forward + backward. Also times the
right-padded masked case (lamina packs the batch; the torch reference packs it too)
and the step-loop fallback for scale.

    python bench/bench_rnn.py           # default rounds
    python bench/bench_rnn.py --quick

Prints ms per step (best | median) and the lamina/torch time ratio (lower is better, target <= 1.1).
"""

import argparse
import statistics
import time

import torch
from torch.nn.utils.rnn import pack_padded_sequence

import lamina
from lamina import layers

BATCH, STEPS, FEATURES, UNITS = 64, 50, 32, 64


def timed(fns, rounds):
    """Times the functions in interleaved rounds (the machine's load hits all alike); ms (best, median) each."""
    for fn in fns:  # warm-up
        fn()
        fn()
    times = [[] for _ in fns]
    for _ in range(rounds):
        for fn, spent in zip(fns, times):
            if device_is_cuda():
                torch.cuda.synchronize()
            start = time.perf_counter()
            fn()
            if device_is_cuda():
                torch.cuda.synchronize()
            spent.append(time.perf_counter() - start)
    return [(1e3 * min(t), 1e3 * statistics.median(t)) for t in times]


def device_is_cuda():
    return lamina.config.device().type == "cuda"


def lamina_step(layer, x, mask=None):
    def step():
        if mask is not None:
            x._keras_mask = mask
        layer(x).sum().backward()
    return step


def torch_step(module, x, lengths=None):
    def step():
        if lengths is None:
            out, _ = module(x)
            out[:, -1].sum().backward()
        else:
            _, hidden = module(pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False))
            hidden = hidden[0] if isinstance(hidden, tuple) else hidden
            hidden[-1].sum().backward()
    return step


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    rounds = 10 if args.quick else 40
    torch.manual_seed(0)
    print(f"torch {torch.__version__}, threads {torch.get_num_threads()}, device {lamina.config.device()}")
    device = lamina.config.device()
    x = torch.randn(BATCH, STEPS, FEATURES, device=device)
    lengths = torch.randint(STEPS // 2, STEPS + 1, (BATCH,))
    mask = (torch.arange(STEPS)[None] < lengths[:, None]).to(device)
    results = {}
    for kind, lamina_cls, torch_cls in (("LSTM", layers.LSTM, torch.nn.LSTM), ("GRU", layers.GRU, torch.nn.GRU)):
        layer = lamina_cls(UNITS)
        layer(x)
        reference = torch_cls(FEATURES, UNITS, batch_first=True).to(device)
        results[f"{kind} lamina"], results[f"{kind} torch"] = timed(
            [lamina_step(layer, x), torch_step(reference, x)], rounds)
        assert layer.last_call_path == "fused"
        results[f"{kind} masked lamina"], results[f"{kind} masked torch"] = timed(
            [lamina_step(layer, x, mask), torch_step(reference, x, lengths)], rounds)
        assert layer.last_call_path == "fused"
    loop = layers.LSTM(UNITS, use_cudnn=False)
    (results["LSTM step loop (fallback)"],) = timed([lamina_step(loop, x)], max(3, rounds // 4))

    print(f"\nbatch {BATCH}, {STEPS} steps, {FEATURES} -> {UNITS} units, forward+backward, ms (best | median)")
    for name, (best, median) in results.items():
        print(f"  {name:28s} {best:8.2f} | {median:8.2f}")
    for kind in ("LSTM", "GRU", "LSTM masked", "GRU masked"):
        ratio = results[f"{kind} lamina"][0] / results[f"{kind} torch"][0]
        print(f"  ratio lamina/torch {kind:12s} {ratio:5.2f}x")


if __name__ == "__main__":
    main()
