"""TextVectorization: strings -> standardized tokens (with n-grams) -> indices or bag-of-words vectors.

The vocabulary is a `StringLookup` with ``mask_token=''``: in ``'int'`` mode index 0 is
padding and 1 is ``'[UNK]'``; in the other modes index 0 is ``'[UNK]'``. Inputs are
lists or NumPy arrays of strings of shape ``(batch,)`` or ``(batch, 1)``.

>>> from lamina import layers
>>> layer = layers.TextVectorization(output_sequence_length=4)
>>> layer.adapt(["The cat sat.", "The dog sat!", "the end"])
>>> layer.get_vocabulary()
['', '[UNK]', 'the', 'sat', 'end', 'dog', 'cat']
>>> layer(["the cat ate"]).tolist()
[[2, 6, 1, 0]]
"""

import itertools
import re

import numpy as np
import torch

from lamina.backend import config
from lamina.engine.keras_tensor import KerasTensor
from lamina.layers.preprocessing_lookup import StringLookup
from lamina.layers.preprocessing_numeric import check_output_mode
from lamina.layers.preprocessing_strings import StringInputLayer, is_string_array, to_string_array

# Keras's DEFAULT_STRIP_REGEX: ASCII punctuation.
_PUNCTUATION = re.compile(r'[!"#$%&()\*\+,-\./:;<=>?@\[\\\]^_`{|}~\']')
_STANDARDIZE = ("lower_and_strip_punctuation", "lower", "strip_punctuation")
_SPLIT = ("whitespace", "character")


def _check_callable_or(value, name, choices):
    if value is not None and not callable(value) and value not in choices:
        raise ValueError(f"Invalid value for argument `{name}` of TextVectorization. Expected one of "
                         f"{choices + (None,)} or a callable. Received: {name}={value!r}")
    return value


