"""`plot_model` and `model_to_dot`: a picture of a model's layer graph.

Unlike Keras, no Graphviz program is needed: the graph is laid out in Python
(`lamina.utils.graph_layout`) and drawn with Pillow or as SVG text
(`lamina.utils.render`). `model_to_dot` still gives the Graphviz DOT source, for
those who want to render it with Graphviz.

>>> import lamina
>>> from lamina import layers
>>> inputs = lamina.Input((2,), name="x")
>>> model = lamina.Model(inputs, layers.Dense(3, name="hidden")(inputs))
>>> print(model_to_dot(model, show_shapes=True).to_string().splitlines()[4])
  "x" [label="x (InputLayer)\\nInput shape: (None, 2)\\nOutput shape: (None, 2)", fillcolor="#dcefd5"];
"""

import os

from lamina.utils import render

LAYER_FILL = "#d6e4f5"
INPUT_FILL = "#dcefd5"
MODEL_FILL = "#fbe5c8"
FROZEN_FILL = "#e2e2e2"


class DotGraph:
    """A drawable layer graph: `to_string` gives DOT source, `write`/`create` draw it without Graphviz.

    Attributes:
        boxes: ``{id: (rows of text, title colour)}``.
        edges: ``[(src_id, dst_id), ...]``.
        clusters: ``{id: (parent id or None, member ids, label)}`` for expanded nested models.
    """

    def __init__(self, name, boxes, edges, clusters, rankdir="TB", dpi=200, attributes=None):
        self.name = name
        self.boxes = boxes
        self.edges = edges
        self.clusters = clusters
        self.rankdir = rankdir
        self.dpi = dpi
        self.attributes = dict(attributes or {})

    def to_string(self):
        """The graph in the Graphviz DOT language."""
        attributes = {"rankdir": self.rankdir, "concentrate": "true", "dpi": self.dpi, **self.attributes}
        lines = [f"digraph {_quote(self.name)} {{",
                 "  graph [" + ", ".join(f"{k}={_quote(v)}" for k, v in attributes.items()) + "];",
                 '  node [shape=box, style="rounded,filled", fontname="Helvetica"];',
                 '  edge [color="#3c4858"];']
        children = {}
        for c, (parent, _, _) in self.clusters.items():
            children.setdefault(parent, []).append(c)
        owner = {n: c for c, (_, members, _) in self.clusters.items() for n in members}

        def emit(cluster, indent):
            for n, (rows, fill) in self.boxes.items():
                if owner.get(n) == cluster:
                    label = "\\n".join(_escape(row) for row in rows)
                    lines.append(f'{indent}{_quote(n)} [label="{label}", fillcolor="{fill}"];')
            for child in children.get(cluster, []):
                lines.append(f"{indent}subgraph {_quote('cluster_' + child)} {{")
                lines.append(f'{indent}  label="{_escape(self.clusters[child][2])}"; style=dashed;')
                emit(child, indent + "  ")
                lines.append(f"{indent}}}")

        emit(None, "  ")
        lines.extend(f"  {_quote(s)} -> {_quote(d)};" for s, d in self.edges)
        lines.append("}")
        return "\n".join(lines) + "\n"

    def create(self, prog=None, format="png"):
        """The drawing as bytes (``format`` png, jpg, svg or pdf); ``prog`` is ignored (no Graphviz)."""
        import tempfile

        with tempfile.TemporaryDirectory() as directory:
            path = os.path.join(directory, f"graph.{format}")
            self.write(path)
            with open(path, "rb") as handle:
                return handle.read()

    def write(self, path, format=None):
        """Draws the graph to ``path`` (format from ``format`` or the extension; ``raw``/``dot`` write DOT)."""
        if format in ("raw", "dot") or (format is None and str(path).lower().endswith(".dot")):
            with open(path, "w", encoding="utf-8") as handle:
                handle.write(self.to_string())
            return
        target = path if format is None else f"{path}.{format}"
        render.save(self.boxes, self.edges, self.clusters, target, rankdir=self.rankdir, dpi=self.dpi)
        if target != path:
            os.replace(target, path)

    def __repr__(self):
        return f"<DotGraph name={self.name}, boxes={len(self.boxes)}, edges={len(self.edges)}>"


