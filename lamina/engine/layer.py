"""`Layer`: the Keras layer, as a `torch.nn.Module`.

A layer stores its hyperparameters in ``__init__``, creates weights in
``build(input_shape)`` (run once, on the first call), computes in ``call`` and
describes itself in ``get_config``. ``__call__`` adds the Keras behaviour: lazy
build, input checks, the inherited ``training`` flag, masks, losses, and symbolic
calls on `KerasTensor` inputs. After the first call it is a few attribute checks
and ``call``.

>>> import numpy as np
>>> from lamina import layers
>>> class Scale(layers.Layer):
...     def build(self, input_shape):
...         self.w = self.add_weight(shape=(input_shape[-1],), initializer="ones", name="w")
...     def call(self, x):
...         return x * self.w
>>> layer = Scale()
>>> layer.weights
[]
>>> layer(np.ones((2, 3))).shape
torch.Size([2, 3])
>>> [w.path for w in layer.weights]
['scale/w']
"""

import functools
import inspect

import numpy as np
import torch

from lamina.backend import config
from lamina.backend.dtypes import standardize_dtype, to_torch_dtype
from lamina.backend.naming import class_snake_name, unique_name
from lamina.backend.variable import Variable
from lamina.engine.call_context import CONTEXT, clear_call_losses
from lamina.engine.input_spec import assert_input_compatibility
from lamina.engine.layer_nodes import NodeAccessMixin
from lamina.engine.tracking import TrackingMixin

# Keyword arguments every layer accepts (Keras 2 and 3 spellings).
_BASE_KWARGS = ("input_shape", "input_dim", "batch_input_shape", "batch_size", "weights", "autocast")


