"""Calling layers and ops on KerasTensors: output shapes by abstract execution.

A layer called on KerasTensors either answers with its own ``compute_output_shape``
or runs its ``call`` under torch's fake-tensor mode (meta tensors: shapes and dtypes,
no memory, no compute, no effect on real state). Unknown sizes (``None``) are found
by running twice with two different stand-in sizes and comparing the results.
"""

import operator

import torch
from torch._subclasses.fake_tensor import FakeTensorMode

from lamina.backend.dtypes import standardize_dtype, to_torch_dtype
from lamina.engine.call_context import CONTEXT, clear_call_losses
from lamina.engine.input_spec import assert_input_compatibility
from lamina.engine.keras_tensor import KerasTensor
from lamina.engine.node import Node, flatten, map_structure


class _Spec:
    """A leaf of an output structure: shape and dtype (not a tuple, so structures stay unambiguous)."""

    __slots__ = ("shape", "dtype")

    def __init__(self, shape, dtype):
        self.shape = tuple(shape)
        self.dtype = dtype


# Two stand-in sizes for unknown dimensions; outputs that differ between them are unknown.
_PROBE_SIZES = (43, 47)


def has_symbolic(args, kwargs):
    """Whether any argument (one level of nesting deep) is a KerasTensor."""
    for value in args:
        if _contains_keras_tensor(value):
            return True
    for value in kwargs.values():
        if _contains_keras_tensor(value):
            return True
    return False


def _contains_keras_tensor(value, depth=0):
    if isinstance(value, KerasTensor):
        return True
    if depth < 3 and isinstance(value, (list, tuple)):
        return any(_contains_keras_tensor(v, depth + 1) for v in value)
    if depth < 3 and isinstance(value, dict):
        return any(_contains_keras_tensor(v, depth + 1) for v in value.values())
    return False


def symbolic_call(layer, args, kwargs):
    """``layer(*args, **kwargs)`` on KerasTensors: builds, infers outputs, records a Node."""
    if not layer.built:
        layer._maybe_build(args, kwargs)
    if layer.input_spec is not None and args:
        inputs = flatten(args[0]) if isinstance(args[0], (list, tuple, dict)) else [args[0]]
        assert_input_compatibility(layer.input_spec, inputs, layer.name)
    specs = _output_specs(layer, args, kwargs)
    base = layer.name
    counter = iter(range(1_000_000))

    def to_keras_tensor(spec):
        index = next(counter)
        return KerasTensor(spec.shape, spec.dtype, name=base if index == 0 else f"{base}_{index}")

    outputs = map_structure(to_keras_tensor, specs)
    Node(layer, args, kwargs, outputs)
    return outputs


def _overrides_compute_output_shape(layer):
    from lamina.engine.layer import Layer

    return type(layer).compute_output_shape is not Layer.compute_output_shape


def _output_specs(layer, args, kwargs):
    if hasattr(layer, "compute_output_spec"):
        result = layer.compute_output_spec(*args, **kwargs)
        return map_structure(lambda t: _Spec(t.shape, t.dtype), result)
    if _overrides_compute_output_shape(layer):
        input_shape = map_structure(lambda t: t.shape if isinstance(t, KerasTensor) else t, args[0])
        shapes = layer.compute_output_shape(input_shape)
        dtype = _default_output_dtype(layer, args)
        return _shapes_to_specs(shapes, dtype)
    return _infer_by_execution(layer, args, kwargs)


def map_shapes(fn, shapes):
    """``fn`` applied to each shape of ``shapes``: one shape, or (nested) lists and dicts of shapes.

    >>> map_shapes(len, [(None, 3), {"b": (None, 4, 2)}])
    [2, {'b': 3}]
    """
    if isinstance(shapes, dict):
        return {key: map_shapes(fn, value) for key, value in shapes.items()}
    if isinstance(shapes, (list, tuple)) and shapes and all(isinstance(s, (list, tuple, dict)) for s in shapes):
        return [map_shapes(fn, value) for value in shapes]
    return fn(tuple(shapes))


def _shapes_to_specs(shapes, dtype):
    return map_shapes(lambda shape: _Spec(shape, dtype), shapes)


