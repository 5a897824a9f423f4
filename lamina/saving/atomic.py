"""Atomic file writes: a save never leaves a half-written file at the target path.

Writers produce a temporary file beside the target (same directory, so the final
``os.replace`` is a rename on one file system) and rename it only once it is
complete and flushed to disk. If the process dies mid-write, the previous file is
untouched and only a hidden ``.<name>.*.tmp`` file may remain.

>>> import os, tempfile
>>> target = os.path.join(tempfile.mkdtemp(), "w.txt")
>>> with atomic_path(target) as tmp:
...     with open(tmp, "w") as f:
...         _ = f.write("done")
>>> open(target).read()
'done'
"""

import contextlib
import os
import sys
import tempfile


def confirm_overwrite(path):
    """Keras's prompt: ``True`` to overwrite. Without a terminal, refuses with `FileExistsError`."""
    if not (sys.stdin is not None and sys.stdin.isatty()):
        raise FileExistsError(
            f"The file '{path}' already exists and `overwrite=False` was passed. "
            "Pass `overwrite=True` to replace it, or choose another path."
        )
    while True:
        answer = input(f"[WARNING] {path} already exists - overwrite? [y/n] ").strip().lower()
        if answer in ("y", "n"):
            return answer == "y"
        print('Enter "y" (overwrite) or "n" (cancel).')


@contextlib.contextmanager
def atomic_path(path, overwrite=True, suffix=".tmp"):
    """Yields a temporary path to write; renames it to ``path`` if the block succeeds.

    Args:
        path: the final file path.
        overwrite: if ``False`` and ``path`` exists, ask on a terminal (as Keras does) or raise
            `FileExistsError`. When the user declines, the block is skipped: the yielded value is
            ``None`` and nothing is written.
        suffix: the temporary file's suffix (some writers insist on an extension).
    """
    path = os.fspath(path)
    if not overwrite and os.path.exists(path) and not confirm_overwrite(path):
        yield None
        return
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=f".{os.path.basename(path)}.", suffix=suffix)
    os.close(fd)
    try:
        yield tmp
        with open(tmp, "rb+") as handle:
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
