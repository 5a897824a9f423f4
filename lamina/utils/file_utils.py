"""`get_file`: download a file into the cache once, verified and atomically.

The cache folder is ``$LAMINA_HOME`` if set, else ``$KERAS_HOME``, else ``~/.keras`` (shared
with Keras, so files Keras already downloaded are reused), falling back to ``/tmp/.keras`` when
that is not writable, as Keras does. A download goes to a hidden temporary file in the target
folder; its size (against ``Content-Length``) and hash are checked, and only then is it renamed
to the final name, so a partial or corrupted download never stays in the cache. Archives are
extracted with path-traversal checks (`lamina.utils.archives`).

>>> import os, tempfile
>>> folder = tempfile.mkdtemp()
>>> with open(os.path.join(folder, "x.txt"), "w") as f:
...     _ = f.write("cached")
>>> path = get_file("x.txt", origin="https://example.invalid/x.txt", cache_dir=folder, cache_subdir="")
>>> open(path).read()
'cached'
"""

import hashlib
import http.client
import os
import tempfile
import urllib.error
import urllib.parse
import urllib.request

from lamina.utils.archives import extract_archive

#: Seconds without data before a download is abandoned.
DOWNLOAD_TIMEOUT = 60.0
_CHUNK = 1 << 16


class DownloadError(ConnectionError):
    """A file could not be fetched (no network, HTTP error, or the connection closed early)."""


def lamina_home():
    """The cache root: ``$LAMINA_HOME``, else ``$KERAS_HOME``, else ``~/.keras``."""
    return os.path.expanduser(os.environ.get("LAMINA_HOME") or os.environ.get("KERAS_HOME") or "~/.keras")


def _writable_base(cache_dir):
    base = os.path.expanduser(os.fspath(cache_dir))
    try:
        os.makedirs(base, exist_ok=True)
    except OSError:
        pass
    if os.access(base, os.W_OK):
        return base
    return os.path.join("/tmp" if os.path.isdir("/tmp") else tempfile.gettempdir(), ".keras")


def resolve_hasher(algorithm, file_hash=None):
    """A `hashlib` object: sha256 for ``"sha256"`` (or ``"auto"`` with a 64-character hash), else md5."""
    if algorithm not in ("auto", "sha256", "md5"):
        raise ValueError(f"`hash_algorithm` must be 'auto', 'sha256' or 'md5'. Received: hash_algorithm={algorithm!r}")
    if algorithm == "sha256" or (algorithm == "auto" and file_hash is not None and len(file_hash) == 64):
        return hashlib.sha256()
    return hashlib.md5()


def hash_file(fpath, algorithm="sha256", chunk_size=_CHUNK):
    """The hex digest of a file (``algorithm``: ``"sha256"``, ``"md5"`` or ``"auto"`` = sha256)."""
    hasher = resolve_hasher("sha256" if algorithm == "auto" else algorithm)
    with open(fpath, "rb") as f:
        for chunk in iter(lambda: f.read(chunk_size), b""):
            hasher.update(chunk)
    return hasher.hexdigest()


def validate_file(fpath, file_hash, algorithm="auto", chunk_size=_CHUNK):
    """Whether the file's sha256/md5 digest equals ``file_hash``."""
    hasher = resolve_hasher(algorithm, file_hash)
    name = "sha256" if hasher.name == "sha256" else "md5"
    return hash_file(fpath, name, chunk_size) == str(file_hash).lower()


