"""Unique object names (``dense``, ``dense_1``, ...) and Keras's snake_case rule.

>>> to_snake_case("MyCNNBlock"), to_snake_case("Conv2DTranspose"), to_snake_case("PReLU")
('my_cnn_block', 'conv2d_transpose', 'p_re_lu')
"""

import collections
import re

_NAME_COUNTS = collections.defaultdict(int)


def to_snake_case(name):
    """Keras's ``to_snake_case``: the key a class gets in names and weight files."""
    name = re.sub(r"\W+", "", name)
    name = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", name)
    name = re.sub(r"([a-z])([A-Z])", r"\1_\2", name)
    return name.lower()


def class_snake_name(cls):
    """The snake_case key of a class in default names and weight files.

    A class may declare ``_keras_python_name`` (not inherited) when Keras's class behind the
    same export has another Python name: Keras's ``GroupQueryAttention`` is the class
    ``GroupedQueryAttention``, so its layers are named ``grouped_query_attention``.
    """
    return to_snake_case(cls.__dict__.get("_keras_python_name") or cls.__name__)


def unique_name(prefix):
    """``prefix`` the first time, then ``prefix_1``, ``prefix_2``, ... within this process."""
    count = _NAME_COUNTS[prefix]
    _NAME_COUNTS[prefix] += 1
    return prefix if count == 0 else f"{prefix}_{count}"


def reset_names():
    """Forgets the names handed out so far (``keras.backend.clear_session``)."""
    _NAME_COUNTS.clear()
