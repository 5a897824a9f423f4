"""Utilities: seeds, summaries, plotting, data helpers."""

from lamina._lazy import attach

_EXPORTS = {
    "set_random_seed": "lamina.backend.random:set_random_seed",
    "SeedGenerator": "lamina.backend.random:SeedGenerator",
    "custom_object_scope": "lamina.saving.registry:custom_object_scope",
    "CustomObjectScope": "lamina.saving.registry:CustomObjectScope",
    "register_keras_serializable": "lamina.saving.registry:register_keras_serializable",
    "get_registered_name": "lamina.saving.registry:get_registered_name",
    "get_registered_object": "lamina.saving.registry:get_registered_object",
    "serialize_keras_object": "lamina.saving.registry:serialize_keras_object",
    "deserialize_keras_object": "lamina.saving.registry:deserialize_keras_object",
    "plot_model": "lamina.utils.plotting:plot_model",
    "model_to_dot": "lamina.utils.plotting:model_to_dot",
    "to_categorical": "lamina.utils.numerical:to_categorical",
    "normalize": "lamina.utils.numerical:normalize",
    "pad_sequences": "lamina.utils.sequences:pad_sequences",
    "PyDataset": "lamina.utils.py_dataset:PyDataset",
    "Sequence": "lamina.utils.py_dataset:PyDataset",
    "get_file": "lamina.utils.file_utils:get_file",
    "Progbar": "lamina.utils.progbar:Progbar",
    "plot_history": "lamina.utils.history_plot:plot_history",
    "split_dataset": "lamina.utils.dataset_utils:split_dataset",
    "timeseries_dataset_from_array": "lamina.utils.dataset_utils:timeseries_dataset_from_array",
    "image_dataset_from_directory": "lamina.utils.dataset_utils:image_dataset_from_directory",
    "text_dataset_from_directory": "lamina.utils.dataset_utils:text_dataset_from_directory",
}

__getattr__, __dir__, __all__ = attach(__name__, _EXPORTS)
