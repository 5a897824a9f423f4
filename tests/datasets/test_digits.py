"""The digits shipped inside the package."""

import hashlib
import os

import numpy as np
import pytest

from lamina.datasets import digits


def test_shipped_file_and_readme():
    data = open(digits.DATA_PATH, "rb").read()
    assert hashlib.sha256(data).hexdigest() == digits.SHA256
    readme = open(os.path.join(os.path.dirname(digits.DATA_PATH), "DIGITS_README.md")).read()
    assert digits.SHA256 in readme and "CC BY 4.0" in readme and "Alpaydin" in readme


def test_load_data_shapes_dtypes_and_values():
    (x_train, y_train), (x_test, y_test) = digits.load_data()
    assert x_train.shape == (1437, 8, 8) and x_test.shape == (360, 8, 8)
    assert x_train.dtype == y_train.dtype == np.uint8
    assert int(x_train.max()) == 16 and int(x_train.min()) == 0
    labels = np.concatenate([y_train, y_test])
    assert np.bincount(labels).tolist() == [178, 182, 177, 183, 181, 182, 181, 179, 174, 180]


def test_split_is_deterministic_and_shuffled_like_keras():
    x, y = digits._read()
    (a, ya), (b, yb) = digits.load_data(test_split=0.25, seed=3)
    order = np.arange(len(x))
    np.random.RandomState(3).shuffle(order)
    cut = int(len(x) * 0.75)
    np.testing.assert_array_equal(a, x[order[:cut]])
    np.testing.assert_array_equal(yb, y[order[cut:]])
    (a2, _), _ = digits.load_data(test_split=0.25, seed=3)
    np.testing.assert_array_equal(a, a2)
    (c, _), _ = digits.load_data(seed=4)
    assert not np.array_equal(c[:10], digits.load_data()[0][0][:10])
    (full, _), (empty, _) = digits.load_data(test_split=0.0)
    assert len(full) == 1797 and len(empty) == 0


def test_first_row_is_the_uci_zero():
    x, y = digits._read()
    assert y[0] == 0 and x[0, 0].tolist() == [0, 0, 5, 13, 9, 1, 0, 0]


def test_bad_test_split():
    with pytest.raises(ValueError, match="Invalid `test_split` argument: 1"):
        digits.load_data(test_split=1)
