"""Functional and Sequential model configs: written in the Keras 3 schema, read in both.

Keras 3 records each layer call as ``{"args": [...], "kwargs": {...}}`` with
``__keras_tensor__`` leaves; Keras 2 as ``[[name, node_index, tensor_index, kwargs], ...]``.
A nested model's first call is node 0 in Keras 3 inbound nodes but node 1 in Keras 2
files and in ``input_layers``/``output_layers`` (see specs/keras-formats.md §4.2, §6.3).
"""

from lamina.engine.input_layer import InputLayer
from lamina.engine.keras_tensor import KerasTensor
from lamina.engine.node import flatten
from lamina.engine.op_layer import deserialize_value, serialize_value
from lamina.saving import keras2_dialect, registry


def _owns_node_zero(layer):
    """Whether Keras 2 numbering gives this layer a node 0 of its own (a model built on an Input)."""
    from lamina.engine.functional import Functional
    from lamina.engine.sequential import Sequential

    if isinstance(layer, Functional):
        return True
    return isinstance(layer, Sequential) and layer._functional is not None


def _node_index_in_model(layer, node_index, network_nodes):
    """Index of a layer's node among those of its nodes that belong to the model."""
    kept = [n for n in layer._inbound_nodes[: node_index + 1] if id(n) in network_nodes]
    return len(kept) - 1


def _serialize_layer(layer):
    from lamina.layers.serialization import serialize

    return serialize(layer)


# ---- writing (Keras 3 schema) ----------------------------------------------------------------------------

def functional_config(model):
    """``model.get_config()`` for a Functional model, in the Keras 3 schema."""
    network_nodes = model._network_nodes

    def history(tensor):
        layer, node_index, tensor_index = tensor._keras_history
        return [layer.name, _node_index_in_model(layer, node_index, network_nodes), tensor_index]

    def encode(value):
        if isinstance(value, KerasTensor):
            return {"class_name": "__keras_tensor__",
                    "config": {"shape": list(value.shape), "dtype": value.dtype, "keras_history": history(value)}}
        if isinstance(value, (list, tuple)):
            return [encode(v) for v in value]
        if isinstance(value, dict):
            return {k: encode(v) for k, v in value.items()}
        if isinstance(value, slice) or value is Ellipsis:
            return serialize_value(value)
        return registry.serialize_keras_object(value)

    layer_configs = []
    for layer in model.layers:
        entry = _serialize_layer(layer)
        entry["name"] = layer.name
        build = layer.get_build_config() if not isinstance(layer, InputLayer) else None
        if build is not None:
            entry["build_config"] = _jsonable(build)
        entry["inbound_nodes"] = [
            {"args": encode(list(node.call_args)), "kwargs": encode(node.call_kwargs)}
            for node in layer._inbound_nodes if id(node) in network_nodes and not node.is_input
        ]
        layer_configs.append(entry)

    def io_triple(tensor):
        name, index, tensor_index = history(tensor)
        if _owns_node_zero(tensor._keras_history[0]):
            index += 1  # the Keras 2 era numbering, kept by Keras 3 here
        return [name, index, tensor_index]

    return {
        "name": model.name,
        "trainable": model.trainable,
        "layers": layer_configs,
        "input_layers": _map_io(model._inputs_struct, io_triple),
        "output_layers": _map_io(model._outputs_struct, io_triple),
    }


def _map_io(structure, fn):
    if isinstance(structure, KerasTensor):
        return fn(structure)
    if isinstance(structure, dict):
        return {k: _map_io(v, fn) for k, v in structure.items()}
    return [_map_io(v, fn) for v in structure]


