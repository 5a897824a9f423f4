"""`InputSpec` and the one place where layer inputs are checked before `call`.

>>> import torch
>>> from lamina.engine.input_spec import InputSpec, assert_input_compatibility
>>> spec = InputSpec(min_ndim=2, axes={-1: 3})
>>> assert_input_compatibility(spec, [torch.zeros(1, 2)], "dense")
Traceback (most recent call last):
    ...
ValueError: Input 0 of layer "dense" is incompatible with the layer: expected axis -1 of input shape to have
value 3, but received input with shape (1, 2)
"""

from lamina.backend.dtypes import standardize_dtype


class InputSpec:
    """What a layer accepts: dtype, rank (``ndim``/``min_ndim``/``max_ndim``), fixed axes.

    Args:
        dtype: expected dtype name, or None.
        shape: full expected shape (``None`` for free dims).
        ndim, max_ndim, min_ndim: rank constraints.
        axes: ``{axis: size}`` for axes whose size is fixed.
        allow_last_axis_squeeze: accept a trailing size-1 axis in place of a missing one.
    """

    def __init__(self, dtype=None, shape=None, ndim=None, max_ndim=None, min_ndim=None, axes=None,
                 allow_last_axis_squeeze=False, name=None, optional=False):
        self.dtype = standardize_dtype(dtype) if dtype is not None else None
        self.shape = tuple(shape) if shape is not None else None
        self.ndim = len(shape) if shape is not None else ndim
        self.max_ndim = max_ndim
        self.min_ndim = min_ndim
        self.name = name
        self.optional = optional
        self.allow_last_axis_squeeze = allow_last_axis_squeeze
        self.axes = {int(k): v for k, v in (axes or {}).items()}
        if self.axes and (self.ndim is not None or self.max_ndim is not None):
            max_dim = (self.ndim if self.ndim is not None else self.max_ndim) - 1
            if max(self.axes) > max_dim:
                raise ValueError(f"Axis {max(self.axes)} is greater than the maximum allowed value: {max_dim}")

    def __repr__(self):
        fields = [f"{k}={v}" for k, v in (("dtype", self.dtype), ("shape", self.shape), ("ndim", self.ndim),
                                          ("max_ndim", self.max_ndim), ("min_ndim", self.min_ndim),
                                          ("axes", self.axes)) if v]
        return f"InputSpec({', '.join(fields)})"

    def get_config(self):
        return {"dtype": self.dtype, "shape": self.shape, "ndim": self.ndim, "max_ndim": self.max_ndim,
                "min_ndim": self.min_ndim, "axes": self.axes}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


def _shape_of(x):
    shape = getattr(x, "shape", None)
    return None if shape is None else tuple(shape)


def assert_input_compatibility(input_spec, inputs, layer_name):
    """Raises a Keras-style ValueError if ``inputs`` (a list) do not satisfy ``input_spec``."""
    specs = input_spec if isinstance(input_spec, (list, tuple)) else [input_spec]
    specs = [s for s in specs if s is not None]
    if not specs:
        return
    if len(inputs) != len(specs):
        raise ValueError(
            f'Layer "{layer_name}" expects {len(specs)} input(s), but it received {len(inputs)} input tensors. '
            f"Inputs received: {inputs}"
        )
    for index, (x, spec) in enumerate(zip(inputs, specs)):
        if x is None and spec.optional:
            continue
        shape = _shape_of(x)
        if shape is None:
            continue
        prefix = f'Input {index} of layer "{layer_name}" is incompatible with the layer: '
        ndim = len(shape)
        if spec.ndim is not None and not spec.allow_last_axis_squeeze and ndim != spec.ndim:
            raise ValueError(f"{prefix}expected ndim={spec.ndim}, found ndim={ndim}. "
                             f"Full shape received: {shape}")
        if spec.max_ndim is not None and ndim > spec.max_ndim:
            raise ValueError(f"{prefix}expected max_ndim={spec.max_ndim}, found ndim={ndim}. "
                             f"Full shape received: {shape}")
        if spec.min_ndim is not None and ndim < spec.min_ndim:
            raise ValueError(f"{prefix}expected min_ndim={spec.min_ndim}, found ndim={ndim}. "
                             f"Full shape received: {shape}")
        if spec.dtype is not None:
            dtype = standardize_dtype(x.dtype)
            if dtype != spec.dtype:
                raise ValueError(f"{prefix}expected dtype={spec.dtype}, found dtype={dtype}")
        for axis, value in spec.axes.items():
            if value is None:
                continue
            if axis >= ndim or axis < -ndim:
                raise ValueError(
                    f"{prefix}expected axis {axis} of input shape to exist, but received input with shape {shape}"
                )
            if shape[axis] is not None and shape[axis] != value:
                raise ValueError(
                    f"{prefix}expected axis {axis} of input shape to have value {value}, "
                    f"but received input with shape {shape}"
                )
        if spec.shape is not None:
            for expected, received in zip(spec.shape, shape):
                if expected is not None and received is not None and expected != received:
                    raise ValueError(f"{prefix}expected shape={spec.shape}, found shape={shape}")
