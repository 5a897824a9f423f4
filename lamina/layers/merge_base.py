"""The base of the merging layers: list checks, Keras broadcasting of shapes, mask merging.

`_Merge` takes a list of tensors; inputs of lower rank get size-1 axes after the
batch axis, shapes broadcast from the right, and the output mask is the OR of the
input masks (None when any input is unmasked).
"""

import torch

from lamina import ops
from lamina.engine.layer import Layer


def _is_shape_list(input_shape):
    return isinstance(input_shape, (list, tuple)) and len(input_shape) > 0 and all(
        s is None or isinstance(s, (list, tuple, torch.Size)) for s in input_shape)


def _mask_of(x):
    return getattr(x, "_keras_mask", None)


def _expand_mask(mask, x):
    """A ``(batch, ...)`` mask broadcast to the full shape of ``x`` (one more axis)."""
    mask = mask.to(device=x.device, dtype=torch.bool)
    return mask.unsqueeze(-1).expand(x.shape) if mask.dim() < x.dim() else mask


class _Merge(Layer):
    """Base of the element-wise merging layers: list checks, broadcasting, the OR of the masks."""

    supports_masking = True

    def build(self, input_shape):
        if not _is_shape_list(input_shape):
            raise ValueError(
                f"A merge layer should be called on a list of inputs. Layer '{self.name}' "
                f"({type(self).__name__}) received: input_shape={input_shape} (not a list of shapes)"
            )
        shapes = [tuple(s) for s in input_shape if s is not None]
        batch_sizes = {s[0] for s in shapes if s} - {None}
        if len(batch_sizes) > 1:
            raise ValueError(
                f"Cannot merge tensors with different batch sizes. Layer '{self.name}' ({type(self).__name__}) "
                f"received tensors with shapes {[tuple(s) for s in input_shape]}"
            )
        self._output_inner_shape([tuple(s) if s is not None else None for s in input_shape])

    def _broadcast(self, shape1, shape2):
        """The broadcast of two shapes without their batch axes, aligned from the right (Keras rules)."""
        if shape1 is None or shape2 is None:
            return None
        if len(shape1) < len(shape2):
            shape1, shape2 = shape2, shape1
        if not shape2:
            return tuple(shape1)
        out = list(shape1[:len(shape1) - len(shape2)])
        for i, j in zip(shape1[len(shape1) - len(shape2):], shape2):
            if i is None or j is None:
                out.append(None)
            elif i == 1 or j == 1:
                out.append(j if i == 1 else i)
            elif i != j:
                raise ValueError(
                    f"Inputs have incompatible shapes. Layer '{self.name}' ({type(self).__name__}) received "
                    f"shapes {tuple(shape1)} and {tuple(shape2)} (without the batch axis)"
                )
            else:
                out.append(i)
        return tuple(out)

    def _output_inner_shape(self, input_shape):
        output = None if input_shape[0] is None else tuple(input_shape[0][1:])
        for shape in input_shape[1:]:
            output = self._broadcast(output, None if shape is None else tuple(shape[1:]))
        return output

    def call(self, inputs):
        if not isinstance(inputs, (list, tuple)):
            raise ValueError(
                f"A merge layer should be called on a list of inputs. Layer '{self.name}' "
                f"({type(self).__name__}) received: inputs of type {type(inputs).__name__} (not a list of tensors)"
            )
        inputs = [x if isinstance(x, torch.Tensor) else ops.convert_to_tensor(x) for x in inputs]
        ranks = [x.dim() for x in inputs]
        if len(set(ranks)) > 1:  # lower-rank inputs get size-1 axes after the batch axis, as in Keras
            top = max(ranks)
            expanded = []
            for x in inputs:
                y = x.reshape(x.shape[:1] + (1,) * (top - x.dim()) + x.shape[1:]) if x.dim() else x
                if _mask_of(x) is not None:
                    y._keras_mask = _mask_of(x)
                expanded.append(y)
            inputs = expanded
        return self._merge_function(inputs)

    def _merge_function(self, inputs):
        raise NotImplementedError

    def _merge_with_or_mask(self, op, inputs):
        """``op`` folded over the inputs; masked entries take the other operand's value (Maximum/Minimum)."""
        output, output_mask = None, None
        for x in inputs:
            mask = _mask_of(x)
            mask = None if mask is None else _expand_mask(mask, x)
            if output is None:
                output, output_mask = x, mask
                continue
            if mask is not None:
                x = torch.where(mask, x, output)
            if output_mask is not None:
                output = torch.where(output_mask, output, x)
            output_mask = output_mask | mask if mask is not None and output_mask is not None else None
            output = op(output, x)
        if output_mask is not None:
            output._keras_mask = output_mask.any(dim=-1)
        return output

    def compute_output_shape(self, input_shape):
        if not _is_shape_list(input_shape):
            raise ValueError(
                f"A merge layer should be called on a list of inputs. Layer '{self.name}' "
                f"({type(self).__name__}) received: input_shape={input_shape}"
            )
        inner = self._output_inner_shape([tuple(s) if s is not None else None for s in input_shape])
        batch_sizes = {s[0] for s in input_shape if s} - {None}
        batch = batch_sizes.pop() if len(batch_sizes) == 1 else None
        return None if inner is None else (batch,) + inner

    def compute_mask(self, inputs, mask=None):
        if mask is None:
            return None
        _check_mask_list(self, inputs, mask)
        if any(m is None for m in mask):
            return None
        output = mask[0].to(torch.bool)
        for m in mask[1:]:
            output = output | m.to(device=output.device, dtype=torch.bool)
        return output


def _check_mask_list(layer, inputs, mask):
    if not isinstance(mask, (list, tuple)):
        raise ValueError(f"`mask` of layer '{layer.name}' should be a list. Received: mask={mask}")
    if not isinstance(inputs, (list, tuple)):
        raise ValueError(f"`inputs` of layer '{layer.name}' should be a list. Received: inputs={inputs}")
    if len(mask) != len(inputs):
        raise ValueError(
            f"The lists `inputs` and `mask` of layer '{layer.name}' should have the same length. "
            f"Received: inputs of length {len(inputs)}, and mask of length {len(mask)}"
        )
