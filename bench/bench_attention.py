"""MultiHeadAttention forward + backward against the same computation in raw torch, in one run.

Self-attention, batch 32, sequence 64, model dim 128, 4 heads (key_dim 32), float32, the
input requires grad; each step is forward, ``sum()``, backward. Both baselines hold
lamina's weights (checked to give the same output before timing):

* raw SDPA: three ``F.linear`` projections, ``F.scaled_dot_product_attention``, an output
  ``F.linear`` (the same calls lamina makes) — the ratio the target (<= 1.1x) applies to;
* ``torch.nn.MultiheadAttention`` (``batch_first=True``, fused in-projection), for reference.

Cases: no mask; ``use_causal_mask=True`` (raw torch: ``is_causal=True``); a key padding
mask (raw torch: the same boolean ``attn_mask``).

Each round times lamina and a baseline back to back with ``torch.utils.benchmark`` (median of
a blocked autorange); ratios are medians of the per-round ratios lamina / torch, times
medians over the rounds.

    python bench/bench_attention.py           # 7 rounds
    python bench/bench_attention.py --quick   # 3 shorter rounds
"""

import argparse
import statistics

import torch
import torch.nn.functional as F
import torch.utils.benchmark as benchmark

import lamina
from lamina import layers

BATCH, SEQ, DIM, HEADS = 32, 64, 128, 4


def _median_time(fn, min_run_time):
    # Timer runs on one thread unless told: time with torch's thread count, as users run.
    timer = benchmark.Timer(stmt="fn()", globals={"fn": fn}, num_threads=torch.get_num_threads())
    return timer.blocked_autorange(min_run_time=min_run_time).median


def compare(name, lamina_fn, baselines, rounds, min_run_time):
    """Interleaved rounds of lamina and each baseline; prints one line per baseline."""
    fns = [lamina_fn, *baselines.values()]
    for _ in range(3):  # warm-up
        for fn in fns:
            fn()
    times = [[] for _ in fns]
    for _ in range(rounds):
        for fn, spent in zip(fns, times):
            spent.append(_median_time(fn, min_run_time))
    ratios = {}
    for (base, _), spent in zip(baselines.items(), times[1:]):
        ratios[base] = statistics.median(a / b for a, b in zip(times[0], spent))
        print(f"  {name:<22} lamina {statistics.median(times[0]) * 1e3:7.2f} ms   {base:<22} "
              f"{statistics.median(spent) * 1e3:7.2f} ms   ratio {ratios[base]:4.2f}x")
    return ratios


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer, shorter rounds")
    parser.add_argument("--threads", type=int, default=None, help="torch intra-op threads (default: torch's)")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    rounds, min_run_time = (3, 0.2) if args.quick else (7, 0.5)
    device = lamina.config.device()
    torch.manual_seed(0)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, device {device}, float32, eager, "
          f"forward+backward; batch {BATCH}, seq {SEQ}, dim {DIM}, {HEADS} heads")
    x = torch.randn(BATCH, SEQ, DIM, device=device, requires_grad=True)
    lengths = torch.randint(SEQ // 2, SEQ + 1, (BATCH,), device=device)
    key_mask = torch.arange(SEQ, device=device)[None] < lengths[:, None]

    mha = layers.MultiHeadAttention(num_heads=HEADS, key_dim=DIM // HEADS, bias_initializer="random_normal")
    mha(x, x)  # builds the weights
    # The same weights in torch's layout: F.linear weights (out, in).
    dense = (mha._query_dense, mha._key_dense, mha._value_dense, mha._output_dense)
    w = [d.kernel.value.detach().reshape(DIM, DIM).t().contiguous().requires_grad_(True) for d in dense[:3]]
    w.append(dense[3].kernel.value.detach().reshape(DIM, DIM).t().contiguous().requires_grad_(True))
    b = [d.bias.value.detach().reshape(DIM).clone().requires_grad_(True) for d in dense]
    ref = torch.nn.MultiheadAttention(DIM, HEADS, batch_first=True).to(device)
    with torch.no_grad():
        ref.in_proj_weight.copy_(torch.cat(w[:3]))
        ref.in_proj_bias.copy_(torch.cat(b[:3]))
        ref.out_proj.weight.copy_(w[3])
        ref.out_proj.bias.copy_(b[3])

    def lamina_out(**kwargs):
        return mha(x, x, **kwargs)

    def sdpa_out(attn_mask=None, is_causal=False):
        q, k, v = (F.linear(x, w[i], b[i]).view(BATCH, SEQ, HEADS, -1).transpose(1, 2) for i in range(3))
        out = F.scaled_dot_product_attention(q, k, v, attn_mask=attn_mask, is_causal=is_causal)
        return F.linear(out.transpose(1, 2).reshape(BATCH, SEQ, DIM), w[3], b[3])

    def mha_out(**kwargs):
        return ref(x, x, x, need_weights=False, **kwargs)[0]

    def step(fn, **kwargs):
        def run():
            fn(**kwargs).sum().backward()
        return run

    causal = torch.ones(SEQ, SEQ, dtype=torch.bool, device=device).triu(1)  # nn.MultiheadAttention: True = masked
    cases = [
        ("no mask", {}, {}, {}),
        ("use_causal_mask", {"use_causal_mask": True}, {"is_causal": True}, {"attn_mask": causal, "is_causal": True}),
        ("key padding mask", {"value_mask": key_mask}, {"attn_mask": key_mask[:, None, None, :]},
         {"key_padding_mask": ~key_mask}),
    ]
    ratios = {}
    for name, lamina_kwargs, sdpa_kwargs, mha_kwargs in cases:
        with torch.no_grad():
            expected = sdpa_out(**sdpa_kwargs)
            torch.testing.assert_close(lamina_out(**lamina_kwargs), expected, rtol=1e-4, atol=1e-5)
            torch.testing.assert_close(mha_out(**mha_kwargs), expected, rtol=1e-4, atol=1e-5)
        assert mha._last_path == "sdpa"
        ratios[name] = compare(name, step(lamina_out, **lamina_kwargs),
                               {"raw SDPA": step(sdpa_out, **sdpa_kwargs),
                                "nn.MultiheadAttention": step(mha_out, **mha_kwargs)}, rounds, min_run_time)
    worst = max(ratios, key=lambda k: ratios[k]["raw SDPA"])
    print(f"worst ratio vs raw SDPA {ratios[worst]['raw SDPA']:.2f}x ({worst}; target <= 1.10x)")


if __name__ == "__main__":
    main()
