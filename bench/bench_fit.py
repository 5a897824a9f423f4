"""fit / evaluate / predict throughput of lamina against a hand-written raw torch loop, in one run.

Models (the issue's): an MLP 784-512-256-10 and a small CNN (two Conv2D + MaxPooling2D),
batch 128, Adam, sparse categorical crossentropy. The raw torch loop does the same work:
slice whole batches from device tensors, forward, loss, backward, a foreach Adam step.

    python bench/bench_fit.py            # eager, both models
    python bench/bench_fit.py --compiled # also jit_compile=True vs raw torch.compile
    python bench/bench_fit.py --quick    # fewer samples and rounds
    python bench/bench_fit.py --models tiny  # a Dense(16->10) model: the per-batch overhead of the loops

The ``tiny`` model does almost no arithmetic, so its figures are the per-batch cost of lamina's loops
(data slicing, step, loss, loss tracker, metric logs, callbacks) against the same loop written in torch.

Each round runs lamina and torch back to back and the ratio is the median of per-round ratios,
so a noisy shared machine affects both sides alike. A ratio above 1 means lamina is faster.
"""

import argparse
import statistics
import time

import numpy as np
import torch

import lamina
from lamina import layers


def lamina_model(kind):
    if kind == "tiny":
        inputs = lamina.Input((16,))
        return lamina.Model(inputs, layers.Dense(10)(inputs))
    if kind == "mlp":
        inputs = lamina.Input((784,))
        x = layers.Dense(512, activation="relu")(inputs)
        x = layers.Dense(256, activation="relu")(x)
        outputs = layers.Dense(10)(x)
    else:
        inputs = lamina.Input((28, 28, 1))
        x = layers.Conv2D(32, 3, activation="relu")(inputs)
        x = layers.MaxPooling2D()(x)
        x = layers.Conv2D(64, 3, activation="relu")(x)
        x = layers.MaxPooling2D()(x)
        x = layers.Flatten()(x)
        outputs = layers.Dense(10)(x)
    return lamina.Model(inputs, outputs)