def _download(origin, target, file_hash, hash_algorithm):
    """Streams ``origin`` into a temporary file beside ``target``, verifies it, renames it."""
    folder = os.path.dirname(target)
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{os.path.basename(target)}.", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as out:
            try:
                with urllib.request.urlopen(origin, timeout=DOWNLOAD_TIMEOUT) as response:
                    expected = response.headers.get("Content-Length")
                    received = 0
                    for chunk in iter(lambda: response.read(_CHUNK), b""):
                        out.write(chunk)
                        received += len(chunk)
            except urllib.error.HTTPError as error:
                raise DownloadError(f"URL fetch failure on {origin}: HTTP {error.code} -- {error.reason}") from error
            except (urllib.error.URLError, OSError, http.client.HTTPException) as error:
                reason = getattr(error, "reason", error)
                raise DownloadError(
                    f"URL fetch failure on {origin}: {reason}. If this machine is offline, download that URL "
                    f"elsewhere and place the file at '{target}'."
                ) from error
            if expected is not None and received != int(expected):
                raise DownloadError(f"URL fetch failure on {origin}: the connection closed after {received} of "
                                    f"{expected} bytes. Nothing was written to '{target}'; try again.")
            out.flush()
            os.fsync(out.fileno())
        if file_hash is not None and not validate_file(tmp, file_hash, hash_algorithm):
            algorithm = resolve_hasher(hash_algorithm, file_hash).name
            raise ValueError(f"Incomplete or corrupted file detected. The {algorithm} file hash of the download of "
                             f"{origin} does not match the provided value of {file_hash}. Nothing was written to "
                             f"'{target}'.")
        os.replace(tmp, target)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def get_file(fname=None, origin=None, untar=False, md5_hash=None, file_hash=None, cache_subdir="datasets",
             hash_algorithm="auto", extract=False, archive_format="auto", cache_dir=None, force_download=False):
    """Downloads a file from a URL if it is not already in the cache (Keras 3 arguments and paths).

    Args:
        fname: the file name in the cache (no folders); default: the last part of ``origin``. With
            ``extract``, a name without a dot is the extraction folder (the archive is kept as
            ``<fname>_archive``); a name with a dot is the archive, extracted to
            ``<fname up to the first dot>_extracted``.
        origin: the URL.
        untar: deprecated, same as ``extract=True`` with ``archive_format="tar"``.
        md5_hash: deprecated, same as ``file_hash`` with ``hash_algorithm="md5"``.
        file_hash: expected sha256 or md5 hex digest; a cached file that does not match is downloaded
            again, and a download that does not match is refused.
        cache_subdir: folder under the cache root (an absolute path is used as is).
        hash_algorithm: ``"auto"`` (sha256 for 64-character hashes, else md5), ``"sha256"`` or ``"md5"``.
        extract: extract the archive (tar, tar.gz, tar.bz2, zip) and return the folder.
        archive_format: ``"auto"``, ``"tar"``, ``"zip"``, a list of these, or ``None``.
        cache_dir: the cache root (default `lamina_home`).
        force_download: download even if the file is cached.

    Returns:
        The path of the file, or of the extracted folder when extracting.

    Raises:
        DownloadError: the file is not cached and cannot be downloaded; the message names the URL and
            the exact path to place the file at by hand.
        ValueError: the downloaded file does not match ``file_hash`` (nothing is kept), or an archive
            member would be written outside the extraction folder.
    """
    if origin is None:
        raise ValueError('Please specify the "origin" argument (URL of the file to download). Received: origin=None')
    if md5_hash is not None and file_hash is None:
        file_hash, hash_algorithm = md5_hash, "md5"
    resolve_hasher(hash_algorithm)  # validates the name
    datadir = os.path.join(_writable_base(lamina_home() if cache_dir is None else cache_dir), cache_subdir)
    os.makedirs(datadir, exist_ok=True)

    given = os.fspath(fname) if fname is not None else None
    if not given:
        fname = os.path.basename(urllib.parse.urlsplit(origin).path)
        if not fname:
            raise ValueError(f"Can't parse the file name from the origin provided: '{origin}'. Please specify the "
                             "`fname` argument.")
    else:
        fname = given
        if os.sep in fname or "/" in fname:
            raise ValueError("Paths are no longer accepted as the `fname` argument. To specify the file's parent "
                             f"directory, use the `cache_dir` argument. Received: fname={fname}")

    extraction_dir = None
    if extract or untar:
        if given and "." in fname:
            target = os.path.join(datadir, fname)
            extraction_dir = os.path.join(datadir, f"{fname[:fname.find('.')]}_extracted")
        else:
            extraction_dir = os.path.join(datadir, fname)
            target = os.path.join(datadir, f"{fname}_archive")
    else:
        target = os.path.join(datadir, fname)

    download = force_download or not os.path.exists(target)
    if not download and file_hash is not None and not validate_file(target, file_hash, hash_algorithm):
        print(f"A local file was found, but it seems to be incomplete or outdated because the "
              f"{resolve_hasher(hash_algorithm, file_hash).name} file hash does not match the original value of "
              f"{file_hash} so we will re-download the data.")
        download = True
    if download:
        print(f"Downloading data from {origin}")
        _download(origin, target, file_hash, hash_algorithm)

    if extraction_dir is None:
        return target
    if download or not os.path.isdir(extraction_dir):
        if not extract_archive(target, extraction_dir, "tar" if untar else archive_format):
            raise ValueError(f"Could not extract '{target}': it is not a {archive_format} archive. "
                             f"Received: archive_format={archive_format!r}")
    return extraction_dir
