"""`Lambda`: wraps a Python function as a layer, and saves it the way Keras does.

A named function is saved by name (``{"class_name": "function", "config": "double", ...}``)
and found again through ``custom_objects`` or the registry. A Python ``lambda`` has no
name, so its bytecode is saved: base64 of ``marshal.dumps(fn.__code__)``, exactly as
Keras 3 (and tf_keras, in the Keras 2 schema) write it. Loading bytecode runs code
from a file, so `Lambda.from_config` refuses it unless safe mode is off
(``safe_mode=False``), with the error Keras users know (DESIGN.md decision 8).

>>> import torch
>>> layer = Lambda(lambda x: x * 2.0, name="double")
>>> layer(torch.ones(1, 2)).tolist()
[[2.0, 2.0]]
>>> layer.get_config()["function"]["class_name"]
'__lambda__'
"""

import base64
import binascii
import builtins
import inspect
import marshal
import types

import numpy as np
import torch

from lamina.engine.layer import Layer
from lamina.saving import registry

_UNSAFE_MESSAGE = (
    "Requested the deserialization of a `Lambda` layer whose `function` is a Python lambda. This carries a "
    "potential risk of arbitrary code execution and thus it is disallowed by default. If you trust the source of "
    "the artifact, you can override this error by passing `safe_mode=False` to the loading function "
    "(`load_model(..., safe_mode=False)`, `Lambda.from_config(config, safe_mode=False)`)."
)


def _is_python_lambda(fn):
    return isinstance(fn, types.LambdaType) and fn.__name__ == "<lambda>"


def dump_function(fn):
    """``(code, defaults, closure)`` of ``fn`` as Keras writes them (base64 text, 76-column lines)."""
    code = base64.encodebytes(marshal.dumps(fn.__code__)).decode("ascii")
    closure = tuple(cell.cell_contents for cell in fn.__closure__) if fn.__closure__ else None
    return code, fn.__defaults__, closure


def load_function(code, defaults=None, closure=None):
    """Rebuilds a function from `dump_function` output. Runs stored bytecode: callers check safe mode."""
    try:
        raw = base64.decodebytes(code.encode("ascii"))
    except (UnicodeEncodeError, binascii.Error):
        raw = code.encode("raw_unicode_escape")
    try:
        code_object = marshal.loads(raw)
    except (ValueError, EOFError, TypeError) as error:
        raise ValueError(
            "Could not load the bytecode of a `Lambda` function: it was probably written by another Python "
            "version (marshalled bytecode is specific to the CPython minor version). Re-create the Lambda in "
            "code, or save the function by name."
        ) from error
    cells = None if closure is None else tuple(types.CellType(value) for value in closure)
    import lamina

    # Names a Keras lambda commonly uses resolve to their lamina/torch equivalents.
    namespace = {"__builtins__": builtins, "keras": lamina, "lamina": lamina, "np": np, "numpy": np, "torch": torch}
    return types.FunctionType(code_object, namespace, code_object.co_name,
                              tuple(defaults) if defaults is not None else None, cells)


def serialize_function(fn):
    """A Keras 3 config for ``fn``: ``__lambda__`` bytecode, or the registered/plain function name."""
    if _is_python_lambda(fn):
        code, defaults, closure = dump_function(fn)
        return {"class_name": "__lambda__", "config": {"code": code, "defaults": defaults, "closure": closure}}
    if callable(fn) and (inspect.isfunction(fn) or inspect.isbuiltin(fn) or inspect.ismethod(fn)):
        return {"module": "builtins", "class_name": "function", "config": registry.get_registered_name(fn),
                "registered_name": "function"}
    if hasattr(fn, "get_config"):
        return registry.serialize_keras_object(fn)
    raise ValueError(f"Invalid input type for serialization: expected a function. Received: {fn!r} of type {type(fn)}")


def deserialize_function(config, safe_mode, what="function"):
    """The function a Keras 2 or Keras 3 function config describes (bytecode only if not ``safe_mode``)."""
    if isinstance(config, dict) and config.get("class_name") == "__lambda__":
        if safe_mode:
            raise registry.DeserializationError(_UNSAFE_MESSAGE)
        inner = config["config"]
        if "value" in inner:  # Keras 3 `serialize_keras_object(lambda)` form
            return load_function(*inner["value"])
        return load_function(inner["code"], inner.get("defaults"), inner.get("closure"))
    if isinstance(config, (list, tuple)) and len(config) == 3 and isinstance(config[0], str):  # Keras 2 bytecode
        if safe_mode:
            raise registry.DeserializationError(_UNSAFE_MESSAGE)
        return load_function(*config)
    name = config.get("config") if isinstance(config, dict) else config
    from lamina import activations

    fn = registry.get_registered_object(name, module_objects=activations.ALL_OBJECTS_DICT) if isinstance(
        name, str) else None
    if fn is None:
        raise registry.DeserializationError(
            f"Unknown {what} {name!r} in the config of a Lambda layer. Pass it in `custom_objects` (or use a "
            "`custom_object_scope`), or register it with `register_keras_serializable`."
        )
    return fn


