"""`plot_history`: loss and metric curves of a ``fit`` run (training and validation), with matplotlib.

matplotlib is optional: without it, `plot_history` raises an `ImportError` that names it.

>>> from lamina.callbacks import History
>>> history = History()
>>> history.history = {"loss": [1.0, 0.5], "val_loss": [1.2, 0.7], "accuracy": [0.5, 0.8]}
>>> history_metrics(history)
['loss', 'accuracy']
"""

import os


def _logs(history):
    logs = getattr(history, "history", history)
    if not isinstance(logs, dict):
        raise TypeError("`history` must be the History returned by `fit` or its `.history` dict. "
                        f"Received: history of type {type(history).__name__}")
    return logs


def history_metrics(history, metrics=None):
    """The metric names to draw: ``metrics`` if given (checked), else every non-``val_`` log in order."""
    logs = _logs(history)
    if metrics is None:
        return [k for k in logs if not k.startswith("val_")]
    metrics = [metrics] if isinstance(metrics, str) else list(metrics)
    missing = [m for m in metrics if m not in logs and f"val_{m}" not in logs]
    if missing:
        raise ValueError(f"Unknown metrics {missing}: the history has {sorted(logs)}. Received: metrics={metrics}")
    return metrics


def plot_history(history, metrics=None, to_file=None, show=False):
    """Draws one panel per metric with its training and validation curves over the epochs.

    Args:
        history: the `History` returned by ``fit``, or its ``history`` dict.
        metrics: metric name(s) to draw; default: every training log (``loss`` first as logged).
        to_file: save the figure there (format from the extension, e.g. ``.png``, ``.svg``, ``.pdf``).
        show: call ``matplotlib.pyplot.show()``.

    Returns:
        The matplotlib ``Figure``.

    Raises:
        ImportError: matplotlib is not installed.
    """
    try:
        from matplotlib.figure import Figure
    except ImportError as error:
        raise ImportError("`plot_history` requires matplotlib: install it with `pip install matplotlib`.") from error
    logs = _logs(history)
    names = history_metrics(history, metrics)
    if not names:
        raise ValueError(f"The history has no training logs to draw. Received: history with keys {sorted(logs)}")
    epochs = getattr(history, "epoch", None)
    if show:  # pyplot only when a window is wanted; otherwise the user's backend is left alone
        import matplotlib.pyplot as plt

        fig = plt.figure(figsize=(4.5 * len(names), 3.5))
    else:
        fig = Figure(figsize=(4.5 * len(names), 3.5))
    axes = fig.subplots(1, len(names), squeeze=False)
    for ax, name in zip(axes[0], names):
        for key, label, style in ((name, "train", "-"), (f"val_{name}", "validation", "--")):
            values = logs.get(key)
            if values:
                xs = [e + 1 for e in epochs] if epochs and len(epochs) == len(values) else range(1, len(values) + 1)
                ax.plot(list(xs), [float(v) for v in values], style, marker="o", markersize=3, label=label)
        ax.set_title(name)
        ax.set_xlabel("epoch")
        ax.grid(alpha=0.3)
        ax.legend()
    fig.tight_layout()
    if to_file is not None:
        directory = os.path.dirname(os.path.abspath(os.fspath(to_file)))
        os.makedirs(directory, exist_ok=True)
        fig.savefig(to_file, dpi=100)
    if show:
        plt.show()
    return fig
