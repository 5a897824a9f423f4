"""`Node`: one call of a layer on symbolic inputs, an edge set of the layer graph.

A node keeps the call's arguments (with KerasTensors in place of data) and its
output KerasTensors. ``layer._inbound_nodes[i]`` is the layer's i-th call; each
output tensor's ``_keras_history`` is ``(layer, node_index, tensor_index)``.
"""

from lamina.engine.keras_tensor import KerasTensor


def flatten(structure):
    """Leaves of nested lists/tuples/dicts (dicts in key-insertion order)."""
    if isinstance(structure, (list, tuple)):
        out = []
        for item in structure:
            out.extend(flatten(item))
        return out
    if isinstance(structure, dict):
        out = []
        for item in structure.values():
            out.extend(flatten(item))
        return out
    return [structure]


def map_structure(fn, structure):
    if isinstance(structure, list):
        return [map_structure(fn, s) for s in structure]
    if isinstance(structure, tuple):
        return tuple(map_structure(fn, s) for s in structure)
    if isinstance(structure, dict):
        return {k: map_structure(fn, v) for k, v in structure.items()}
    return fn(structure)


def pack_like(structure, flat):
    """Rebuilds ``structure`` with the leaves taken in order from ``flat``."""
    iterator = iter(flat)
    return map_structure(lambda _: next(iterator), structure)


class Node:
    """A recorded call: ``layer(*call_args, **call_kwargs) -> outputs``."""

    def __init__(self, layer, call_args, call_kwargs, outputs):
        self.layer = layer
        self.call_args = call_args
        self.call_kwargs = call_kwargs
        self.outputs = outputs
        self.input_tensors = [x for x in flatten((call_args, call_kwargs)) if isinstance(x, KerasTensor)]
        self.output_tensors = [x for x in flatten(outputs) if isinstance(x, KerasTensor)]
        self.index = len(layer._inbound_nodes)
        layer._inbound_nodes.append(self)
        for index, tensor in enumerate(self.output_tensors):
            tensor._keras_history = (layer, self.index, index)
        for tensor in self.input_tensors:
            if tensor._keras_history is not None:
                tensor._keras_history[0]._outbound_nodes.append(self)

    @property
    def parent_nodes(self):
        """The nodes that produced this node's inputs."""
        parents = []
        for tensor in self.input_tensors:
            if tensor._keras_history is not None:
                layer, node_index, _ = tensor._keras_history
                parents.append(layer._inbound_nodes[node_index])
        return parents

    @property
    def is_input(self):
        return not self.input_tensors

    def __repr__(self):
        return f"<Node layer={self.layer.name}, index={self.index}>"
