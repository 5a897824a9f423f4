"""A layer's view of the graph: the inputs and outputs of each of its calls (nodes).

``layer.output`` is the output of the layer's first call, as in Keras 3; a shared
layer's other calls are reached with ``get_output_at(node_index)``.
"""


class NodeAccessMixin:
    """``input``/``output``/``*_shape`` and the ``get_*_at(node_index)`` accessors, for `Layer`."""

    def _node_attribute(self, node_index, attribute, what):
        if not self._inbound_nodes:
            raise AttributeError(
                f"The layer '{self.name}' has never been called and thus has no defined {what}."
            )
        if not 0 <= node_index < len(self._inbound_nodes):
            raise ValueError(
                f"Asked to get {what} at node {node_index}, but the layer '{self.name}' has only "
                f"{len(self._inbound_nodes)} inbound nodes."
            )
        node = self._inbound_nodes[node_index]
        values = node.input_tensors if attribute == "inputs" else node.output_tensors
        return values[0] if len(values) == 1 else list(values)

    def get_input_at(self, node_index):
        return self._node_attribute(node_index, "inputs", "input")

    def get_output_at(self, node_index):
        return self._node_attribute(node_index, "outputs", "output")

    def get_input_shape_at(self, node_index):
        return _shapes(self.get_input_at(node_index))

    def get_output_shape_at(self, node_index):
        return _shapes(self.get_output_at(node_index))

    @property
    def input(self):
        """The input tensor(s) of the layer's first call."""
        return self.get_input_at(0)

    @property
    def output(self):
        """The output tensor(s) of the layer's first call."""
        return self.get_output_at(0)

    @property
    def input_shape(self):
        return self.get_input_shape_at(0)

    @property
    def output_shape(self):
        return self.get_output_shape_at(0)

    @property
    def inbound_nodes(self):
        return list(self._inbound_nodes)

    @property
    def outbound_nodes(self):
        return list(self._outbound_nodes)


def _shapes(tensors):
    if isinstance(tensors, list):
        return [t.shape for t in tensors]
    return tensors.shape
