"""`Concatenate` and `Dot`: the merging layers that combine along an axis.

``batch_dot`` is the stateless twin of `Dot`: a per-sample tensor contraction over
one axis of each input, with the Keras output layout (the first input's remaining
axes, then the second's without its batch axis; a rank-1 result becomes
``(batch, 1)``).

>>> import torch
>>> batch_dot(torch.ones(2, 3, 4), torch.ones(2, 4, 5), axes=(2, 1)).shape
torch.Size([2, 3, 5])
"""

import torch

from lamina import ops
from lamina.layers.merge_base import _check_mask_list, _is_shape_list, _Merge


def _resolve_axes(axes, rank1, rank2):
    """Dot ``axes`` as two non-negative axes for inputs of ranks ``rank1`` and ``rank2``."""
    pair = (axes, axes) if isinstance(axes, int) else tuple(axes)
    return pair[0] % rank1, pair[1] % rank2


def batch_dot(x, y, axes=None):
    """Batch-wise dot product of ``x`` and ``y`` (both of rank >= 2) over ``axes``.

    Args:
        x, y: tensors with the same batch size.
        axes: an int (the same axis of both) or a pair ``(axis_x, axis_y)``; the default
            contracts the last axis of ``x`` with the last (rank 2) or second-to-last axis of ``y``.

    Returns:
        A tensor of shape ``x.shape`` without ``axis_x`` followed by ``y.shape[1:]``
        without ``axis_y``; ``(batch, 1)`` when that leaves only the batch axis.
    """
    if x.dim() < 2 or y.dim() < 2:
        raise ValueError(
            f"Cannot do batch_dot on inputs with rank < 2. Received inputs with shapes {tuple(x.shape)} and "
            f"{tuple(y.shape)}."
        )
    if x.shape[0] != y.shape[0]:
        raise ValueError(
            f"Cannot do batch_dot on inputs with different batch sizes. Received inputs with shapes "
            f"{tuple(x.shape)} and {tuple(y.shape)}."
        )
    if axes is None:
        axes = (x.dim() - 1, y.dim() - 1 if y.dim() == 2 else y.dim() - 2)
    ax, ay = _resolve_axes(axes, x.dim(), y.dim())
    if ax == 0 or ay == 0:
        raise ValueError(
            "Cannot perform batch_dot over axis 0. If your inputs are not batched, add a dummy batch dimension "
            f"to your inputs using ops.expand_dims(x, 0). Received: axes={axes}"
        )
    if x.shape[ax] != y.shape[ay]:
        raise ValueError(
            f"Cannot do batch_dot on inputs with shapes {tuple(x.shape)} and {tuple(y.shape)} with axes={axes}. "
            f"x.shape[{ax}] != y.shape[{ay}] ({x.shape[ax]} != {y.shape[ay]})."
        )
    x = x.movedim(ax, -1)
    y = y.movedim(ay, 1)
    batch, depth = x.shape[0], x.shape[-1]
    x_mid, y_trail = x.shape[1:-1], y.shape[2:]
    result = torch.bmm(x.reshape(batch, -1, depth), y.reshape(batch, depth, -1))
    result = result.reshape((batch,) + tuple(x_mid) + tuple(y_trail))
    return result.reshape(batch, 1) if result.dim() == 1 else result


class Concatenate(_Merge):
    """Concatenates a list of inputs along ``axis``.

    All inputs have the same shape except along ``axis``. Masks are concatenated
    too: an unmasked input counts as all-True; the output mask is the concatenated
    mask reduced with ``any`` over the last axis, as in Keras.

    Args:
        axis: the concatenation axis (``-1`` by default).

    >>> import torch
    >>> Concatenate(axis=1)([torch.zeros(2, 2, 5), torch.zeros(2, 1, 5)]).shape
    torch.Size([2, 3, 5])
    """

    def __init__(self, axis=-1, **kwargs):
        super().__init__(**kwargs)
        if isinstance(axis, bool) or not isinstance(axis, int):
            raise TypeError(f"The `axis` argument of Concatenate must be an int. Received: axis={axis!r}")
        self.axis = axis

    def build(self, input_shape):
        if not _is_shape_list(input_shape):
            raise ValueError(
                f"A `Concatenate` layer should be called on a list of at least 1 input. Layer '{self.name}' "
                f"received: input_shape={input_shape}"
            )
        shapes = [tuple(s) for s in input_shape if s is not None]
        if not shapes:
            return
        error = ValueError(
            "A `Concatenate` layer requires inputs with matching shapes except for the concatenation axis. "
            f"Layer '{self.name}' received: input_shape={[tuple(s) if s is not None else None for s in input_shape]}"
        )
        if len({len(s) for s in shapes}) != 1:
            raise error
        rank = len(shapes[0])
        if not -rank <= self.axis < rank:
            raise ValueError(
                f"Layer '{self.name}' (Concatenate) cannot concatenate inputs of rank {rank} along axis "
                f"{self.axis}. Received: input_shape={[tuple(s) for s in shapes]}"
            )
        concat_axis = self.axis % rank
        for axis in range(rank):
            sizes = {s[axis] for s in shapes if s[axis] is not None}
            if axis != concat_axis and len(sizes) > 1:
                raise error

    def call(self, inputs):
        if not isinstance(inputs, (list, tuple)):
            raise ValueError(
                f"A `Concatenate` layer should be called on a list of inputs. Layer '{self.name}' received: "
                f"inputs of type {type(inputs).__name__}"
            )
        inputs = [x if isinstance(x, torch.Tensor) else ops.convert_to_tensor(x) for x in inputs]
        return torch.cat(inputs, dim=self.axis)

    def compute_output_shape(self, input_shape):
        if not _is_shape_list(input_shape):
            raise ValueError(
                f"A `Concatenate` layer should be called on a list of inputs. Layer '{self.name}' received: "
                f"input_shape={input_shape}"
            )
        output = list(input_shape[0])
        for shape in input_shape[1:]:
            if output[self.axis] is None or shape[self.axis] is None:
                output[self.axis] = None
                break
            output[self.axis] += shape[self.axis]
        return tuple(output)

    def compute_mask(self, inputs, mask=None):
        if mask is None:
            return None
        _check_mask_list(self, inputs, mask)
        if all(m is None for m in mask):
            return None
        masks = []
        for x, m in zip(inputs, mask):
            if m is None:
                masks.append(torch.ones(x.shape, dtype=torch.bool, device=x.device))
            else:
                m = m.to(device=x.device, dtype=torch.bool)
                masks.append(m.unsqueeze(-1).expand(x.shape) if m.dim() < x.dim() else m)
        return torch.cat(masks, dim=self.axis).any(dim=-1)

    def get_config(self):
        return {**super().get_config(), "axis": self.axis}


