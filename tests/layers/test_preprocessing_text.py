"""IntegerLookup, StringLookup and TextVectorization: Keras's documented outputs and Python references."""

import collections
import json
import math
import re

import numpy as np
import pytest
import torch

from lamina import layers
from tests.layers.harness import run_layer_test

VOCAB = ["a", "b", "c", "d"]


# ---- StringLookup -----------------------------------------------------------------------------------------

def test_string_lookup_keras_examples():
    data = [["a", "c", "d"], ["d", "z", "b"]]
    assert layers.StringLookup(vocabulary=VOCAB)(data).tolist() == [[1, 3, 4], [4, 0, 2]]
    assert layers.StringLookup(vocabulary=VOCAB)(np.array(data)).dtype == torch.int64
    assert layers.StringLookup(vocabulary=VOCAB, num_oov_indices=2)([["a", "c", "d"], ["m", "z", "b"]]).tolist() == \
        [[2, 4, 5], [0, 1, 3]]
    assert layers.StringLookup(vocabulary=VOCAB, mask_token="")([["a", "c", "d"], ["d", "", "b"]]).tolist() == \
        [[2, 4, 5], [5, 0, 3]]
    inverted = layers.StringLookup(vocabulary=VOCAB, invert=True)(np.array([[1, 3, 4], [4, 0, 2]]))
    assert inverted.tolist() == [["a", "c", "d"], ["d", "[UNK]", "b"]]


@pytest.mark.parametrize("mode, expected", [
    ("one_hot", [[0, 1, 0, 0, 0], [0, 0, 1, 0, 0], [1, 0, 0, 0, 0]]),
    ("multi_hot", [[0, 1, 0, 1, 1], [1, 0, 1, 0, 1]]),
    ("count", [[0, 1, 0, 1, 2], [2, 0, 1, 0, 1]]),
    ("tf_idf", [[0, 0.25, 0, 0.6, 0.8], [1.0, 0, 0.75, 0, 0.4]]),
])
def test_string_lookup_encodings(mode, expected):
    data = [["a"], ["b"], ["z"]] if mode == "one_hot" else [["a", "c", "d", "d"], ["d", "z", "b", "z"]]
    idf = [0.25, 0.75, 0.6, 0.4] if mode == "tf_idf" else None
    out = layers.StringLookup(vocabulary=VOCAB, output_mode=mode, idf_weights=idf)(data)
    assert out.dtype == torch.float32
    np.testing.assert_allclose(out.numpy(), expected, rtol=1e-6)


def test_string_lookup_adapt_orders_by_count_then_descending_token():
    layer = layers.StringLookup()
    layer.adapt([["a", "c", "d"], ["d", "z", "b"]])
    assert layer.get_vocabulary() == ["[UNK]", "d", "z", "c", "b", "a"]
    assert layer.get_vocabulary(include_special_tokens=False) == ["d", "z", "c", "b", "a"]
    assert layer.vocabulary_size() == 6
    capped = layers.StringLookup(max_tokens=3, mask_token="")
    capped.adapt(iter([np.array(["x", "y", "y"]), np.array(["w", "x", "y", ""])]))
    assert capped.get_vocabulary() == ["", "[UNK]", "y"]


def test_string_lookup_tf_idf_adapt_uses_keras_formula():
    docs = [["a", "b", "b"], ["b", "c"], ["a", "a", "d"], ["e"]]
    layer = layers.StringLookup(output_mode="tf_idf", mask_token="")
    layer.adapt(_padded(docs))
    vocab = layer.get_vocabulary(include_special_tokens=False)
    df = collections.Counter(t for doc in docs for t in set(doc) if t)
    idf = [math.log(1 + len(docs) / (1 + df[t])) for t in vocab]
    np.testing.assert_allclose(layer.idf_weights.numpy(), [np.mean(idf)] + idf, rtol=1e-6)
    out = layer([["a", "a", "q"]]).numpy()[0]
    assert out[vocab.index("a") + 1] == pytest.approx(2 * idf[vocab.index("a")], rel=1e-6)
    assert out[0] == pytest.approx(np.mean(idf), rel=1e-6)


def _padded(docs):
    """Docs as a rectangular array padded with the mask token '' (not counted by adapt)."""
    width = max(len(d) for d in docs)
    return np.array([d + [""] * (width - len(d)) for d in docs], dtype=object)


