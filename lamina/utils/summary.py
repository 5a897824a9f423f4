"""`print_summary`: the table that ``model.summary()`` prints.

The layout is tf.keras 2's plain-ASCII table, the one the Keras 2 walkthroughs show:
65 columns with ``Layer (type)``, ``Output Shape`` and ``Param #`` for a chain of
layers, 98 columns and a ``Connected to`` column (one ``layer[node][tensor]``
reference per line) as soon as a layer has several inputs, the model several
inputs, or a layer is called twice. Rows are separated by ``_`` lines, an
`InputLayer`'s shape is shown as a list ``[(None, 2)]``, and a shape that is not
known is shown as ``?``.

The totals are printed as tf.keras 2 prints them for the seed walkthroughs
(``Total params: 13``), without the memory sizes that Keras 3 and tf_keras 2.13+
append (``Total params: 13 (52.00 B)``): those sizes would change the lines the
Keras 2 walkthroughs print. Set ``lamina.utils.summary.SHOW_BYTE_SIZES = True``
to get the Keras 3 totals (``B``/``KB``/``MB`` of 1024).

>>> import lamina
>>> from lamina import layers
>>> inputs = lamina.Input((2,), name="x")
>>> model = lamina.Model(inputs, layers.Dense(1, name="out")(inputs), name="tiny")
>>> model.summary(print_fn=lambda line: print(line.rstrip()))
Model: "tiny"
_________________________________________________________________
Layer (type)                 Output Shape              Param #
=================================================================
x (InputLayer)               [(None, 2)]               0
_________________________________________________________________
out (Dense)                  (None, 1)                 3
=================================================================
Total params: 3
Trainable params: 3
Non-trainable params: 0
_________________________________________________________________
"""

import re

import numpy as np

from lamina.backend.dtypes import standardize_dtype

SHOW_BYTE_SIZES = False


def print_summary(model, line_length=None, positions=None, print_fn=None, expand_nested=False,
                  show_trainable=False, layer_range=None):
    """Prints a summary of ``model``: its layers, their output shapes and parameter counts.

    Args:
        model: a built `Model` (functional, `Sequential` or subclassed).
        line_length: total width of the table (65, or 98 with the ``Connected to`` column).
        positions: right edges of the columns, as fractions of ``line_length`` (all ``<= 1``)
            or as absolute character positions.
        print_fn: called with each line (``print`` by default).
        expand_nested: whether to list the layers of nested models inside a ``|`` frame.
        show_trainable: whether to add a ``Trainable`` column (``Y``/``N``).
        layer_range: ``(first, last)`` layer names (``re.match`` patterns, as Keras) limiting
            the rows to the layers from ``first`` to ``last``, both included.

    Raises:
        ValueError: if the model is not built, or ``layer_range`` is malformed or matches no layer.
    """
    if not model.built:
        raise ValueError(
            "This model has not yet been built. Build the model first by calling `build()` or by calling "
            "the model on a batch of data."
        )
    print_fn = print if print_fn is None else print_fn
    graph = _graph_of(model)
    layers = list(model.layers)
    if layer_range is not None:
        start, stop = _layer_index_range(layers, layer_range)
        layers = layers[start:stop]
    sequential_like = graph is None or _is_sequential_like(graph)
    if sequential_like:
        line_length = line_length or 65
        positions = positions or [0.45, 0.85, 1.0]
        header = ["Layer (type)", "Output Shape", "Param #"]
    else:
        line_length = line_length or 98
        positions = positions or [0.33, 0.55, 0.67, 1.0]
        header = ["Layer (type)", "Output Shape", "Param #", "Connected to"]
    if positions[-1] <= 1:
        positions = [int(line_length * p) for p in positions]
    positions = list(positions)
    if show_trainable:
        line_length += 11
        positions.append(line_length)
        header.append("Trainable")
    table = _Table(line_length, positions, print_fn, show_trainable, connections=not sequential_like)

    print_fn(f'Model: "{model.name}"')
    print_fn("_" * line_length)
    table.row(header)
    print_fn("=" * line_length)
    for index, layer in enumerate(layers):
        table.layer(layer, graph, 0, expand_nested)
        print_fn("=" * line_length if index == len(layers) - 1 else "_" * line_length)

    trainable = _unique(model.trainable_weights)
    non_trainable = _unique(model.non_trainable_weights)
    for label, weights in (("Total params", trainable + non_trainable), ("Trainable params", trainable),
                           ("Non-trainable params", non_trainable)):
        print_fn(f"{label}: {_count_text(weights)}")
    print_fn("_" * line_length)


class _Table:
    """Prints rows (one per layer, plus continuation rows) at fixed column positions."""

    def __init__(self, line_length, positions, print_fn, show_trainable, connections):
        self.line_length = line_length
        self.positions = positions
        self.print_fn = print_fn
        self.show_trainable = show_trainable
        self.connections = connections

    def row(self, fields, level=0):
        # tf.keras's rule: each field is cut at its column's right edge and the last character
        # before a new column is always a space.
        positions = [p - level for p in self.positions[:-1]] + [self.positions[-1] - 2 * level]
        line = ""
        for index, field in enumerate(fields):
            if index > 0:
                line = line[:-1] + " "
            line = (line + str(field))[:positions[index]]
            line += " " * (positions[index] - len(line))
        self.print_fn("|" * level + line + "|" * level)

    def layer(self, layer, graph, level, expand_nested):
        fields = [f"{layer.name} ({type(layer).__name__})", _output_shape_text(layer, graph),
                  _param_text(layer)]
        references = _connections(layer, graph) if self.connections else []
        if self.connections:
            fields.append(references[0] if references else "")
        if self.show_trainable:
            fields.append("Y" if layer.trainable else "N")
        self.row(fields, level)
        for reference in references[1:]:
            extra = ["", "", "", reference] + ([""] if self.show_trainable else [])
            self.row(extra, level)
        inner = list(getattr(layer, "layers", None) or []) if _is_model(layer) else []
        if expand_nested and inner:
            width = self.line_length - 2 * level
            self.print_fn("|" * (level + 1) + "\u00af" * (width - 2) + "|" * (level + 1))
            inner_graph = _graph_of(layer)
            for index, sublayer in enumerate(inner):
                self.layer(sublayer, inner_graph, level + 1, expand_nested)
                if index < len(inner) - 1:
                    self.print_fn("|" * (level + 1) + "_" * (width - 2) + "|" * (level + 1))
            self.print_fn("|" * level + "\u00af" * width + "|" * level)


