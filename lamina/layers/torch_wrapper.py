"""`TorchModuleWrapper`: any `torch.nn.Module` as a lamina layer.

The module's parameters become lamina Variables that share their storage (the very
same ``torch.nn.Parameter`` objects), so ``weights``, ``get_weights``/``set_weights``,
``trainable`` and optimizers see them, and the module keeps computing with them.
Lazy torch modules (``nn.LazyLinear``) are materialized on the first call.

Saving never pickles (DESIGN.md decision 8): the layer has a config only when the
module can be rebuilt from one, i.e. its class is registered with
`register_keras_serializable` and has ``get_config()``.

>>> import torch
>>> layer = TorchModuleWrapper(torch.nn.Linear(4, 2))
>>> [w.name for w in layer.weights]
['weight', 'bias']
>>> layer(torch.ones(3, 4)).shape
torch.Size([3, 2])
"""

import torch

from lamina.backend import config as backend_config
from lamina.backend.variable import Variable
from lamina.engine.layer import Layer
from lamina.saving import registry


class TorchModuleWrapper(Layer):
    """Wraps a `torch.nn.Module` so it can be used as a layer (in models, `fit`, summaries).

    Args:
        module: the torch module; moved to lamina's device.
        output_shape: the full output shape (batch included) for symbolic calls; inferred
            by running the module on meta tensors when omitted.

    Calling with ``training=True``/``False`` switches the module to ``train()``/``eval()``
    mode; with no flag the module keeps its current mode.
    """

    def __init__(self, module, output_shape=None, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(module, torch.nn.Module):
            raise TypeError(
                f"TorchModuleWrapper expects a `torch.nn.Module`. Received: module={module!r} of type {type(module)}"
            )
        self.module = module.to(backend_config.device())
        self._module_output_shape = tuple(output_shape) if output_shape is not None else None
        lazy = torch.nn.modules.lazy.LazyModuleMixin
        self._lazy = any(isinstance(m, lazy) and m.has_uninitialized_params() for m in module.modules())
        if not self._lazy:
            self._track_module_parameters()
            self.built = True

    def _track_module_parameters(self):
        for name, param in self.module.named_parameters():
            variable = Variable(torch.empty(0), name=name.replace("/", "_"), trainable=param.requires_grad)
            variable.value = param  # share the module's Parameter: one storage, seen by both
            self._track_variable(variable)

    def _track_variable(self, variable):
        # The Parameter is already registered on the wrapped submodule: track it without registering it twice.
        if id(variable) in self._variable_ids:
            return
        variable._declared_trainable = variable.trainable
        if variable.path == variable.name:
            variable.path = f"{self.name}/{variable.name}"
        self._variable_ids.add(id(variable))
        self._variables.append(variable)

    def build(self, input_shape=None):
        if self._lazy and not self._variables:
            with torch.no_grad():
                self.module(torch.zeros(tuple(1 if d is None else d for d in input_shape),
                                        device=backend_config.device()))
            self._track_module_parameters()

    def call(self, *args, training=None, **kwargs):
        if training is not None and self.module.training != bool(training):
            self.module.train(bool(training))
        return self.module(*args, **kwargs)

    def compute_output_shape(self, input_shape):
        if self._module_output_shape is not None:
            return self._module_output_shape
        return super().compute_output_shape(input_shape)

    def get_config(self):
        module_class = type(self.module)
        if not hasattr(self.module, "get_config") or ">" not in registry.get_registered_name(module_class):
            raise NotImplementedError(
                f"TorchModuleWrapper '{self.name}' cannot be serialized: the wrapped module "
                f"{module_class.__name__} cannot be rebuilt from a config, and lamina never pickles modules. "
                f"Give {module_class.__name__} a `get_config()` returning its constructor arguments and register "
                "it with `@lamina.saving.register_keras_serializable()`; or save only the weights "
                "(`save_weights`)."
            )
        return {**super().get_config(), "module": registry.serialize_keras_object(self.module),
                "output_shape": self._module_output_shape}

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        if isinstance(config.get("module"), dict):
            config["module"] = registry.deserialize_keras_object(config["module"], printable_module_name="torch module")
        elif not isinstance(config.get("module"), torch.nn.Module):
            raise registry.DeserializationError(
                "TorchModuleWrapper can only be loaded from a config whose `module` is a registered module config "
                "(lamina never unpickles). Received: module=<" + type(config.get("module")).__name__ + ">"
            )
        return super().from_config(config)
