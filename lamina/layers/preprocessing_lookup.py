"""Vocabulary lookups: IntegerLookup and StringLookup (and their shared base `IndexLookup`).

Vocabularies live in Python (a dict from token to index); outputs are torch tensors
(int64 indices, or float32 encodings). The index layout is Keras's: the mask token
(``output_mode='int'`` only), then ``num_oov_indices`` OOV slots, then the tokens.
`adapt` orders tokens by descending frequency, ties broken by descending token (as
Keras's ``np.lexsort(...)[::-1]``). With several OOV slots, OOV strings go to
``FarmHash64(token) % num_oov_indices`` and integers to ``token % num_oov_indices``,
as Keras. Strings are lists or NumPy arrays (see `preprocessing_strings`).

>>> from lamina import layers
>>> layer = layers.StringLookup()
>>> layer.adapt([["a", "b", "b"], ["c", "b", "a"]])
>>> layer.get_vocabulary()
['[UNK]', 'b', 'a', 'c']
>>> layer([["a", "z"]]).tolist()
[[2, 0]]
"""

import collections
import math
import os

import numpy as np
import torch

from lamina.backend import config
from lamina.engine.keras_tensor import KerasTensor
from lamina.layers.preprocessing_hashing import hash_buckets
from lamina.layers.preprocessing_numeric import check_output_mode, encode_categorical, encoded_shape
from lamina.layers.preprocessing_strings import StringInputLayer, is_string_array, to_numpy

_MODES = ("int", "one_hot", "multi_hot", "count", "tf_idf")


def _listify(value):
    if isinstance(value, torch.Tensor):
        value = value.detach().cpu().numpy()
    return value.tolist() if isinstance(value, np.ndarray) else value


