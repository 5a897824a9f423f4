"""Layer configs to layers and back: ``layers.serialize`` / ``layers.deserialize``.

>>> from lamina import layers
>>> config = layers.serialize(layers.Dense(2, name="d"))
>>> config["class_name"], layers.deserialize(config).units
('Dense', 2)
"""

from lamina.saving import registry


def _layer_classes():
    from lamina import layers

    table = {}
    for name in dir(layers):
        if not name[0].isupper():
            continue
        try:
            obj = getattr(layers, name)
        except (ImportError, AttributeError):  # a family not available in this build
            continue
        if isinstance(obj, type):
            table[name] = obj
    from lamina.engine.layer import Layer

    table["Layer"] = Layer
    for extra in ("lamina.engine.functional:Functional", "lamina.engine.sequential:Sequential",
                  "lamina.engine.model:Model"):
        module, _, attr = extra.partition(":")
        try:
            table[attr] = getattr(__import__(module, fromlist=[attr]), attr)
        except ImportError:
            pass
    return table


_CLASSES = None


def layer_classes():
    """``{class_name: class}`` for every built-in layer and model class (Keras names)."""
    global _CLASSES
    if _CLASSES is None:
        _CLASSES = _layer_classes()
    return _CLASSES


def serialize(layer):
    """The Keras 3 serialized dict of ``layer``."""
    return registry.serialize_keras_object(layer)


def deserialize(config, custom_objects=None):
    """A layer from a Keras 2 or Keras 3 serialized dict."""
    if isinstance(config, dict) and str(config.get("module") or "").startswith("keras.src.ops"):
        from lamina.engine.op_layer import op_layer_class, op_name_from_keras

        return op_layer_class(op_name_from_keras(config["class_name"])).from_config(config.get("config") or {})
    return registry.deserialize_keras_object(
        config, module_objects=layer_classes(), custom_objects=custom_objects, printable_module_name="layer"
    )
