"""`clone_model`: the same architecture with new weights.

>>> import lamina
>>> from lamina import layers
>>> x = lamina.Input((2,))
>>> model = lamina.Model(x, layers.Dense(1, name="out")(x))
>>> twin = lamina.models.clone_model(model)
>>> twin.get_layer("out") is model.get_layer("out"), twin.get_config() == model.get_config()
(False, True)
"""

from lamina.engine.functional import Functional
from lamina.engine.input_layer import Input, InputLayer
from lamina.engine.keras_tensor import KerasTensor
from lamina.engine.node import flatten, map_structure, pack_like
from lamina.engine.sequential import Sequential


def _default_clone(layer):
    return type(layer).from_config(layer.get_config())


def clone_model(model, input_tensors=None, clone_function=None, call_function=None, recursive=False, **kwargs):
    """Clones a Functional or Sequential model: new layers (new weights), same architecture.

    Args:
        model: the model to clone.
        input_tensors: optional KerasTensors to build the clone on (instead of new `Input`s).
        clone_function: ``layer -> new layer``; defaults to ``from_config(get_config())``.
        call_function: optional ``(layer, *args, **kwargs) -> outputs`` used to call each cloned layer.
        recursive: also clone nested models through ``clone_function`` layer by layer.
    """
    if kwargs:
        raise TypeError(f"Unrecognized keyword arguments passed to clone_model: {sorted(kwargs)}")
    clone_function = clone_function or _default_clone

    def clone_layer(layer):
        if recursive and isinstance(layer, (Functional, Sequential)):
            return clone_model(layer, clone_function=clone_function, call_function=call_function, recursive=True)
        return clone_function(layer)

    if isinstance(model, Sequential):
        return _clone_sequential(model, input_tensors, clone_layer)
    if isinstance(model, Functional):
        return _clone_functional(model, input_tensors, clone_layer, call_function)
    raise ValueError(
        "Arguments clone_function and input_tensors are only supported for Sequential and Functional models. "
        f"Received model={model!r}; for subclassed models use `type(model).from_config(model.get_config())`."
    )


def _clone_sequential(model, input_tensors, clone_layer):
    layers = [clone_layer(layer) for layer in model.layers]
    if input_tensors is not None:
        inputs = flatten(input_tensors)[0]
        return Sequential([inputs] + layers, name=model.name)
    stack_input = model._stack[0] if model._stack and isinstance(model._stack[0], InputLayer) else None
    if stack_input is not None:
        layers = [InputLayer(batch_shape=stack_input.batch_shape, dtype=stack_input.dtype,
                             name=stack_input.name)] + layers
    return Sequential(layers, name=model.name, trainable=model.trainable)


def _clone_functional(model, input_tensors, clone_layer, call_function):
    mapping = {}
    if input_tensors is None:
        new_inputs = [Input(batch_shape=t.shape, dtype=t.dtype, name=t._keras_history[0].name)
                      for t in model.inputs]
    else:
        new_inputs = flatten(input_tensors)
        if len(new_inputs) != len(model.inputs):
            raise ValueError(
                f"input_tensors must have {len(model.inputs)} tensor(s) for model '{model.name}'. "
                f"Received: {len(new_inputs)}"
            )
    for old, new in zip(model.inputs, new_inputs):
        mapping[id(old)] = new
    clones = {}
    for depth in sorted(model._nodes_by_depth, reverse=True):
        for node in model._nodes_by_depth[depth]:
            if node.is_input or all(id(t) in mapping for t in node.output_tensors):
                continue
            layer = clones.get(id(node.layer))
            if layer is None:
                layer = clones[id(node.layer)] = clone_layer(node.layer)

            def swap(value):
                return mapping[id(value)] if isinstance(value, KerasTensor) else value

            args = map_structure(swap, list(node.call_args))
            kwargs = map_structure(swap, node.call_kwargs)
            outputs = call_function(layer, *args, **kwargs) if call_function else layer(*args, **kwargs)
            for old, new in zip(node.output_tensors, flatten(outputs)):
                mapping[id(old)] = new
    inputs = pack_like(model._inputs_struct, new_inputs)
    outputs = pack_like(model._outputs_struct, [mapping[id(t)] for t in model.outputs])
    return Functional(inputs, outputs, name=model.name, trainable=model.trainable)