class Layer(TrackingMixin, NodeAccessMixin, torch.nn.Module):
    """Base class of all layers.

    Args:
        trainable: whether the layer's weights are updated by training.
        name: the layer's name; unique by default (``my_layer``, ``my_layer_1``, ...).
        dtype: the dtype of weights and computation (``'float32'`` by default), or a
            mixed-precision policy name such as ``'mixed_float16'``.
        activity_regularizer: a regularizer applied to the output, added to `losses`.
    """

    supports_masking = False
    _keras_module = "keras.layers"

    def __new__(cls, *args, **kwargs):
        # Module state exists before __init__, so subclasses may assign attributes
        # (even sublayers) before calling super().__init__(), or never call it.
        obj = super().__new__(cls)
        torch.nn.Module.__init__(obj)
        obj._init_layer_state()
        return obj

    def _init_layer_state(self):
        set_ = object.__setattr__
        set_(self, "_name", None)
        set_(self, "_trainable", True)
        set_(self, "built", False)
        set_(self, "_build_depth", 0)
        set_(self, "_layers", [])
        set_(self, "_variables", [])
        set_(self, "_variable_ids", set())
        set_(self, "_param_keys", {})
        set_(self, "_losses", [])
        set_(self, "_inbound_nodes", [])
        set_(self, "_outbound_nodes", [])
        set_(self, "_dtype_policy", _policy(None))
        set_(self, "_build_shapes", None)
        set_(self, "input_spec", None)
        set_(self, "activity_regularizer", None)
        set_(self, "_batch_input_shape", None)
        set_(self, "_initial_weights", None)
        set_(self, "_checked_input", None)

    def __init__(self, *, trainable=True, name=None, dtype=None, activity_regularizer=None, **kwargs):
        unknown = set(kwargs) - set(_BASE_KWARGS)
        if unknown:
            raise TypeError(
                f"Unrecognized keyword arguments passed to {type(self).__name__}: "
                f"{ {k: kwargs[k] for k in sorted(unknown)} }"
            )
        if name is not None:
            if not isinstance(name, str):
                raise TypeError(f"Layer name must be a string. Received: name={name!r}")
            if "/" in name:
                raise ValueError(f"Layer names cannot contain '/'. Received: name={name!r}")
        # Named at construction, as in Keras (numbering follows creation order even for unused layers).
        self._name = name if name is not None else unique_name(class_snake_name(type(self)))
        self.trainable = trainable
        self._dtype_policy = _policy(dtype)
        if activity_regularizer is not None:
            from lamina import regularizers

            self.activity_regularizer = regularizers.get(activity_regularizer)
        shape = kwargs.get("batch_input_shape")
        if shape is None and kwargs.get("input_shape") is not None:
            shape = (kwargs.get("batch_size"),) + tuple(kwargs["input_shape"])
        elif shape is None and kwargs.get("input_dim") is not None:
            shape = (kwargs.get("batch_size"), kwargs["input_dim"])
        object.__setattr__(self, "_batch_input_shape", tuple(shape) if shape is not None else None)
        object.__setattr__(self, "_initial_weights", kwargs.get("weights"))

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if "__init__" in cls.__dict__:
            cls.__init__ = _wrap_init(cls.__dict__["__init__"])
        if "build" in cls.__dict__:
            cls.build = _wrap_build(cls.__dict__["build"])
        call = cls.__dict__.get("call")
        if call is not None:
            params = inspect.signature(call).parameters
            cls._call_has_training = "training" in params
            cls._call_has_mask = "mask" in params
            cls._call_takes_varargs = any(p.kind is p.VAR_POSITIONAL for p in params.values())
        if "compute_mask" in cls.__dict__:
            cls._overrides_compute_mask = True

    _call_has_training = False
    _call_has_mask = False
    _call_takes_varargs = False
    _overrides_compute_mask = False

    # ---- identity -----------------------------------------------------------------------
    @property
    def name(self):
        if self._name is None:
            self._name = unique_name(class_snake_name(type(self)))
        return self._name

    @name.setter
    def name(self, value):
        self._name = value

    @property
    def trainable(self):
        return self._trainable

    @trainable.setter
    def trainable(self, value):
        value = bool(value)
        self._trainable = value
        for variable in self._variables:
            variable.trainable = value and variable._declared_trainable
        for layer in self._layers:
            layer.trainable = value

    @property
    def dtype(self):
        """The dtype of the layer's weights (``variable_dtype``)."""
        return self._dtype_policy.variable_dtype

    @property
    def compute_dtype(self):
        return self._dtype_policy.compute_dtype

    @property
    def variable_dtype(self):
        return self._dtype_policy.variable_dtype

    @property
    def dtype_policy(self):
        return self._dtype_policy

    @property
    def path(self):
        return self.name

    def __repr__(self):
        return f"<{type(self).__name__} name={self.name}, built={self.built}>"

    # ---- weights --------------------------------------------------------------------------
    def add_weight(self, shape=None, initializer=None, dtype=None, trainable=True, regularizer=None,
                   constraint=None, name=None, autocast=True, aggregation="none", **kwargs):
        """Creates a weight `Variable` owned by this layer and tracks it.

        ``initializer`` defaults to ``'glorot_uniform'`` for float weights and
        ``'zeros'`` otherwise, as in Keras.
        """
        from lamina import constraints, initializers, regularizers

        for legacy in ("use_resource", "synchronization", "partitioner", "experimental_autocast", "caching_device"):
            kwargs.pop(legacy, None)
        if "getter" in kwargs or kwargs:
            raise TypeError(f"Unknown keyword arguments for add_weight in layer '{self.name}': {sorted(kwargs)}")
        shape = () if shape is None else tuple(int(d) if d is not None else _bad_dim(self, name, shape) for d in shape)
        dtype = standardize_dtype(dtype or self.variable_dtype)
        if initializer is None:
            initializer = "glorot_uniform" if dtype in ("float16", "bfloat16", "float32", "float64") else "zeros"
        variable = Variable(
            initializers.get(initializer), shape=shape, dtype=dtype, trainable=trainable and self.trainable,
            name=name or "variable", constraint=constraints.get(constraint),
            path=f"{self.name}/{name or 'variable'}", aggregation=aggregation,
        )
        variable._declared_trainable = bool(trainable)
        variable.regularizer = regularizers.get(regularizer)
        self._track_variable(variable)
        return variable

    def _track_variable(self, variable):
        if not hasattr(variable, "_declared_trainable"):
            variable._declared_trainable = variable.trainable
        if variable.path == variable.name:  # created outside add_weight: give it this layer's path
            variable.path = f"{self.name}/{variable.name}"
        super()._track_variable(variable)

    # ---- building -------------------------------------------------------------------------
    def build(self, input_shape=None):
        """Creates the weights for inputs of ``input_shape``. Called once, by the first call."""
        self.built = True

    def build_from_config(self, config):
        shape = config.get("input_shape") if config else None
        if shape is not None and not self.built:
            self.build(_to_shape(shape))

    def get_build_config(self):
        if self._build_shapes is not None:
            return {"input_shape": self._build_shapes}
        return None

    def _maybe_build(self, args, kwargs):
        if self.built:
            return
        first = args[0] if args else next(iter(kwargs.values()), None)
        shape = _shape_tree(first)
        object.__setattr__(self, "_build_shapes", _unprobed(shape))
        if _overrides(self, "build"):
            extra = _build_shape_arguments(self, args, kwargs)
            if extra:
                self.build(shape, **extra)
            else:
                self.build(shape)
        self.built = True
        if self._initial_weights is not None:
            self.set_weights(self._initial_weights)
            object.__setattr__(self, "_initial_weights", None)

    # ---- calling -----------------------------------------------------------------------------
    def call(self, *args, **kwargs):
        raise NotImplementedError(f"Layer {type(self).__name__} does not have a `call()` method implemented.")

    def forward(self, *args, **kwargs):
        """torch's entry point: the same as calling the layer."""
        return self(*args, **kwargs)

    def __call__(self, *args, **kwargs):
        if args:
            first = args[0]
            if not isinstance(first, torch.Tensor):
                return self._call_converted(args, kwargs)
        elif not kwargs:
            raise ValueError(f"Layer '{self.name}' was called without inputs.")
        else:
            return self._call_converted(args, kwargs)
        if not self.built:
            self._maybe_build(args, kwargs)
        policy = self._dtype_policy
        if first.dtype != policy.torch_compute_dtype and first.is_floating_point() and policy.autocast:
            first = first.to(policy.torch_compute_dtype)
            args = (first,) + args[1:]
        spec = self.input_spec
        if spec is not None:
            if len(args) == 1:
                # Checked once per input shape: repeated calls with the same shape skip the check.
                key = (first.shape, first.dtype, id(spec))
                if key != self._checked_input:
                    assert_input_compatibility(spec, [first], self.name)
                    object.__setattr__(self, "_checked_input", key)
            else:
                assert_input_compatibility(spec, list(args), self.name)
        return self._call_eager(args, kwargs, first)

    def _call_eager(self, args, kwargs, first):
        context = CONTEXT
        if context.depth == 0 and context.loss_owners:
            clear_call_losses()
        previous_training = context.training
        if self._call_has_training:
            training = kwargs.get("training")
            if training is None:
                if previous_training is not None:
                    kwargs["training"] = previous_training
            else:
                context.training = bool(training)
        elif "training" in kwargs:
            # call() takes no `training`: the flag still reaches sublayers that do (as Keras).
            training = kwargs.pop("training")
            if training is not None:
                context.training = bool(training)
        if self._call_has_mask and kwargs.get("mask") is None:
            # A list of inputs gets the list of their masks (as Keras), one tensor its own mask.
            many = args and isinstance(args[0], (list, tuple))
            mask = _collect_masks(args[0]) if many else getattr(first, "_keras_mask", None)
            if mask is not None:
                kwargs["mask"] = mask
        context.depth += 1
        try:
            if self._dtype_policy.mixed:
                # float32 weights, half-precision math: torch.autocast casts at each op, as Keras autocasts.
                with torch.autocast(first.device.type if first is not None else "cpu",
                                    dtype=self._dtype_policy.torch_compute_dtype):
                    outputs = self.call(*args, **kwargs)
            else:
                outputs = self.call(*args, **kwargs)
        finally:
            context.depth -= 1
            context.training = previous_training
        if self.activity_regularizer is not None:
            self._add_activity_loss(outputs)
        if self.supports_masking or self._overrides_compute_mask:
            self._set_output_mask(args, kwargs, outputs)
        return outputs

    def _call_converted(self, args, kwargs):
        """The slow path: symbolic inputs, NumPy/list inputs, or inputs passed by keyword."""
        from lamina.engine import symbolic

        if symbolic.has_symbolic(args, kwargs):
            return symbolic.symbolic_call(self, args, kwargs)
        if args:
            args = (_to_tensor_tree(args[0], self._dtype_policy),) + tuple(args[1:])
            first = _first_tensor(args[0])
            if isinstance(args[0], torch.Tensor):
                return self(*args, **kwargs)
        else:
            first = None
        if not self.built:
            self._maybe_build(args, kwargs)
        if self.input_spec is not None and args:
            flat = list(args[0]) if isinstance(args[0], (list, tuple)) else [args[0]]
            assert_input_compatibility(self.input_spec, flat, self.name)
        return self._call_eager(args, kwargs, first)

    # ---- masks ---------------------------------------------------------------------------------
    def compute_mask(self, inputs, previous_mask=None):
        """The mask of the outputs; by default the input mask passes through if supported."""
        if not self.supports_masking:
            return None
        return previous_mask

    def _set_output_mask(self, args, kwargs, outputs):
        previous = kwargs.get("mask")
        if previous is None and args:
            previous = _collect_masks(args[0])
        mask = self.compute_mask(args[0] if args else None, previous)
        if mask is None:
            return
        if isinstance(outputs, torch.Tensor):
            outputs._keras_mask = mask
        elif isinstance(outputs, (list, tuple)):
            masks = mask if isinstance(mask, (list, tuple)) else [mask] * len(outputs)
            for out, m in zip(outputs, masks):
                if isinstance(out, torch.Tensor) and m is not None:
                    out._keras_mask = m

    # ---- losses ----------------------------------------------------------------------------------
    def add_loss(self, loss):
        """Adds a scalar loss (a tensor) computed in ``call``; reset at each top-level call."""
        if not isinstance(loss, torch.Tensor):
            loss = torch.as_tensor(loss, dtype=to_torch_dtype(config.floatx()))
        if not self._losses:
            CONTEXT.loss_owners.append(self)
        self._losses.append(loss)

    def _add_activity_loss(self, outputs):
        for out in outputs if isinstance(outputs, (list, tuple)) else [outputs]:
            if isinstance(out, torch.Tensor) and out.is_floating_point():
                self.add_loss(self.activity_regularizer(out))  # Keras 3: not divided by the batch size

    @property
    def losses(self):
        """Losses added during the last call (this layer and sublayers) plus weight penalties."""
        out = []
        for layer in self._flatten_layers():
            out.extend(layer._losses)
            for variable in layer._variables:
                if variable.regularizer is not None and variable.trainable:
                    out.append(variable.regularizer(variable.value))
        return out

    # ---- shapes --------------------------------------------------------------------------------------
    def compute_output_shape(self, input_shape):
        """Output shape for ``input_shape``; by default inferred by running ``call`` on meta tensors."""
        from lamina.engine import symbolic

        return symbolic.infer_output_shape(self, input_shape)

    # ---- serialization -------------------------------------------------------------------------------
    def get_config(self):
        """The constructor arguments: ``name``, ``trainable``, ``dtype`` plus subclass arguments."""
        config_ = {"name": self.name, "trainable": self.trainable, "dtype": self._dtype_policy.name}
        if self.activity_regularizer is not None:  # Keras 3 puts it here whenever it is set
            from lamina import regularizers

            config_["activity_regularizer"] = regularizers.serialize(self.activity_regularizer)
        if self._batch_input_shape is not None:
            config_["batch_input_shape"] = list(self._batch_input_shape)
        if not _is_base_get_config_only(self) or type(self).__init__ is Layer.__init__:
            return config_
        extra = set(inspect.signature(type(self).__init__).parameters) - {"self", "args", "kwargs"}
        if extra:
            raise NotImplementedError(
                f"Layer {type(self).__name__} has arguments {sorted(extra)} in `__init__()` and therefore "
                "must override `get_config()`."
            )
        return config_

    @classmethod
    def from_config(cls, config):
        """Creates a layer from `get_config()` output."""
        config = dict(config)
        dtype = config.get("dtype")
        if isinstance(dtype, dict):
            config["dtype"] = (dtype.get("config") or {}).get("name", dtype.get("class_name"))
        try:
            return cls(**config)
        except TypeError as error:
            raise TypeError(
                f"Error when deserializing class '{cls.__name__}' using config={config}.\n\n"
                f"Exception encountered: {error}"
            ) from error