def _jsonable(value):
    if isinstance(value, tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    return value


def sequential_config(model):
    """``get_config()`` of a Sequential model (Keras 3 schema: the InputLayer listed first)."""
    layers = [_serialize_layer(layer) for layer in model._stack]
    config = {"name": model.name, "trainable": model.trainable, "dtype": model._dtype_policy.name,
              "layers": layers}
    if model._functional is not None:
        config["build_input_shape"] = list(model._functional.input_shape)
    return config


# ---- reading (Keras 2 and Keras 3 schemas) ---------------------------------------------------------------

def _deserialize_layer(entry, custom_objects):
    from lamina.layers.serialization import deserialize

    layer = deserialize(entry, custom_objects=custom_objects)
    build = entry.get("build_config")
    if isinstance(layer, InputLayer) or not build or layer.built:
        return layer
    if not entry.get("inbound_nodes"):
        layer.build_from_config(build)
    return layer


def functional_from_config(cls, config, custom_objects=None):
    """Rebuilds a Functional model from a Keras 2 or Keras 3 config."""
    if not isinstance(config, dict) or "layers" not in config:
        raise ValueError(f"A functional model config needs a 'layers' list. Received keys: {sorted(config or {})}")
    created = {}
    node_outputs = {}  # layer name -> [outputs of its 1st call in this model, 2nd call, ...]
    pending = []
    for entry in config["layers"]:
        layer = _deserialize_layer(entry, custom_objects)
        name = entry.get("name") or layer.name
        created[name] = layer
        if isinstance(layer, InputLayer):
            node_outputs[name] = [[layer.output_tensor]]
        else:
            node_outputs[name] = []
            pending.extend((name, node) for node in entry.get("inbound_nodes", []))

    def offset(producer):
        return 1 if _owns_node_zero(created[producer]) else 0

    def resolve(producer, node_index, tensor_index, keras2):
        if producer not in created:
            raise ValueError(f"Unknown layer '{producer}' referenced in the model config.")
        node_index -= offset(producer) if keras2 else 0
        calls = node_outputs[producer]
        if node_index >= len(calls):
            return None
        return calls[node_index][tensor_index]

    # Process nodes until all are done; a node waits until its producers have run.
    progress = True
    while pending and progress:
        progress = False
        remaining = []
        for name, node in pending:
            call = _decode_node(node, resolve)
            if call is None:
                remaining.append((name, node))
                continue
            args, kwargs = call
            outputs = created[name](*args, **kwargs)
            node_outputs[name].append(flatten(outputs))
            progress = True
        pending = remaining
    if pending:
        raise ValueError(
            "Could not rebuild the model graph: the inbound nodes of layers "
            f"{sorted({name for name, _ in pending})} reference tensors that are never produced."
        )

    def io_tensor(triple):
        producer, node_index, tensor_index = triple[:3]
        tensor = resolve(producer, node_index - offset(producer), tensor_index, keras2=False)
        if tensor is None:
            raise ValueError(f"The model config names output {triple} that the graph does not produce.")
        return tensor

    inputs = _decode_io(config.get("input_layers", []), io_tensor)
    outputs = _decode_io(config.get("output_layers", []), io_tensor)
    return cls(inputs=inputs, outputs=outputs, name=config.get("name"), trainable=config.get("trainable", True))


def _is_triple(value):
    return isinstance(value, (list, tuple)) and len(value) == 3 and isinstance(value[0], str) \
        and isinstance(value[1], int)


def _decode_io(structure, fn):
    if _is_triple(structure):
        return fn(structure)
    if isinstance(structure, dict):
        return {k: _decode_io(v, fn) for k, v in structure.items()}
    items = [_decode_io(v, fn) for v in structure]
    return items[0] if len(items) == 1 and _is_triple(structure[0]) else items


def _decode_node(node, resolve):
    """(args, kwargs) of a recorded call, or None while an input is not available yet."""
    missing = object()

    if isinstance(node, dict):  # Keras 3
        def decode(value):
            if isinstance(value, dict) and value.get("class_name") == "__keras_tensor__":
                producer, index, tensor_index = value["config"]["keras_history"]
                tensor = resolve(producer, index, tensor_index, keras2=False)
                return missing if tensor is None else tensor
            if isinstance(value, dict) and value.get("class_name") in ("__slice__", "__ellipsis__"):
                return deserialize_value(value)
            if isinstance(value, list):
                return [decode(v) for v in value]
            if isinstance(value, dict):
                return {k: decode(v) for k, v in value.items()}
            return value

        args = decode(node.get("args", []))
        kwargs = decode(node.get("kwargs", {}))
        if any(v is missing for v in flatten([args, kwargs])):
            return None
        return tuple(args), kwargs

    tensors, kwargs = [], {}  # Keras 2: [[producer, node_index, tensor_index, kwargs], ...]
    for entry in node:
        if entry[0] == "_CONSTANT_VALUE":
            tensors.append(entry[2])
            continue
        tensor = resolve(entry[0], entry[1], entry[2], keras2=True)
        if tensor is None:
            return None
        tensors.append(tensor)
        for key, value in (entry[3] if len(entry) > 3 else {}).items():
            if _is_triple(value):
                value = resolve(value[0], value[1], value[2], keras2=True)
                if value is None:
                    return None
            kwargs[key] = value
    return ((tensors[0] if len(tensors) == 1 else tensors),), kwargs


def sequential_from_config(cls, config, custom_objects=None):
    """Rebuilds a Sequential model from a Keras 2 or Keras 3 config."""
    if isinstance(config, list):  # very old Keras: a bare list of layers
        config = {"layers": config}
    model = cls(name=config.get("name"), trainable=config.get("trainable", True))
    for entry in config.get("layers", []):
        model.add(_deserialize_layer(entry, custom_objects), rebuild=False)
    model._maybe_rebuild()
    shape = config.get("build_input_shape")
    if not model.built and shape is not None:
        model.build(tuple(shape))
    return model


# ---- writing the Keras 2 schema (legacy .h5, readable by tf.keras 2 and Keras 3) -------------------------
def keras2_model_config(model):
    """``{"class_name", "config"}`` of ``model`` in the Keras 2 schema (spec §4)."""
    from lamina.engine.functional import Functional
    from lamina.engine.sequential import Sequential

    if isinstance(model, Functional):
        return {"class_name": "Functional", "config": _keras2_functional(model)}
    if isinstance(model, Sequential):
        return {"class_name": "Sequential", "config": _keras2_sequential(model)}
    return {"class_name": registry.get_registered_name(type(model)), "config": keras2_layer_config(model)}


def keras2_layer_config(layer):
    """A layer's ``get_config()`` with Keras 2 conventions: string dtypes, ``batch_input_shape``, Lambda lists."""
    from lamina.engine.functional import Functional
    from lamina.engine.sequential import Sequential

    if isinstance(layer, (Functional, Sequential)):
        return keras2_model_config(layer)["config"]
    config = dict(layer.get_config())
    if isinstance(layer, InputLayer):
        config["batch_input_shape"] = config.pop("batch_shape")
        order = ["batch_input_shape", "dtype", "sparse", "ragged", "name", "optional"]
        return {key: config[key] for key in order if key in config}
    if "dtype" in config:
        config["dtype"] = _keras2_dtype(layer)
    keras2_dialect.translate(layer, config)
    function = config.get("function")
    if isinstance(function, dict) and function.get("class_name") == "__lambda__":
        inner = function.get("config", {})
        config["function"] = [inner.get("code"), inner.get("defaults"), inner.get("closure")]
        config["function_type"] = "lambda"
        config["module"] = "__main__"
        config.setdefault("output_shape", None)
        config.setdefault("output_shape_type", "raw")
        config.setdefault("output_shape_module", None)
    return _jsonable(config)


def _keras2_dtype(layer):
    policy = layer._dtype_policy
    if getattr(policy, "mixed", False):
        return {"module": "keras.mixed_precision", "class_name": "Policy", "config": {"name": policy.name},
                "registered_name": None}
    return policy.name


def _keras2_entry(layer):
    return {"class_name": _keras2_class_name(layer), "config": keras2_layer_config(layer)}


def _keras2_class_name(layer):
    from lamina.engine.functional import Functional

    if isinstance(layer, Functional):
        return "Functional"
    return registry.get_registered_name(type(layer))


def _keras2_functional(model):
    network_nodes = model._network_nodes

    def triple(tensor):
        layer, node_index, tensor_index = tensor._keras_history
        index = _node_index_in_model(layer, node_index, network_nodes) + (1 if _owns_node_zero(layer) else 0)
        return [layer.name, index, tensor_index]

    def node_entries(layer, node):
        first, rest = (node.call_args[0] if node.call_args else None), node.call_args[1:]
        kwargs = dict(node.call_kwargs)
        if rest:
            names = [p for p in _call_parameters(layer)[1:]]
            kwargs.update({name: value for name, value in zip(names, rest)})
        kwargs = {key: (triple(value) if isinstance(value, KerasTensor) else _jsonable(value))
                  for key, value in kwargs.items()}
        entries = []
        for item in flatten(first):
            if isinstance(item, KerasTensor):
                entries.append(triple(item) + [kwargs])
            else:
                entries.append(["_CONSTANT_VALUE", -1, _jsonable(item), kwargs])
        return entries

    layers = []
    for layer in model.layers:
        nodes = [node_entries(layer, node) for node in layer._inbound_nodes
                 if id(node) in network_nodes and not node.is_input]
        layers.append({**_keras2_entry(layer), "name": layer.name, "inbound_nodes": nodes})

    def io(structure):
        mapped = _map_io(structure, triple)
        return [mapped] if isinstance(structure, KerasTensor) else mapped

    return {"name": model.name, "trainable": model.trainable, "layers": layers,
            "input_layers": io(model._inputs_struct), "output_layers": io(model._outputs_struct)}


def _call_parameters(layer):
    import inspect

    return [name for name, p in inspect.signature(layer.call).parameters.items()
            if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]


def _keras2_sequential(model):
    config = {"name": model.name, "layers": [_keras2_entry(layer) for layer in model._stack]}
    if not model.trainable:
        config["trainable"] = False
    return config
