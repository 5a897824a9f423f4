"""IMDB movie reviews (25,000 + 25,000), labelled by sentiment, as lists of word indices.

Keras's ``imdb.npz`` stores the reviews as object arrays of lists; it is read without
``allow_pickle`` by `lamina.datasets._safe_pickle.load_npz`.
"""

import json

import numpy as np

from lamina.datasets import _safe_pickle
from lamina.datasets import _sequences as seqs
from lamina.datasets._download import fetch


def load_data(path="imdb.npz", num_words=None, skip_top=0, maxlen=None, seed=113, start_char=1, oov_char=2,
              index_from=3, cache_dir=None, **kwargs):
    """Loads the IMDB dataset (Keras's arguments, file and processing).

    Args:
        path: the file name in the cache folder.
        num_words: keep only the ``num_words`` most frequent words (others become ``oov_char``).
        skip_top: the most frequent words to replace by ``oov_char``.
        maxlen: drop the sequences of ``maxlen`` words or more.
        seed: seed of the shuffling of each split.
        start_char: index marking the start of each sequence (``None``: no marker).
        oov_char: index of dropped words (``None``: remove them).
        index_from: added to every word index.
        cache_dir: the cache root; default ``$LAMINA_HOME``, else ``$KERAS_HOME``, else ``~/.keras``.

    Returns:
        ``(x_train, y_train), (x_test, y_test)``: object arrays of lists of ints, and int labels 0/1.

    Example:

    >>> from lamina.datasets import imdb
    >>> imdb.load_data(nb_words=10)
    Traceback (most recent call last):
    ...
    TypeError: Unrecognized keyword arguments: ['nb_words']
    """
    if kwargs:
        raise TypeError(f"Unrecognized keyword arguments: {sorted(kwargs)}")
    f = _safe_pickle.load_npz(fetch("imdb.npz", path, cache_dir))
    rng = np.random.RandomState(seed)
    x_train, labels_train = seqs.shuffled([f["x_train"], f["y_train"]], rng)
    x_test, labels_test = seqs.shuffled([f["x_test"], f["y_test"]], rng)
    x_train = seqs.offset(x_train, start_char, index_from)
    x_test = seqs.offset(x_test, start_char, index_from)
    if maxlen:
        x_train, labels_train = seqs.remove_long_seq(maxlen, x_train, labels_train)
        x_test, labels_test = seqs.remove_long_seq(maxlen, x_test, labels_test)
        if not x_train or not x_test:
            raise ValueError(f"After filtering for sequences shorter than maxlen={maxlen}, no sequence was kept. "
                             "Increase maxlen.")
    xs = seqs.limit_vocabulary(x_train + x_test, num_words, skip_top, oov_char)
    labels = np.concatenate([np.asarray(labels_train), np.asarray(labels_test)])
    idx = len(x_train)
    return (seqs.as_object_array(xs[:idx]), labels[:idx]), (seqs.as_object_array(xs[idx:]), labels[idx:])


def get_word_index(path="imdb_word_index.json", cache_dir=None):
    """``{word: index}`` of the IMDB dataset (index 1 = most frequent; add ``index_from`` to match ``x``)."""
    with open(fetch("imdb_word_index.json", path, cache_dir)) as f:
        return json.load(f)