# ---- helpers -----------------------------------------------------------------------------------------

def _policy(dtype):
    from lamina.mixed_precision import DTypePolicy, global_policy

    if isinstance(dtype, DTypePolicy):
        return dtype
    if isinstance(dtype, dict):  # Keras 3 serialized DTypePolicy
        dtype = (dtype.get("config") or {}).get("name")
    if dtype is not None and not isinstance(dtype, str):
        dtype = getattr(dtype, "name", None) or standardize_dtype(dtype)
    if dtype is None:
        return global_policy()
    return DTypePolicy(dtype)


def _wrap_init(init):
    """Construction errors name the layer: ``Dense 'head': Could not interpret activation ...``."""

    @functools.wraps(init)
    def wrapped(self, *args, **kwargs):
        try:
            init(self, *args, **kwargs)
        except (ValueError, TypeError) as error:
            named = getattr(error, "_lamina_named_layers", ())
            if id(self) not in named and error.args and isinstance(error.args[0], str):
                # Once per layer (a subclass's __init__ runs its parents' wrapped ones too); a layer
                # built inside another's __init__ (LSTM's cell) is named first, then its owner.
                name = kwargs.get("name") if isinstance(kwargs.get("name"), str) else self._name
                who = f"{type(self).__name__} '{name}'" if name else type(self).__name__
                error.args = (f"{who}: {error.args[0]}",) + error.args[1:]
                error._lamina_named_layers = (*named, id(self))
            raise

    return wrapped


