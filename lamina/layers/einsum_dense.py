"""`EinsumDense`: a dense layer whose product is an einsum equation (``"abc,cde->abde"``).

The equation has the form ``X,Y->Z`` (``X`` input axes, ``Y`` kernel axes, ``Z``
output axes), optionally with ``...`` for unnamed leading axes (``...b,bc->...c``) or
trailing axes (``ab...,bc->ac...``). The kernel shape is read off the equation, the
input shape and ``output_shape``, as Keras does.

>>> import torch
>>> layer = EinsumDense("abc,cde->abde", output_shape=(None, 2, 4), bias_axes="de")
>>> layer(torch.ones(3, 5, 6)).shape
torch.Size([3, 5, 2, 4])
>>> [w.shape for w in layer.weights]
[(6, 2, 4), (2, 4)]
"""

import re

import torch

from lamina import activations, constraints, initializers, regularizers
from lamina.engine.layer import Layer


def analyze_equation(equation, bias_axes, input_shape, output_shape):
    """``(kernel_shape, bias_shape, full_output_shape)`` for ``equation`` on ``input_shape``."""
    plain = equation.replace("...", "0")
    patterns = ((r"([a-zA-Z]+),([a-zA-Z]+)->([a-zA-Z]+)$", False),
                (r"0([a-zA-Z]+),([a-zA-Z]+)->0([a-zA-Z]+)$", True),
                (r"([a-zA-Z]{2,})0,([a-zA-Z]+)->([a-zA-Z]+)0$", False))
    found = next(((m, is_left) for pattern, is_left in patterns if (m := re.match(pattern, plain))), None)
    if found is None:
        raise ValueError(
            f"Invalid einsum equation '{equation}'. Equations must be in the form [X],[Y]->[Z], "
            "...[X],[Y]->...[Z], or [X]...,[Y]->[Z]...."
        )
    match, left = found
    in_spec, kernel_spec, out_spec = match.groups()
    input_shape = tuple(input_shape)
    elided = len(input_shape) - len(in_spec)
    if elided < 0 or (elided and "0" not in plain):
        raise ValueError(
            f"EinsumDense equation '{equation}' expects inputs of rank {len(in_spec)}. "
            f"Received: input_shape={input_shape}"
        )
    partial = [output_shape] if isinstance(output_shape, int) else list(output_shape)
    if left:
        full = [input_shape[0]] + list(input_shape[1:elided]) + partial
        in_axis = {c: elided + i for i, c in enumerate(in_spec)}
        out_axis = {c: elided + i for i, c in enumerate(out_spec)}
    else:
        full = [input_shape[0]] + partial + list(input_shape[len(in_spec):])
        in_axis = {c: i for i, c in enumerate(in_spec)}
        out_axis = {c: i for i, c in enumerate(out_spec)}
    if len(partial) != len(out_spec) - (0 if left else 1) or (left and elided < 1):
        raise ValueError(
            f"EinsumDense `output_shape` must give the sizes of the output axes '{out_spec}' of equation "
            f"'{equation}'{'' if left else ' after the batch axis'}. Received: output_shape={output_shape!r}, "
            f"input_shape={input_shape}"
        )
    for c in in_spec:
        if c in out_axis and full[out_axis[c]] is not None and full[out_axis[c]] != input_shape[in_axis[c]]:
            raise ValueError(
                f"Input shape and output shape do not match at shared dimension '{c}'. Input shape is "
                f"{input_shape[in_axis[c]]}, and output shape is {full[out_axis[c]]}."
            )
    for c in out_spec:
        if full[out_axis[c]] is None and c in in_axis:  # a size the input decides
            full[out_axis[c]] = input_shape[in_axis[c]]
        if c not in in_spec and c not in kernel_spec:
            raise ValueError(
                f"Dimension '{c}' was specified in the output '{out_spec}' but has no corresponding dim in the "
                f"input spec '{in_spec}' or weight spec '{kernel_spec}'"
            )
    kernel_shape = []
    for c in kernel_spec:
        size = input_shape[in_axis[c]] if c in in_axis else full[out_axis[c]] if c in out_axis else None
        if size is None:
            raise ValueError(
                f"Weight dimension '{c}' did not have a known size in either the input spec '{in_spec}' or the "
                f"output spec '{out_spec}'. For this layer, the weight must be fully specified. "
                f"Received: input_shape={input_shape}, output_shape={tuple(partial)}"
            )
        kernel_shape.append(size)
    bias_shape = None
    if bias_axes:
        for c in bias_axes:
            if c not in out_spec:
                raise ValueError(f"Bias dimension '{c}' was requested, but is not part of the output spec '{out_spec}'")
        start = min(out_spec.find(c) for c in bias_axes)
        bias_shape = [full[out_axis[c]] if c in bias_axes else 1 for c in out_spec[start:]]
        if not left:
            bias_shape += [1] * elided
    return tuple(kernel_shape), None if bias_shape is None else tuple(bias_shape), tuple(full)


