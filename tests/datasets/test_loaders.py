"""Keras dataset loaders on small fake files in each dataset's format, in a temporary cache (offline)."""

import gzip
import hashlib
import io
import json
import os
import pickle
import tarfile

import numpy as np
import pytest

from lamina.datasets import (
    _download,
    _safe_pickle,
    boston_housing,
    california_housing,
    cifar10,
    cifar100,
    fashion_mnist,
    imdb,
    mnist,
    reuters,
)
from lamina.utils.file_utils import DownloadError
from tests.utils.http_fixture import closed_port_url, serve


@pytest.fixture
def cache(tmp_path, monkeypatch):
    """A cache root; loaders find files placed under ``<root>/datasets`` and skip the hash only via patching."""
    monkeypatch.setenv("LAMINA_HOME", str(tmp_path))
    (tmp_path / "datasets").mkdir()
    return tmp_path


def _place(cache, name, data, subdir="datasets", monkeypatch=None):
    """Writes a fake file and registers its real hash for the loader (the real hashes are Keras's)."""
    path = cache / subdir / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    origin, _ = _download.SOURCES[name]
    monkeypatch.setitem(_download.SOURCES, name, (origin, hashlib.sha256(data).hexdigest()))
    return path


def _npz(**arrays):
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return buffer.getvalue()


def _ragged(lists):
    out = np.empty(len(lists), dtype=object)
    out[:] = [list(x) for x in lists]
    return out


def test_sources_keep_kerass_names_and_hashes():
    assert _download.SOURCES["mnist.npz"] == (
        "https://storage.googleapis.com/tensorflow/tf-keras-datasets/mnist.npz",
        "731c5ac602752760c8e48fbffcf8c3b850d9dc2a2aedcf2cc48468fc17b673d1")
    assert _download.SOURCES["cifar-10-batches-py-target"][0] == "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
    assert all(len(h) in (32, 64) for _, h in _download.SOURCES.values())


def test_mnist(cache, monkeypatch):
    x = np.random.default_rng(0).integers(0, 256, size=(6, 28, 28), dtype=np.uint8)
    _place(cache, "mnist.npz", _npz(x_train=x[:4], y_train=np.arange(4, dtype="uint8"), x_test=x[4:],
                                    y_test=np.arange(2, dtype="uint8")), monkeypatch=monkeypatch)
    (x_train, y_train), (x_test, y_test) = mnist.load_data()
    np.testing.assert_array_equal(x_train, x[:4])
    assert x_test.shape == (2, 28, 28) and y_train.dtype == np.uint8


def test_fashion_mnist_idx_files(cache, monkeypatch):
    images = np.arange(3 * 784, dtype=np.uint32).astype(np.uint8).reshape(3, 28, 28)
    labels = np.array([9, 0, 3], dtype=np.uint8)
    for prefix in ("train", "t10k"):
        _place(cache, f"{prefix}-labels-idx1-ubyte.gz", gzip.compress(b"\0" * 8 + labels.tobytes()),
               os.path.join("datasets", "fashion-mnist"), monkeypatch)
        _place(cache, f"{prefix}-images-idx3-ubyte.gz", gzip.compress(b"\0" * 16 + images.tobytes()),
               os.path.join("datasets", "fashion-mnist"), monkeypatch)
    (x_train, y_train), (x_test, y_test) = fashion_mnist.load_data()
    np.testing.assert_array_equal(x_train, images)
    assert y_test.tolist() == [9, 0, 3]


def _cifar_archive(root, batches, label_key):
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name, (data, labels) in batches.items():
            payload = pickle.dumps({b"batch_label": b"x", b"data": data, label_key: labels}, protocol=2)
            info = tarfile.TarInfo(f"{root}/{name}")
            info.size = len(payload)
            tar.addfile(info, io.BytesIO(payload))
    return buffer.getvalue()


