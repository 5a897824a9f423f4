"""The torch ecosystem: state_dict, safetensors, ONNX and torch.export round trips."""

import importlib.util
import json

import numpy as np
import pytest
import torch

import lamina
from lamina import layers
from lamina.saving.errors import FileFormatError, WeightsMismatchError

from .conftest import mlp, nested, predict, randomize


def test_state_dict_round_trip(x4):
    source, target = randomize(mlp()), mlp()
    state = source.state_dict()
    assert {k: tuple(v.shape) for k, v in state.items()} == {
        "hidden.kernel": (4, 8), "hidden.bias": (8,), "out.kernel": (8, 3), "out.bias": (3,)}
    target.load_state_dict(state)
    np.testing.assert_array_equal(predict(target, x4), predict(source, x4))


def test_state_dict_of_nested_model_and_torch_save(tmp_path, x4):
    source = randomize(nested())
    torch.save(source.state_dict(), tmp_path / "s.pt")
    target = nested()
    target.load_state_dict(torch.load(tmp_path / "s.pt", weights_only=True))
    np.testing.assert_array_equal(predict(target, x4), predict(source, x4))


needs_safetensors = pytest.mark.skipif(importlib.util.find_spec("safetensors") is None,
                                       reason="safetensors is not installed")


@needs_safetensors
def test_safetensors_round_trip_and_mismatch(tmp_path, x4):
    source = randomize(mlp())
    lamina.saving.save_safetensors(source, tmp_path / "m.safetensors")
    target = mlp()
    lamina.saving.load_safetensors(target, tmp_path / "m.safetensors")
    np.testing.assert_array_equal(predict(target, x4), predict(source, x4))
    inputs = lamina.Input((5,))
    other = lamina.Model(inputs, layers.Dense(3, name="out")(layers.Dense(8, name="hidden")(inputs)))
    with pytest.raises(WeightsMismatchError, match=r"'hidden.kernel': file \(4, 8\) vs model \(5, 8\)"):
        lamina.saving.load_safetensors(other, tmp_path / "m.safetensors")


@pytest.mark.skipif(importlib.util.find_spec("safetensors") is not None, reason="safetensors is installed")
def test_safetensors_missing_package_message(tmp_path):
    with pytest.raises(ImportError, match="pip install safetensors"):
        lamina.saving.save_safetensors(mlp(), tmp_path / "m.safetensors")


def test_torch_export_program_matches_with_any_batch(tmp_path, x4):
    model = randomize(mlp())
    model.export(tmp_path / "m.pt2", format="torch")
    program = torch.export.load(tmp_path / "m.pt2").module()
    for batch in (1, 3, 7):
        x = torch.from_numpy(np.random.default_rng(batch).normal(size=(batch, 4)).astype("float32"))
        torch.testing.assert_close(program(x), model(x), rtol=1e-6, atol=1e-6)


def test_torch_export_two_inputs_and_dropout_in_inference_mode(tmp_path):
    a, b = lamina.Input((4,), name="a"), lamina.Input((3,), name="b")
    merged = layers.Dropout(0.5)(layers.Concatenate()([a, b]))
    model = randomize(lamina.Model([a, b], layers.Dense(2)(merged)))
    model.export(tmp_path / "two.pt2", format="torch")
    program = torch.export.load(tmp_path / "two.pt2").module()
    xa, xb = torch.randn(5, 4), torch.randn(5, 3)
    torch.testing.assert_close(program(xa, xb), model([xa, xb]), rtol=1e-6, atol=1e-6)


def test_export_errors(tmp_path):
    with pytest.raises(ValueError, match=r"formats are 'onnx' and 'torch'. Received: format='tf_saved_model'"):
        mlp().export(tmp_path / "m", format="tf_saved_model")

    class Net(lamina.Model):
        def call(self, x):
            return x

    with pytest.raises(ValueError, match="has no known input shape. Pass `input_signature`"):
        Net().export(tmp_path / "n.pt2", format="torch")


needs_onnx = pytest.mark.skipif(importlib.util.find_spec("onnx") is None or importlib.util.find_spec("onnxruntime")
                                is None, reason="onnx / onnxruntime are not installed")


@needs_onnx
def test_onnx_export_runs_in_onnxruntime(tmp_path, x4):
    import onnxruntime

    model = randomize(mlp())
    model.export(tmp_path / "m.onnx", format="onnx")
    session = onnxruntime.InferenceSession(str(tmp_path / "m.onnx"))
    (output,) = session.run(None, {"input_0": x4})
    np.testing.assert_allclose(output, predict(model, x4), rtol=1e-5, atol=1e-6)


@pytest.mark.skipif(importlib.util.find_spec("onnx") is not None, reason="onnx is installed")
def test_onnx_missing_package_message(tmp_path):
    with pytest.raises(ImportError, match="pip install onnx"):
        mlp().export(tmp_path / "m.onnx", format="onnx")


