"""Eager forward+backward time of lamina's Conv2D (and the layers around it) against raw PyTorch.

Each case prints the median time of one training step (forward, ``sum()``, backward)
for the lamina layer on channels_last NHWC data with a Keras-layout kernel, and for
the same computation in raw torch:

* ``torch(cl)``: ``F.conv2d`` (or the torch module) on NCHW tensors in
  ``torch.channels_last`` memory format — the fastest raw torch layout here;
* ``torch(nchw)``: the same call on contiguous NCHW tensors (torch's default).

Both sides hold the same weights and are checked to give the same output before
timing. The ratio is lamina / torch(cl) (the target is <= 1.1x; same memory layout
on both sides), taken per round of alternating measurements so both sides see the
same machine load; the ratio against torch(nchw) is printed beside it.

Usage: ``python bench/bench_conv.py [--quick] [--threads N]``
"""

import argparse
import statistics

import torch
import torch.nn.functional as F
import torch.utils.benchmark as benchmark

from lamina import layers


def _step(fn, *args):
    out = fn(*args)
    out.sum().backward()
    return out


def _median_time(fn, args, min_run_time):
    # Timer runs on one thread unless told: time with torch's thread count, as users run.
    timer = benchmark.Timer(stmt="step(fn, *args)", globals={"step": _step, "fn": fn, "args": args},
                            num_threads=torch.get_num_threads())
    return timer.blocked_autorange(min_run_time=min_run_time).median


def _compare(name, lamina_case, torch_cl_case, torch_nchw_case, rounds, min_run_time):
    times = {"lamina": [], "cl": [], "nchw": []}
    cases = {"lamina": lamina_case, "cl": torch_cl_case, "nchw": torch_nchw_case}
    for fn, args in cases.values():  # warm-up (oneDNN primitive creation)
        _step(fn, *args)
        _step(fn, *args)
    for _ in range(rounds):
        for key, (fn, args) in cases.items():
            times[key].append(_median_time(fn, args, min_run_time))
    ratio = statistics.median(a / b for a, b in zip(times["lamina"], times["cl"]))
    ratio_nchw = statistics.median(a / b for a, b in zip(times["lamina"], times["nchw"]))
    t = {k: statistics.median(v) * 1e3 for k, v in times.items()}
    print(f"{name:<40} lamina {t['lamina']:7.2f} ms   torch(cl) {t['cl']:7.2f} ms   torch(nchw) {t['nchw']:7.2f} ms"
          f"   ratio {ratio:4.2f}x (vs nchw {ratio_nchw:4.2f}x)")
    return ratio


def _conv_case(batch, size, channels, filters, rounds, min_run_time):
    layer = layers.Conv2D(filters, 3, padding="same")
    x = torch.randn(batch, size, size, channels)
    layer(x)
    kernel, bias = layer.kernel.value, layer.bias.value
    weight = kernel.detach().permute(3, 2, 0, 1).contiguous().requires_grad_(True)
    weight_cl = weight.detach().contiguous(memory_format=torch.channels_last).requires_grad_(True)
    raw_bias = bias.detach().clone().requires_grad_(True)
    x_nchw = x.permute(0, 3, 1, 2).contiguous().requires_grad_(True)
    x_cl = x_nchw.detach().contiguous(memory_format=torch.channels_last).requires_grad_(True)
    x_lamina = x.clone().requires_grad_(True)
    torch.testing.assert_close(layer(x_lamina).permute(0, 3, 1, 2), F.conv2d(x_cl, weight_cl, raw_bias, padding=1),
                               rtol=1e-4, atol=1e-4)
    return _compare(f"Conv2D 3x3 ({batch},{size},{size},{channels})->{filters}",
                    (layer, (x_lamina,)),
                    (lambda x, w, b: F.conv2d(x, w, b, padding=1), (x_cl, weight_cl, raw_bias)),
                    (lambda x, w, b: F.conv2d(x, w, b, padding=1), (x_nchw, weight, raw_bias)),
                    rounds, min_run_time)


def _module_case(name, layer, module, shape, rounds, min_run_time):
    x = torch.randn(*shape)
    layer(x)
    x_lamina = x.clone().requires_grad_(True)
    x_nchw = x.permute(0, 3, 1, 2).contiguous().requires_grad_(True)
    x_cl = x_nchw.detach().contiguous(memory_format=torch.channels_last).requires_grad_(True)
    torch.testing.assert_close(layer(x_lamina).permute(0, 3, 1, 2), module(x_cl), rtol=1e-4, atol=1e-4)
    return _compare(name, (layer, (x_lamina,)), (module, (x_cl,)), (module, (x_nchw,)), rounds, min_run_time)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a few-second run with fewer, shorter rounds")
    parser.add_argument("--threads", type=int, default=None, help="torch intra-op threads (default: torch's)")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    rounds, min_run_time = (3, 0.2) if args.quick else (7, 0.5)
    torch.manual_seed(0)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, device cpu, float32, eager, "
          "forward+backward")
    ratios = [_conv_case(128, 28, 1, 32, rounds, min_run_time), _conv_case(128, 14, 32, 64, rounds, min_run_time)]
    bn = layers.BatchNormalization()
    bn_module = torch.nn.BatchNorm2d(64, eps=1e-3, momentum=0.01)
    training_bn = lambda x: bn(x, training=True)  # noqa: E731
    ratios.append(_module_case("BatchNormalization (128,14,14,64) train", training_bn, bn_module,
                               (128, 14, 14, 64), rounds, min_run_time))
    ratios.append(_module_case("MaxPooling2D 2x2 (128,28,28,32)", layers.MaxPooling2D(2), torch.nn.MaxPool2d(2),
                               (128, 28, 28, 32), rounds, min_run_time))
    print(f"worst ratio {max(ratios):.2f}x (target <= 1.10x)")


if __name__ == "__main__":
    main()
