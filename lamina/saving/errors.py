"""Errors raised by lamina's file readers and writers.

Every failure to read a model or weights file is a `ValueError` subclass with a
message naming the file and what was wrong, never a crash deep in h5py or zipfile.

>>> issubclass(FileFormatError, ValueError), issubclass(WeightsMismatchError, ValueError)
(True, True)
"""


class FileFormatError(ValueError):
    """A file is not a readable Keras/lamina file: truncated, corrupted, or hostile."""


class WeightsMismatchError(ValueError):
    """Stored weights do not fit the model (layer count, weight count or shapes)."""


def mismatch_message(kind, path, problems):
    """One message listing every problem, so a user fixes them all at once."""
    lines = "\n".join(f"  - {p}" for p in problems)
    return (
        f"Cannot load the weights in '{path}' ({kind}) into this model: {len(problems)} problem(s) found, "
        f"nothing was assigned.\n{lines}\n"
        "Pass `skip_mismatch=True` to load the weights that fit and skip the others."
    )
