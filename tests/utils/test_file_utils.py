"""get_file against a local HTTP server: caching, verification, atomicity, offline errors, safe extraction."""

import hashlib
import io
import os
import tarfile
import zipfile

import pytest

from lamina.utils import archives, file_utils
from lamina.utils.file_utils import DownloadError, get_file
from tests.utils.http_fixture import closed_port_url, serve

BODY = b"lamina test payload\n" * 100
SHA = hashlib.sha256(BODY).hexdigest()
MD5 = hashlib.md5(BODY).hexdigest()


def _listing(folder):
    return sorted(os.listdir(folder)) if os.path.isdir(folder) else []


def test_good_download_is_cached_and_verified(tmp_path):
    with serve({"/data.bin": BODY}) as url:
        path = get_file("data.bin", origin=url + "/data.bin", file_hash=SHA, cache_dir=tmp_path)
    assert path == os.path.join(tmp_path, "datasets", "data.bin")
    assert open(path, "rb").read() == BODY
    assert _listing(tmp_path / "datasets") == ["data.bin"]  # no temporary file left
    # Cached: the server is gone, the file is still served from the cache (md5 verified too).
    assert get_file("data.bin", origin=url + "/data.bin", md5_hash=MD5, cache_dir=tmp_path) == path


def test_default_name_comes_from_the_url(tmp_path):
    with serve({"/dir/name.txt": BODY}) as url:
        path = get_file(origin=url + "/dir/name.txt", cache_dir=tmp_path, cache_subdir="sub")
    assert path == os.path.join(tmp_path, "sub", "name.txt")


def test_checksum_mismatch_is_refused_and_nothing_is_cached(tmp_path):
    with serve({"/data.bin": BODY}) as url:
        with pytest.raises(ValueError, match="file hash .* does not match the provided value of 0+"):
            get_file("data.bin", origin=url + "/data.bin", file_hash="0" * 64, cache_dir=tmp_path)
    assert _listing(tmp_path / "datasets") == []


def test_corrupted_cached_file_is_downloaded_again(tmp_path, capsys):
    (tmp_path / "datasets").mkdir()
    (tmp_path / "datasets" / "data.bin").write_bytes(b"stale")
    with serve({"/data.bin": BODY}) as url:
        path = get_file("data.bin", origin=url + "/data.bin", file_hash=SHA, cache_dir=tmp_path)
    assert open(path, "rb").read() == BODY
    assert "re-download" in capsys.readouterr().out


def test_partial_download_is_not_left_in_the_cache(tmp_path):
    with serve({"/data.bin": BODY}, truncated={"/data.bin"}) as url:
        with pytest.raises(DownloadError):
            get_file("data.bin", origin=url + "/data.bin", cache_dir=tmp_path)
    assert _listing(tmp_path / "datasets") == []


def test_http_error_names_the_code(tmp_path):
    with serve({}) as url:
        with pytest.raises(DownloadError, match="HTTP 404"):
            get_file("missing.bin", origin=url + "/missing.bin", cache_dir=tmp_path)
    assert _listing(tmp_path / "datasets") == []


def test_offline_error_names_the_file_and_where_to_put_it(tmp_path):
    origin = closed_port_url() + "/data.bin"
    with pytest.raises(DownloadError) as info:
        get_file("data.bin", origin=origin, cache_dir=tmp_path)
    message = str(info.value)
    assert origin in message
    assert os.path.join(str(tmp_path), "datasets", "data.bin") in message
    assert isinstance(info.value, OSError)
    assert _listing(tmp_path / "datasets") == []


def test_argument_errors(tmp_path):
    with pytest.raises(ValueError, match='specify the "origin"'):
        get_file("x")
    with pytest.raises(ValueError, match="Paths are no longer accepted"):
        get_file("a/b.txt", origin="http://127.0.0.1/b.txt", cache_dir=tmp_path)
    with pytest.raises(ValueError, match="hash_algorithm"):
        get_file("x", origin="http://127.0.0.1/x", hash_algorithm="sha1", cache_dir=tmp_path)


def test_cache_root_from_lamina_home(tmp_path, monkeypatch):
    monkeypatch.setenv("LAMINA_HOME", str(tmp_path / "home"))
    (tmp_path / "home" / "datasets").mkdir(parents=True)
    (tmp_path / "home" / "datasets" / "x.txt").write_text("hello")
    assert file_utils.lamina_home() == str(tmp_path / "home")
    assert open(get_file("x.txt", origin="http://127.0.0.1:9/x.txt")).read() == "hello"


def _tar_bytes(members):
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name, data in members:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def test_extract_follows_keras_paths(tmp_path):
    archive = _tar_bytes([("inner/a.txt", b"A")])
    with serve({"/pack.tar.gz": archive}) as url:
        folder = get_file("pack", origin=url + "/pack.tar.gz", extract=True, cache_dir=tmp_path)
        dotted = get_file("pack.tar.gz", origin=url + "/pack.tar.gz", extract=True, cache_dir=tmp_path)
    assert folder == os.path.join(tmp_path, "datasets", "pack")
    assert open(os.path.join(folder, "inner", "a.txt")).read() == "A"
    assert os.path.isfile(os.path.join(tmp_path, "datasets", "pack_archive"))
    assert dotted == os.path.join(tmp_path, "datasets", "pack_extracted")
    assert open(os.path.join(dotted, "inner", "a.txt")).read() == "A"


@pytest.mark.parametrize("name", ["../evil.txt", "/abs/evil.txt", "ok/../../evil.txt"])
def test_tar_path_traversal_is_refused(tmp_path, name):
    path = tmp_path / "bad.tar.gz"
    path.write_bytes(_tar_bytes([("fine.txt", b"x"), (name, b"evil")]))
    with pytest.raises(ValueError, match="Refusing to extract archive member"):
        archives.extract_archive(path, tmp_path / "out")
    assert not (tmp_path / "out").exists() and not (tmp_path / "evil.txt").exists()
    assert [p for p in os.listdir(tmp_path) if p.startswith(".")] == []


def test_tar_link_outside_is_refused(tmp_path):
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        info = tarfile.TarInfo("link")
        info.type = tarfile.SYMTYPE
        info.linkname = "../../etc/passwd"
        tar.addfile(info)
    path = tmp_path / "link.tar"
    path.write_bytes(buffer.getvalue())
    with pytest.raises(ValueError, match="links to"):
        archives.extract_archive(path, tmp_path / "out")


def test_zip_path_traversal_is_refused_and_good_zip_extracts(tmp_path):
    bad = tmp_path / "bad.zip"
    with zipfile.ZipFile(bad, "w") as z:
        z.writestr("../evil.txt", "evil")
    with pytest.raises(ValueError, match="Refusing to extract archive member '../evil.txt'"):
        archives.extract_archive(bad, tmp_path / "out", "zip")
    good = tmp_path / "good.zip"
    with zipfile.ZipFile(good, "w") as z:
        z.writestr("d/f.txt", "ok")
    assert archives.extract_archive(good, tmp_path / "out2")
    assert (tmp_path / "out2" / "d" / "f.txt").read_text() == "ok"
    assert not archives.extract_archive(good, tmp_path / "out3", archive_format="tar")
