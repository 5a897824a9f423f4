"""Where the Keras datasets come from, and fetching them into the cache.

The URLs, cache file names and hashes are Keras's own, so a cache that Keras filled
(``~/.keras/datasets``) serves lamina too, and the other way round. The cache root is
``$LAMINA_HOME`` (else ``$KERAS_HOME``, else ``~/.keras``) or the ``cache_dir`` argument of each
loader. Downloads are verified and atomic (`lamina.utils.file_utils.get_file`); without a
network, the error names the URL and the exact path at which to place the file by hand.

>>> fetch("mnist.npz", cache_dir="/nonexistent-lamina-doc", dry_run=True)
'/nonexistent-lamina-doc/datasets/mnist.npz'
"""

import os

from lamina.utils.file_utils import get_file, lamina_home

#: Keras's download folder for its own copies of the datasets.
ORIGIN_FOLDER = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/"

#: name in the cache -> (URL, hash); the hashes are those in Keras's loaders (sha256, or md5 for the
#: word-index files, as Keras has them).
SOURCES = {
    "mnist.npz": (ORIGIN_FOLDER + "mnist.npz",
                  "731c5ac602752760c8e48fbffcf8c3b850d9dc2a2aedcf2cc48468fc17b673d1"),
    "imdb.npz": (ORIGIN_FOLDER + "imdb.npz",
                 "69664113be75683a8fe16e3ed0ab59fda8886cb3cd7ada244f7d9544e4676b9f"),
    "imdb_word_index.json": (ORIGIN_FOLDER + "imdb_word_index.json", "bfafd718b763782e994055a2d397834f"),
    "reuters.npz": (ORIGIN_FOLDER + "reuters.npz",
                    "d6586e694ee56d7a4e65172e12b3e987c03096cb01eab99753921ef915959916"),
    "reuters_word_index.json": (ORIGIN_FOLDER + "reuters_word_index.json", "4d44cc38712099c9e383dc6e5f11a921"),
    "boston_housing.npz": (ORIGIN_FOLDER + "boston_housing.npz",
                           "f553886a1f8d56431e820c5b82552d9d95cfcb96d1e678153f8839538947dff5"),
    "california_housing.npz": (ORIGIN_FOLDER + "california_housing.npz",
                               "1a2e3a52e0398de6463aebe6f4a8da34fb21fbb6b934cf88c3425e766f2a1a6f"),
    "train-labels-idx1-ubyte.gz": (ORIGIN_FOLDER + "train-labels-idx1-ubyte.gz",
                                   "a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845"),
    "train-images-idx3-ubyte.gz": (ORIGIN_FOLDER + "train-images-idx3-ubyte.gz",
                                   "3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84"),
    "t10k-labels-idx1-ubyte.gz": (ORIGIN_FOLDER + "t10k-labels-idx1-ubyte.gz",
                                  "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5"),
    "t10k-images-idx3-ubyte.gz": (ORIGIN_FOLDER + "t10k-images-idx3-ubyte.gz",
                                  "346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073"),
    "cifar-10-batches-py-target": ("https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz",
                                   "6d958be074577803d12ecdefd02955f39262c83c16fe9348329d7fe0b5c001ce"),
    "cifar-100-python-target": ("https://www.cs.toronto.edu/~kriz/cifar-100-python.tar.gz",
                                "85cd44d02ba6437773c5bbd22e183051d648de2e7d6b014e1ef29b855ba677a7"),
}

#: Tests point this at a local server; ``None`` uses the URLs above.
_origin_override = None


def fetch(name, fname=None, cache_dir=None, cache_subdir="datasets", extract=False, dry_run=False):
    """The cached path of the dataset file ``name``, downloading it first if needed.

    Args:
        name: a key of `SOURCES`.
        fname: the file name in the cache (Keras's ``path`` argument); default ``name``.
        cache_dir: the cache root; default ``$LAMINA_HOME`` / ``$KERAS_HOME`` / ``~/.keras``.
        cache_subdir: the folder under the root.
        extract: extract the downloaded archive and return the folder.
        dry_run: only return the path the file would have (nothing is read or written).
    """
    origin, file_hash = SOURCES[name]
    if _origin_override is not None:
        origin = _origin_override.rstrip("/") + "/" + origin.rsplit("/", 1)[1]
    fname = os.fspath(fname) if fname is not None else name
    if dry_run:
        root = os.path.expanduser(os.fspath(cache_dir)) if cache_dir is not None else lamina_home()
        return os.path.join(root, cache_subdir, fname)
    return get_file(fname, origin=origin, file_hash=file_hash, cache_subdir=cache_subdir, extract=extract,
                    cache_dir=cache_dir)
