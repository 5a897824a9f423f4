"""ModelCheckpoint: file names, save_best_only decisions, batch frequency, formats, atomic files, errors."""

import os

import numpy as np
import pytest

import lamina
from lamina.callbacks import ModelCheckpoint
from tests.callbacks.helpers import Script, data, tiny_model


def _fit(callbacks, epochs=3, **kwargs):
    model = tiny_model()
    x, y = data()
    model.fit(x, y, batch_size=4, epochs=epochs, verbose=0, callbacks=callbacks, **kwargs)
    return model


def test_templated_names_hold_epoch_and_logged_values(tmp_path):
    script = Script("val_loss", [0.5, 0.25, 0.125])
    checkpoint = ModelCheckpoint(str(tmp_path / "w.{epoch:02d}-{val_loss:.2f}.weights.h5"), save_weights_only=True)
    _fit([script, checkpoint])
    assert sorted(os.listdir(tmp_path)) == ["w.01-0.50.weights.h5", "w.02-0.25.weights.h5", "w.03-0.12.weights.h5"]
    # Each file holds the weights of the end of its epoch.
    model = tiny_model()
    for epoch, name in enumerate(sorted(os.listdir(tmp_path))):
        model.load_weights(str(tmp_path / name))
        for got, expected in zip(model.get_weights(), script.weights[epoch]):
            np.testing.assert_array_equal(got, expected)


def test_save_best_only_saves_improvements_only(tmp_path, capsys):
    script = Script("val_loss", [0.5, 0.7, 0.3, 0.4])
    checkpoint = ModelCheckpoint(str(tmp_path / "e{epoch}.weights.h5"), save_best_only=True, save_weights_only=True,
                                 verbose=1)
    _fit([script, checkpoint], epochs=4)
    assert sorted(os.listdir(tmp_path)) == ["e1.weights.h5", "e3.weights.h5"]
    assert checkpoint.best == 0.3
    out = capsys.readouterr().out
    assert "Epoch 1: val_loss improved from None to 0.50000, saving model to" in out
    assert "Epoch 2: val_loss did not improve from 0.50000" in out


def test_best_only_overwrites_one_file_with_the_best_model(tmp_path):
    script = Script("val_acc", [0.5, 0.7, 0.6])
    path = str(tmp_path / "best.weights.h5")
    _fit([script, ModelCheckpoint(path, monitor="val_acc", mode="max", save_best_only=True, save_weights_only=True)])
    model = tiny_model()
    model.load_weights(path)
    np.testing.assert_array_equal(model.get_weights()[0], script.weights[1][0])
    assert [p for p in os.listdir(tmp_path) if p != "best.weights.h5"] == []  # no temporary file left behind


def test_initial_value_threshold_blocks_worse_models(tmp_path):
    script = Script("val_loss", [0.5, 0.3, 0.2])
    checkpoint = ModelCheckpoint(str(tmp_path / "e{epoch}.weights.h5"), save_best_only=True, save_weights_only=True,
                                 initial_value_threshold=0.35)
    _fit([script, checkpoint])
    assert sorted(os.listdir(tmp_path)) == ["e2.weights.h5", "e3.weights.h5"]


def test_full_model_checkpoint_loads_back(tmp_path):
    model = _fit([ModelCheckpoint(str(tmp_path / "m.keras"), monitor="loss")], epochs=2)
    again = lamina.models.load_model(str(tmp_path / "m.keras"))
    x, _ = data()
    np.testing.assert_allclose(again.predict(x, verbose=0), model.predict(x, verbose=0), rtol=1e-6)


def test_integer_save_freq_saves_every_n_batches(tmp_path):
    # 16 samples / batch 4 = 4 batches per epoch; every 3 batches over 2 epochs: after global batches 3 and 6.
    checkpoint = ModelCheckpoint(str(tmp_path / "e{epoch}-b{batch}-{loss:.3f}.weights.h5"), save_freq=3,
                                 save_weights_only=True)
    _fit([checkpoint], epochs=2)
    names = sorted(os.listdir(tmp_path))
    assert [n.split("-")[:2] for n in names] == [["e1", "b3"], ["e2", "b2"]]


def test_missing_monitor_with_best_only_warns_and_saves(tmp_path):
    with pytest.warns(UserWarning, match="Can save best model only with val_loss available."):
        _fit([ModelCheckpoint(str(tmp_path / "w.weights.h5"), save_best_only=True, save_weights_only=True)], epochs=1)
    assert os.listdir(tmp_path) == ["w.weights.h5"]


def test_bad_paths_and_arguments(tmp_path):
    with pytest.raises(ValueError, match="must end in `.weights.h5`.*Received: filepath=w.h5"):
        ModelCheckpoint("w.h5", save_weights_only=True)
    with pytest.raises(ValueError, match="must end in `.keras`.*Received: filepath=model.pt"):
        ModelCheckpoint("model.pt")
    with pytest.raises(ValueError, match="Unrecognized save_freq: batch"):
        ModelCheckpoint("m.keras", save_freq="batch")
    with pytest.raises(KeyError, match="Failed to format this callback filepath"):
        _fit([ModelCheckpoint(str(tmp_path / "{nope}.keras"))], epochs=1)
    (tmp_path / "dir.keras").mkdir()
    with pytest.raises(IsADirectoryError, match="Please specify a non-directory filepath"):
        _fit([ModelCheckpoint(str(tmp_path / "dir.keras"), monitor="loss")], epochs=1)
