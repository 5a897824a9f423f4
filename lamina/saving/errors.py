"""Errors raised by lamina's file readers and writers.

Every failure to read a model or weights file is a `ValueError` subclass with a
message naming the file and what was wrong, never a crash deep in h5py or zipfile.

>>> issubclass(FileFormatError, ValueError), issubclass(WeightsMismatchError, ValueError)
(True, True)
>>> with file_errors("reading 'm.keras'"):
...     int("eight")
Traceback (most recent call last):
...
lamina.saving.errors.FileFormatError: Failed reading 'm.keras': ValueError: invalid literal for int() ...
"""

import contextlib


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


# What code interpreting a file's content raises when the content is wrong (a corrupted or hostile
# config reaching a layer constructor, the graph rebuild, compile or an asset reader).
_CONTENT_ERRORS = (ValueError, TypeError, KeyError, AttributeError, IndexError, LookupError, RecursionError,
                   RuntimeError, NotImplementedError, OverflowError, UnicodeError, OSError)


@contextlib.contextmanager
def file_errors(what):
    """Re-raises an error of a loading step as `FileFormatError` naming the step, keeping the message.

    lamina's own file errors (`FileFormatError`, `WeightsMismatchError`, and
    `registry.DeserializationError` for unknown or unsafe objects) pass through unchanged.
    """
    from lamina.saving.registry import DeserializationError

    try:
        yield
    except (FileFormatError, WeightsMismatchError, DeserializationError):
        raise
    except _CONTENT_ERRORS as error:
        raise FileFormatError(f"Failed {what}: {type(error).__name__}: {error}") from error