class EinsumDense(Layer):
    """A dense layer computed as ``einsum(equation, inputs, kernel) + bias``.

    Args:
        equation: ``"X,Y->Z"``, e.g. ``"ab,bc->ac"`` (a Dense layer) or ``"abc,cde->abde"``.
        output_shape: the output shape without the batch axis (``None`` for sizes taken
            from the input); an int for a single axis.
        activation: activation name or callable.
        bias_axes: output axis letters that get a bias (e.g. ``"de"``), or ``None``.
        kernel_initializer, bias_initializer, kernel_regularizer, bias_regularizer,
        activity_regularizer, kernel_constraint, bias_constraint: as in `Dense`.
    """

    def __init__(self, equation, output_shape, activation=None, bias_axes=None, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", kernel_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 kernel_constraint=None, bias_constraint=None, **kwargs):
        from lamina.layers.core import drop_unsupported

        super().__init__(activity_regularizer=activity_regularizer, **drop_unsupported(kwargs, "EinsumDense"))
        if not isinstance(equation, str):
            raise TypeError(f"EinsumDense expects a string `equation`. Received: equation={equation!r}")
        self.equation = equation
        self.partial_output_shape = (output_shape,) if isinstance(output_shape, int) else tuple(output_shape)
        self.bias_axes = bias_axes
        self.activation = activations.get(activation)
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.kernel_constraint = constraints.get(kernel_constraint)
        self.bias_constraint = constraints.get(bias_constraint)
        self.kernel = None
        self.bias = None

    def build(self, input_shape):
        kernel_shape, bias_shape, _ = analyze_equation(self.equation, self.bias_axes, input_shape,
                                                       self.partial_output_shape)
        self.kernel = self.add_weight(shape=kernel_shape, initializer=self.kernel_initializer,
                                      regularizer=self.kernel_regularizer, constraint=self.kernel_constraint,
                                      name="kernel")
        if bias_shape is not None:
            self.bias = self.add_weight(shape=bias_shape, initializer=self.bias_initializer,
                                        regularizer=self.bias_regularizer, constraint=self.bias_constraint,
                                        name="bias")

    def call(self, inputs):
        kernel = self.kernel.value
        if kernel.dtype != inputs.dtype:
            kernel = kernel.to(inputs.dtype) if inputs.is_floating_point() else kernel
            inputs = inputs if inputs.is_floating_point() else inputs.to(kernel.dtype)
        out = torch.einsum(self.equation, inputs, kernel)
        if self.bias is not None:
            out = out + self.bias.value.to(out.dtype)
        return self.activation(out)

    def compute_output_shape(self, input_shape):
        return analyze_equation(self.equation, self.bias_axes, input_shape, self.partial_output_shape)[2]

    def get_config(self):
        def ser(module, obj):
            return None if obj is None else module.serialize(obj)

        return {
            **super().get_config(),
            "output_shape": self.partial_output_shape,
            "equation": self.equation,
            "activation": activations.serialize(self.activation),
            "bias_axes": self.bias_axes,
            "kernel_initializer": ser(initializers, self.kernel_initializer),
            "bias_initializer": ser(initializers, self.bias_initializer),
            "kernel_regularizer": ser(regularizers, self.kernel_regularizer),
            "bias_regularizer": ser(regularizers, self.bias_regularizer),
            "activity_regularizer": ser(regularizers, self.activity_regularizer),
            "kernel_constraint": ser(constraints, self.kernel_constraint),
            "bias_constraint": ser(constraints, self.bias_constraint),
            "quantization_config": None,
        }
