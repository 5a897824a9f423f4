"""Hostile and broken files: each is refused with a clear ValueError, nothing runs, nothing is half-loaded."""

import io
import json
import os
import zipfile

import h5py
import numpy as np
import pytest

import lamina
from lamina import layers
from lamina.saving import DeserializationError, FileFormatError
from lamina.saving.errors import WeightsMismatchError

from .conftest import mlp, predict, randomize


def _rewrite_config(src, dst, edit):
    """Copies a .keras archive, passing config.json through ``edit``."""
    with zipfile.ZipFile(src) as old, zipfile.ZipFile(dst, "w") as new:
        for info in old.infolist():
            data = old.read(info)
            if info.filename == "config.json":
                config = json.loads(data)
                edit(config)
                data = json.dumps(config).encode()
            new.writestr(info, data)


@pytest.fixture
def saved(tmp_path):
    path = tmp_path / "m.keras"
    randomize(mlp()).save(path)
    return path


@pytest.mark.parametrize("module, name", [("os", "system"), ("builtins", "eval"), ("builtins", "exec"),
                                          ("subprocess", "Popen"), ("builtins", "__import__")])
def test_config_naming_a_python_callable_is_refused(tmp_path, saved, module, name):
    def as_layer(config):
        config["config"]["layers"][1].update(module=module, class_name=name, registered_name=None)

    def as_activation(config):
        config["config"]["layers"][1]["config"]["activation"] = {
            "module": module, "class_name": "function", "config": name, "registered_name": "function"}

    for edit in (as_layer, as_activation):
        bad = tmp_path / f"{edit.__name__}.keras"
        _rewrite_config(saved, bad, edit)
        with pytest.raises(DeserializationError, match=rf"(Unknown layer: '{name}'|Unknown function '{name}'|"
                                                       rf"Unknown activation)"):
            lamina.models.load_model(bad)


def test_top_level_class_outside_the_registry_is_refused(tmp_path, saved):
    bad = tmp_path / "top.keras"
    _rewrite_config(saved, bad, lambda c: c.update(module="os", class_name="system", registered_name="system"))
    with pytest.raises(DeserializationError, match=r"Unknown layer: 'system'.*module='os'"):
        lamina.models.load_model(bad)


def _marker_lambda_model(marker):
    # The path is a constant of the bytecode: running the function creates the marker file.
    fn = eval(f"lambda t: (__import__('pathlib').Path({str(marker)!r}).touch(), t)[1]")  # noqa: S307 - test only
    inputs = lamina.Input((4,), name="li")
    return lamina.Model(inputs, layers.Dense(2, name="ld")(layers.Lambda(fn, name="touch")(inputs)))


@pytest.mark.parametrize("suffix", [".keras", ".h5"])
def test_lambda_bytecode_needs_safe_mode_false_and_nothing_runs(tmp_path, suffix):
    marker = tmp_path / "marker"
    model = _marker_lambda_model(marker)
    model.save(tmp_path / f"m{suffix}")
    marker.unlink(missing_ok=True)
    with pytest.raises(ValueError, match=r"Lambda.*`safe_mode=False`"):
        lamina.models.load_model(tmp_path / f"m{suffix}")
    assert not marker.exists()
    loaded = lamina.models.load_model(tmp_path / f"m{suffix}", safe_mode=False)  # trusted: runs the bytecode
    loaded.predict(np.ones((1, 4), "float32"), verbose=0)
    assert marker.exists()


@pytest.mark.parametrize("suffix", [".keras", ".h5"])
def test_real_keras_lambda_files_are_refused_in_safe_mode(suffix):
    from .conftest import sample

    for name in {".keras": ["k3_lambda.keras", "tfk_lambda.keras"], ".h5": ["tfk_lambda.h5", "k3_lambda_legacy.h5"]}[
            suffix]:
        with pytest.raises(ValueError, match="safe_mode=False"):
            lamina.models.load_model(sample(name))


def test_keras3_weights_with_wrong_shapes_list_every_layer(tmp_path):
    mlp().save_weights(tmp_path / "w.weights.h5")
    inputs = lamina.Input((5,), name="x")
    other = lamina.Model(inputs, layers.Dense(2, name="b")(layers.Dense(7, name="a")(inputs)))
    before = other.get_weights()
    with pytest.raises(WeightsMismatchError) as info:
        other.load_weights(tmp_path / "w.weights.h5")
    message = str(info.value)
    assert "Layer 'a' (at 'layers/dense') shape mismatch: variable 0 'a/kernel': file (4, 8) vs model (5, 7)" in message
    assert "Layer 'b' (at 'layers/dense_1') shape mismatch" in message and "2 problem(s)" in message
    for old, new in zip(before, other.get_weights()):
        np.testing.assert_array_equal(old, new)


