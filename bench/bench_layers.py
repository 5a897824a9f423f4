"""Eager forward time of lamina layers against the same computation in raw PyTorch.

Prints one line per case with the median time per call of lamina and of torch
(``torch.nn.Linear`` modules holding the same weights) and the ratio lamina/torch:

* ``Dense(512)`` on a (128, 784) float32 batch,
* a 3-layer MLP (Dense 512 relu -> Dense 256 relu -> Dense 10) at batch 128,
* the same MLP at batch 1, where the time is almost all per-call overhead,
* the same MLP as a ``lamina.Sequential`` model and as a functional ``lamina.Model``.

Each side is timed with ``torch.utils.benchmark.Timer`` in alternating rounds (so
both see the same machine load); the ratio is the median of the per-round ratios.

Usage: ``python bench/bench_layers.py [--quick] [--threads N]``
"""

import argparse
import statistics

import torch
import torch.utils.benchmark as benchmark

import lamina
from lamina.layers import Dense


def _torch_linear(dense):
    """A ``torch.nn.Linear`` holding a built lamina ``Dense``'s weights (kernel is (in, out))."""
    kernel = dense.kernel.numpy()
    linear = torch.nn.Linear(kernel.shape[0], kernel.shape[1])
    with torch.no_grad():
        linear.weight.copy_(torch.as_tensor(kernel).T)
        linear.bias.copy_(torch.as_tensor(dense.bias.numpy()))
    return linear


def _make_mlp():
    layers = [Dense(512, activation="relu"), Dense(256, activation="relu"), Dense(10)]
    x = torch.randn(2, 784)
    for layer in layers:
        x = layer(x)
    reference = torch.nn.Sequential(
        _torch_linear(layers[0]), torch.nn.ReLU(), _torch_linear(layers[1]), torch.nn.ReLU(), _torch_linear(layers[2])
    )
    return layers, reference


def _median_time(fn, x, min_run_time):
    # Timer runs on one thread unless told: time with torch's thread count, as users run.
    timer = benchmark.Timer(stmt="fn(x)", globals={"fn": fn, "x": x},
                            num_threads=torch.get_num_threads())
    return timer.blocked_autorange(min_run_time=min_run_time).median


def _compare(name, lamina_fn, torch_fn, x, rounds, min_run_time):
    torch.testing.assert_close(lamina_fn(x), torch_fn(x), rtol=1e-5, atol=1e-5)
    for _ in range(3):  # warm-up
        lamina_fn(x)
        torch_fn(x)
    lamina_times, torch_times = [], []
    for _ in range(rounds):
        lamina_times.append(_median_time(lamina_fn, x, min_run_time))
        torch_times.append(_median_time(torch_fn, x, min_run_time))
    # The ratio of each round's pair (taken back to back) is robust to load changing between rounds.
    ratio = statistics.median(a / b for a, b in zip(lamina_times, torch_times))
    t_lamina, t_torch = statistics.median(lamina_times), statistics.median(torch_times)
    print(f"{name:<34} lamina {t_lamina * 1e6:9.1f} us   torch {t_torch * 1e6:9.1f} us   ratio {ratio:5.2f}x")
    return ratio


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a few-second run with fewer, shorter rounds")
    parser.add_argument("--threads", type=int, default=None, help="torch intra-op threads (default: torch's)")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    rounds, min_run_time = (3, 0.1) if args.quick else (7, 0.5)
    torch.manual_seed(0)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, device cpu, float32, eager, grad enabled")

    dense = Dense(512)
    x128 = torch.randn(128, 784)
    dense(x128)
    _compare("Dense(512), batch 128", dense, _torch_linear(dense), x128, rounds, min_run_time)

    layers, reference = _make_mlp()

    def mlp(x):
        for layer in layers:
            x = layer(x)
        return x

    _compare("MLP 784-512-256-10, batch 128", mlp, reference, x128, rounds, min_run_time)
    _compare("MLP 784-512-256-10, batch 1", mlp, reference, torch.randn(1, 784), rounds, min_run_time)

    model = lamina.Sequential(layers)
    model(x128)
    _compare("Sequential MLP, batch 128", model, reference, x128, rounds, min_run_time)
    _compare("Sequential MLP, batch 1", model, reference, torch.randn(1, 784), rounds, min_run_time)

    # The functional-model overhead target of the functional issue: 3 Dense layers, batch 1.
    inputs = lamina.Input((784,))
    outputs = inputs
    for layer in layers:
        outputs = layer(outputs)
    functional = lamina.Model(inputs, outputs)
    _compare("Functional MLP, batch 1", functional, reference, torch.randn(1, 784), rounds, min_run_time)
    _compare("Functional MLP, batch 128", functional, reference, x128, rounds, min_run_time)

if __name__ == "__main__":
    main()
