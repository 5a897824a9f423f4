"""Compile configuration and optimizer state, as both file formats store them.

``.keras`` files keep ``compile_config`` (Keras 3 schema, spec §6.6) and the
optimizer's variables at ``optimizer/vars``; legacy ``.h5`` files keep a
``training_config`` readable by tf.keras 2 and Keras 3 (§4.7) and an
``optimizer_weights`` group (§3.3). Restoring both lets training resume where it
stopped: same learning rate, same step counter, same moments.

>>> legacy_optimizer_config({"class_name": "Adam", "config": {"learning_rate": 0.01,
...     "loss_scale_factor": None, "jit_compile": True}})
{'class_name': 'Custom>Adam', 'config': {'learning_rate': 0.01, 'is_legacy_optimizer': False}}
"""

import warnings

from lamina.saving import registry

# Keys that tf.keras 2 optimizers write but Keras 3 / lamina constructors do not take, and vice versa.
_KERAS2_ONLY = ("is_legacy_optimizer", "jit_compile", "decay")
_KERAS3_ONLY = ("loss_scale_factor", "gradient_accumulation_steps")


def _serialize(value):
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (list, tuple)):
        return [_serialize(v) for v in value]
    if isinstance(value, dict):
        return {k: _serialize(v) for k, v in value.items()}
    return registry.serialize_keras_object(value)


def compile_config(model):
    """The model's ``compile_config`` as JSON-able data (``{}`` when not compiled)."""
    if not getattr(model, "compiled", False) or not hasattr(model, "get_compile_config"):
        return {}
    config = dict(model.get_compile_config() or {})
    optimizer = getattr(model, "optimizer", None)
    if optimizer is not None:
        from lamina import optimizers

        config["optimizer"] = optimizers.serialize(optimizer)
    try:
        return _serialize(config)
    except (TypeError, ValueError) as error:
        warnings.warn(f"The compile configuration of '{model.name}' cannot be serialized ({error}); "
                      "the model is saved without it and will load uncompiled.", stacklevel=3)
        return {}


def compile_from_saved(model, config, custom_objects=None):
    """Compiles ``model`` from a saved ``compile_config`` (deserializing its objects)."""
    from lamina import losses, metrics, optimizers

    config = dict(config)
    with registry.custom_object_scope(custom_objects or {}):
        if isinstance(config.get("optimizer"), dict):
            config["optimizer"] = optimizers.deserialize(_plain_optimizer_config(config["optimizer"]))
        for key, module in (("loss", losses), ("metrics", metrics), ("weighted_metrics", metrics)):
            config[key] = _deserialize_nested(config.get(key), module)
        model.compile_from_config(config)


def _deserialize_nested(value, module):
    if isinstance(value, dict) and "class_name" in value:
        return module.deserialize(value)
    if isinstance(value, list):
        return [_deserialize_nested(v, module) for v in value]
    if isinstance(value, dict):
        return {k: _deserialize_nested(v, module) for k, v in value.items()}
    return value


def _plain_optimizer_config(config):
    config = dict(config)
    inner = {k: v for k, v in (config.get("config") or {}).items() if k not in _KERAS2_ONLY}
    config["config"] = inner
    name = str(config.get("class_name", ""))
    config["class_name"] = name.split(">", 1)[1] if name.startswith("Custom>") else name
    if config.get("registered_name") == config["class_name"]:
        config["registered_name"] = None
    config.pop("module", None)
    return config


def legacy_optimizer_config(config):
    """An optimizer config that tf.keras 2.21 and Keras 3 both accept (shared keys only).

    ``"Custom>Adam"`` is what tf.keras 2.11+ writes: without the prefix tf.keras rebuilds the
    pre-2.11 optimizer, which rejects ``weight_decay``; Keras 3 and lamina strip the prefix.
    """
    config = _plain_optimizer_config(config)
    config["config"] = {k: v for k, v in config["config"].items() if k not in _KERAS3_ONLY}
    config["config"]["is_legacy_optimizer"] = False
    return {"class_name": f"Custom>{config['class_name']}", "config": config["config"]}


def training_config(model):
    """The legacy ``training_config`` attribute (None when not compiled)."""
    config = compile_config(model)
    if not config:
        return None
    out = {key: config.get(key) for key in ("loss", "metrics", "weighted_metrics", "loss_weights")}
    if isinstance(config.get("optimizer"), dict):
        out["optimizer_config"] = legacy_optimizer_config(config["optimizer"])
    elif isinstance(config.get("optimizer"), str):
        out["optimizer_config"] = {"class_name": config["optimizer"], "config": {}}
    return out


def compile_from_training_config(model, config, custom_objects=None):
    """Compiles from a legacy ``training_config`` (tf.keras 2 nested metric lists or Keras 3 flat)."""
    compile_args = {"optimizer": config.get("optimizer_config"), "loss": config.get("loss"),
                    "loss_weights": config.get("loss_weights"),
                    "metrics": _keras2_metrics(config.get("metrics")),
                    "weighted_metrics": _keras2_metrics(config.get("weighted_metrics"))}
    compile_from_saved(model, compile_args, custom_objects)


def _keras2_metrics(value):
    """tf.keras 2 writes ``[[{"class_name": "MeanMetricWrapper", "config": {"name": "accuracy", ...}}]]``."""
    if isinstance(value, dict) and value.get("class_name") == "MeanMetricWrapper":
        return (value.get("config") or {}).get("name")
    if isinstance(value, list):
        items = [_keras2_metrics(v) for v in value]
        return items[0] if len(items) == 1 and isinstance(items[0], list) else items
    return value


def build_optimizer(model):
    """Creates the optimizer's slot variables so stored state can be assigned to them."""
    optimizer = getattr(model, "optimizer", None)
    if optimizer is None:
        return None
    if not getattr(optimizer, "built", False):
        optimizer.build(model.trainable_variables)
    return optimizer