def model_to_dot(model, show_shapes=False, show_dtype=False, show_layer_names=True, rankdir="TB",
                 expand_nested=False, dpi=200, subgraph=False, show_layer_activations=False,
                 show_trainable=False, return_pydot=False, **kwargs):
    """The layer graph of ``model`` as a `DotGraph` (DOT source with ``to_string()``).

    Args:
        model: a `Model`; a `Sequential` must be built; a subclassed model is drawn as one box.
        show_shapes: add each layer's input and output shapes.
        show_dtype: add each layer's input and output dtypes.
        show_layer_names: title boxes ``name (Class)`` instead of ``Class``.
        rankdir: ``"TB"`` (vertical), ``"LR"`` (horizontal), ``"BT"`` or ``"RL"``.
        expand_nested: draw the layers of nested models inside a frame.
        dpi: resolution of drawings.
        subgraph: accepted for Keras compatibility (the whole graph is returned).
        show_layer_activations: add the activation of layers that have one.
        show_trainable: add whether each layer is trainable (frozen layers get a grey title).
        return_pydot: return a ``pydot.Dot`` parsed from the DOT source (needs ``pydot``).
        **kwargs: extra Graphviz graph attributes, written into the DOT source.

    Returns:
        A `DotGraph`, or a ``pydot.Dot`` with ``return_pydot=True``.
    """
    if rankdir not in ("TB", "LR", "BT", "RL"):
        raise ValueError(f"`rankdir` must be one of 'TB', 'LR', 'BT', 'RL'. Received: rankdir={rankdir!r}")
    if not model.built:
        raise ValueError(
            "This model has not yet been built. Build the model first by calling `build()` or by calling "
            "the model on a batch of data."
        )
    options = dict(show_shapes=show_shapes, show_dtype=show_dtype, show_layer_names=show_layer_names,
                   show_layer_activations=show_layer_activations, show_trainable=show_trainable)
    collector = _Collector(options, expand_nested)
    graph = _graph_of(model)
    if graph is None:  # a subclassed model: one box, as Keras draws it
        collector.box(model, None, None)
    else:
        collector.graph(graph, None)
    dot = DotGraph(model.name, collector.boxes, list(dict.fromkeys(collector.edges)), collector.clusters,
                   rankdir=rankdir, dpi=dpi, attributes=kwargs)
    if return_pydot:
        try:
            import pydot
        except ImportError as error:
            raise ImportError("`return_pydot=True` requires pydot: pip install pydot") from error
        return pydot.graph_from_dot_data(dot.to_string())[0]
    return dot


def plot_model(model, to_file="model.png", show_shapes=False, show_dtype=False, show_layer_names=True,
               rankdir="TB", expand_nested=False, dpi=200, show_layer_activations=False, show_trainable=False,
               **kwargs):
    """Draws ``model``'s layer graph to ``to_file`` (``.png``, ``.jpg``, ``.svg`` or ``.pdf``).

    Works without Graphviz. The arguments are those of `model_to_dot`.

    Returns:
        An ``IPython.display.Image`` (``SVG`` for ``.svg``) of the file when IPython is installed
        and the file is not a PDF, otherwise None.
    """
    dot = model_to_dot(model, show_shapes=show_shapes, show_dtype=show_dtype, show_layer_names=show_layer_names,
                       rankdir=rankdir, expand_nested=expand_nested, dpi=dpi,
                       show_layer_activations=show_layer_activations, show_trainable=show_trainable, **kwargs)
    to_file = os.fspath(to_file)
    extension = render.save(dot.boxes, dot.edges, dot.clusters, to_file, rankdir=rankdir, dpi=dpi)
    if extension == "pdf":
        return None
    try:
        from IPython import display
    except ImportError:
        return None
    return display.SVG(filename=to_file) if extension == "svg" else display.Image(filename=to_file)


# ---- from a model to boxes and edges -------------------------------------------------------------------

def _graph_of(model):
    graph = getattr(model, "_functional", None)
    if graph is not None:
        return graph
    return model if hasattr(model, "_nodes_by_depth") else None


