"""`KerasTensor`: a symbolic tensor (shape with ``None`` for unknown sizes, dtype, history).

Calling a layer on KerasTensors records a `Node` and returns new KerasTensors; a
Functional model is the graph these nodes form. Python operators and slicing on a
KerasTensor become graph nodes too.

>>> import lamina
>>> x = lamina.Input(shape=(2,), name="x")
>>> x
<KerasTensor shape=(None, 2), dtype=float32, name=x>
>>> (x * 2 + 1).shape
(None, 2)
"""

from lamina.backend.dtypes import standardize_dtype


class KerasTensor:
    """A symbolic tensor: the shape and dtype of a value that a graph will compute.

    Args:
        shape: a tuple of ints and ``None`` (unknown size, usually the batch).
        dtype: dtype name.
        sparse: whether the value is sparse (kept for Keras compatibility).
        name: a name for display.
    """

    __array_priority__ = 1000

    def __init__(self, shape, dtype="float32", sparse=False, name=None, ragged=False):
        self.shape = tuple(None if d is None else int(d) for d in shape)
        self.dtype = standardize_dtype(dtype)
        self.sparse = bool(sparse)
        self.ragged = bool(ragged)
        self.name = name
        self._keras_history = None  # (layer, node_index, tensor_index)
        self._keras_mask = None

    @property
    def ndim(self):
        return len(self.shape)

    def __repr__(self):
        return f"<KerasTensor shape={self.shape}, dtype={self.dtype}, name={self.name}>"

    def __hash__(self):
        return id(self)

    def __len__(self):
        raise TypeError("A symbolic KerasTensor has no length: it holds no data until the model is called.")

    def __bool__(self):
        raise TypeError(
            "A symbolic KerasTensor cannot be used as a Python bool (e.g. in `if x:`): it holds no data "
            "until the model is called. Use lamina.ops.cond or lamina.ops.where instead."
        )

    def __iter__(self):
        if self.shape and self.shape[0] is not None:
            return (self[i] for i in range(self.shape[0]))
        raise TypeError("Cannot iterate over a KerasTensor whose first dimension is unknown.")

    def __array__(self, dtype=None, copy=None):
        raise TypeError(
            "A KerasTensor is symbolic: it cannot be converted to a NumPy array. You are probably passing it "
            "to a NumPy or torch function that expects real data; use lamina.ops or a layer instead."
        )

    def numpy(self):
        self.__array__()

    def __getitem__(self, key):
        return _op("getitem", self, key)

    # Arithmetic and comparison build graph nodes through lamina.ops.
    @property
    def T(self):
        return _op("transpose", self)


def _op(name, *args, **kwargs):
    from lamina.engine.symbolic import symbolic_op

    return symbolic_op(name, args, kwargs)


def _binary(name, reflected=False):
    if reflected:
        return lambda self, other: _op(name, other, self)
    return lambda self, other: _op(name, self, other)


for _method, _name in {
    "add": "add", "sub": "subtract", "mul": "multiply", "truediv": "divide", "floordiv": "floor_divide",
    "mod": "mod", "pow": "power", "matmul": "matmul", "and": "logical_and", "or": "logical_or",
    "xor": "logical_xor",
}.items():
    setattr(KerasTensor, f"__{_method}__", _binary(_name))
    setattr(KerasTensor, f"__r{_method}__", _binary(_name, reflected=True))

for _method, _name in {"lt": "less", "le": "less_equal", "gt": "greater", "ge": "greater_equal",
                       "eq": "equal", "ne": "not_equal"}.items():
    setattr(KerasTensor, f"__{_method}__", _binary(_name))

KerasTensor.__neg__ = lambda self: _op("negative", self)
KerasTensor.__pos__ = lambda self: self
KerasTensor.__abs__ = lambda self: _op("absolute", self)
KerasTensor.__invert__ = lambda self: _op("logical_not", self)


def is_keras_tensor(x):
    return isinstance(x, KerasTensor)
