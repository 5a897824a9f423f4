"""Every script in ``examples/`` runs with ``--quick`` and does what it says.

Each example's ``main(argv)`` is called in this process (output folders in ``tmp_path``) and its
returned dict and printed output are checked. The seed walkthroughs also assert their facts inside.
Accuracy floors are for the ``--quick`` sizes (seeded, so the runs are repeatable); the full runs reach
much more (see examples/README.md).
"""

import importlib.util
import os
import pathlib
import re
import subprocess
import sys

import h5py
import numpy as np
import pytest
import torch

EXAMPLES = pathlib.Path(__file__).resolve().parents[2] / "examples"


def load(name):
    """Imports ``examples/<name>.py`` as a module (the folder is not a package)."""
    spec = importlib.util.spec_from_file_location(f"lamina_example_{name}", EXAMPLES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    # The examples' models are tiny: one thread is as fast, and on a shared 2-core machine it avoids
    # OpenMP threads spinning against other processes (runs up to 5x slower).
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


# ---- seed walkthroughs ----------------------------------------------------------------------------------

def test_seed_000_layer_basics(capsys):
    facts = load("seed_000_layer_basics").main(["--quick"])
    assert facts["forward_equals_relu_affine"] is True
    assert facts["rebuilt_kernel_shape"] == (5, 1)
    assert facts["updated_paths"] == ["hidden/kernel", "hidden/bias", "output/kernel", "output/bias"]
    assert facts["hidden_config"]["units"] == 3 and facts["hidden_config"]["activation"] == "relu"
    assert facts["my_layer_config"] == {"name": "my_layer", "trainable": True, "dtype": "float32", "num_units": 5}
    out = capsys.readouterr().out
    assert "Before call :  []" in out and "After call :  [<Variable path=output/kernel, shape=(3, 1)" in out


def test_seed_001_inside_keras(tmp_path, capsys):
    facts = load("seed_001_inside_keras").main(["--quick", "--out", str(tmp_path)])
    assert facts["compute_sum"] == [1.0, 2.0]
    assert facts["mlp_block_weight_shapes"] == [(64, 32), (32,), (32, 32), (32,), (32, 1), (1,)]
    first, last = facts["custom_loop_loss"]
    assert last < 0.7 * first
    assert os.path.isfile(tmp_path / "mlp.keras") and facts["mlp_path"] == str(tmp_path / "mlp.keras")
    assert np.isfinite(facts["mlp_eval_loss"])
    assert facts["mnist_model_accuracy"] > 0.8  # prototypes + noise: learnable in two epochs
    assert "same predictions" in capsys.readouterr().out


def test_seed_002_model(tmp_path, capsys):
    facts = load("seed_002_model").main(["--quick", "--out", str(tmp_path)])
    with open(tmp_path / "model.png", "rb") as f:
        assert f.read(8) == b"\x89PNG\r\n\x1a\n"
    assert facts["config_layers"] == ["input_2", "hidden", "output"]
    assert set(facts["dropout_values"]) <= {0.0, 2.0}
    assert facts["weights_h5_layers"] == ["hidden", "output"]
    assert facts["model_config_class"] in ("Functional", "Model")
    with h5py.File(tmp_path / "model.h5", "r") as f:
        assert "model_config" in f.attrs
        groups = f["model_weights"]  # one group per layer, as tf.keras writes; the InputLayer's is empty
        assert [name for name in groups if len(groups[name])] == ["hidden", "output"]
    out = capsys.readouterr().out
    assert "Total params: 13" in out
    assert "layer name : hidden\nbias:0 :  [0. 0. 0.]\nkernel:0 :  [[" in out  # the seed's h5py listing
    assert "model의 configuration 정보 :" in out


def test_seed_003_keras_layers():
    facts = load("seed_003_keras_layers").main(["--quick"])
    assert {"units", "activation", "use_bias", "kernel_initializer"} <= set(facts["dense_config_keys"])
    assert facts["shared_nodes"] == 2
    assert facts["embedding_shape"] == (2, 1, 2)
    assert facts["my_layer_output_shape"] == (None, 4)


def test_seed_004_layer_catalogue():
    facts = load("seed_004_layer_catalogue").main(["--quick"])
    assert facts["cascaded_shapes"] == [(4, 10), (4, 3), (4, 5), (4, 8)]
    assert facts["conv_weight_shapes"] == ((3, 3, 1, 1), (1,))
    assert facts["loop_max_difference"] < 1e-5
    assert facts["pooled_shapes"] == [(1, 3, 3, 1), (1, 3, 3, 1), (1, 1)]
    assert facts["bn_block_params"] == 1024


# ---- real uses ------------------------------------------------------------------------------------------

def test_image_classifier_augmentation(tmp_path, capsys):
    result = load("image_classifier_augmentation").main(["--quick", "--out", str(tmp_path)])
    assert result["accuracy"] > 0.6  # 600 images, 4 epochs, with flips; the default run reaches 0.96
    assert len(result["history"]["val_accuracy"]) == 4
    assert (tmp_path / "augmented_cnn.keras").is_file() and (tmp_path / "augmented_cnn.png").is_file()
    assert "identity with training=False" in capsys.readouterr().out


def test_text_classifier_lstm(tmp_path, capsys):
    result = load("text_classifier_lstm").main(["--quick", "--out", str(tmp_path)])
    assert result["accuracy"] > 0.9
    positive, negated_positive = result["probabilities"][:2]  # "really brilliant", "would not say ... fun"
    assert positive > 0.5 > negated_positive
    assert (tmp_path / "sentiment_lstm.keras").is_file()
    assert "predicts the same" in capsys.readouterr().out


def test_functional_multi_input(tmp_path, capsys):
    result = load("functional_multi_input").main(["--quick", "--out", str(tmp_path)])
    assert result["same_digit_accuracy"] > 0.75 and result["same_digit_auc"] > 0.8
    assert result["digit_sum_mae"] < 3.0  # predicting the mean sum (9) gives about 3.3
    assert abs(result["loss"] - (result["same_digit_loss"] + 0.05 * result["digit_sum_loss"])) < 1e-3
    assert (tmp_path / "digit_pairs.png").is_file() and (tmp_path / "digit_pairs.keras").is_file()
    out = capsys.readouterr().out
    assert "image_b[0][0]" in out  # the summary's "Connected to" column


def test_custom_training_loop_eager_and_compiled_agree():
    example = load("custom_training_loop")
    eager = example.main(["--quick"])
    compiled = example.main(["--quick", "--function", "--compile-backend", "eager"])
    assert eager["val_accuracy"] > 0.85
    assert eager["iterations"] == compiled["iterations"] == 3 * (1437 // 32)  # full batches only
    np.testing.assert_allclose(compiled["history"]["loss"], eager["history"]["loss"], rtol=1e-4)
    np.testing.assert_allclose(compiled["history"]["val_accuracy"], eager["history"]["val_accuracy"], atol=0.02)


def test_transfer_learning_frozen_base():
    facts = load("transfer_learning_frozen_base").main(["--quick"])
    assert (facts["trainable_weights"], facts["non_trainable_weights"]) == (2, 6)
    assert facts["base_unchanged"] and facts["head_changed"]
    assert facts["pretrain_accuracy"] > 0.9
    assert facts["head_accuracy"] > 0.5  # digits the base never saw, through frozen features
    assert facts["finetune_accuracy"] > 0.5 and facts["largest_base_change"] > 0


# ---- the scripts as scripts, and the README ---------------------------------------------------------------

def test_a_script_runs_from_the_command_line(tmp_path):
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    done = subprocess.run([sys.executable, str(EXAMPLES / "seed_000_layer_basics.py"), "--quick"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=120, env=env)
    assert done.returncode == 0, done.stderr
    assert "'num_units': 5" in done.stdout


def test_readme_lists_every_example_with_its_command():
    readme = (EXAMPLES / "README.md").read_text(encoding="utf-8")
    scripts = sorted(path.name for path in EXAMPLES.glob("*.py"))
    assert len(scripts) == 10
    for script in scripts:
        assert re.search(rf"python examples/{re.escape(script)}", readme), script
        source = (EXAMPLES / script).read_text(encoding="utf-8")
        assert "def main(argv=None):" in source and '"--quick"' in source, script
