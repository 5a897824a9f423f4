"""Time of one optimizer step in lamina against ``torch.optim`` on the same parameters.

Prints, for the parameters of a 784-512-256-10 MLP (6 tensors, 535,818 floats) with fixed
gradients, the median time of one step of:

* lamina ``Adam`` against ``torch.optim.Adam(foreach=True)`` (the ratio the target is set on),
* lamina ``Adam`` against ``torch.optim.Adam(fused=True)``,
* lamina ``SGD(momentum=0.9)`` against ``torch.optim.SGD(momentum=0.9, foreach=True)``,

and the ratio lamina/torch. The update rules differ only in Keras's conventions (epsilon
outside the bias correction, velocity sign), not in the work done. Each side is timed with
``torch.utils.benchmark.Timer`` in alternating rounds; the ratio is the median of the
per-round ratios.

Usage: ``python bench/bench_optimizers.py [--quick] [--threads N]``
"""

import argparse
import statistics

import torch
import torch.utils.benchmark as benchmark

import lamina
from lamina import optimizers

SHAPES = [(784, 512), (512,), (512, 256), (256,), (256, 10), (10,)]


def _median_time(fn, min_run_time):
    return benchmark.Timer(stmt="fn()", globals={"fn": fn}).blocked_autorange(min_run_time=min_run_time).median


def _setup():
    values = [torch.randn(shape) * 0.05 for shape in SHAPES]
    grads = [torch.randn(shape) * 1e-3 for shape in SHAPES]
    variables = [lamina.Variable(v.clone(), name=f"w{i}") for i, v in enumerate(values)]
    params = [torch.nn.Parameter(v.clone()) for v in values]
    for param, grad in zip(params, grads):
        param.grad = grad.clone()
    return variables, params, grads


def _compare(name, lamina_optimizer, make_torch_optimizer, rounds, min_run_time):
    variables, params, grads = _setup()
    torch_optimizer = make_torch_optimizer(params)

    def lamina_step():
        lamina_optimizer.apply(grads, variables)

    for _ in range(3):  # warm-up (builds the lamina state on the first call)
        lamina_step()
        torch_optimizer.step()
    lamina_times, torch_times = [], []
    for _ in range(rounds):
        lamina_times.append(_median_time(lamina_step, min_run_time))
        torch_times.append(_median_time(torch_optimizer.step, min_run_time))
    ratio = statistics.median(a / b for a, b in zip(lamina_times, torch_times))
    t_lamina, t_torch = statistics.median(lamina_times), statistics.median(torch_times)
    print(f"{name:<48} lamina {t_lamina * 1e6:8.1f} us   torch {t_torch * 1e6:8.1f} us   ratio {ratio:5.2f}x")
    return ratio


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a few-second run with fewer, shorter rounds")
    parser.add_argument("--threads", type=int, default=None, help="torch intra-op threads (default: torch's)")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    rounds, min_run_time = (3, 0.1) if args.quick else (7, 0.4)
    torch.manual_seed(0)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, device cpu, float32, MLP 784-512-256-10")
    _compare("Adam step vs torch.optim.Adam(foreach=True)", optimizers.Adam(learning_rate=1e-3),
             lambda p: torch.optim.Adam(p, lr=1e-3, eps=1e-7, foreach=True), rounds, min_run_time)
    _compare("Adam step vs torch.optim.Adam(fused=True)", optimizers.Adam(learning_rate=1e-3),
             lambda p: torch.optim.Adam(p, lr=1e-3, eps=1e-7, fused=True), rounds, min_run_time)
    _compare("SGD(0.9) step vs torch.optim.SGD(foreach=True)", optimizers.SGD(learning_rate=1e-2, momentum=0.9),
             lambda p: torch.optim.SGD(p, lr=1e-2, momentum=0.9, foreach=True), rounds, min_run_time)


if __name__ == "__main__":
    main()