def _default_output_dtype(layer, args):
    first = next((t for t in flatten(args) if isinstance(t, KerasTensor)), None)
    if first is not None and first.dtype not in ("float16", "bfloat16", "float32", "float64") and not layer._variables:
        return first.dtype
    return layer.compute_dtype


def _infer_by_execution(layer, args, kwargs):
    runs = [_run_fake(layer, args, kwargs, size) for size in _PROBE_SIZES]
    flat_a, flat_b = flatten(runs[0]), flatten(runs[1])

    def merge(a, b):
        if not isinstance(a, torch.Tensor):
            raise TypeError(
                f"Layer '{layer.name}' returned a {type(a).__name__} from `call()` on symbolic inputs; "
                "layer outputs must be tensors (or nested lists/dicts of tensors)."
            )
        shape = tuple(x if x == y else None for x, y in zip(a.shape, b.shape))
        return _Spec(shape, standardize_dtype(a.dtype))

    merged = iter([merge(a, b) for a, b in zip(flat_a, flat_b)])
    return map_structure(lambda _: next(merged), runs[0])


def _run_fake(layer, args, kwargs, size):
    mode = FakeTensorMode(allow_non_fake_inputs=True)
    owners_before = len(CONTEXT.loss_owners)
    outer_probe_size = CONTEXT.probe_size
    CONTEXT.depth += 1
    CONTEXT.probe_size = size
    try:
        with mode, torch.no_grad():
            def fake(value):
                if isinstance(value, KerasTensor):
                    shape = tuple(size if d is None else d for d in value.shape)
                    return torch.empty(shape, dtype=to_torch_dtype(value.dtype))
                return value

            fake_args = map_structure(fake, args)
            fake_kwargs = map_structure(fake, kwargs)
            if layer._call_has_training and fake_kwargs.get("training") is None and CONTEXT.training is not None:
                fake_kwargs["training"] = CONTEXT.training
            return layer.call(*fake_args, **fake_kwargs)
    except Exception as error:  # the layer's own error, re-raised with the layer named
        if not _reraisable(error):
            raise
        shapes = [t.shape for t in flatten((args, kwargs)) if isinstance(t, KerasTensor)]
        raise type(error)(
            f"Exception encountered when calling layer '{layer.name}' ({type(layer).__name__}) on "
            f"symbolic inputs with shapes {shapes}: {error}"
        ) from error
    finally:
        CONTEXT.depth -= 1
        CONTEXT.probe_size = outer_probe_size
        if len(CONTEXT.loss_owners) > owners_before:
            clear_call_losses()  # losses computed on fake tensors are not real losses


def _reraisable(error):
    try:
        type(error)("probe")
        return isinstance(error, (ValueError, TypeError, RuntimeError, IndexError, NotImplementedError))
    except Exception:
        return False


def infer_output_shape(layer, input_shape):
    """Default `Layer.compute_output_shape`: run ``call`` on fake inputs of ``input_shape``."""
    inputs = map_shapes(lambda shape: KerasTensor(shape, layer.compute_dtype), input_shape)
    if not layer.built:
        layer._maybe_build((inputs,), {})
    specs = _infer_by_execution(layer, (inputs,), {})
    return map_structure(lambda spec: spec.shape, specs)


# ---- ops on KerasTensors -------------------------------------------------------------------------

def symbolic_op(name, args, kwargs):
    """Records ``lamina.ops.<name>(*args, **kwargs)`` on KerasTensors as a graph node."""
    from lamina.engine.op_layer import op_layer_class

    layer = op_layer_class(name)(kwargs={k: v for k, v in kwargs.items() if not _contains_keras_tensor(v)})
    return layer(*args)


OPERATORS = {
    "add": operator.add, "subtract": operator.sub, "multiply": operator.mul, "divide": operator.truediv,
    "floor_divide": operator.floordiv, "mod": operator.mod, "power": operator.pow, "matmul": operator.matmul,
    "less": operator.lt, "less_equal": operator.le, "greater": operator.gt, "greater_equal": operator.ge,
    "equal": operator.eq, "not_equal": operator.ne, "negative": operator.neg, "absolute": operator.abs,
    "getitem": operator.getitem, "logical_and": torch.logical_and, "logical_or": torch.logical_or,
    "logical_xor": torch.logical_xor, "logical_not": torch.logical_not,
}