def test_string_lookup_config_round_trip_and_errors():
    layer = layers.StringLookup(name="s")
    layer.adapt(["x", "y", "y"])
    config = layer.get_config()
    assert list(config) == ["name", "trainable", "dtype", "invert", "max_tokens", "num_oov_indices", "oov_token",
                            "mask_token", "output_mode", "sparse", "pad_to_max_tokens", "idf_weights", "vocabulary",
                            "vocabulary_size", "encoding"]
    assert config["vocabulary"] == ["y", "x"] and config["vocabulary_size"] == 3
    clone = layers.StringLookup.from_config(json.loads(json.dumps(config)))
    assert clone(["x", "q"]).tolist() == layer(["x", "q"]).tolist() == [2, 0]
    with pytest.raises(ValueError, match="Received: output_mode='bag'"):
        layers.StringLookup(output_mode="bag")
    with pytest.raises(ValueError, match="repeated term"):
        layers.StringLookup(vocabulary=["a", "a"])
    with pytest.raises(ValueError, match="Cannot adapt layer"):
        layers.StringLookup(vocabulary=VOCAB).adapt(["a"])
    with pytest.raises(ValueError, match="expects strings"):
        layers.StringLookup().adapt(np.array([1, 2]))
    with pytest.raises(ValueError, match="all inputs should be in vocabulary"):
        layers.StringLookup(vocabulary=VOCAB, num_oov_indices=0)(["z"])
    with pytest.raises(RuntimeError, match="you must set the layer's vocabulary"):
        layers.StringLookup(output_mode="multi_hot")(["a"])
    with pytest.raises(ValueError, match="larger than the maximum vocab size"):
        layers.StringLookup(max_tokens=3, vocabulary=VOCAB)


# ---- IntegerLookup -------------------------------------------------------------------------------------------

def test_integer_lookup_keras_examples_and_harness():
    vocab = [12, 36, 1138, 42]
    data = np.array([[12, 1138, 42], [42, 1000, 36]])
    run_layer_test(layers.IntegerLookup, {"vocabulary": vocab}, input_data=data,
                   expected_output=[[1, 3, 4], [4, 0, 2]], expected_output_dtype="int64",
                   run_training_check=False, run_float64_check=False)
    adapted = layers.IntegerLookup()
    adapted.adapt(data)
    assert adapted.get_vocabulary() == [-1, 42, 1138, 1000, 36, 12]
    two_oov = layers.IntegerLookup(vocabulary=vocab, num_oov_indices=2)
    assert two_oov(np.array([[12, 1138, 42], [37, 1000, 36]])).tolist() == [[2, 4, 5], [1, 0, 3]]
    inverse = layers.IntegerLookup(vocabulary=vocab, invert=True)(torch.tensor([[1, 3, 4], [4, 0, 2]]))
    assert inverse.tolist() == [[12, 1138, 42], [42, -1, 36]]
    masked = layers.IntegerLookup(vocabulary=vocab, mask_token=0, output_mode="multi_hot")
    assert masked(np.array([[12, 0, 5]])).tolist() == [[1.0, 1.0, 0.0, 0.0, 0.0]]
    config = layers.IntegerLookup(vocabulary=vocab).get_config()
    assert config["vocabulary_dtype"] == "int64" and config["vocabulary"] == vocab and "encoding" not in config
    with pytest.raises(ValueError, match="expects integers"):
        layers.IntegerLookup().adapt(np.array(["a"]))


# ---- TextVectorization ----------------------------------------------------------------------------------------

CORPUS = ["The cat sat on the mat.", "The dog ate my homework!", "Cats, dogs: the END", "a b c"]


def _reference_tokens(text):
    return re.sub(r"""[!"#$%&()*+,\-./:;<=>?@\[\\\]^_`{|}~']""", "", text.lower()).split()


def _reference_vocabulary(documents, max_tokens=None):
    counts = collections.Counter(t for doc in documents for t in doc)
    ordered = sorted(counts, key=lambda t: (counts[t], t), reverse=True)
    return ordered if max_tokens is None else ordered[:max_tokens]