class _Collector:
    def __init__(self, options, expand_nested):
        self.options = options
        self.expand_nested = expand_nested
        self.boxes, self.edges, self.clusters = {}, [], {}
        self.expanded = {}  # id(layer) -> inner graph
        self.ids = {}  # id(layer) -> box or cluster id (the layer's name, made unique)

    def id_of(self, layer):
        if id(layer) not in self.ids:
            name, taken = layer.name, set(self.ids.values())
            suffix = 1
            while name in taken:
                name, suffix = f"{layer.name}_{suffix}", suffix + 1
            self.ids[id(layer)] = name
        return self.ids[id(layer)]

    def graph(self, graph, cluster):
        for layer in graph.layers:
            inner = _graph_of(layer) if self.expand_nested and _is_model(layer) else None
            if inner is not None and id(layer) not in self.expanded:
                self.expanded[id(layer)] = inner
                self.clusters[self.id_of(layer)] = (cluster, [], f"{layer.name} ({type(layer).__name__})")
                self.graph(inner, self.id_of(layer))
            elif inner is None:
                self.box(layer, graph, cluster)
        for layer in graph.layers:
            for node in layer._inbound_nodes:
                if id(node) not in graph._network_nodes:
                    continue
                for index, tensor in enumerate(node.input_tensors):
                    source, _, tensor_index = tensor._keras_history
                    self.edges.append((self.exit(source, tensor_index), self.entry(layer, index)))

    def entry(self, layer, input_index):
        inner = self.expanded.get(id(layer))
        if inner is None:
            return self.id_of(layer)
        tensor = inner.inputs[min(input_index, len(inner.inputs) - 1)]
        return self.entry(tensor._keras_history[0], 0)

    def exit(self, layer, output_index):
        inner = self.expanded.get(id(layer))
        if inner is None:
            return self.id_of(layer)
        source, _, tensor_index = inner.outputs[min(output_index, len(inner.outputs) - 1)]._keras_history
        return self.exit(source, tensor_index)

    def box(self, layer, graph, cluster):
        from lamina.engine.input_layer import InputLayer

        options = self.options
        class_name = type(layer).__name__
        rows = [f"{layer.name} ({class_name})" if options["show_layer_names"] else class_name]
        activation = getattr(layer, "activation", None)
        if options["show_layer_activations"] and activation is not None:
            rows.append(f"Activation: {getattr(activation, '__name__', type(activation).__name__)}")
        nodes = [n for n in layer._inbound_nodes if graph is None or id(n) in graph._network_nodes]
        is_input = isinstance(layer, InputLayer)
        if options["show_shapes"]:
            rows.append("Input shape: " + _describe(nodes, "output_tensors" if is_input else "input_tensors", _shape))
            rows.append("Output shape: " + _describe(nodes, "output_tensors", _shape))
        if options["show_dtype"]:
            rows.append("Input dtype: " + _describe(nodes, "output_tensors" if is_input else "input_tensors", _dtype))
            rows.append("Output dtype: " + _describe(nodes, "output_tensors", _dtype))
        if options["show_trainable"]:
            rows.append(f"Trainable: {bool(layer.trainable)}")
        if options["show_trainable"] and not layer.trainable:
            fill = FROZEN_FILL
        else:
            fill = INPUT_FILL if is_input else MODEL_FILL if _is_model(layer) else LAYER_FILL
        self.boxes[self.id_of(layer)] = (rows, fill)
        if cluster is not None:
            self.clusters[cluster][1].append(self.id_of(layer))


def _is_model(layer):
    from lamina.engine.model import Model

    return isinstance(layer, Model)


def _shape(tensor):
    return str(tuple(tensor.shape))


def _dtype(tensor):
    return str(tensor.dtype)


def _describe(nodes, attribute, describe):
    texts = []
    for node in nodes:
        values = [describe(t) for t in getattr(node, attribute)]
        if values:
            texts.append(values[0] if len(values) == 1 else "[" + ", ".join(values) + "]")
    if not texts:
        return "?"
    return texts[0] if len(set(texts)) == 1 else "multiple"


def _escape(text):
    return str(text).replace("\\", "\\\\").replace('"', '\\"')


def _quote(value):
    return f'"{_escape(value)}"'
