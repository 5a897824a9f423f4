"""Reuters newswires (11,228) labelled over 46 topics, as lists of word indices.

Keras's ``reuters.npz`` stores the wires as an object array of lists; it is read without
``allow_pickle`` by `lamina.datasets._safe_pickle.load_npz`.
"""

import json

import numpy as np

from lamina.datasets import _safe_pickle
from lamina.datasets import _sequences as seqs
from lamina.datasets._download import fetch

_LABEL_NAMES = (
    "cocoa", "grain", "veg-oil", "earn", "acq", "wheat", "copper", "housing", "money-supply", "coffee", "sugar",
    "trade", "reserves", "ship", "cotton", "carcass", "crude", "nat-gas", "cpi", "money-fx", "interest", "gnp",
    "meal-feed", "alum", "oilseed", "gold", "tin", "strategic-metal", "livestock", "retail", "ipi", "iron-steel",
    "rubber", "heat", "jobs", "lei", "bop", "zinc", "orange", "pet-chem", "dlr", "gas", "silver", "wpi", "hog",
    "lead",
)


def load_data(path="reuters.npz", num_words=None, skip_top=0, maxlen=None, test_split=0.2, seed=113, start_char=1,
              oov_char=2, index_from=3, cache_dir=None):
    """Loads the Reuters dataset (Keras's arguments, file and processing).

    Args:
        path: the file name in the cache folder.
        num_words: keep only the ``num_words`` most frequent words (others become ``oov_char``).
        skip_top: the most frequent words to replace by ``oov_char``.
        maxlen: drop the sequences of ``maxlen`` words or more.
        test_split: fraction of the (shuffled) wires kept for testing.
        seed: seed of the shuffling.
        start_char: index marking the start of each sequence (``None``: no marker).
        oov_char: index of dropped words (``None``: remove them).
        index_from: added to every word index.
        cache_dir: the cache root; default ``$LAMINA_HOME``, else ``$KERAS_HOME``, else ``~/.keras``.

    Returns:
        ``(x_train, y_train), (x_test, y_test)``: object arrays of lists of ints, and int topic labels.

    Example:

    >>> from lamina.datasets import reuters
    >>> reuters.get_label_names()[:3]
    ('cocoa', 'grain', 'veg-oil')
    """
    f = _safe_pickle.load_npz(fetch("reuters.npz", path, cache_dir))
    xs, labels = seqs.shuffled([f["x"], f["y"]], np.random.RandomState(seed))
    xs = seqs.offset(xs, start_char, index_from)
    if maxlen:
        xs, labels = seqs.remove_long_seq(maxlen, xs, labels)
    xs = seqs.limit_vocabulary(xs, num_words, skip_top, oov_char)
    idx = int(len(xs) * (1 - test_split))
    labels = np.asarray(labels)
    return (seqs.as_object_array(xs[:idx]), np.array(labels[:idx])), (seqs.as_object_array(xs[idx:]),
                                                                       np.array(labels[idx:]))


def get_word_index(path="reuters_word_index.json", cache_dir=None):
    """``{word: index}`` of the Reuters dataset (indices 0-2 are reserved: padding, start, OOV)."""
    with open(fetch("reuters_word_index.json", path, cache_dir)) as f:
        return json.load(f)


def get_label_names():
    """The 46 topic names, indexed by label (Keras's tuple)."""
    return _LABEL_NAMES
