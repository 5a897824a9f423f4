"""The README's main command, run with a small epoch count."""

import re

from lamina import demo


def test_main_command_trains_saves_plots_and_reloads(tmp_path, capsys):
    assert demo.main(["--epochs", "4", "--out", str(tmp_path), "--verbose", "2"]) == 0
    out = capsys.readouterr().out
    accuracy = float(re.search(r"held-out accuracy: ([0-9.]+)", out).group(1))
    assert accuracy > 0.85  # 4 epochs; the default 20 epochs reach above demo.ACCURACY_THRESHOLD
    assert "Epoch 4/4" in out and "reloaded model gives identical predictions: True" in out
    for name in ("digits_cnn.keras", "model.png", "training_curves.png"):
        assert (tmp_path / name).stat().st_size > 1000


def test_main_command_as_the_readme_runs_it(tmp_path):
    """`python -m lamina.demo` in a fresh process, offline (no network is reachable from the tests)."""
    import os
    import subprocess
    import sys

    env = {**os.environ, "MPLBACKEND": "Agg"}
    result = subprocess.run([sys.executable, "-m", "lamina.demo", "--epochs", "3", "--out", str(tmp_path)],
                            capture_output=True, text=True, timeout=300, env=env, cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    assert re.search(r"held-out accuracy: 0\.[89]\d*", result.stdout)
    assert (tmp_path / "digits_cnn.keras").is_file()