def test_cifar10(cache, monkeypatch):
    rng = np.random.default_rng(1)
    batches = {f"data_batch_{i}": (rng.integers(0, 256, (2, 3072), dtype=np.uint8), [i, 9 - i]) for i in range(1, 6)}
    batches["test_batch"] = (rng.integers(0, 256, (3, 3072), dtype=np.uint8), [1, 2, 3])
    data = _cifar_archive("cifar-10-batches-py", batches, b"labels")
    (cache / "datasets" / "cifar-10-batches-py-target_archive").write_bytes(data)
    origin, _ = _download.SOURCES["cifar-10-batches-py-target"]
    monkeypatch.setitem(_download.SOURCES, "cifar-10-batches-py-target", (origin, hashlib.sha256(data).hexdigest()))
    (x_train, y_train), (x_test, y_test) = cifar10.load_data()
    assert x_train.shape == (10, 32, 32, 3) and y_train.shape == (10, 1) and y_train.dtype == np.uint8
    expected = batches["data_batch_1"][0][0].reshape(3, 32, 32).transpose(1, 2, 0)
    np.testing.assert_array_equal(x_train[0], expected)
    assert y_train[:, 0].tolist() == [1, 8, 2, 7, 3, 6, 4, 5, 5, 4] and y_test[:, 0].tolist() == [1, 2, 3]


def test_cifar100_label_modes(cache, monkeypatch):
    rng = np.random.default_rng(2)
    train = rng.integers(0, 256, (4, 3072), dtype=np.uint8)
    payloads = {}
    for name, n in (("train", 4), ("test", 2)):
        payloads[name] = pickle.dumps({b"data": train[:n], b"fine_labels": list(range(n)),
                                       b"coarse_labels": [7] * n}, protocol=2)
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name, payload in payloads.items():
            info = tarfile.TarInfo(f"cifar-100-python/{name}")
            info.size = len(payload)
            tar.addfile(info, io.BytesIO(payload))
    data = buffer.getvalue()
    (cache / "datasets" / "cifar-100-python-target_archive").write_bytes(data)
    origin, _ = _download.SOURCES["cifar-100-python-target"]
    monkeypatch.setitem(_download.SOURCES, "cifar-100-python-target", (origin, hashlib.sha256(data).hexdigest()))
    (x, y), _ = cifar100.load_data()
    assert x.shape == (4, 32, 32, 3) and y[:, 0].tolist() == [0, 1, 2, 3]
    (_, y), (_, y_test) = cifar100.load_data(label_mode="coarse")
    assert y[:, 0].tolist() == [7] * 4 and y_test.shape == (2, 1)


def test_imdb_processing_follows_keras(cache, monkeypatch):
    x_train = _ragged([[1, 2, 3], [4, 5], [6], [7, 8, 9, 10]])
    x_test = _ragged([[2, 2], [9]])
    _place(cache, "imdb.npz", _npz(x_train=x_train, y_train=np.array([0, 1, 0, 1]), x_test=x_test,
                                   y_test=np.array([1, 0])), monkeypatch=monkeypatch)
    (xtr, ytr), (xte, yte) = imdb.load_data(seed=0)
    rng = np.random.RandomState(0)
    order_train = np.arange(4)
    rng.shuffle(order_train)
    order_test = np.arange(2)
    rng.shuffle(order_test)
    num_words = 13  # max index after offset (10 + 3); Keras keeps w < num_words
    expected = [[1] + [w + 3 for w in x_train[i]] for i in order_train]
    expected = [[w if w < num_words else 2 for w in x] for x in expected]
    assert xtr.dtype == object and list(xtr) == expected
    assert ytr.tolist() == np.array([0, 1, 0, 1])[order_train].tolist()
    assert list(xte) == [[1] + [w + 3 for w in x_test[i]] for i in order_test]
    (xtr, _), _ = imdb.load_data(seed=0, num_words=6, skip_top=4, maxlen=4, start_char=None, index_from=0)
    for seq in xtr:
        assert len(seq) < 4 and all(w == 2 or 4 <= w < 6 for w in seq)
    with pytest.raises(ValueError, match="no sequence was kept"):
        imdb.load_data(maxlen=1)


def test_reuters_split_and_word_index(cache, monkeypatch):
    xs = _ragged([[i, i + 1] for i in range(10)])
    _place(cache, "reuters.npz", _npz(x=xs, y=np.arange(10)), monkeypatch=monkeypatch)
    (xtr, ytr), (xte, yte) = reuters.load_data(test_split=0.3, seed=5, oov_char=None)
    assert len(xtr) == 7 and len(xte) == 3
    order = np.arange(10)
    np.random.RandomState(5).shuffle(order)
    assert ytr.tolist() + yte.tolist() == order.tolist()
    index = {"the": 1, "of": 2}
    data = json.dumps(index).encode()
    path = cache / "datasets" / "reuters_word_index.json"
    path.write_bytes(data)
    origin, _ = _download.SOURCES["reuters_word_index.json"]
    monkeypatch.setitem(_download.SOURCES, "reuters_word_index.json", (origin, hashlib.md5(data).hexdigest()))
    assert reuters.get_word_index() == index
    assert len(reuters.get_label_names()) == 46


