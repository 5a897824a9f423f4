"""Serialization registry and model/weights files."""

from lamina._lazy import attach

_EXPORTS = {
    "register_keras_serializable": "lamina.saving.registry:register_keras_serializable",
    "get_registered_name": "lamina.saving.registry:get_registered_name",
    "get_registered_object": "lamina.saving.registry:get_registered_object",
    "get_custom_objects": "lamina.saving.registry:get_custom_objects",
    "custom_object_scope": "lamina.saving.registry:custom_object_scope",
    "CustomObjectScope": "lamina.saving.registry:CustomObjectScope",
    "serialize_keras_object": "lamina.saving.registry:serialize_keras_object",
    "deserialize_keras_object": "lamina.saving.registry:deserialize_keras_object",
    "DeserializationError": "lamina.saving.registry:DeserializationError",
    "load_model": "lamina.saving.api:load_model",
    "save_model": "lamina.saving.api:save_model",
    "load_weights": "lamina.saving.api:load_weights",
    "save_weights": "lamina.saving.api:save_weights",
    "save_safetensors": "lamina.saving.torch_formats:save_safetensors",
    "load_safetensors": "lamina.saving.torch_formats:load_safetensors",
    "FileFormatError": "lamina.saving.errors:FileFormatError",
}

__getattr__, __dir__, __all__ = attach(__name__, _EXPORTS)
