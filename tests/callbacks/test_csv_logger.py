"""CSVLogger: the exact file Keras writes (header, epochs, values, separator, append, NA columns)."""

import csv

import pytest

from lamina.callbacks import CSVLogger
from tests.callbacks.helpers import data, tiny_model


def _fit(logger, epochs=2, **kwargs):
    model = tiny_model(metrics=["mae"])
    x, y = data()
    return model.fit(x, y, batch_size=8, epochs=epochs, verbose=0, callbacks=[logger], **kwargs)


def test_rows_hold_the_history(tmp_path):
    path = tmp_path / "log.csv"
    history = _fit(CSVLogger(str(path)), validation_data=data(8, seed=1))
    raw = path.read_bytes().decode()
    assert raw.startswith("epoch,loss,mae,val_loss,val_mae\r\n")  # sorted keys, csv.excel line ends
    rows = list(csv.DictReader(open(path, newline="")))
    assert [r["epoch"] for r in rows] == ["0", "1"]
    for key in ("loss", "mae", "val_loss", "val_mae"):
        assert [float(r[key]) for r in rows] == history.history[key]


def test_separator_and_append(tmp_path):
    path = tmp_path / "log.tsv"
    _fit(CSVLogger(str(path), separator="\t"))
    _fit(CSVLogger(str(path), separator="\t", append=True), epochs=1)
    lines = path.read_text().splitlines()
    assert lines[0] == "epoch\tloss\tmae\tval_loss\tval_mae"  # Keras adds `val_` columns even without validation
    assert [line.split("\t")[0] for line in lines] == ["epoch", "0", "1", "0"]  # one header only
    _fit(CSVLogger(str(path)), epochs=1)  # append=False overwrites
    assert len(path.read_text().splitlines()) == 2


def test_validation_every_other_epoch_writes_na(tmp_path):
    path = tmp_path / "log.csv"
    _fit(CSVLogger(str(path)), epochs=2, validation_data=data(8, seed=1), validation_freq=2)
    rows = list(csv.DictReader(open(path, newline="")))
    assert list(rows[0]) == ["epoch", "loss", "mae", "val_loss", "val_mae"]
    assert rows[0]["val_loss"] == "NA" and rows[1]["val_loss"] != "NA"


def test_list_values_and_bad_filename(tmp_path):
    logger = CSVLogger(str(tmp_path / "l.csv"))
    logger.on_train_begin()
    logger.on_epoch_end(0, {"loss": 0.5, "per_class": [1, 2]})
    logger.on_train_end()
    assert (tmp_path / "l.csv").read_text().splitlines()[1] == '0,0.5,"""[1, 2]""",NA,NA'
    with pytest.raises(TypeError, match="Received: filename=3"):
        CSVLogger(3)