class IndexLookup(StringInputLayer):
    """Maps tokens to indices (or indices back to tokens with ``invert=True``); see `StringLookup`."""

    _string_vocabulary = False

    def __init__(self, max_tokens, num_oov_indices, mask_token, oov_token, vocabulary=None, idf_weights=None,
                 invert=False, output_mode="int", sparse=False, pad_to_max_tokens=False, oov_method="floormod",
                 **kwargs):
        name = type(self).__name__
        frozen_size = kwargs.pop("vocabulary_size", None)
        kwargs.pop("has_input_vocabulary", None)
        # Keras 3.15 writes `salt` (the seed of its 'farmhash' OOV hashing); lamina's OOV hashing is unsalted.
        salt = kwargs.pop("salt", None)
        if salt is not None:
            raise ValueError(f"{type(self).__name__} in lamina does not support a salted OOV hash. "
                             f"Received: salt={salt!r}")
        kwargs.pop("dtype", None)  # outputs are int64 or floatx, as Keras: the policy is not used
        super().__init__(**kwargs)
        if output_mode == "binary":
            output_mode = "multi_hot"
        if output_mode == "tf-idf":
            output_mode = "tf_idf"
        check_output_mode(output_mode, _MODES, name)
        if max_tokens is not None and max_tokens <= 1:
            raise ValueError(f"If set, `max_tokens` must be greater than 1. Received: max_tokens={max_tokens}")
        if pad_to_max_tokens and max_tokens is None:
            raise ValueError(f"If pad_to_max_tokens is True, must set `max_tokens`. Received: max_tokens={max_tokens}")
        if num_oov_indices < 0:
            raise ValueError("`num_oov_indices` must be greater than or equal to 0. "
                             f"Received: num_oov_indices={num_oov_indices}")
        if oov_method not in ("floormod", "farmhash"):
            raise ValueError(f"Unknown `oov_method` for {name}. Expected 'floormod' or 'farmhash'. "
                             f"Received: oov_method={oov_method!r}")
        if invert and output_mode != "int":
            raise ValueError("`output_mode` must be `'int'` when `invert` is true. "
                             f"Received: output_mode={output_mode}")
        if sparse:
            raise ValueError(f"{name} does not support sparse outputs on torch. Received: sparse=True")
        if idf_weights is not None and output_mode != "tf_idf":
            raise ValueError("`idf_weights` should only be set if `output_mode` is `'tf_idf'`. "
                             f"Received: idf_weights={idf_weights} and output_mode={output_mode}")
        if output_mode == "tf_idf" and vocabulary is not None and idf_weights is None:
            raise ValueError("When specifying the `vocabulary` argument, in TF-IDF output mode, the `idf_weights` "
                             "argument must also be provided.")
        self.max_tokens = max_tokens
        self.num_oov_indices = num_oov_indices
        self.mask_token = mask_token
        self.oov_token = oov_token
        self.invert = invert
        self.output_mode = output_mode
        self.sparse = sparse
        self.pad_to_max_tokens = pad_to_max_tokens
        self.oov_method = oov_method
        self.input_vocabulary = vocabulary
        self.input_idf_weights = idf_weights
        self._tokens = None
        self._index = {}
        self.idf_weights = None
        if vocabulary is not None:
            self.set_vocabulary(vocabulary, idf_weights)
        if frozen_size is not None and self._tokens is not None and frozen_size != self.vocabulary_size():
            raise ValueError(f"`vocabulary_size={frozen_size}` does not match the vocabulary "
                             f"({self.vocabulary_size()} entries).")

    # ---- vocabulary ---------------------------------------------------------------------------------
    def _oov_start_index(self):
        return 1 if self.mask_token is not None and self.output_mode == "int" else 0

    def _token_start_index(self):
        return self._oov_start_index() + self.num_oov_indices

    def _token(self, value):
        """A token in the vocabulary's type (``str`` or Python ``int``)."""
        if self._string_vocabulary:
            return value.decode("utf-8") if isinstance(value, bytes) else str(value)
        if isinstance(value, (str, bytes)) or (isinstance(value, float) and not float(value).is_integer()):
            raise TypeError(f"{type(self).__name__} expects integer tokens. Received: token={value!r}")
        return int(value)

    def vocabulary_size(self):
        """The number of indices: tokens plus the mask and OOV slots."""
        return (len(self._tokens) if self._tokens is not None else 0) + self._token_start_index()

    def get_vocabulary(self, include_special_tokens=True):
        """The vocabulary in index order (mask and OOV tokens first unless excluded)."""
        tokens = list(self._tokens or [])
        if not include_special_tokens:
            return tokens
        return [self.mask_token] * self._oov_start_index() + [self.oov_token] * self.num_oov_indices + tokens

    def set_vocabulary(self, vocabulary, idf_weights=None):
        """Sets the vocabulary (and, for ``'tf_idf'``, the IDF weights) directly, replacing any previous one."""
        if self.output_mode == "tf_idf" and idf_weights is None:
            raise ValueError("`idf_weights` must be set if output_mode is 'tf_idf'.")
        if self.output_mode != "tf_idf" and idf_weights is not None:
            raise ValueError("`idf_weights` should only be set if output_mode is `'tf_idf'`. "
                             f"Received: output_mode={self.output_mode} and idf_weights={idf_weights}")
        if isinstance(vocabulary, str):
            raise ValueError(f"Vocabulary files are not supported; pass a list of tokens. Received: "
                             f"vocabulary={vocabulary!r}")
        vocabulary = [self._token(v) for v in to_numpy(vocabulary).reshape(-1).tolist()]
        if not vocabulary:
            raise ValueError(f"Cannot set an empty vocabulary. Received: vocabulary={vocabulary}")
        specials = self.get_vocabulary()[:self._token_start_index()]
        found_specials = vocabulary[:len(specials)] == specials
        tokens = vocabulary[len(specials):] if found_specials else vocabulary
        repeated = [t for t, c in collections.Counter(tokens).items() if c > 1]
        if repeated:
            raise ValueError("The passed vocabulary has at least one repeated term. Please uniquify your dataset. "
                             f"The repeated terms are: {repeated}")
        for token, name in ((self.mask_token, "mask_token"), (self.oov_token if self.invert else None, "oov_token")):
            if token is not None and token in tokens:
                raise ValueError(
                    f"Found reserved {name} at unexpected location in `vocabulary`. Note that passed `vocabulary` "
                    "does not need to include the OOV and mask tokens. Either remove all mask and OOV tokens, or "
                    f"include them only at the start of the vocabulary in precisely this order: {specials}. "
                    f"Received: {name}={token!r}"
                )
        size = len(specials) + len(tokens)
        if self.max_tokens is not None and size > self.max_tokens:
            raise ValueError("Attempted to set a vocabulary larger than the maximum vocab size. Received vocabulary "
                             f"size is {size}; `max_tokens` is {self.max_tokens}.")
        if idf_weights is not None:
            weights = np.asarray(to_numpy(idf_weights), dtype="float64")
            if weights.ndim != 1 or len(weights) != len(vocabulary):
                raise ValueError("`idf_weights` must be the same length as vocabulary. "
                                 f"len(idf_weights) is {weights.size}; len(vocabulary) is {len(vocabulary)}")
            if not found_specials:
                weights = np.concatenate([np.full(len(specials), np.average(weights)), weights])
            self._set_idf(weights)
        self._set_tokens(tokens)

    # ---- assets (the vocabulary file of a .keras archive, as Keras writes it) -------------------------------
    def save_assets(self, dir_path):
        """Writes ``vocabulary.txt``: one token per line, special tokens first (Keras's asset layout)."""
        if self._tokens is None:
            return
        with open(os.path.join(dir_path, "vocabulary.txt"), "w", encoding="utf-8") as f:
            f.write("\n".join(str(token) for token in self.get_vocabulary()))

    def load_assets(self, dir_path):
        """Reads the ``vocabulary.txt`` that `save_assets` (or Keras) wrote."""
        path = os.path.join(dir_path, "vocabulary.txt")
        if not os.path.exists(path):
            return
        with open(path, encoding="utf-8") as f:
            lines = f.read().split("\n")
        tokens = lines if self._string_vocabulary else [int(line) for line in lines if line.strip()]
        idf = None
        if self.output_mode == "tf_idf" and self.idf_weights is not None:
            idf = self.idf_weights.numpy()[:len(tokens)]
        self.set_vocabulary(tokens, idf)

    def _set_tokens(self, tokens):
        self._tokens = list(tokens)
        start = self._token_start_index()
        self._index = {token: start + i for i, token in enumerate(self._tokens)}

    def _set_idf(self, weights):
        if self.pad_to_max_tokens and self.max_tokens is not None:
            weights = np.concatenate([weights, np.zeros(max(self.max_tokens - len(weights), 0))])
        self.idf_weights = torch.as_tensor(weights, dtype=torch.float64).to(torch.float32)

    # ---- adapt --------------------------------------------------------------------------------------------
    def adapt(self, data, batch_size=None, steps=None):
        """Builds the vocabulary from ``data``: an array/list (each row a document), or an iterable of batches."""
        self._learn(self._adapt_batches(data, batch_size, steps))

    def _learn(self, batches):
        """Learns the vocabulary from an iterable of batches of documents (lists of tokens)."""
        if self.input_vocabulary is not None:
            raise ValueError(f"Cannot adapt layer '{self.name}' after setting a static vocabulary via `vocabulary` "
                             "argument or `set_vocabulary()` method.")
        counts, doc_counts, num_docs = collections.Counter(), collections.Counter(), 0
        for rows in batches:
            for row in rows:
                counts.update(row)
                doc_counts.update(set(row))
            num_docs += len(rows)
        for special in (self.mask_token, self.oov_token):
            counts.pop(special, None)
        # Descending count, ties by descending token (Keras: np.lexsort((tokens, counts))[::-1]).
        ordered = sorted(counts, key=lambda t: (counts[t], t), reverse=True)
        if self.max_tokens:
            ordered = ordered[:self.max_tokens - self._token_start_index()]
        self._set_tokens(ordered)
        if self.output_mode == "tf_idf":
            idf = np.array([math.log(1 + num_docs / (1 + doc_counts[t])) for t in ordered], dtype="float64")
            self._set_idf(np.concatenate([np.full(self._token_start_index(), idf.mean() if idf.size else 0.0), idf]))

    def _adapt_batches(self, data, batch_size, steps):
        """Yields lists of documents (lists of tokens)."""
        if isinstance(data, (list, tuple, np.ndarray, torch.Tensor)) or is_string_array(data):
            array = to_numpy(data)
            array = array.reshape(-1, 1) if array.ndim <= 1 else array.reshape(array.shape[0], -1)
            size = int(batch_size) if batch_size else max(len(array), 1)
            pieces = (array[i:i + size] for i in range(0, len(array), size))
        elif hasattr(data, "__iter__"):
            pieces = (to_numpy(batch[0] if isinstance(batch, tuple) else batch) for batch in data)
        else:
            raise TypeError(f"`adapt` expects an array, a list or an iterable of batches. Received: data={data!r}")
        for step, batch in enumerate(pieces):
            if steps is not None and step >= steps:
                return
            self._check_adapt_dtype(batch)
            batch = batch.reshape(1, -1) if batch.ndim <= 1 else batch.reshape(batch.shape[0], -1)
            yield [[self._token(v) for v in row] for row in batch.tolist()]

    def _check_adapt_dtype(self, batch):
        is_text = batch.dtype.kind in "USO"
        if is_text != self._string_vocabulary or batch.dtype.kind == "f":
            expected = "strings" if self._string_vocabulary else "integers"
            raise ValueError(f"{type(self).__name__}.adapt expects {expected}. Received: data of dtype "
                             f"{batch.dtype}")

    # ---- call -------------------------------------------------------------------------------------------------
    def _lookup(self, values):
        flat = values.reshape(-1).tolist()
        out = np.empty(len(flat), dtype="int64")
        oov_start = self._oov_start_index()
        dropped = np.iinfo("int64").max  # masks outside 'int' mode: dropped by the encoder
        oov = []
        for i, value in enumerate(flat):
            token = self._token(value)
            if self.mask_token is not None and token == self.mask_token:
                out[i] = 0 if self.output_mode == "int" else dropped
            elif token in self._index:
                out[i] = self._index[token]
            else:
                oov.append(i)
        if oov:
            if self.num_oov_indices == 0:
                raise ValueError("When `num_oov_indices=0` all inputs should be in vocabulary, found OOV values "
                                 f"{[flat[i] for i in oov]}, consider setting `num_oov_indices=1`.")
            tokens = np.array([self._token(flat[i]) for i in oov], dtype=object)
            if self.num_oov_indices == 1:
                out[oov] = oov_start
            elif self._string_vocabulary or self.oov_method == "farmhash":
                out[oov] = oov_start + hash_buckets(tokens, self.num_oov_indices)
            else:
                out[oov] = oov_start + np.mod(tokens.astype("int64"), self.num_oov_indices)
        return out.reshape(values.shape)

    def _invert(self, indices):
        vocabulary = self.get_vocabulary()
        mask = self.mask_token if self.mask_token is not None else self.oov_token
        flat = [mask if i == 0 and self.mask_token is not None else
                (vocabulary[i] if self._token_start_index() <= i < len(vocabulary) else self.oov_token)
                for i in indices.reshape(-1).tolist()]
        return np.array(flat, dtype=object if self._string_vocabulary else "int64").reshape(indices.shape)

    def _check_vocabulary(self):
        if self._tokens is None and (self.output_mode != "int" and not self.pad_to_max_tokens or self.invert):
            raise RuntimeError(
                f"When using `output_mode={self.output_mode}` and `pad_to_max_tokens=False`, you must set the "
                "layer's vocabulary before calling it. Either pass a `vocabulary` argument to the layer, or call "
                "`adapt` with some sample data."
            )

    def call(self, inputs):
        self._check_vocabulary()
        device = inputs.device if isinstance(inputs, torch.Tensor) else config.device()
        values = to_numpy(inputs)
        if self.invert:
            result = self._invert(values.astype("int64"))
            return result if self._string_vocabulary else torch.as_tensor(result, device=device)
        indices = torch.as_tensor(self._lookup(values), device=device)
        return self._encode(indices)

    def _encode(self, indices):
        if self.output_mode == "int":
            return indices
        depth = self.max_tokens if self.pad_to_max_tokens else self.vocabulary_size()
        mode = "count" if self.output_mode == "tf_idf" else self.output_mode
        output = encode_categorical(indices, mode, depth, torch.float32)
        if self.output_mode == "tf_idf":
            output = output * self.idf_weights.to(output.device)
        return output

    def compute_output_shape(self, input_shape):
        if self.output_mode == "int":
            return tuple(input_shape)
        depth = self.max_tokens if self.pad_to_max_tokens else (self.vocabulary_size() if self._tokens else None)
        return encoded_shape(input_shape, self.output_mode, depth)

    def compute_output_spec(self, inputs):
        dtype = "int64" if self.output_mode == "int" else config.floatx()
        return KerasTensor(self.compute_output_shape(inputs.shape), dtype)

    def get_config(self):
        # A learned vocabulary is written as lists (Keras writes it to an asset file instead).
        vocabulary = self.input_vocabulary if self.input_vocabulary is not None else self._tokens
        idf = self.input_idf_weights
        if idf is None and self.input_vocabulary is None and self.idf_weights is not None:
            idf = self.idf_weights[self._token_start_index():self.vocabulary_size()].double().tolist()
        config_ = {**super().get_config(), "invert": self.invert, "max_tokens": self.max_tokens,
                   "num_oov_indices": self.num_oov_indices, "oov_token": self.oov_token,
                   "mask_token": self.mask_token, "output_mode": self.output_mode, "sparse": self.sparse,
                   "pad_to_max_tokens": self.pad_to_max_tokens, "vocabulary_dtype": self.vocabulary_dtype,
                   "idf_weights": _listify(idf), "vocabulary": _listify(vocabulary),
                   "vocabulary_size": self.vocabulary_size() if self._tokens is not None else None}
        if self.oov_method != "floormod":  # Keras < 3.13 rejects the key: written only when it matters
            config_["oov_method"] = self.oov_method
        return config_


