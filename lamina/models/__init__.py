"""Model classes and whole-model helpers: cloning, configs, loading and saving."""

from lamina._lazy import attach

_EXPORTS = {
    "Model": "lamina.engine.model:Model",
    "Sequential": "lamina.engine.sequential:Sequential",
    "Functional": "lamina.engine.functional:Functional",
    "clone_model": "lamina.models.cloning:clone_model",
    "model_from_config": "lamina.saving.serialization:model_from_config",
    "model_from_json": "lamina.saving.serialization:model_from_json",
    "model_from_yaml": "lamina.saving.serialization:model_from_yaml",
    "load_model": "lamina.saving.api:load_model",
    "save_model": "lamina.saving.api:save_model",
}

__getattr__, __dir__, __all__ = attach(__name__, _EXPORTS)