def _conv_bn_lstm():
    """Conv + BatchNormalization (moving statistics) + LSTM + Dense: weights, buffers and a recurrent kernel."""
    inputs = lamina.Input((6, 3), name="seq")
    hidden = layers.Conv1D(4, 2, padding="same", name="conv")(inputs)
    hidden = layers.BatchNormalization(name="bn")(hidden)
    hidden = layers.LSTM(5, return_sequences=True, name="lstm")(hidden)
    hidden = layers.Bidirectional(layers.GRU(2), name="bi")(hidden)
    return lamina.Model(inputs, layers.Dense(2, name="head")(hidden), name="conv_bn_lstm")


def _positive(model, seed=0):
    rng = np.random.default_rng(seed)
    model.set_weights([rng.uniform(0.2, 1.0, size=w.shape).astype(w.dtype) for w in model.get_weights()])
    return model


def _sequences(batch):
    return np.random.default_rng(batch).normal(size=(batch, 6, 3)).astype("float32")


@pytest.mark.parametrize("build", [mlp, _conv_bn_lstm])
def test_torch_export_after_the_model_has_run_keeps_a_dynamic_batch_and_leaves_the_model_as_it_was(tmp_path, build):
    model = _positive(build())
    x = _sequences(3) if build is _conv_bn_lstm else np.ones((3, 4), "float32")
    expected = predict(model, x)  # a model that has run: its layers cache the input shapes they checked
    modes = [m.training for m in model.modules()]
    model.export(tmp_path / "m.pt2", format="torch")
    program = torch.export.load(tmp_path / "m.pt2").module()
    for batch in (1, 3, 7):
        xb = _sequences(batch) if build is _conv_bn_lstm else np.random.default_rng(batch).normal(
            size=(batch, 4)).astype("float32")
        np.testing.assert_allclose(program(torch.from_numpy(xb)).detach().numpy(), predict(model, xb),
                                   rtol=1e-5, atol=1e-6)
    assert [m.training for m in model.modules()] == modes
    np.testing.assert_array_equal(predict(model, x), expected)


@needs_onnx
def test_onnx_export_of_a_model_that_has_run_with_conv_bn_and_recurrent_layers(tmp_path):
    import onnxruntime

    model = _positive(_conv_bn_lstm())
    predict(model, _sequences(2))
    model.export(tmp_path / "m.onnx", format="onnx")
    session = onnxruntime.InferenceSession(str(tmp_path / "m.onnx"))
    for batch in (1, 5):
        (output,) = session.run(None, {"input_0": _sequences(batch)})
        np.testing.assert_allclose(output, predict(model, _sequences(batch)), rtol=1e-4, atol=1e-5)


@needs_safetensors
def test_safetensors_round_trip_of_buffers_and_recurrent_weights(tmp_path):
    source, target = _positive(_conv_bn_lstm(), seed=1), _conv_bn_lstm()
    lamina.saving.save_safetensors(source, tmp_path / "m.safetensors")
    raw = (tmp_path / "m.safetensors").read_bytes()
    header = json.loads(raw[8:8 + int.from_bytes(raw[:8], "little")])  # a JSON header, then raw tensors: no pickle
    assert {"bn.moving_mean", "bn.moving_variance", "lstm.cell.kernel"} <= set(header)
    assert header["__metadata__"] == {"format": "pt", "framework": "lamina"}
    lamina.saving.load_safetensors(target, tmp_path / "m.safetensors")
    np.testing.assert_array_equal(predict(target, _sequences(4)), predict(source, _sequences(4)))


@needs_safetensors
def test_safetensors_failures_leave_the_model_unchanged(tmp_path, x4):
    path = tmp_path / "m.safetensors"
    lamina.saving.save_safetensors(randomize(mlp()), path)
    data = path.read_bytes()
    target = mlp()
    expected = predict(target, x4)
    for name, content in [("cut", data[: len(data) // 2]), ("header", b"\xff" * 8 + data[8:]), ("empty", b"")]:
        (tmp_path / name).write_bytes(content)
        with pytest.raises(FileFormatError, match="not a readable safetensors file"):
            lamina.saving.load_safetensors(target, tmp_path / name)
    inputs = lamina.Input((4,))
    partial = lamina.Model(inputs, layers.Dense(8, name="hidden")(inputs))
    lamina.saving.save_safetensors(partial, tmp_path / "partial.safetensors")
    with pytest.raises(WeightsMismatchError, match=r"missing from the file: 'out.kernel'"):
        lamina.saving.load_safetensors(target, tmp_path / "partial.safetensors")
    np.testing.assert_array_equal(predict(target, x4), expected)
    lamina.saving.load_safetensors(target, tmp_path / "partial.safetensors", strict=False)  # loads what it has
    assert not np.array_equal(predict(target, x4), expected)
