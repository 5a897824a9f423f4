"""`Model`: a layer with training, saving and inspection (``summary``, ``get_layer``).

``Model(inputs, outputs)`` builds a functional model (a `Functional`); subclassing
``Model`` and writing ``call`` gives a subclassed model.

>>> import lamina
>>> from lamina import layers
>>> inputs = lamina.Input((2,))
>>> outputs = layers.Dense(1, name="out")(layers.Dense(3, name="hidden")(inputs))
>>> model = lamina.Model(inputs, outputs)
>>> type(model).__name__, model.get_layer("hidden").units
('Functional', 3)
"""

import json

from lamina.backend.naming import to_snake_case, unique_name
from lamina.engine.layer import Layer
from lamina.training.trainer import Trainer


def _is_functional_call(args, kwargs):
    if "inputs" in kwargs and "outputs" in kwargs:
        return True
    if len(args) >= 2:
        return True
    return len(args) == 1 and "outputs" in kwargs


class Model(Trainer, Layer):
    """Groups layers into an object with training and inference features.

    Either ``Model(inputs, outputs, name=None)`` (functional), or a subclass that
    creates layers in ``__init__`` and computes in ``call``.
    """

    _keras_module = "keras"

    def __new__(cls, *args, **kwargs):
        if cls is Model and _is_functional_call(args, kwargs):
            from lamina.engine.functional import Functional

            return Functional.__new__(Functional, *args, **kwargs)
        return super().__new__(cls, *args, **kwargs)

    def __init__(self, *args, **kwargs):
        if _is_functional_call(args, kwargs) and type(self) is Model:
            raise TypeError("Model(inputs, outputs) must create a Functional model.")
        allowed = {"name", "trainable", "dtype"}
        unknown = set(kwargs) - allowed
        if args or unknown:
            raise TypeError(
                f"Model.__init__() got unexpected arguments. To build a functional model pass "
                f"`inputs` and `outputs`. Received: args={args}, kwargs={sorted(unknown)}"
            )
        if kwargs.get("name") is None:
            kwargs["name"] = unique_name(to_snake_case(type(self).__name__))
        Layer.__init__(self, **kwargs)

    def build(self, input_shape=None):
        """Creates the weights of a subclassed model by calling it on symbolic inputs of ``input_shape``.

        ``input_shape`` is a shape with ``None`` for unknown sizes (``(None, 3)``), or a list or dict of
        them for a model whose ``call`` takes a list or dict. As in tf.keras 2, the model is then built
        and `summary` lists its weights. Functional and Sequential models are built from their inputs.

        >>> import lamina
        >>> class Block(lamina.Model):
        ...     def __init__(self):
        ...         super().__init__(name="block")
        ...         self.dense = lamina.layers.Dense(2)
        ...     def call(self, x):
        ...         return self.dense(x)
        >>> block = Block()
        >>> block.build((None, 3))
        >>> block.count_params()
        8
        """
        if self.built or input_shape is None:
            self.built = True
            return
        from lamina.engine.input_layer import Input
        from lamina.engine.symbolic import map_shapes

        self(map_shapes(lambda shape: Input(batch_shape=shape), input_shape))

    build._lamina_default_build = True  # the first call builds by running `call`; no separate build step

    @classmethod
    def from_config(cls, config, custom_objects=None):
        """Functional configs (Keras 2 ``"Model"`` entries included) rebuild the graph."""
        if cls is Model and isinstance(config, dict) and "layers" in config and "output_layers" in config:
            from lamina.engine.functional import Functional

            return Functional.from_config(config, custom_objects=custom_objects)
        return super().from_config(config)

    def get_layer(self, name=None, index=None):
        """The layer with this ``name``, or at position ``index`` of `layers`."""
        if index is not None and name is not None:
            raise ValueError(f"Provide only a layer name or a layer index. Received: index={index}, name={name}.")
        layers = self.layers
        if index is not None:
            if len(layers) <= index:
                raise ValueError(
                    f"Was asked to retrieve layer at index {index} but model only has {len(layers)} layers."
                )
            return layers[index]
        if name is not None:
            for layer in layers:
                if layer.name == name:
                    return layer
            raise ValueError(
                f"No such layer: {name}. Existing layers are: {[layer.name for layer in layers]}."
            )
        raise ValueError("Provide either a layer name or layer index at `get_layer`.")

    def summary(self, line_length=None, positions=None, print_fn=None, expand_nested=False, show_trainable=False,
                layer_range=None):
        """Prints a table of the layers, their output shapes and parameter counts."""
        from lamina.utils.summary import print_summary

        print_summary(self, line_length=line_length, positions=positions, print_fn=print_fn,
                      expand_nested=expand_nested, show_trainable=show_trainable, layer_range=layer_range)

    # ---- architecture as text ------------------------------------------------------------------------
    def to_json(self, **kwargs):
        """The architecture as a JSON string (``{"class_name", "config", ...}``)."""
        from lamina.saving.serialization import model_to_dict

        return json.dumps(model_to_dict(self), **kwargs)

    def to_yaml(self, **kwargs):
        """The architecture as YAML with the same content as `to_json` (requires PyYAML)."""
        try:
            import yaml
        except ImportError as error:
            raise ImportError("`to_yaml` requires PyYAML: pip install pyyaml") from error
        from lamina.saving.serialization import model_to_dict

        return yaml.safe_dump(model_to_dict(self), **kwargs)

    # ---- files (lamina.saving.api) -----------------------------------------------------------------------
    def save(self, filepath, overwrite=True, include_optimizer=True, **kwargs):
        """Saves the model: ``.keras`` (Keras 3 archive) or ``.h5`` (legacy Keras 2 file)."""
        from lamina.saving import api

        api.save_model(self, filepath, overwrite=overwrite, include_optimizer=include_optimizer, **kwargs)

    def save_weights(self, filepath, overwrite=True, **kwargs):
        """Saves the weights: ``.weights.h5`` (Keras 3 layout) or ``.h5`` (legacy layout)."""
        from lamina.saving import api

        api.save_weights(self, filepath, overwrite=overwrite, **kwargs)

    def load_weights(self, filepath, skip_mismatch=False, by_name=False, **kwargs):
        """Loads weights from ``.weights.h5``, ``.keras`` or ``.h5``; checks everything before assigning."""
        from lamina.saving import api

        api.load_weights(self, filepath, skip_mismatch=skip_mismatch, by_name=by_name, **kwargs)

    def export(self, filepath, format="onnx", **kwargs):
        """Exports for inference: ``format='onnx'`` (torch.onnx) or ``'torch'`` (torch.export program)."""
        from lamina.saving import torch_formats

        return torch_formats.export(self, filepath, format=format, **kwargs)

    def __repr__(self):
        return f"<{type(self).__name__} name={self.name}, built={self.built}>"