@pytest.mark.parametrize("suffix", [".keras", ".h5", ".weights.h5"])
def test_truncated_files_fail_cleanly_and_leave_the_model_unchanged(tmp_path, suffix, x4):
    path = tmp_path / f"m{suffix}"
    source = randomize(mlp())
    source.save_weights(path) if suffix == ".weights.h5" else source.save(path)
    data = path.read_bytes()
    target = mlp()
    expected = predict(target, x4)
    for cut in (0, 7, 100, len(data) // 3, len(data) // 2, len(data) - 200, len(data) - 1):
        broken = tmp_path / f"cut{suffix}"
        broken.write_bytes(data[:cut])
        with pytest.raises(ValueError) as info:
            target.load_weights(broken)
        assert isinstance(info.value, FileFormatError), repr(info.value)
        if suffix != ".weights.h5":
            with pytest.raises(FileFormatError):
                lamina.models.load_model(broken)
        np.testing.assert_array_equal(predict(target, x4), expected)


def test_ten_gigabyte_declared_shape_is_refused_before_allocation(tmp_path):
    path = tmp_path / "bomb.weights.h5"
    mlp().save_weights(path)
    with h5py.File(path, "a") as f:
        del f["layers/dense/vars/0"]
        f["layers/dense/vars"].create_dataset("0", shape=(50_000, 50_000), dtype="float32")  # never allocated
    assert os.path.getsize(path) < 100_000
    with pytest.raises(FileFormatError, match=r"declares shape \(50000, 50000\) \(10.0 GB\)"):
        mlp().load_weights(path)


def _legacy_with(tmp_path, edit):
    path = tmp_path / "w.h5"
    mlp().save_weights(path)
    with h5py.File(path, "a") as f:
        edit(f)
    return path


@pytest.mark.parametrize("evil", ["../escape", "/abs", "a/../../b", "nul\0byte", ""])
def test_layer_and_weight_names_escaping_paths_are_refused(tmp_path, evil):
    def layer_name(f):
        f.attrs["layer_names"] = np.array([b"x", evil.encode(), b"out"])  # fixed-length: NUL allowed

    def weight_name(f):
        f["hidden"].attrs["weight_names"] = np.array([evil.encode(), b"hidden/bias:0"])

    for edit in (layer_name, weight_name):
        with pytest.raises(FileFormatError, match="Refusing the"):
            mlp().load_weights(_legacy_with(tmp_path, edit))


def test_object_string_and_reference_datasets_are_refused(tmp_path):
    def strings(f):
        del f["hidden/hidden/kernel:0"]
        f["hidden/hidden"].create_dataset("kernel:0", data=np.array(["a"] * 4, dtype=object),
                                          dtype=h5py.string_dtype())

    def references(f):
        del f["hidden/hidden/kernel:0"]
        f["hidden/hidden"].create_dataset("kernel:0", data=[f.ref], dtype=h5py.ref_dtype)

    for edit in (strings, references):
        with pytest.raises(FileFormatError, match="unsupported dtype"):
            mlp().load_weights(_legacy_with(tmp_path, edit))


@pytest.mark.parametrize("kind", ["soft", "external"])
def test_links_are_refused(tmp_path, kind):
    outside = tmp_path / "outside.h5"
    with h5py.File(outside, "w") as f:
        f["kernel"] = np.zeros((4, 8), "float32")

    def link(f):
        del f["hidden/hidden/kernel:0"]
        f["hidden/hidden/kernel:0"] = (h5py.SoftLink("/out/out/kernel:0") if kind == "soft"
                                       else h5py.ExternalLink(str(outside), "kernel"))

    with pytest.raises(FileFormatError, match=r"Refusing (SoftLink|ExternalLink)"):
        mlp().load_weights(_legacy_with(tmp_path, link))


def test_external_storage_is_refused(tmp_path):
    raw = tmp_path / "raw.bin"
    raw.write_bytes(np.zeros(32, "float32").tobytes())

    def external(f):
        del f["hidden/hidden/kernel:0"]
        f["hidden/hidden"].create_dataset("kernel:0", shape=(4, 8), dtype="float32", external=[(str(raw), 0, 128)])

    with pytest.raises(FileFormatError, match="stored outside the file"):
        mlp().load_weights(_legacy_with(tmp_path, external))


def test_zip_bomb_member_is_refused(tmp_path, saved):
    bomb = tmp_path / "bomb.keras"
    with zipfile.ZipFile(saved) as old, zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as new:
        for info in old.infolist():
            new.writestr(info.filename, old.read(info))
    with zipfile.ZipFile(bomb) as archive:
        info = archive.getinfo("config.json")
    data = bytearray(bomb.read_bytes())
    # Patch the declared uncompressed size (central directory) to 8 GiB.
    central = data.rfind(b"PK\x01\x02", 0, data.rfind(b"config.json"))
    data[central + 24:central + 28] = (0xFFFFFFFF).to_bytes(4, "little")
    bomb.write_bytes(bytes(data))
    assert info.compress_size < 10_000
    with pytest.raises(FileFormatError):
        lamina.models.load_model(bomb)


def test_config_that_is_not_json_or_not_a_model(tmp_path, saved):
    for content, message in [(b"{not json", "not valid JSON"), (b"[1, 2]", "no 'class_name'"),
                             (b"\xff\xfe", "not valid JSON")]:
        bad = tmp_path / "bad.keras"
        with zipfile.ZipFile(saved) as old, zipfile.ZipFile(bad, "w") as new:
            for info in old.infolist():
                new.writestr(info, content if info.filename == "config.json" else old.read(info))
        with pytest.raises(FileFormatError, match=message):
            lamina.models.load_model(bad)


def test_missing_members_and_foreign_files(tmp_path, saved):
    with zipfile.ZipFile(tmp_path / "empty.keras", "w") as archive:
        archive.writestr("readme.txt", "hi")
    with pytest.raises(FileFormatError, match="has no 'config.json'"):
        lamina.models.load_model(tmp_path / "empty.keras")
    (tmp_path / "text.h5").write_text("not hdf5")
    with pytest.raises(FileFormatError, match="not an HDF5 file"):
        lamina.models.load_model(tmp_path / "text.h5")
    with pytest.raises(ValueError, match="File not found"):
        lamina.models.load_model(tmp_path / "missing.keras")
    weights_only = tmp_path / "w.h5"
    mlp().save_weights(weights_only)
    with pytest.raises(ValueError, match="No model config found"):
        lamina.models.load_model(weights_only)
    buffer = io.BytesIO()
    with pytest.raises(TypeError, match="Expected a file path"):
        lamina.models.load_model(buffer)


# ---- configs naming code outside lamina: nothing is imported, nothing runs ------------------------------------


def _rewrite_legacy_config(src, edit):
    with h5py.File(src, "a") as f:
        config = json.loads(f.attrs["model_config"])
        edit(config)
        f.attrs["model_config"] = json.dumps(config)


@pytest.fixture
def marker_module(tmp_path, monkeypatch):
    """An importable module whose import creates a marker file: importing it is executing the file's choice."""
    folder = tmp_path / "site"
    folder.mkdir()
    marker = tmp_path / "imported.marker"
    (folder / "lamina_hostile_module.py").write_text(
        f"import pathlib\npathlib.Path({str(marker)!r}).touch()\n\n"
        "class Evil:\n    def __init__(self, *a, **k):\n        pathlib.Path(__file__).touch()\n\n"
        "def evil(*a, **k):\n    return 0\n")
    monkeypatch.syspath_prepend(str(folder))
    monkeypatch.delitem(__import__("sys").modules, "lamina_hostile_module", raising=False)
    return marker


@pytest.mark.parametrize("suffix", [".keras", ".h5"])
@pytest.mark.parametrize("where", ["layer", "activation", "initializer", "top"])
def test_config_naming_an_importable_module_imports_nothing(tmp_path, marker_module, suffix, where):
    import sys

    def edit(config):
        layers_ = config["config"]["layers"]
        dense = layers_[1]["config"]
        if where == "layer":
            layers_[1].update(module="lamina_hostile_module", class_name="Evil",
                              registered_name="lamina_hostile_module>Evil")
        elif where == "activation":
            dense["activation"] = {"module": "lamina_hostile_module", "class_name": "function", "config": "evil",
                                   "registered_name": "function"}
        elif where == "initializer":
            dense["kernel_initializer"] = {"module": "lamina_hostile_module", "class_name": "Evil", "config": {},
                                           "registered_name": None}
        else:
            config.update(module="lamina_hostile_module", class_name="Evil", registered_name=None)

    path = tmp_path / f"m{suffix}"
    mlp().save(path)
    if suffix == ".keras":
        bad = tmp_path / "bad.keras"
        _rewrite_config(path, bad, edit)
    else:
        _rewrite_legacy_config(path, edit)
        bad = path
    with pytest.raises(DeserializationError, match="(Unknown|Could not interpret)"):
        lamina.models.load_model(bad)
    assert "lamina_hostile_module" not in sys.modules
    assert not marker_module.exists()
    __import__("lamina_hostile_module")  # the module does work: its import is what the loader never did
    assert marker_module.exists()


@pytest.mark.parametrize("suffix", [".keras", ".h5"])
@pytest.mark.parametrize("evil", ["../escape", "a/b", "/abs"])
def test_layer_names_that_are_paths_are_refused(tmp_path, saved, suffix, evil):
    def edit(config):
        config["config"]["layers"][1]["name"] = config["config"]["layers"][1]["config"]["name"] = evil

    if suffix == ".keras":
        bad = tmp_path / "bad.keras"
        _rewrite_config(saved, bad, edit)
    else:
        bad = tmp_path / "m.h5"
        mlp().save(bad)
        _rewrite_legacy_config(bad, edit)
    with pytest.raises(FileFormatError, match="Layer names cannot contain '/'"):
        lamina.models.load_model(bad)
    assert sorted(os.listdir(tmp_path)) == sorted({"m.keras", bad.name})  # nothing written beside the file


# ---- sizes and half-loads -------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["legacy .h5 weights", ".keras", "legacy .h5 model"])
def test_ten_gigabyte_declared_shape_is_refused_in_every_format(tmp_path, kind):
    model = mlp()
    before = model.get_weights()
    if kind == ".keras":
        source = tmp_path / "m.keras"
        mlp().save(source)
        with zipfile.ZipFile(source) as archive:
            members = {info.filename: archive.read(info) for info in archive.infolist()}
        inner = tmp_path / "inner.h5"
        inner.write_bytes(members["model.weights.h5"])
        with h5py.File(inner, "a") as f:
            del f["layers/dense_1/vars/0"]
            f["layers/dense_1/vars"].create_dataset("0", shape=(50_000, 50_000), dtype="float32")
        members["model.weights.h5"] = inner.read_bytes()
        path = tmp_path / "bomb.keras"
        with zipfile.ZipFile(path, "w") as archive:
            for name, content in members.items():
                archive.writestr(name, content)
    else:
        path = tmp_path / "bomb.h5"
        mlp().save(path) if kind.endswith("model") else mlp().save_weights(path)
        with h5py.File(path, "a") as f:
            group = f["model_weights/out/out"] if kind.endswith("model") else f["out/out"]
            del group["kernel:0"]
            group.create_dataset("kernel:0", shape=(50_000, 50_000), dtype="float32")
    assert os.path.getsize(path) < 100_000
    with pytest.raises(FileFormatError, match=r"declares shape \(50000, 50000\) \(10.0 GB\)"):
        model.load_weights(path)
    if kind != "legacy .h5 weights":
        with pytest.raises(FileFormatError, match=r"declares shape \(50000, 50000\)"):
            lamina.models.load_model(path)
    for old, new in zip(before, model.get_weights()):
        np.testing.assert_array_equal(old, new)


def _corrupt_last_kernel(path, dataset_path):
    """Rewrites the last layer's kernel as a gzip chunk, then garbles the chunk: its read fails, late."""
    with h5py.File(path, "a") as f:
        value = f[dataset_path][()]
        parent, name = dataset_path.rsplit("/", 1)
        del f[dataset_path]
        f[parent].create_dataset(name, data=value, chunks=value.shape, compression="gzip")
    with h5py.File(path, "r") as f:
        chunk = f[dataset_path].id.get_chunk_info(0)
    data = bytearray(path.read_bytes())
    data[chunk.byte_offset + 2:chunk.byte_offset + chunk.size] = b"\xa5" * (chunk.size - 2)
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("suffix", [".weights.h5", ".h5"])
def test_a_dataset_that_fails_to_read_leaves_every_weight_unchanged(tmp_path, suffix, x4):
    path = tmp_path / f"w{suffix}"
    randomize(mlp(), seed=5).save_weights(path)
    _corrupt_last_kernel(path, "layers/dense_1/vars/0" if suffix == ".weights.h5" else "out/out/kernel:0")
    target = mlp()
    expected = predict(target, x4)
    with pytest.raises(FileFormatError, match=r"Cannot read dataset .*(dense_1|out).* \(truncated or corrupted\)"):
        target.load_weights(path)
    np.testing.assert_array_equal(predict(target, x4), expected)  # the first layer, read fine, was not assigned