class IntegerLookup(IndexLookup):
    """Maps integers to contiguous indices through a vocabulary (``adapt`` or ``vocabulary``).

    Args:
        max_tokens: the maximum vocabulary size, special tokens included (None: unbounded).
        num_oov_indices: OOV slots (default 1); 0 makes OOV inputs an error.
        mask_token: an int mapped to index 0 in ``'int'`` mode (dropped in other modes).
        oov_token: the value returned for OOV indices when ``invert=True`` (default -1).
        vocabulary: a list/array of ints; idf_weights: IDF weights for ``'tf_idf'``.
        invert: map indices back to integers.
        output_mode: ``'int'``, ``'one_hot'``, ``'multi_hot'``, ``'count'`` or ``'tf_idf'``.
        pad_to_max_tokens: encode to ``max_tokens`` columns.
        oov_method: ``'floormod'`` (default) or ``'farmhash'`` for several OOV slots.

    >>> import numpy as np
    >>> IntegerLookup(vocabulary=[12, 36, 1138, 42])(np.array([[12, 1138, 42], [42, 1000, 36]])).tolist()
    [[1, 3, 4], [4, 0, 2]]
    """

    vocabulary_dtype = "int64"

    def __init__(self, max_tokens=None, num_oov_indices=1, mask_token=None, oov_token=-1, vocabulary=None,
                 vocabulary_dtype="int64", idf_weights=None, invert=False, output_mode="int", sparse=False,
                 pad_to_max_tokens=False, oov_method="floormod", **kwargs):
        if vocabulary_dtype not in ("int32", "int64"):
            raise ValueError(f"`vocabulary_dtype` of IntegerLookup must be 'int32' or 'int64'. Received: "
                             f"vocabulary_dtype={vocabulary_dtype!r}")
        if max_tokens is not None and max_tokens <= 0:
            raise ValueError(f"If `max_tokens` is set for `IntegerLookup`, it must be greater than 1. Received: "
                             f"max_tokens={max_tokens}")
        self.vocabulary_dtype = vocabulary_dtype
        super().__init__(max_tokens, num_oov_indices, mask_token, oov_token, vocabulary=vocabulary,
                         idf_weights=idf_weights, invert=invert, output_mode=output_mode, sparse=sparse,
                         pad_to_max_tokens=pad_to_max_tokens, oov_method=oov_method, **kwargs)


