"""pad_sequences against Keras's documented behaviour and a plain-Python reference."""

import numpy as np
import pytest

from lamina.utils import pad_sequences


def _reference(seqs, maxlen, padding, truncating, value):
    rows = []
    for s in seqs:
        s = list(s)
        if len(s) > maxlen:
            s = s[len(s) - maxlen:] if truncating == "pre" else s[:maxlen]
        fill = [value] * (maxlen - len(s))
        rows.append(fill + s if padding == "pre" else s + fill)
    return np.array(rows, dtype="int32")


@pytest.mark.parametrize("padding", ["pre", "post"])
@pytest.mark.parametrize("truncating", ["pre", "post"])
@pytest.mark.parametrize("maxlen", [None, 1, 2, 4, 6])
def test_pad_sequences_against_reference(padding, truncating, maxlen):
    seqs = [[1], [2, 3], [4, 5, 6, 7], [], [8, 9, 10, 11, 12]]
    out = pad_sequences(seqs, maxlen=maxlen, padding=padding, truncating=truncating, value=-1)
    expected = _reference(seqs, maxlen or 5, padding, truncating, -1)
    assert out.dtype == np.int32
    np.testing.assert_array_equal(out, expected)


def test_keras_docstring_examples():
    seqs = [[1], [2, 3], [4, 5, 6]]
    np.testing.assert_array_equal(pad_sequences(seqs), [[0, 0, 1], [0, 2, 3], [4, 5, 6]])
    np.testing.assert_array_equal(pad_sequences(seqs, value=-1), [[-1, -1, 1], [-1, 2, 3], [4, 5, 6]])
    np.testing.assert_array_equal(pad_sequences(seqs, padding="post"), [[1, 0, 0], [2, 3, 0], [4, 5, 6]])
    np.testing.assert_array_equal(pad_sequences(seqs, maxlen=2), [[0, 1], [2, 3], [5, 6]])


def test_dtype_float_truncates_nothing_and_int_casts():
    out = pad_sequences([[1.5, 2.5]], maxlen=3, dtype="float32")
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out, [[0.0, 1.5, 2.5]])
    np.testing.assert_array_equal(pad_sequences([[1.7]], maxlen=2), [[0, 1]])  # int32 cast truncates


def test_multidimensional_items():
    seqs = [np.ones((2, 3)), np.ones((1, 3)) * 2]
    out = pad_sequences(seqs, maxlen=3, dtype="float32")
    assert out.shape == (2, 3, 3)
    np.testing.assert_array_equal(out[1], [[0] * 3, [0] * 3, [2] * 3])
    with pytest.raises(ValueError, match=r"Shape of sample \(2,\) of sequence at position 1 is different"):
        pad_sequences([np.ones((2, 3)), np.ones((1, 2))])


def test_strings():
    out = pad_sequences([["a", "b"], ["c"]], dtype=object, value="<pad>")
    assert out.tolist() == [["a", "b"], ["<pad>", "c"]]
    out = pad_sequences([["ab"], ["c", "d"]], dtype="<U3", value="x", padding="post")
    assert out.tolist() == [["ab", "x"], ["c", "d"]]
    with pytest.raises(ValueError, match="You should set `dtype=object` for variable length strings"):
        pad_sequences([["a"]], value="x")


def test_errors():
    with pytest.raises(ValueError, match='Padding type "middle" not understood'):
        pad_sequences([[1]], padding="middle")
    with pytest.raises(ValueError, match='Truncating type "middle" not understood'):
        pad_sequences([[1]], truncating="middle")
    with pytest.raises(ValueError, match="must be a list of iterables. Found non-iterable: 3"):
        pad_sequences([[1], 3])
    with pytest.raises(ValueError, match="`sequences` must be iterable"):
        pad_sequences(iter([[1]]))


def test_empty_and_maxlen_zero():
    assert pad_sequences([[], []]).shape == (2, 0)
    assert pad_sequences([[1, 2]], maxlen=0).shape == (1, 0)