def _wrap_build(build):
    @functools.wraps(build)
    def wrapped(self, *args, **kwargs):
        outer = self._build_depth == 0
        if outer and self.built and self._variables and not getattr(build, "_lamina_default_build", False):
            # Keras 2 behaviour shown in the seeds: building again re-creates the weights.
            for variable in list(self._variables):
                self._untrack_variable(variable)
        if outer and args:
            object.__setattr__(self, "_build_shapes", _unprobed(_plain_shape(args[0])))
        object.__setattr__(self, "_build_depth", self._build_depth + 1)
        try:
            result = build(self, *args, **kwargs)
        finally:
            object.__setattr__(self, "_build_depth", self._build_depth - 1)
        if outer:
            self.built = True
        return result

    wrapped._lamina_wrapped = True
    return wrapped


def _build_shape_arguments(layer, args, kwargs):
    """Shapes for ``build`` parameters named ``<call argument>_shape`` beyond the first (Keras 3 rule).

    ``MultiHeadAttention.build(query_shape, value_shape, key_shape=None)`` receives the shapes of
    the ``value`` and ``key`` arguments of ``call``.
    """
    names = _build_parameter_names(type(layer))
    if not names:
        return {}
    call_parameters = inspect.signature(layer.call).parameters
    try:
        bound = inspect.signature(layer.call).bind_partial(*args, **kwargs).arguments
    except TypeError:
        return {}
    extra = {}
    for name in names:
        argument = name[: -len("_shape")]
        if argument in call_parameters and bound.get(argument) is not None:
            extra[name] = _shape_tree(bound[argument])
    return extra


