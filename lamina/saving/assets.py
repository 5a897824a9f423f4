"""Asset files of a ``.keras`` archive (``assets/<object path>/...``), e.g. a lookup layer's vocabulary.

An object takes part by defining ``save_assets(dir_path)`` and ``load_assets(dir_path)``, as in
Keras 3; its folder is the object's path in the weights file (``assets/layers/string_lookup``).
Reading only extracts plain files with safe relative names, within a size budget, into a
temporary folder: loading never writes outside it.
"""

import os
import posixpath
import tempfile

from lamina.saving.errors import FileFormatError
from lamina.saving.object_graph import walk

MAX_ASSET_BYTES = 512 * 1024**2


def write_assets(model, archive, member):
    """Adds every object's assets to the open zip ``archive`` (``member(name)`` makes a ZipInfo)."""
    for path, obj in walk(model):
        if not callable(getattr(obj, "save_assets", None)):
            continue
        with tempfile.TemporaryDirectory() as folder:
            obj.save_assets(folder)
            for name in sorted(os.listdir(folder)):
                full = os.path.join(folder, name)
                if os.path.isfile(full):
                    with open(full, "rb") as f:
                        archive.writestr(member(posixpath.join("assets", path, name)), f.read())


def read_assets(model, archive, where):
    """Calls ``load_assets`` of every object that has files under ``assets/<its path>/``."""
    members = [info for info in archive.infolist() if info.filename.startswith("assets/")]
    if not members:
        return
    if sum(info.file_size for info in members) > MAX_ASSET_BYTES:
        raise FileFormatError(f"Refusing {where}: its assets declare more than {MAX_ASSET_BYTES} bytes.")
    for path, obj in walk(model):
        if not callable(getattr(obj, "load_assets", None)):
            continue
        prefix = posixpath.join("assets", path) + "/"
        own = [info for info in members if info.filename.startswith(prefix) and not info.is_dir()]
        if not own:
            continue
        with tempfile.TemporaryDirectory() as folder:
            for info in own:
                name = info.filename[len(prefix):]
                if not name or "/" in name or "\\" in name or name in (".", "..") or "\x00" in name:
                    raise FileFormatError(f"Refusing {where}: unsafe asset name {info.filename!r}.")
                with open(os.path.join(folder, name), "wb") as f:
                    f.write(archive.read(info))
            try:
                obj.load_assets(folder)
            except (ValueError, UnicodeDecodeError) as error:
                raise FileFormatError(f"The assets of '{path}' in {where} are invalid: {error}") from error
