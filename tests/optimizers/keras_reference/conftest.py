"""make_reference.py runs in a Keras environment, never under pytest (``--doctest-modules`` would import it)."""

collect_ignore = ["make_reference.py"]
