"""Merging layers: Add, Subtract, Multiply, Average, Maximum, Minimum, Concatenate, Dot.

Each layer is called on a list of tensors. The element-wise layers broadcast as
Keras does: shapes are aligned from the right, size-1 axes stretch, and inputs of
lower rank get size-1 axes inserted after the batch axis. Masks (``_keras_mask``
on the inputs) are merged as in Keras 3. The lower-case functions build the layer
and call it.

>>> import torch
>>> from lamina import layers
>>> layers.add([torch.ones(2, 3), torch.ones(2, 3)]).tolist()
[[2.0, 2.0, 2.0], [2.0, 2.0, 2.0]]
>>> layers.concatenate([torch.zeros(2, 3), torch.ones(2, 1)], axis=-1).shape
torch.Size([2, 4])
>>> layers.Dot(axes=1)([torch.ones(2, 3), torch.ones(2, 3)]).tolist()
[[3.0], [3.0]]
"""

import torch

from lamina.layers.concatenate_dot import Concatenate, Dot, batch_dot
from lamina.layers.merge_base import _expand_mask, _mask_of, _Merge

__all__ = ["Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum", "Concatenate", "Dot", "add", "subtract",
           "multiply", "average", "maximum", "minimum", "concatenate", "dot", "batch_dot"]


class Add(_Merge):
    """Element-wise sum of a list of inputs (broadcast as Keras).

    >>> import torch
    >>> Add()([torch.ones(1, 2), torch.full((1, 2), 2.0)]).tolist()
    [[3.0, 3.0]]
    """

    def _merge_function(self, inputs):
        output = inputs[0]
        for x in inputs[1:]:
            output = output + x
        return output


class Subtract(_Merge):
    """``inputs[0] - inputs[1]``, for exactly two inputs.

    >>> import torch
    >>> Subtract()([torch.ones(1, 2), torch.full((1, 2), 2.0)]).tolist()
    [[-1.0, -1.0]]
    """

    def build(self, input_shape):
        super().build(input_shape)
        if len(input_shape) != 2:
            raise ValueError(
                f"A `Subtract` layer should be called on exactly 2 inputs. Layer '{self.name}' received: "
                f"input_shape={[tuple(s) for s in input_shape]}"
            )

    def _merge_function(self, inputs):
        if len(inputs) != 2:
            raise ValueError(
                f"A `Subtract` layer should be called on exactly 2 inputs. Layer '{self.name}' received "
                f"{len(inputs)} inputs."
            )
        return inputs[0] - inputs[1]


class Multiply(_Merge):
    """Element-wise product of a list of inputs; masked entries count as 1 (and 0 in a masked output).

    >>> import torch
    >>> Multiply()([torch.full((1, 2), 3.0), torch.full((1, 2), 2.0)]).tolist()
    [[6.0, 6.0]]
    """

    def _merge_function(self, inputs):
        masks = [_mask_of(x) for x in inputs]
        all_masked = all(m is not None for m in masks)
        output, output_mask = None, None
        for x, mask in zip(inputs, masks):
            if mask is not None:
                mask = _expand_mask(mask, x)
                x = torch.where(mask, x, torch.ones((), dtype=x.dtype, device=x.device))
                if all_masked:
                    output_mask = mask if output_mask is None else output_mask | mask
            output = x if output is None else output * x
        if all_masked:
            output = torch.where(output_mask, output, torch.zeros((), dtype=output.dtype, device=output.device))
            output._keras_mask = output_mask.any(dim=-1)
        return output


class Average(_Merge):
    """Element-wise mean of a list of inputs.

    >>> import torch
    >>> Average()([torch.ones(1, 2), torch.full((1, 2), 3.0)]).tolist()
    [[2.0, 2.0]]
    """

    def _merge_function(self, inputs):
        output = inputs[0]
        for x in inputs[1:]:
            output = output + x
        return output / len(inputs)


class Maximum(_Merge):
    """Element-wise maximum of a list of inputs; masked entries do not compete.

    >>> import torch
    >>> Maximum()([torch.tensor([[1.0, 5.0]]), torch.tensor([[3.0, 2.0]])]).tolist()
    [[3.0, 5.0]]
    """

    def _merge_function(self, inputs):
        return self._merge_with_or_mask(torch.maximum, inputs)


class Minimum(_Merge):
    """Element-wise minimum of a list of inputs; masked entries do not compete.

    >>> import torch
    >>> Minimum()([torch.tensor([[1.0, 5.0]]), torch.tensor([[3.0, 2.0]])]).tolist()
    [[1.0, 2.0]]
    """

    def _merge_function(self, inputs):
        return self._merge_with_or_mask(torch.minimum, inputs)


def add(inputs, **kwargs):
    """Functional form of `Add`: ``Add(**kwargs)(inputs)``."""
    return Add(**kwargs)(inputs)


def subtract(inputs, **kwargs):
    """Functional form of `Subtract`: ``Subtract(**kwargs)(inputs)``."""
    return Subtract(**kwargs)(inputs)


def multiply(inputs, **kwargs):
    """Functional form of `Multiply`: ``Multiply(**kwargs)(inputs)``."""
    return Multiply(**kwargs)(inputs)


def average(inputs, **kwargs):
    """Functional form of `Average`: ``Average(**kwargs)(inputs)``."""
    return Average(**kwargs)(inputs)


def maximum(inputs, **kwargs):
    """Functional form of `Maximum`: ``Maximum(**kwargs)(inputs)``."""
    return Maximum(**kwargs)(inputs)


def minimum(inputs, **kwargs):
    """Functional form of `Minimum`: ``Minimum(**kwargs)(inputs)``."""
    return Minimum(**kwargs)(inputs)


def concatenate(inputs, axis=-1, **kwargs):
    """Functional form of `Concatenate`: ``Concatenate(axis=axis, **kwargs)(inputs)``."""
    return Concatenate(axis=axis, **kwargs)(inputs)


def dot(inputs, axes=-1, **kwargs):
    """Functional form of `Dot`: ``Dot(axes=axes, **kwargs)(inputs)`` (``normalize`` goes in ``kwargs``)."""
    return Dot(axes=axes, **kwargs)(inputs)
