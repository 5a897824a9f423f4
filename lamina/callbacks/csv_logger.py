"""`CSVLogger`: streams each epoch's logs to a CSV file.

>>> import os, tempfile, numpy as np, lamina
>>> from lamina import layers
>>> model = lamina.Sequential([lamina.Input((2,)), layers.Dense(1)])
>>> model.compile(optimizer="sgd", loss="mse", metrics=["mae"])
>>> path = os.path.join(tempfile.mkdtemp(), "log.csv")
>>> _ = model.fit(np.ones((4, 2)), np.zeros((4, 1)), epochs=2, verbose=0, callbacks=[CSVLogger(path)])
>>> [line.split(",")[:2] for line in open(path).read().splitlines()]
[['epoch', 'loss'], ['0', '...'], ['1', '...']]
"""

import collections
import csv
import os

import numpy as np

from lamina.callbacks.callback import Callback


class CSVLogger(Callback):
    """Callback that streams epoch results to a CSV file (Keras 3 semantics).

    The header is ``epoch`` (0-based) followed by the log names in sorted order; when the
    first epoch has no ``val_`` entries (no validation data, or ``validation_freq > 1``), a
    ``val_`` column is added for each name, as Keras does, holding ``NA`` where there is no value. Rows are
    flushed after each epoch. Lists and arrays are written as ``"[a, b]"``.

    Args:
        filename: the CSV file (a string or ``os.PathLike``).
        separator: the string separating the fields.
        append: append to an existing file (the header is written only if the file is empty),
            instead of overwriting it.
    """

    def __init__(self, filename, separator=",", append=False):
        super().__init__()
        if not isinstance(filename, (str, os.PathLike)):
            raise TypeError(f"`filename` must be a string or os.PathLike. Received: filename={filename!r}")
        self.sep = separator
        self.filename = os.fspath(filename)
        self.append = append
        self.writer = None
        self.keys = None
        self.append_header = True
        self.csv_file = None

    def on_train_begin(self, logs=None):
        if self.append:
            if os.path.exists(self.filename):
                with open(self.filename) as f:
                    self.append_header = not bool(len(f.readline()))
            mode = "a"
        else:
            mode = "w"
        directory = os.path.dirname(self.filename)
        if directory:
            os.makedirs(directory, exist_ok=True)
        self.csv_file = open(self.filename, mode, newline="")
        self.writer = None
        self.keys = None

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        if self.keys is None:
            self.keys = sorted(logs.keys())
            # As Keras: without `val_` entries in the first epoch's logs (no validation, or `validation_freq`
            # > 1), `val_` columns are added anyway and hold ``NA`` where there is no value.
            if not any(k.startswith("val_") for k in self.keys):
                self.keys.extend(["val_" + k for k in self.keys])
        if self.writer is None:
            dialect = type("Dialect", (csv.excel,), {"delimiter": self.sep})
            self.writer = csv.DictWriter(self.csv_file, fieldnames=["epoch"] + self.keys, dialect=dialect)
            if self.append_header:
                self.writer.writeheader()
        row = collections.OrderedDict({"epoch": epoch})
        row.update((key, _handle_value(logs.get(key, "NA"))) for key in self.keys)
        self.writer.writerow(row)
        self.csv_file.flush()

    def on_train_end(self, logs=None):
        if self.csv_file is not None:
            self.csv_file.close()
            self.csv_file = None
        self.writer = None


def _handle_value(value):
    if isinstance(value, str):
        return value
    if isinstance(value, np.ndarray) and value.ndim == 0:
        return value.item()
    if isinstance(value, collections.abc.Iterable):
        return f"\"[{', '.join(map(str, value))}]\""
    return value