class Lambda(Layer):
    """Wraps an arbitrary function of the inputs as a layer (for quick, stateless transforms).

    Args:
        function: ``f(inputs, **arguments)``; it may also take ``mask`` and ``training``.
        output_shape: the output shape without the batch axis, or a function of the
            input shape; inferred by running ``function`` on meta tensors when omitted.
        mask: a mask to set on the output, or ``f(inputs, mask)`` returning one.
        arguments: extra keyword arguments for ``function``.

    >>> import torch
    >>> Lambda(lambda x, k: x + k, arguments={"k": 1.0})(torch.zeros(1, 2)).tolist()
    [[1.0, 1.0]]
    """

    def __init__(self, function, output_shape=None, mask=None, arguments=None, **kwargs):
        super().__init__(**kwargs)
        if not callable(function):
            raise TypeError(f"Lambda expects a callable `function`. Received: function={function!r}")
        self.function = function
        self.arguments = dict(arguments or {})
        self.mask = mask
        self.supports_masking = mask is not None
        self._output_shape = tuple(output_shape) if isinstance(output_shape, list) else output_shape
        try:
            params = inspect.signature(function).parameters
        except (TypeError, ValueError):  # some builtins have no signature
            params = {}
        self._fn_takes_mask = "mask" in params
        self._fn_takes_training = "training" in params

    def call(self, inputs, mask=None, training=None):
        kwargs = dict(self.arguments)
        if self._fn_takes_mask:
            kwargs["mask"] = mask
        if self._fn_takes_training:
            kwargs["training"] = training
        return self.function(inputs, **kwargs)

    def compute_mask(self, inputs, mask=None):
        if callable(self.mask):
            return self.mask(inputs, mask)
        return self.mask

    def compute_output_shape(self, input_shape):
        if self._output_shape is None:
            return super().compute_output_shape(input_shape)
        if callable(self._output_shape):
            return self._output_shape(input_shape)
        first = input_shape[0] if input_shape and isinstance(input_shape[0], (list, tuple)) else input_shape
        batch = first[0] if first else None
        shape = self._output_shape
        if shape and isinstance(shape[0], (list, tuple)):
            return [(batch,) + tuple(s) for s in shape]
        return (batch,) + tuple(shape)

    def compute_output_spec(self, *args, **kwargs):
        """Symbolic outputs: the given ``output_shape``, else shapes and dtypes found on meta tensors."""
        from lamina.engine import symbolic

        if self._output_shape is None:
            return symbolic._infer_by_execution(self, args, kwargs)
        shapes = self.compute_output_shape(symbolic.map_structure(lambda t: t.shape, args[0]))
        return symbolic._shapes_to_specs(shapes, symbolic._default_output_dtype(self, args))

    def get_config(self):
        config = {"function": serialize_function(self.function)}
        if self._output_shape is not None:
            config["output_shape"] = (serialize_function(self._output_shape) if callable(self._output_shape)
                                      else self._output_shape)
        if self.mask is not None:
            config["mask"] = serialize_function(self.mask) if callable(self.mask) else self.mask
        config["arguments"] = registry.serialize_keras_object(self.arguments)
        return {**super().get_config(), **config}

    @classmethod
    def from_config(cls, config, custom_objects=None, safe_mode=None):
        """Rebuilds the layer; stored bytecode loads only when safe mode is off.

        Args:
            config: a Keras 3 or Keras 2 (``function_type``/``module``) Lambda config.
            custom_objects: ``{name: function}`` for functions saved by name.
            safe_mode: ``False`` allows bytecode; ``None`` follows the loader's setting.
        """
        config = dict(config)
        safe = registry.in_safe_mode() if safe_mode is None else bool(safe_mode)
        for legacy in ("function_type", "module", "output_shape_type", "output_shape_module"):
            config.pop(legacy, None)
        with registry.custom_object_scope(custom_objects or {}):
            config["function"] = deserialize_function(config["function"], safe)
            shape = config.get("output_shape")
            if isinstance(shape, dict) or (isinstance(shape, (list, tuple)) and shape and isinstance(shape[0], str)):
                config["output_shape"] = deserialize_function(shape, safe, "output_shape function")
            if isinstance(config.get("mask"), dict) or isinstance(config.get("mask"), str):
                config["mask"] = deserialize_function(config["mask"], safe, "mask function")
            if isinstance(config.get("arguments"), dict):
                config["arguments"] = {k: registry.deserialize_keras_object(v) if isinstance(v, dict) and
                                       "class_name" in v else v for k, v in config["arguments"].items()}
        return super().from_config(config)