# ---- the model's graph -------------------------------------------------------------------------------

def _is_model(layer):
    from lamina.engine.model import Model

    return isinstance(layer, Model)


def _graph_of(model):
    """The Functional graph behind ``model`` (a built Sequential's too), or None for subclassed models."""
    graph = getattr(model, "_functional", None)
    if graph is not None:
        return graph
    return model if hasattr(model, "_nodes_by_depth") else None


def _is_sequential_like(graph):
    """tf.keras's test: one node per depth, each with at most one input, and no layer called twice."""
    for nodes in graph._nodes_by_depth.values():
        if len(nodes) > 1 or (nodes and len(nodes[0].input_tensors) > 1):
            return False
    for layer in graph.layers:
        if sum(id(node) in graph._network_nodes for node in layer._inbound_nodes) > 1:
            return False
    return True


def _model_nodes(layer, graph):
    """The layer's calls that belong to ``graph`` (all its calls when there is no graph)."""
    if graph is None:
        return list(layer._inbound_nodes)
    return [node for node in layer._inbound_nodes if id(node) in graph._network_nodes]


def _shape_text(tensors):
    shapes = [tuple(t.shape) for t in tensors]
    return str(shapes[0]) if len(shapes) == 1 else str(shapes)


def _output_shape_text(layer, graph):
    from lamina.engine.input_layer import InputLayer

    texts = {_shape_text(node.output_tensors) for node in _model_nodes(layer, graph) if node.output_tensors}
    if not texts and graph is None:  # a subclassed model's layer: the shape its build shape gives (Keras 3)
        return _built_output_shape_text(layer)
    if not texts:
        return "?"
    if len(texts) > 1:
        return "multiple"
    text = texts.pop()
    return f"[{text}]" if isinstance(layer, InputLayer) else text


def _built_output_shape_text(layer):
    shape = getattr(layer, "_build_shapes", None)
    if not layer.built or shape is None:
        return "?"
    try:
        output = layer.compute_output_shape(shape)
    except Exception:  # noqa: BLE001 - a layer that cannot tell its shape is shown as unknown, as Keras does
        return "?"
    if isinstance(output, (tuple, list)) and all(d is None or isinstance(d, int) for d in output):
        return str(tuple(output))
    return "multiple"


def _param_text(layer):
    if not layer.built:
        return "0 (unbuilt)"
    return layer.count_params()


def _connections(layer, graph):
    references = []
    for node in _model_nodes(layer, graph):
        for tensor in node.input_tensors:
            if tensor._keras_history is not None:
                inbound, node_index, tensor_index = tensor._keras_history
                references.append(f"{inbound.name}[{node_index}][{tensor_index}]")
    return references


def _layer_index_range(layers, layer_range):
    if not isinstance(layer_range, (list, tuple)) or len(layer_range) != 2:
        raise ValueError(
            "`layer_range` must be a list or tuple of two layer names (first, last). "
            f"Received: layer_range={layer_range!r}"
        )
    if not all(isinstance(name, str) for name in layer_range):
        raise ValueError(
            f"`layer_range` must contain only strings (layer names). Received: layer_range={layer_range!r}"
        )
    first = [i for i, layer in enumerate(layers) if re.match(layer_range[0], layer.name)]
    last = [i for i, layer in enumerate(layers) if re.match(layer_range[1], layer.name)]
    if not first or not last:
        raise ValueError(
            "Passed layer_names do not match the layer names in the model. Existing layers are: "
            f"{[layer.name for layer in layers]}. Received: layer_range={list(layer_range)!r}"
        )
    if min(first) > max(last):
        return min(last), max(first) + 1
    return min(first), max(last) + 1


# ---- totals ------------------------------------------------------------------------------------------

def _unique(weights):
    seen, out = set(), []
    for weight in weights:
        if id(weight) not in seen:
            seen.add(id(weight))
            out.append(weight)
    return out


def _count_text(weights):
    count = sum(int(np.prod(w.shape)) for w in weights)
    if not SHOW_BYTE_SIZES:
        return f"{count:,}"
    size = sum(int(np.prod(w.shape)) * _itemsize(w.dtype) for w in weights)
    return f"{count:,} ({readable_size(size)})"


def _itemsize(dtype):
    name = standardize_dtype(dtype)
    if name == "bool":
        return 1
    return max(1, int(re.sub(r"\D", "", name) or 32) // 8)


def readable_size(num_bytes):
    """A byte count as Keras 3 prints it: two decimals and a 1024-based unit.

    >>> readable_size(52), readable_size(1384)
    ('52.00 B', '1.35 KB')
    """
    size, units = float(num_bytes), ["B", "KB", "MB", "GB", "TB"]
    while size >= 1024 and len(units) > 1:
        size /= 1024
        units.pop(0)
    return f"{size:.2f} {units[0]}"
