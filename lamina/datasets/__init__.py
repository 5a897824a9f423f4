"""Datasets: Keras's downloadable loaders, and the digits that ship with lamina.

Each module has Keras's ``load_data()``: `mnist`, `fashion_mnist`, `cifar10`, `cifar100`,
`imdb`, `reuters`, `boston_housing`, `california_housing` download Keras's files (same URLs,
names and hashes) into ``~/.keras/datasets`` (or ``$LAMINA_HOME/datasets``) once; `digits`
(UCI 8x8 handwritten digits) is inside the package and needs no network.

>>> import lamina
>>> (x_train, y_train), _ = lamina.datasets.digits.load_data()
>>> int(x_train.max())
16
"""

from lamina._lazy import attach

_EXPORTS = {
    "boston_housing": "lamina.datasets.boston_housing",
    "california_housing": "lamina.datasets.california_housing",
    "cifar10": "lamina.datasets.cifar10",
    "cifar100": "lamina.datasets.cifar100",
    "digits": "lamina.datasets.digits",
    "fashion_mnist": "lamina.datasets.fashion_mnist",
    "imdb": "lamina.datasets.imdb",
    "mnist": "lamina.datasets.mnist",
    "reuters": "lamina.datasets.reuters",
}

__getattr__, __dir__, __all__ = attach(__name__, _EXPORTS)
