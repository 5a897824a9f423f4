"""lamina: the Keras programming model on PyTorch.

>>> import lamina
>>> layer = lamina.layers.Dense(3, name="hidden")
>>> layer.weights
[]
"""

from lamina._lazy import attach

__version__ = "0.1.0"

_EXPORTS = {
    # submodules
    "activations": "lamina.activations",
    "applications": "lamina.applications",
    "backend": "lamina.backend",
    "callbacks": "lamina.callbacks",
    "config": "lamina.backend.config",
    "constraints": "lamina.constraints",
    "datasets": "lamina.datasets",
    "distribute": "lamina.distribute",
    "initializers": "lamina.initializers",
    "layers": "lamina.layers",
    "losses": "lamina.losses",
    "metrics": "lamina.metrics",
    "mixed_precision": "lamina.mixed_precision",
    "models": "lamina.models",
    "ops": "lamina.ops",
    "optimizers": "lamina.optimizers",
    "random": "lamina.backend.random",
    "regularizers": "lamina.regularizers",
    "saving": "lamina.saving",
    "utils": "lamina.utils",
    # objects
    "Variable": "lamina.backend.variable:Variable",
    "GradientTape": "lamina.backend.tape:GradientTape",
    "function": "lamina.backend.function:function",
    "convert_to_tensor": "lamina.ops.core:convert_to_tensor",
    "constant": "lamina.ops.core:constant",
    "Input": "lamina.engine.input_layer:Input",
    "InputSpec": "lamina.engine.input_spec:InputSpec",
    "KerasTensor": "lamina.engine.keras_tensor:KerasTensor",
    "Layer": "lamina.engine.layer:Layer",
    "Loss": "lamina.losses.base:Loss",
    "Model": "lamina.engine.model:Model",
    "Sequential": "lamina.engine.sequential:Sequential",
    "Operation": "lamina.engine.layer:Layer",
}

__getattr__, __dir__, __all__ = attach(__name__, _EXPORTS)