@functools.cache
def _build_parameter_names(cls):
    parameters = list(inspect.signature(cls.build).parameters.values())[2:]  # skip self and the first shape
    return tuple(p.name for p in parameters if p.name.endswith("_shape") and p.kind is not p.VAR_KEYWORD)


def _overrides(layer, method):
    implementation = getattr(type(layer), method)
    return implementation is not getattr(Layer, method) and not getattr(implementation, "_lamina_default_build", False)


def _is_base_get_config_only(layer):
    return type(layer).get_config is Layer.get_config


def _bad_dim(layer, name, shape):
    raise ValueError(
        f"Cannot create weight '{name}' of layer '{layer.name}' with an unknown dimension. Received: shape={shape}"
    )


def _to_shape(shape):
    if isinstance(shape, dict):
        return {k: _to_shape(v) for k, v in shape.items()}
    if isinstance(shape, (list, tuple)) and shape and isinstance(shape[0], (list, tuple, dict)):
        return [_to_shape(s) for s in shape]
    return tuple(shape) if shape is not None else None


def _plain_shape(shape):
    if isinstance(shape, torch.Size):
        return tuple(shape)
    return shape


def _unprobed(shape):
    """``shape`` with the batch size of a symbolic probe run (`lamina.engine.symbolic`) put back to None.

    A layer built inside another layer's symbolic call sees stand-in sizes for unknown dimensions; its
    recorded build shape (summary, ``build_config`` in files) must say None for the batch, as in Keras.
    """
    size = CONTEXT.probe_size
    if size is None or shape is None:
        return shape
    if isinstance(shape, list):
        return [_unprobed(s) for s in shape]
    if isinstance(shape, dict):
        return {k: _unprobed(s) for k, s in shape.items()}
    return (None, *shape[1:]) if shape and shape[0] == size else shape


