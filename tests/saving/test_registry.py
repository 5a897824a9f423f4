"""`deserialize_keras_object` on the function form Keras 3 writes for its own functions."""

import pytest

import lamina
from lamina.saving.registry import DeserializationError, deserialize_keras_object


def _keras_function(name):
    # What Keras 3.15 writes for `serialize_keras_object(keras.losses.mean_squared_error)`.
    return {"module": "builtins", "class_name": "function", "config": name, "registered_name": "function"}


@pytest.mark.parametrize("name, expected", [
    ("mean_squared_error", lamina.losses.mean_squared_error),
    ("binary_accuracy", lamina.metrics.binary_accuracy),
    ("relu", lamina.activations.relu),
])
def test_a_keras_builtin_function_is_found_in_lamina_modules(name, expected):
    assert deserialize_keras_object(_keras_function(name)) is expected


@pytest.mark.parametrize("name", ["__import__", "_clip", "os", "torch", "no_such_function"])
def test_other_names_are_refused(name):
    with pytest.raises(DeserializationError, match="Unknown function"):
        deserialize_keras_object(_keras_function(name))


def test_the_builtins_lookup_needs_the_builtins_module():
    with pytest.raises(DeserializationError, match="Unknown function"):
        deserialize_keras_object(dict(_keras_function("relu"), module="my_package"))