class TorchCNN(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = torch.nn.Conv2d(1, 32, 3)
        self.conv2 = torch.nn.Conv2d(32, 64, 3)
        self.head = torch.nn.Linear(64 * 5 * 5, 10)

    def forward(self, x):  # x is NHWC, as the data given to lamina
        x = x.permute(0, 3, 1, 2)
        x = torch.nn.functional.max_pool2d(torch.relu(self.conv1(x)), 2)
        x = torch.nn.functional.max_pool2d(torch.relu(self.conv2(x)), 2)
        return self.head(x.permute(0, 2, 3, 1).flatten(1))


def torch_model(kind):
    if kind == "tiny":
        return torch.nn.Linear(16, 10)
    if kind == "mlp":
        return torch.nn.Sequential(torch.nn.Linear(784, 512), torch.nn.ReLU(), torch.nn.Linear(512, 256),
                                   torch.nn.ReLU(), torch.nn.Linear(256, 10))
    return TorchCNN()


def data(kind, n):
    rng = np.random.default_rng(0)
    shape = {"tiny": (n, 16), "mlp": (n, 784)}.get(kind, (n, 28, 28, 1))
    return rng.normal(size=shape).astype("float32"), rng.integers(0, 10, size=(n,)).astype("int64")


def torch_fit_epoch(model, optimizer, x, y, batch_size):
    loss_fn = torch.nn.CrossEntropyLoss()
    perm = torch.randperm(x.shape[0], device=x.device)
    x, y = x[perm], y[perm]
    for start in range(0, x.shape[0], batch_size):
        xb, yb = x[start:start + batch_size], y[start:start + batch_size]
        loss = loss_fn(model(xb), yb)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()


def torch_predict(model, x, batch_size):
    with torch.no_grad():
        return torch.cat([model(x[i:i + batch_size]) for i in range(0, x.shape[0], batch_size)])


def paired_rounds(pairs, samples, rounds):
    """Runs each (lamina_fn, torch_fn) pair back to back per round, so both see the same machine load.

    Returns {name: (median samples/s lamina, median samples/s torch, median of per-round ratios)}.
    """
    for lamina_fn, torch_fn in pairs.values():  # warm-up (lazy builds, allocator, compilation)
        lamina_fn()
        torch_fn()
    times = {name: ([], []) for name in pairs}
    for _ in range(rounds):
        for name, (lamina_fn, torch_fn) in pairs.items():
            for fn, bucket in ((lamina_fn, times[name][0]), (torch_fn, times[name][1])):
                start = time.perf_counter()
                fn()
                _synchronize()
                bucket.append(time.perf_counter() - start)
    out = {}
    for name, (lamina_times, torch_times) in times.items():
        ratios = [theirs / ours for ours, theirs in zip(lamina_times, torch_times)]
        out[name] = (samples / statistics.median(lamina_times), samples / statistics.median(torch_times),
                     statistics.median(ratios))
    return out


def _synchronize():
    if lamina.config.device().type == "cuda":
        torch.cuda.synchronize()


def run(kind, n, rounds, compiled):
    device = lamina.config.device()  # both sides compute on the same device; lamina is given NumPy data
    x_np, y_np = data(kind, n)
    x, y = torch.from_numpy(x_np).to(device), torch.from_numpy(y_np).to(device)
    batch = 128
    loss = lamina.losses.SparseCategoricalCrossentropy(from_logits=True)

    model = lamina_model(kind)
    model.compile(optimizer="adam", loss=loss, jit_compile=False)
    reference = torch_model(kind).to(device)
    optimizer = torch.optim.Adam(reference.parameters(), lr=1e-3, eps=1e-7, foreach=True)

    def torch_evaluate(net=reference):
        # The work of Keras's evaluate: each batch's loss, summed over the batches, one host sync at the end.
        # (Predicting everything and taking one loss of the concatenation is less work: lamina measured
        # 0.74x-0.91x against that.)
        with torch.no_grad():
            total = torch.zeros((), device=x.device)
            for start in range(0, x.shape[0], batch):
                logits = net(x[start:start + batch])
                total += torch.nn.functional.cross_entropy(logits, y[start:start + batch], reduction="sum")
            (total / x.shape[0]).item()

    pairs = {
        "fit": (lambda: model.fit(x_np, y_np, batch_size=batch, epochs=1, verbose=0),
                lambda: torch_fit_epoch(reference, optimizer, x, y, batch)),
        "evaluate": (lambda: model.evaluate(x_np, y_np, batch_size=batch, verbose=0), torch_evaluate),
        "predict": (lambda: model.predict(x_np, batch_size=batch, verbose=0),
                    lambda: torch_predict(reference, x, batch).cpu().numpy()),
    }
    if compiled:
        cmodel = lamina_model(kind)
        cmodel.compile(optimizer="adam", loss=loss, jit_compile=True)
        creference = torch.compile(torch_model(kind).to(device))
        coptimizer = torch.optim.Adam(creference.parameters(), lr=1e-3, eps=1e-7, foreach=True)
        pairs["fit, compiled"] = (lambda: cmodel.fit(x_np, y_np, batch_size=batch, epochs=1, verbose=0),
                                  lambda: torch_fit_epoch(creference, coptimizer, x, y, batch))
        pairs["evaluate, comp."] = (lambda: cmodel.evaluate(x_np, y_np, batch_size=batch, verbose=0),
                                    lambda: torch_evaluate(creference))
        pairs["predict, comp."] = (lambda: cmodel.predict(x_np, batch_size=batch, verbose=0),
                                   lambda: torch_predict(creference, x, batch).cpu().numpy())
    results = paired_rounds(pairs, n, rounds)
    print(f"\n{kind.upper()}  ({n} samples, batch {batch}, {rounds} interleaved rounds; medians)")
    print(f"  {'':16s} {'lamina samples/s':>17s} {'torch samples/s':>16s} {'lamina/torch':>13s}")
    for name, (lamina_rate, torch_rate, ratio) in results.items():
        print(f"  {name:16s} {lamina_rate:17.0f} {torch_rate:16.0f} {ratio:12.2f}x")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--compiled", action="store_true")
    parser.add_argument("--models", default="mlp,cnn")
    args = parser.parse_args()
    torch.manual_seed(0)
    print(f"torch {torch.__version__}, threads {torch.get_num_threads()}, device {lamina.config.device()}")
    for kind in args.models.split(","):
        n = {"tiny": 6400 if args.quick else 25600, "mlp": 6400 if args.quick else 25600,
             "cnn": 1280 if args.quick else 5120}[kind]
        run(kind, n, 2 if args.quick else 5, args.compiled)


if __name__ == "__main__":
    main()