def _shape_tree(x):
    if isinstance(x, (torch.Tensor, np.ndarray)) or hasattr(x, "shape") and not isinstance(x, (list, tuple, dict)):
        return tuple(x.shape)
    if isinstance(x, (list, tuple)):
        return [_shape_tree(v) for v in x]
    if isinstance(x, dict):
        return {k: _shape_tree(v) for k, v in x.items()}
    return None


def _first_tensor(x):
    if isinstance(x, torch.Tensor):
        return x
    if isinstance(x, (list, tuple)):
        for v in x:
            t = _first_tensor(v)
            if t is not None:
                return t
    if isinstance(x, dict):
        return _first_tensor(list(x.values()))
    return None


def _collect_masks(x):
    if isinstance(x, torch.Tensor):
        return getattr(x, "_keras_mask", None)
    if isinstance(x, (list, tuple)):
        masks = [getattr(v, "_keras_mask", None) for v in x]
        return None if all(m is None for m in masks) else masks
    return None


def _to_tensor_tree(x, policy):
    """Converts arrays/numbers (possibly nested) to tensors; floats take the compute dtype."""
    if isinstance(x, torch.Tensor):
        if x.is_floating_point() and x.dtype != policy.torch_compute_dtype and policy.autocast:
            return x.to(policy.torch_compute_dtype)
        return x
    if isinstance(x, Variable):
        return _to_tensor_tree(x.value, policy)
    if isinstance(x, (list, tuple)):
        if x and all(isinstance(v, (str, bytes)) for v in x):
            return x  # a list of strings, for text layers
        if x and all(isinstance(v, (int, float, bool, np.number)) for v in x):
            return _to_tensor_tree(np.asarray(x), policy)
        if x and all(isinstance(v, (list, tuple)) and v and isinstance(v[0], (int, float, np.number)) for v in x):
            return _to_tensor_tree(np.asarray(x), policy)
        return type(x)(_to_tensor_tree(v, policy) for v in x)
    if isinstance(x, dict):
        return {k: _to_tensor_tree(v, policy) for k, v in x.items()}
    if isinstance(x, (np.ndarray, np.number, int, float, bool)):
        array = np.asarray(x)
        if array.dtype.kind in "USO":
            return x  # strings (for text layers) stay as they are
        if array.dtype.kind == "f":
            dtype = policy.torch_compute_dtype if policy.autocast else torch.float32
            return torch.as_tensor(array, device=config.device()).to(dtype)
        if array.dtype.kind in "iub":
            return torch.as_tensor(array, device=config.device())
        raise TypeError(f"Unsupported input array dtype {array.dtype}. Received: {x!r}")
    if hasattr(x, "__array__") or hasattr(x, "values"):  # pandas objects and array-likes
        return _to_tensor_tree(np.asarray(x), policy)
    return x
