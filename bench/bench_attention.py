"""MultiHeadAttention forward + backward against the same computation in raw torch, in one run.

Self-attention, batch 32, sequence 64, model dim 128, 4 heads (key_dim 32). Two baselines:

* ``nn.MultiheadAttention`` (fused in-projection, ``batch_first=True``);
* raw SDPA: three ``F.linear`` projections, ``scaled_dot_product_attention``, an output ``F.linear``.

    python bench/bench_attention.py           # 7 rounds
    python bench/bench_attention.py --quick   # 3 rounds

Each round times lamina and a baseline back to back; the reported ratio is the median of the
per-round ratios lamina_time / torch_time (below 1 means lamina is faster; the target is <= 1.1).
"""

import argparse
import statistics
import time

import torch
import torch.nn.functional as F

from lamina import layers

BATCH, SEQ, DIM, HEADS = 32, 64, 128, 4


def _time(step, iters):
    step()  # warm-up
    start = time.perf_counter()
    for _ in range(iters):
        step()
    return (time.perf_counter() - start) / iters


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    rounds, iters = (3, 10) if args.quick else (7, 20)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    torch.manual_seed(0)
    x = torch.randn(BATCH, SEQ, DIM, device=device, requires_grad=True)

    mha = layers.MultiHeadAttention(num_heads=HEADS, key_dim=DIM // HEADS)
    mha(x, x)  # builds the weights
    mha.to(device)
    ref = torch.nn.MultiheadAttention(DIM, HEADS, batch_first=True).to(device)
    w = [torch.randn(DIM, DIM, device=device, requires_grad=True) * 0.05 for _ in range(4)]
    w = [t.detach().requires_grad_(True) for t in w]
    b = [torch.zeros(DIM, device=device, requires_grad=True) for _ in range(4)]

    def sync():
        if device.type == "cuda":
            torch.cuda.synchronize()

    def lamina_step():
        mha(x, x).sum().backward()
        sync()

    def mha_step():
        ref(x, x, x, need_weights=False)[0].sum().backward()
        sync()

    def sdpa_step():
        q, k, v = (F.linear(x, w[i], b[i]).view(BATCH, SEQ, HEADS, -1).transpose(1, 2) for i in range(3))
        out = F.scaled_dot_product_attention(q, k, v).transpose(1, 2).reshape(BATCH, SEQ, DIM)
        F.linear(out, w[3], b[3]).sum().backward()
        sync()

    ratios = {"nn.MultiheadAttention": [], "raw SDPA": []}
    times = {"lamina": [], "nn.MultiheadAttention": [], "raw SDPA": []}
    for _ in range(rounds):
        for name, step in (("nn.MultiheadAttention", mha_step), ("raw SDPA", sdpa_step)):
            t_lamina = _time(lamina_step, iters)
            t_torch = _time(step, iters)
            times["lamina"].append(t_lamina)
            times[name].append(t_torch)
            ratios[name].append(t_lamina / t_torch)
    print(f"MultiHeadAttention forward+backward, batch {BATCH}, seq {SEQ}, dim {DIM}, {HEADS} heads, {device}; "
          f"path: {mha._last_path}")
    print(f"  lamina: {statistics.median(times['lamina']) * 1e3:.2f} ms/step")
    for name, values in ratios.items():
        print(f"  {name}: {statistics.median(times[name]) * 1e3:.2f} ms/step; lamina/torch time ratio "
              f"{statistics.median(values):.3f} (median of {rounds} rounds)")


if __name__ == "__main__":
    main()
