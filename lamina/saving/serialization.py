"""Whole-model configs as dicts, JSON and YAML (``to_json`` / ``model_from_json``).

Loading resolves class names only through lamina's registry and ``custom_objects``
(DESIGN.md decision 8); YAML is read with the safe loader.
"""

import copy
import json

from lamina.saving import registry

KERAS_VERSION = "3.15.1"


def model_to_dict(model):
    """``{"module", "class_name", "config", "registered_name", ...}`` for ``model``."""
    entry = registry.serialize_keras_object(model)
    if entry.get("module") == "lamina.engine.functional" or type(model).__name__ == "Functional":
        entry["module"] = "keras.src.models.functional"
    elif type(model).__name__ == "Sequential":
        entry["module"] = "keras"
    entry["keras_version"] = KERAS_VERSION
    entry["backend"] = "torch"
    return entry


def model_from_config(config, custom_objects=None):
    """A model (or layer) from its serialized dict."""
    from lamina.layers.serialization import deserialize

    if not isinstance(config, dict):
        raise TypeError(f"`model_from_config` expects a dict. Received: config={config!r}")
    from lamina.saving import keras2_dialect

    if keras2_dialect.is_tf_keras_version(config.get("keras_version")):  # tf.keras 2's `to_json()`
        config = keras2_dialect.read_tf_keras(copy.deepcopy(config))
    return deserialize(config, custom_objects=custom_objects)


def model_from_json(json_string, custom_objects=None):
    """A model from the JSON that `Model.to_json` writes (Keras 2 or Keras 3 schema)."""
    try:
        config = json.loads(json_string)
    except json.JSONDecodeError as error:
        raise ValueError(f"`model_from_json` received text that is not valid JSON: {error}") from error
    return model_from_config(config, custom_objects=custom_objects)


def model_from_yaml(yaml_string, custom_objects=None):
    """A model from the YAML that `Model.to_yaml` writes (read with ``yaml.safe_load``)."""
    try:
        import yaml
    except ImportError as error:
        raise ImportError("`model_from_yaml` requires PyYAML: pip install pyyaml") from error
    config = yaml.safe_load(yaml_string)
    return model_from_config(config, custom_objects=custom_objects)
