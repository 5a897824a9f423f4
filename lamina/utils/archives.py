"""Safe extraction of tar and zip archives (used by `get_file(..., extract=True)`).

Every member is checked before anything is written: absolute names, ``..`` components,
links that point outside the target folder, and device or FIFO entries are refused with a
`ValueError` naming the member (Keras skips such members with a warning; lamina refuses the
whole archive, since a well-formed dataset never contains one). The archive is extracted into
a temporary folder beside the target and renamed into place only once complete, so an
interrupted extraction never leaves a half-filled folder behind.

>>> import io, os, tarfile, tempfile
>>> folder = tempfile.mkdtemp()
>>> archive = os.path.join(folder, "a.tar")
>>> with tarfile.open(archive, "w") as tar:
...     info = tarfile.TarInfo("data/hello.txt"); info.size = 2
...     tar.addfile(info, io.BytesIO(b"hi"))
>>> extract_archive(archive, os.path.join(folder, "out"))
True
>>> open(os.path.join(folder, "out", "data", "hello.txt")).read()
'hi'
"""

import os
import shutil
import tarfile
import tempfile
import zipfile


def _archive_formats(archive_format):
    if archive_format is None:
        return []
    if archive_format == "auto":
        return ["tar", "zip"]
    formats = [archive_format] if isinstance(archive_format, str) else list(archive_format)
    for fmt in formats:
        if fmt not in ("tar", "zip"):
            raise ValueError(
                f"`archive_format` must be 'auto', 'tar', 'zip', None or a list of these. Received: "
                f"archive_format={archive_format!r}"
            )
    return formats


def _inside(base, name):
    """Whether the relative member ``name`` stays inside the folder ``base`` (already resolved)."""
    if not name or os.path.isabs(name) or name.startswith(("/", "\\")) or ".." in name.replace("\\", "/").split("/"):
        return False
    target = os.path.realpath(os.path.join(base, name))
    return os.path.commonpath([target, base]) == base


def check_tar_members(archive, base):
    """Raises `ValueError` for the first unsafe member of an open `tarfile.TarFile`."""
    base = os.path.realpath(base)
    for member in archive.getmembers():
        if not _inside(base, member.name):
            raise ValueError(f"Refusing to extract archive member {member.name!r}: its path leaves the target "
                             f"folder {base!r} (absolute path or '..').")
        if member.issym() or member.islnk():
            link_base = os.path.dirname(os.path.join(base, member.name)) if member.issym() else base
            link_target = os.path.relpath(os.path.join(link_base, member.linkname), base)
            if os.path.isabs(member.linkname) or not _inside(base, link_target):
                raise ValueError(f"Refusing to extract archive member {member.name!r}: it links to "
                                 f"{member.linkname!r}, outside the target folder {base!r}.")
        elif not (member.isfile() or member.isdir()):
            raise ValueError(f"Refusing to extract archive member {member.name!r}: only files, folders and links "
                             "inside the archive are extracted (no devices or FIFOs).")


def check_zip_members(archive, base):
    """Raises `ValueError` for the first member of an open `zipfile.ZipFile` whose path escapes ``base``."""
    base = os.path.realpath(base)
    for name in archive.namelist():
        if not _inside(base, name.rstrip("/") or "."):
            raise ValueError(f"Refusing to extract archive member {name!r}: its path leaves the target folder "
                             f"{base!r} (absolute path or '..').")


def _extract_into(file_path, folder, fmt):
    if fmt == "tar":
        with tarfile.open(file_path) as archive:
            check_tar_members(archive, folder)
            if hasattr(tarfile, "data_filter"):  # Python >= 3.11.4: tar's own guard as well
                archive.extractall(folder, filter="data")
            else:  # pragma: no cover - older Pythons; members were checked above
                archive.extractall(folder)
    else:
        with zipfile.ZipFile(file_path) as archive:
            check_zip_members(archive, folder)
            archive.extractall(folder)


def extract_archive(file_path, path=".", archive_format="auto"):
    """Extracts a tar (also gzip/bz2/xz) or zip archive into ``path``, atomically.

    Args:
        file_path: the archive.
        path: the folder to create (replaced if it exists).
        archive_format: ``"auto"`` (tar, then zip), ``"tar"``, ``"zip"``, a list of these, or ``None``.

    Returns:
        ``True`` if the file was an archive of an allowed format and was extracted, else ``False``.

    Raises:
        ValueError: a member would be written outside ``path``.
    """
    file_path, path = os.fspath(file_path), os.fspath(path)
    checks = {"tar": tarfile.is_tarfile, "zip": zipfile.is_zipfile}
    for fmt in _archive_formats(archive_format):
        if not checks[fmt](file_path):
            continue
        parent = os.path.dirname(os.path.abspath(path))
        os.makedirs(parent, exist_ok=True)
        staging = tempfile.mkdtemp(dir=parent, prefix=f".{os.path.basename(path)}.", suffix=".extracting")
        try:
            _extract_into(file_path, staging, fmt)
            if os.path.isdir(path) and not os.path.islink(path):
                shutil.rmtree(path)
            elif os.path.lexists(path):
                os.remove(path)
            os.replace(staging, path)
        finally:
            if os.path.exists(staging):
                shutil.rmtree(staging, ignore_errors=True)
        return True
    return False