@pytest.mark.parametrize("module,name,features", [(boston_housing, "boston_housing.npz", 13),
                                                   (california_housing, "california_housing.npz", 8)])
def test_regression_splits(cache, monkeypatch, module, name, features):
    x = np.arange(50 * features, dtype="float64").reshape(50, features)
    y = np.arange(50, dtype="float32")
    _place(cache, name, _npz(x=x, y=y), monkeypatch=monkeypatch)
    (xtr, ytr), (xte, yte) = module.load_data(test_split=0.2, seed=113)
    order = np.arange(50)
    np.random.RandomState(113).shuffle(order)
    assert ytr.tolist() == y[order[:40]].tolist() and yte.tolist() == y[order[40:]].tolist()
    np.testing.assert_array_equal(xtr, x[order[:40]])
    if module is california_housing:
        (xs, _), (xt, _) = module.load_data(version="small", test_split=0.5)
        assert len(xs) + len(xt) == 50  # fewer than 600 samples: all of them


def test_wrong_hash_in_cache_triggers_download_and_offline_error_names_the_file(cache, monkeypatch):
    (cache / "datasets" / "mnist.npz").write_bytes(b"not the real file")
    monkeypatch.setattr(_download, "_origin_override", closed_port_url())
    with pytest.raises(DownloadError) as info:
        mnist.load_data()
    assert os.path.join(str(cache), "datasets", "mnist.npz") in str(info.value)
    assert "mnist.npz" in str(info.value) and "offline" in str(info.value)


def test_download_from_local_server_then_cached(cache, monkeypatch, tmp_path):
    data = _npz(x=np.ones((5, 13)), y=np.arange(5.0))
    origin, _ = _download.SOURCES["boston_housing.npz"]
    monkeypatch.setitem(_download.SOURCES, "boston_housing.npz", (origin, hashlib.sha256(data).hexdigest()))
    other = tmp_path / "elsewhere"
    with serve({"/boston_housing.npz": data}) as url:
        monkeypatch.setattr(_download, "_origin_override", url)
        (x, _), _ = boston_housing.load_data(cache_dir=other)
    assert x.shape == (4, 13) and (other / "datasets" / "boston_housing.npz").read_bytes() == data
    monkeypatch.setattr(_download, "_origin_override", closed_port_url())
    boston_housing.load_data(cache_dir=other)  # served from the cache, no network


class _Exploit:
    def __reduce__(self):
        return (os.system, ("echo pwned",))


def test_restricted_unpickler_refuses_code():
    with pytest.raises(pickle.UnpicklingError, match="Refusing to deserialize `(posix|nt|os).system`"):
        _safe_pickle.load(io.BytesIO(pickle.dumps({b"data": _Exploit()}, protocol=2)))
    with pytest.raises(pickle.UnpicklingError, match="Refusing"):
        _safe_pickle.load(io.BytesIO(pickle.dumps(np.zeros(2, dtype=[("a", "i4")]), protocol=2)))


def test_malicious_object_npz_is_refused(tmp_path):
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(header, {"descr": "|O", "fortran_order": False, "shape": (1,)})
    member = header.getvalue() + pickle.dumps(_Exploit(), protocol=2)
    path = tmp_path / "evil.npz"
    import zipfile

    with zipfile.ZipFile(path, "w") as z:
        z.writestr("x.npy", member)
    with pytest.raises(pickle.UnpicklingError, match="Refusing"):
        _safe_pickle.load_npz(path)


def test_safe_npz_reads_numeric_and_object_arrays(tmp_path):
    path = tmp_path / "a.npz"
    np.savez(path, a=np.arange(6, dtype=">i4").reshape(2, 3), b=_ragged([[1, 2], [3]]))
    arrays = _safe_pickle.load_npz(path)
    np.testing.assert_array_equal(arrays["a"], np.arange(6).reshape(2, 3))
    assert list(arrays["b"]) == [[1, 2], [3]]
