"""TensorBoard: real event files with Keras's tags, read back with TensorBoard's own EventAccumulator."""

import os

import numpy as np
import pytest

pytest.importorskip("tensorboard", reason="the TensorBoard callback needs the `tensorboard` package")
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator  # noqa: E402

from lamina.callbacks import TensorBoard  # noqa: E402
from tests.callbacks.helpers import data, tiny_model  # noqa: E402


def _events(folder):
    accumulator = EventAccumulator(str(folder), size_guidance={"scalars": 0, "histograms": 0, "images": 0,
                                                               "tensors": 0})
    accumulator.Reload()
    return accumulator


def _scalars(accumulator, tag):
    return [(e.step, e.value) for e in accumulator.Scalars(tag)]


def test_epoch_scalars_in_train_and_validation(tmp_path):
    model = tiny_model(metrics=["mae"])
    history = model.fit(*data(), batch_size=8, epochs=3, verbose=0, validation_data=data(8, seed=1),
                        callbacks=[TensorBoard(str(tmp_path), write_graph=False)])
    assert sorted(os.listdir(tmp_path)) == ["train", "validation"]
    train, validation = _events(tmp_path / "train"), _events(tmp_path / "validation")
    assert sorted(train.Tags()["scalars"]) == ["epoch_learning_rate", "epoch_loss", "epoch_mae"]
    # As Keras 3, fit's validation also writes evaluation_<name>_vs_iterations at the optimizer's step count
    assert sorted(validation.Tags()["scalars"]) == ["epoch_loss", "epoch_mae", "evaluation_loss_vs_iterations",
                                                    "evaluation_mae_vs_iterations"]
    for tag, key, events in (("epoch_loss", "loss", train), ("epoch_mae", "val_mae", validation)):
        steps, values = zip(*_scalars(events, tag))
        assert steps == (0, 1, 2)
        np.testing.assert_allclose(values, history.history[key], rtol=1e-6)
    steps, values = zip(*_scalars(validation, "evaluation_loss_vs_iterations"))
    per_epoch = int(model.optimizer.iterations.numpy()) // 3
    assert steps == (per_epoch, 2 * per_epoch, 3 * per_epoch)
    np.testing.assert_allclose(values, history.history["val_loss"], rtol=1e-6)
    np.testing.assert_allclose([v for _, v in _scalars(train, "epoch_learning_rate")], [0.05] * 3, rtol=1e-6)


def test_batch_scalars_histograms_images_and_graph(tmp_path):
    model = tiny_model()
    callback = TensorBoard(str(tmp_path), histogram_freq=2, update_freq=2, write_images=True,
                           write_steps_per_second=True)
    model.fit(*data(), batch_size=4, epochs=3, verbose=0, callbacks=[callback])  # 4 batches per epoch
    train = _events(tmp_path / "train")
    # Batches 0 and 2 of each epoch, at the global step count after them.
    assert [step for step, _ in _scalars(train, "batch_loss")] == [1, 3, 5, 7, 9, 11]
    assert "epoch_steps_per_second" in train.Tags()["scalars"]
    assert sorted(train.Tags()["histograms"]) == ["out/bias/histogram", "out/kernel/histogram"]
    assert [e.step for e in train.Histograms("out/kernel/histogram")] == [0, 2]  # every 2nd epoch
    last = train.Histograms("out/kernel/histogram")[-1].histogram_value
    assert last.num == 3 and np.isclose(last.sum, model.get_weights()[0].sum(), atol=1e-5)
    assert "out/kernel/image" in train.Tags()["images"]
    assert train.Tags()["graph"]  # the model traced with torch.jit.trace
    # Keras's conceptual graph: the model's JSON in a "keras" string summary of the graph_keras_model plugin
    assert "keras" in train.Tags()["tensors"]
    (event,) = train.Tensors("keras")
    assert event.step == 0 and event.tensor_proto.string_val[0].decode() == model.to_json()
    assert train.SummaryMetadata("keras").plugin_data.plugin_name == "graph_keras_model"


def test_evaluate_writes_evaluation_vs_iterations(tmp_path):
    model = tiny_model()
    x, y = data()
    model.fit(x, y, batch_size=8, epochs=1, verbose=0)  # 2 optimizer iterations
    loss = model.evaluate(x, y, verbose=0, callbacks=[TensorBoard(str(tmp_path), write_graph=False)])
    validation = _events(tmp_path / "validation")
    [(step, value)] = _scalars(validation, "evaluation_loss_vs_iterations")
    assert step == 2 and np.isclose(value, loss)


def test_argument_errors():
    with pytest.raises(ValueError, match="Received: update_freq='sometimes'"):
        TensorBoard(update_freq="sometimes")
    with pytest.raises(ValueError, match="profile_batch must be a non-negative integer or 2-tuple"):
        TensorBoard(profile_batch=(5, 2))
    with pytest.raises(ValueError, match="Received: histogram_freq=-1"):
        TensorBoard(histogram_freq=-1)
    with pytest.raises(ValueError, match="Embeddings visualization is not supported"):
        TensorBoard(embeddings_freq=1)
