"""Shared word-index processing of the IMDB and Reuters loaders (Keras's rules)."""

import numpy as np


def remove_long_seq(maxlen, seq, label):
    """Keeps the sequences shorter than ``maxlen`` (strictly, as Keras) and their labels."""
    kept = [(x, y) for x, y in zip(seq, label) if len(x) < maxlen]
    return [x for x, _ in kept], [y for _, y in kept]


def shuffled(arrays, rng):
    """Each array permuted by a fresh ``rng.shuffle`` of its indices (Keras draws one per array group)."""
    indices = np.arange(len(arrays[0]))
    rng.shuffle(indices)
    return [a[indices] for a in arrays]


def offset(xs, start_char, index_from):
    """Adds ``index_from`` to every word index and prepends ``start_char`` (if not ``None``)."""
    if start_char is not None:
        return [[start_char] + [int(w) + index_from for w in x] for x in xs]
    return [[int(w) + index_from for w in x] for x in xs]


def limit_vocabulary(xs, num_words, skip_top, oov_char):
    """Indices outside ``[skip_top, num_words)`` become ``oov_char`` (or are dropped when it is ``None``)."""
    if not num_words:
        num_words = max(max(x) for x in xs if x) if any(xs) else 0
    if oov_char is not None:
        return [[w if skip_top <= w < num_words else oov_char for w in x] for x in xs]
    return [[w for w in x if skip_top <= w < num_words] for x in xs]


def as_object_array(sequences):
    """A 1-D object array of lists (what Keras returns for ``x``)."""
    out = np.empty(len(sequences), dtype=object)
    for i, seq in enumerate(sequences):
        out[i] = seq
    return out