class TextVectorization(StringInputLayer):
    """Turns strings into sequences of token indices or into multi-hot/count/TF-IDF vectors.

    Args:
        max_tokens: the maximum vocabulary size (mask and OOV included) learned by `adapt`.
        standardize: ``'lower_and_strip_punctuation'`` (default), ``'lower'``,
            ``'strip_punctuation'``, None, or a callable on one string.
        split: ``'whitespace'`` (default), ``'character'``, None (each string is one token),
            or a callable from a string to a list of tokens.
        ngrams: None, an int ``n`` (all 1..n-grams) or a tuple of n-gram sizes; n-grams
            are joined with a space.
        output_mode: ``'int'`` (default), ``'multi_hot'``, ``'count'`` or ``'tf_idf'``.
        output_sequence_length: in ``'int'`` mode, pad with 0 / truncate to this length
            (default: pad to the longest sequence of the batch).
        pad_to_max_tokens: in the other modes, encode to ``max_tokens`` columns.
        vocabulary: a list of tokens; idf_weights: IDF weights for ``'tf_idf'``.
        sparse, ragged: only ``False``.
        encoding: only ``'utf-8'``.

    >>> layer = TextVectorization(output_mode="count", vocabulary=["a", "b"])
    >>> layer(["a b a c"]).tolist()
    [[1.0, 2.0, 1.0]]
    """

    def __init__(self, max_tokens=None, standardize="lower_and_strip_punctuation", split="whitespace", ngrams=None,
                 output_mode="int", output_sequence_length=None, pad_to_max_tokens=False, vocabulary=None,
                 idf_weights=None, sparse=False, ragged=False, encoding="utf-8", **kwargs):
        if kwargs.get("dtype") in (None, "string"):  # tf.keras 2 writes the inputs' dtype, "string"
            kwargs["dtype"] = "int64" if output_mode == "int" else config.floatx()
        vocabulary_size = kwargs.pop("vocabulary_size", None)
        super().__init__(**kwargs)
        check_output_mode(output_mode, ("int", "multi_hot", "count", "tf_idf"), "TextVectorization")
        if isinstance(standardize, dict) or isinstance(split, dict):
            from lamina.saving.registry import deserialize_keras_object

            standardize = deserialize_keras_object(standardize) if isinstance(standardize, dict) else standardize
            split = deserialize_keras_object(split) if isinstance(split, dict) else split
        self._standardize = _check_callable_or(standardize, "standardize", _STANDARDIZE)
        self._split = _check_callable_or(split, "split", _SPLIT)
        if not (ngrams is None or (isinstance(ngrams, int) and not isinstance(ngrams, bool) and ngrams > 0)
                or (isinstance(ngrams, (tuple, list)) and all(isinstance(n, int) and n > 0 for n in ngrams))):
            raise ValueError("`ngrams` must be None, an integer, or a tuple of integers. "
                             f"Received: ngrams={ngrams!r}")
        if output_sequence_length is not None and output_mode != "int":
            raise ValueError("`output_sequence_length` must not be set if `output_mode` is not 'int'. "
                             f"Received output_sequence_length={output_sequence_length}.")
        if ragged or sparse:
            raise ValueError(f"TextVectorization does not support ragged or sparse outputs on torch. "
                             f"Received: ragged={ragged}, sparse={sparse}")
        if str(encoding).lower().replace("_", "-") not in ("utf-8", "utf8"):
            raise ValueError(f"TextVectorization only supports encoding='utf-8'. Received: encoding={encoding!r}")
        self._ngrams_arg = list(ngrams) if isinstance(ngrams, tuple) else ngrams
        self._ngrams = tuple(range(1, ngrams + 1)) if isinstance(ngrams, int) else (
            tuple(ngrams) if ngrams is not None else None)
        self._output_mode = output_mode
        self._output_sequence_length = output_sequence_length
        self._ragged, self._sparse, self._encoding = ragged, sparse, encoding
        self._lookup_layer = StringLookup(max_tokens=max_tokens, vocabulary=vocabulary, idf_weights=idf_weights,
                                          pad_to_max_tokens=pad_to_max_tokens, mask_token="",
                                          output_mode=output_mode, vocabulary_size=vocabulary_size,
                                          name=f"{self.name}_lookup")

    # ---- text processing ----------------------------------------------------------------------------------
    def _documents(self, inputs):
        array = to_string_array(inputs)
        if array.ndim == 0:
            array = array.reshape(1)
        if array.ndim > 1:
            if array.shape[-1] != 1:
                raise ValueError("When using TextVectorization to tokenize strings, the input rank must be 1 or "
                                 f"the last shape dimension must be 1. Received: inputs.shape={array.shape} with "
                                 f"rank={array.ndim}")
            array = array.reshape(array.shape[:-1])
        return array.reshape(-1), array.shape

    def _tokenize(self, text):
        if self._standardize in ("lower_and_strip_punctuation", "lower"):
            text = text.lower()
        if self._standardize in ("lower_and_strip_punctuation", "strip_punctuation"):
            text = _PUNCTUATION.sub("", text)
        elif callable(self._standardize):
            text = self._standardize(text)
        if self._split is None:
            tokens = [text]
        elif self._split == "whitespace":
            tokens = text.split()
        elif self._split == "character":
            tokens = list(text)
        else:
            tokens = [t.decode("utf-8") if isinstance(t, bytes) else str(t) for t in self._split(text)]
        if self._ngrams is not None:
            tokens = [" ".join(tokens[i:i + n]) for n in self._ngrams for i in range(len(tokens) - n + 1)]
        return tokens

    # ---- vocabulary -------------------------------------------------------------------------------------------
    def adapt(self, data, batch_size=None, steps=None):
        """Learns the vocabulary (and IDF weights) from strings: each string is one document.

        ``data`` is a list/array of strings or an iterable of such batches.
        """
        if is_string_array(data):
            batches = [self._documents(data)[0]]
            if batch_size:
                batches = [batches[0][i:i + int(batch_size)] for i in range(0, len(batches[0]), int(batch_size))]
        elif isinstance(data, np.ndarray) or isinstance(data, torch.Tensor) or not hasattr(data, "__iter__"):
            raise ValueError(f"TextVectorization.adapt expects strings. Received: data={data!r}")
        else:
            batches = (self._documents(batch[0] if isinstance(batch, tuple) else batch)[0] for batch in data)
        documents = ([self._tokenize(text) for text in batch] for batch in batches)
        self._lookup_layer._learn(itertools.islice(documents, steps))

    def get_vocabulary(self, include_special_tokens=True):
        return self._lookup_layer.get_vocabulary(include_special_tokens)

    def vocabulary_size(self):
        return self._lookup_layer.vocabulary_size()

    def set_vocabulary(self, vocabulary, idf_weights=None):
        self._lookup_layer.set_vocabulary(vocabulary, idf_weights)

    @property
    def idf_weights(self):
        return self._lookup_layer.idf_weights

    # ---- call ---------------------------------------------------------------------------------------------------
    def call(self, inputs):
        if not is_string_array(inputs):
            raise TypeError(f"TextVectorization expects strings (a list or NumPy array of str). "
                            f"Received: inputs of type {type(inputs).__name__}")
        texts, shape = self._documents(inputs)
        rows = [self._tokenize(text) for text in texts]
        lookup = self._lookup_layer
        if self._output_mode != "int":
            lookup._check_vocabulary()
            width = max((len(r) for r in rows), default=0)
            ids = np.full((len(rows), max(width, 1)), np.iinfo("int64").max, dtype="int64")  # padding is dropped
            for i, row in enumerate(rows):
                if row:
                    ids[i, :len(row)] = lookup._lookup(np.array(row, dtype=object))
            out = lookup._encode(torch.as_tensor(ids, device=config.device()))
            return out.reshape(*shape, out.shape[-1])
        length = self._output_sequence_length or max((len(r) for r in rows), default=0)
        ids = np.zeros((len(rows), length), dtype="int64")
        for i, row in enumerate(rows):
            row = row[:length]
            if row:
                ids[i, :len(row)] = lookup._lookup(np.array(row, dtype=object))
        return torch.as_tensor(ids, device=config.device()).to(self.dtype_policy.torch_compute_dtype).reshape(
            *shape, length)

    def compute_output_shape(self, input_shape):
        batch = tuple(input_shape)[:1]
        if self._output_mode == "int":
            return batch + (self._output_sequence_length,)
        lookup = self._lookup_layer
        depth = lookup.max_tokens if lookup.pad_to_max_tokens else (
            lookup.vocabulary_size() if lookup._tokens is not None else None)
        return batch + (depth,)

    def compute_output_spec(self, inputs):
        return KerasTensor(self.compute_output_shape(inputs.shape), self.compute_dtype)

    def get_config(self):
        lookup = self._lookup_layer
        lookup_config = lookup.get_config()
        return {**super().get_config(), "max_tokens": lookup.max_tokens,
                "standardize": _serialize(self._standardize), "split": _serialize(self._split),
                "ngrams": self._ngrams_arg,
                "output_mode": self._output_mode, "output_sequence_length": self._output_sequence_length,
                "pad_to_max_tokens": lookup.pad_to_max_tokens, "sparse": self._sparse, "ragged": self._ragged,
                "vocabulary": lookup_config["vocabulary"], "idf_weights": lookup_config["idf_weights"],
                "encoding": self._encoding, "vocabulary_size": lookup_config["vocabulary_size"]}



def _serialize(value):
    """Names stay names; a callable is serialized as Keras does (a registered function)."""
    if callable(value):
        from lamina.saving.registry import serialize_keras_object

        return serialize_keras_object(value)
    return value