def test_text_vectorization_int_mode_matches_reference():
    layer = layers.TextVectorization(output_sequence_length=5)
    layer.adapt(CORPUS)
    docs = [_reference_tokens(t) for t in CORPUS]
    vocab = ["", "[UNK]"] + _reference_vocabulary(docs)
    assert layer.get_vocabulary() == vocab
    out = layer(np.array([["the Cat ATE a zebra, then more"], ["sat"]])).numpy()
    index = {t: i for i, t in enumerate(vocab)}
    for row, text in zip(out, ["the Cat ATE a zebra, then more", "sat"]):
        ids = [index.get(t, 1) for t in _reference_tokens(text)][:5]
        assert row.tolist() == ids + [0] * (5 - len(ids))
    ragged = layers.TextVectorization(vocabulary=["x", "y"])(["x y y", "y"])
    assert ragged.tolist() == [[2, 3, 3], [3, 0, 0]] and ragged.dtype == torch.int64


def test_text_vectorization_ngrams_split_and_standardize():
    layer = layers.TextVectorization(ngrams=2, standardize=None, split="whitespace")
    layer.adapt(["a b a b c"])
    assert layer.get_vocabulary() == ["", "[UNK]", "b", "a b", "a", "c", "b c", "b a"]
    chars = layers.TextVectorization(split="character", standardize="lower")
    chars.adapt(["AbB"])
    assert chars.get_vocabulary() == ["", "[UNK]", "b", "a"]
    custom = layers.TextVectorization(standardize=str.upper, split=lambda s: s.split("-"), vocabulary=["A", "B"])
    assert custom(["a-b-c"]).tolist() == [[2, 3, 1]]


def test_text_vectorization_bag_modes_and_tf_idf():
    docs = [_reference_tokens(t) for t in CORPUS]
    layer = layers.TextVectorization(max_tokens=6, output_mode="tf_idf")
    layer.adapt(CORPUS)
    vocab = _reference_vocabulary(docs, max_tokens=5)
    assert layer.get_vocabulary() == ["[UNK]"] + vocab
    df = collections.Counter(t for doc in docs for t in set(doc))
    idf = np.array([math.log(1 + len(docs) / (1 + df[t])) for t in vocab])
    text = "the the cat unknown"
    counts = [sum(t not in vocab for t in _reference_tokens(text))] + [_reference_tokens(text).count(t) for t in vocab]
    expected = np.array(counts) * np.concatenate([[idf.mean()], idf])
    np.testing.assert_allclose(layer([text]).numpy()[0], expected, rtol=1e-6)
    multi = layers.TextVectorization(max_tokens=4, output_mode="multi_hot", pad_to_max_tokens=True, vocabulary=["x"])
    assert multi(["x x q", ""]).tolist() == [[1.0, 1.0, 0.0, 0.0], [0.0, 0.0, 0.0, 0.0]]


def test_text_vectorization_config_round_trip_and_errors():
    layer = layers.TextVectorization(max_tokens=10, ngrams=(1, 2), output_sequence_length=3, name="tv")
    layer.adapt(CORPUS[:2])
    config = layer.get_config()
    assert list(config) == ["name", "trainable", "dtype", "max_tokens", "standardize", "split", "ngrams", "output_mode",
                            "output_sequence_length", "pad_to_max_tokens", "sparse", "ragged", "vocabulary",
                            "idf_weights", "encoding", "vocabulary_size"]
    assert config["dtype"] == "int64" and config["ngrams"] == [1, 2]
    clone = layers.TextVectorization.from_config(json.loads(json.dumps(config)))
    assert clone(CORPUS[:2]).tolist() == layer(CORPUS[:2]).tolist()
    assert layer.compute_output_shape((None, 1)) == (None, 3)
    with pytest.raises(ValueError, match="Received: output_mode='one_hot'"):
        layers.TextVectorization(output_mode="one_hot")
    with pytest.raises(ValueError, match="`output_sequence_length` must not be set"):
        layers.TextVectorization(output_mode="count", output_sequence_length=3)
    with pytest.raises(ValueError, match="last shape dimension must be 1"):
        layer(np.array([["a", "b"]]))
    with pytest.raises(ValueError, match="expects strings"):
        layers.TextVectorization().adapt(np.array([1.0, 2.0]))
    with pytest.raises(ValueError, match="Received: ngrams=0"):
        layers.TextVectorization(ngrams=0)