class StringLookup(IndexLookup):
    """Maps strings to integer indices through a vocabulary (``adapt`` or ``vocabulary``).

    Inputs are lists or NumPy arrays of strings; ``invert=True`` returns a NumPy array of
    ``str``. Arguments as `IntegerLookup`, with ``oov_token='[UNK]'`` and ``encoding``
    (only ``'utf-8'``).

    >>> StringLookup(vocabulary=["a", "b", "c", "d"])([["a", "c", "d"], ["d", "z", "b"]]).tolist()
    [[1, 3, 4], [4, 0, 2]]
    >>> StringLookup(vocabulary=["a", "b"], invert=True)([[1, 0, 2]]).tolist()
    [['a', '[UNK]', 'b']]
    """

    _string_vocabulary = True
    vocabulary_dtype = "string"

    def __init__(self, max_tokens=None, num_oov_indices=1, mask_token=None, oov_token="[UNK]", vocabulary=None,
                 idf_weights=None, invert=False, output_mode="int", pad_to_max_tokens=False, sparse=False,
                 encoding="utf-8", **kwargs):
        if str(encoding).lower().replace("_", "-") not in ("utf-8", "utf8"):
            raise ValueError(f"StringLookup only supports encoding='utf-8'. Received: encoding={encoding!r}")
        self.encoding = encoding
        super().__init__(max_tokens, num_oov_indices, mask_token, oov_token, vocabulary=vocabulary,
                         idf_weights=idf_weights, invert=invert, output_mode=output_mode, sparse=sparse,
                         pad_to_max_tokens=pad_to_max_tokens, **kwargs)

    def get_config(self):
        config_ = super().get_config()
        del config_["vocabulary_dtype"]
        return {**config_, "encoding": self.encoding}