class Dot(_Merge):
    """Per-sample dot product of two inputs along ``axes`` (see `batch_dot`).

    Args:
        axes: an int, or a pair of ints (one axis per input); the two axes must have
            the same size. Axis 0 (the batch) cannot be contracted.
        normalize: whether to L2-normalize both inputs along their ``axes`` first
            (the output is then the cosine similarity).

    >>> import torch
    >>> Dot(axes=(1, 2))([torch.ones(1, 5, 2), torch.ones(1, 2, 5)]).shape
    torch.Size([1, 2, 2])
    >>> Dot(axes=1, normalize=True)([torch.tensor([[3.0, 4.0]]), torch.tensor([[3.0, 4.0]])]).tolist()
    [[1.0]]
    """

    def __init__(self, axes, normalize=False, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(axes, int):
            if not isinstance(axes, (list, tuple)):
                raise TypeError(f"Invalid type for argument `axes` of Dot: it should be a list or an int. "
                                f"Received: axes={axes!r}")
            if len(axes) != 2:
                raise ValueError(f"Invalid format for argument `axes` of Dot: it should contain two elements. "
                                 f"Received: axes={axes!r}")
            if not all(isinstance(a, int) and not isinstance(a, bool) for a in axes):
                raise ValueError(f"Invalid format for argument `axes` of Dot: list elements should be integers. "
                                 f"Received: axes={axes!r}")
        self.axes = axes if isinstance(axes, int) else list(axes)  # a pair reads back from JSON as a list
        self.normalize = normalize

    def build(self, input_shape):
        if not _is_shape_list(input_shape) or len(input_shape) != 2:
            raise ValueError(
                f"A `Dot` layer should be called on a list of 2 inputs. Layer '{self.name}' received: "
                f"input_shape={input_shape}"
            )
        shape1, shape2 = input_shape
        if shape1 is None or shape2 is None:
            return
        ax, ay = _resolve_axes(self.axes, len(shape1), len(shape2))
        if ax == 0 or ay == 0:
            raise ValueError(
                f"Layer '{self.name}' (Dot) cannot take the dot product over axis 0 (the batch axis). "
                f"Received: axes={self.axes}"
            )
        if shape1[ax] is not None and shape2[ay] is not None and shape1[ax] != shape2[ay]:
            raise ValueError(
                f"Incompatible input shapes for layer '{self.name}' (Dot): axis values {shape1[ax]} (at axis {ax}) "
                f"!= {shape2[ay]} (at axis {ay}). Full input shapes: {tuple(shape1)}, {tuple(shape2)}"
            )

    def _merge_function(self, inputs):
        if len(inputs) != 2:
            raise ValueError(
                f"A `Dot` layer should be called on exactly 2 inputs. Layer '{self.name}' received "
                f"{len(inputs)} inputs."
            )
        x, y = inputs
        axes = _resolve_axes(self.axes, x.dim(), y.dim())
        if self.normalize:
            x = ops.normalize(x, axis=axes[0])
            y = ops.normalize(y, axis=axes[1])
        return batch_dot(x, y, axes)

    def call(self, inputs):
        if not isinstance(inputs, (list, tuple)):
            raise ValueError(
                f"A `Dot` layer should be called on a list of 2 inputs. Layer '{self.name}' received: inputs of "
                f"type {type(inputs).__name__}"
            )
        inputs = [x if isinstance(x, torch.Tensor) else ops.convert_to_tensor(x) for x in inputs]
        return self._merge_function(inputs)

    def compute_output_shape(self, input_shape):
        if not _is_shape_list(input_shape) or len(input_shape) != 2:
            raise ValueError(
                f"A `Dot` layer should be called on a list of 2 inputs. Layer '{self.name}' received: "
                f"input_shape={input_shape}"
            )
        shape1, shape2 = list(input_shape[0]), list(input_shape[1])
        ax, ay = _resolve_axes(self.axes, len(shape1), len(shape2))
        shape1.pop(ax)
        shape2.pop(ay)
        output = shape1 + shape2[1:]
        return tuple(output + [1] if len(output) == 1 else output)

    def compute_mask(self, inputs, mask=None):
        return None

    def get_config(self):
        return {**super().get_config(), "axes": self.axes, "normalize": self.normalize}
