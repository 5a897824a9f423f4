"""plot_history: panels, files, metric selection, and the matplotlib ImportError."""

import builtins
import sys

import numpy as np
import pytest

pytest.importorskip("matplotlib")

import lamina  # noqa: E402
from lamina.callbacks import History  # noqa: E402
from lamina.utils import plot_history  # noqa: E402


def _history():
    history = History()
    history.history = {"loss": [1.0, 0.6, 0.4], "accuracy": [0.5, 0.7, 0.9], "val_loss": [1.1, 0.8, 0.7],
                        "val_accuracy": [0.4, 0.6, 0.8]}
    history.epoch = [0, 1, 2]
    return history


def test_draws_train_and_validation_curves(tmp_path):
    fig = plot_history(_history(), to_file=tmp_path / "curves.png")
    assert [ax.get_title() for ax in fig.axes] == ["loss", "accuracy"]
    lines = fig.axes[0].get_lines()
    assert [line.get_label() for line in lines] == ["train", "validation"]
    np.testing.assert_allclose(lines[1].get_ydata(), [1.1, 0.8, 0.7])
    np.testing.assert_array_equal(lines[0].get_xdata(), [1, 2, 3])
    assert (tmp_path / "curves.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_selected_metrics_and_plain_dict(tmp_path):
    fig = plot_history(_history().history, metrics="accuracy", to_file=tmp_path / "a.svg")
    assert [ax.get_title() for ax in fig.axes] == ["accuracy"]
    assert b"<svg" in (tmp_path / "a.svg").read_bytes()
    with pytest.raises(ValueError, match=r"Unknown metrics \['auc'\]"):
        plot_history(_history(), metrics=["auc"])
    with pytest.raises(TypeError, match="`history` must be the History returned by `fit`"):
        plot_history([1, 2])


def test_history_from_fit(tmp_path):
    model = lamina.Sequential([lamina.Input((2,)), lamina.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    history = model.fit(np.ones((8, 2)), np.ones((8, 1)), epochs=2, validation_split=0.25, verbose=0)
    fig = plot_history(history)
    assert len(fig.axes[0].get_lines()) == 2


def test_missing_matplotlib_names_it(monkeypatch):
    real_import = builtins.__import__

    def fake_import(name, *args, **kwargs):
        if name.startswith("matplotlib"):
            raise ImportError("No module named 'matplotlib'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", fake_import)
    monkeypatch.delitem(sys.modules, "matplotlib.figure", raising=False)
    with pytest.raises(ImportError, match="requires matplotlib: install it with `pip install matplotlib`"):
        plot_history(_history())
