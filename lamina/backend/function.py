"""`lamina.function`: ``tf.function`` as `torch.compile`.

Decorates a Python function, a method or a layer/model so that it runs as a
compiled graph. Results are those of the eager code; only speed changes. The
first call runs eagerly, so lazy layers build their weights (and optimizers their
state) outside the compiler; later calls run the compiled graph.
``lamina.config.run_functions_eagerly(True)`` or ``jit_compile=False`` run the
Python code as it is, for debugging.

>>> import torch, lamina
>>> @lamina.function(jit_compile=False)
... def scaled_sum(x, scale=2.0):
...     return (x * scale).sum()
>>> scaled_sum(torch.ones(3))
tensor(6.)
"""

import functools
import weakref

import torch

from lamina.backend import config


class Function:
    """A callable that runs ``python_function`` through `torch.compile`.

    Args:
        python_function: the function, bound method or layer to run.
        jit_compile: compile with `torch.compile` (``True``/``None``) or run eagerly (``False``).
        reduce_retracing: compile shape-generic code once (``dynamic=True``) instead of
            specializing on the first shapes seen.
        input_signature: accepted for TensorFlow compatibility; a signature with unknown
            (``None``) dimensions compiles shape-generic code.
        backend: the `torch.compile` backend (``lamina.config.compile_backend()``, ``'inductor'`` by default).
        mode: the `torch.compile` mode (e.g. ``'reduce-overhead'``).
        fullgraph: require one graph without Python fallbacks.
    """

    def __init__(self, python_function, *, jit_compile=True, reduce_retracing=False, input_signature=None,
                 backend=None, mode=None, fullgraph=False, name=None):
        if not callable(python_function):
            raise TypeError(
                "lamina.function expects a callable (function, method, layer or model). "
                f"Received: func={python_function!r}"
            )
        if jit_compile not in (True, False, None):
            raise ValueError(f"`jit_compile` must be True, False or None. Received: jit_compile={jit_compile!r}")
        self.python_function = python_function
        self.jit_compile = jit_compile is not False
        self.reduce_retracing = bool(reduce_retracing)
        self.input_signature = input_signature
        self._compile_options = {"backend": backend or config.compile_backend(), "mode": mode,
                                 "fullgraph": bool(fullgraph)}
        dynamic = True if self.reduce_retracing or _has_unknown_dims(input_signature) else None
        self._compile_options["dynamic"] = dynamic
        self._compiled = None
        self._warmed_up = False
        self._bound = weakref.WeakKeyDictionary()  # instance -> Function for decorated methods
        self._name = name or getattr(python_function, "__name__", type(python_function).__name__)
        if not isinstance(python_function, torch.nn.Module):
            functools.update_wrapper(self, python_function, updated=())

    @property
    def name(self):
        return self._name

    def __call__(self, *args, **kwargs):
        if not self.jit_compile or config.functions_run_eagerly():
            return self.python_function(*args, **kwargs)
        if not self._warmed_up:
            # Eager first call: lazy builds and variable creation stay out of the compiler.
            result = self.python_function(*args, **kwargs)
            self._warmed_up = True
            return result
        if self._compiled is None:
            self._compiled = torch.compile(self.python_function, **self._compile_options)
        return self._compiled(*args, **kwargs)

    def __get__(self, instance, owner=None):
        # ``@lamina.function`` on a method: one compiled function per instance.
        if instance is None:
            return self
        try:
            bound = self._bound.get(instance)
        except TypeError:  # instance not weak-referenceable / hashable: no caching
            bound = None
        if bound is None:
            bound = Function(
                self.python_function.__get__(instance, owner), jit_compile=self.jit_compile,
                reduce_retracing=self.reduce_retracing, input_signature=self.input_signature,
                name=self._name, **{k: v for k, v in self._compile_options.items() if k != "dynamic"},
            )
            bound._compile_options["dynamic"] = self._compile_options["dynamic"]
            try:
                self._bound[instance] = bound
            except TypeError:
                pass
        return bound

    def __repr__(self):
        return f"<lamina.function name={self._name}, jit_compile={self.jit_compile}>"


def function(func=None, *, input_signature=None, autograph=True, jit_compile=True, reduce_retracing=False,
             backend=None, mode=None, fullgraph=False, experimental_relax_shapes=None,
             experimental_compile=None, **kwargs):
    """Compiles ``func`` with `torch.compile`; usable as ``@function`` or ``@function(...)``.

    Args:
        func: a function, method, layer or model. Omitted when used as ``@function(...)``.
        input_signature: TensorFlow's input signature, used only to detect shape-generic code.
        autograph: accepted for compatibility; Python control flow is handled by torch.compile.
        jit_compile: ``False`` runs the Python code eagerly.
        reduce_retracing: compile shape-generic code (``experimental_relax_shapes`` is its old name).
        backend: the `torch.compile` backend.
        mode: the `torch.compile` mode.
        fullgraph: require a single graph.

    Returns:
        A `Function`, or a decorator returning one when ``func`` is omitted.

    Example:

    >>> import torch, lamina
    >>> double = lamina.function(lambda x: x * 2, backend="eager")
    >>> double(torch.ones(2))
    tensor([2., 2.])
    """
    del autograph
    unknown = set(kwargs) - {"experimental_implements", "experimental_autograph_options", "experimental_attributes",
                             "experimental_follow_type_hints"}
    if unknown:
        raise TypeError(f"Unrecognized keyword arguments passed to lamina.function: {sorted(unknown)}")
    if experimental_relax_shapes is not None:
        reduce_retracing = reduce_retracing or bool(experimental_relax_shapes)
    if experimental_compile is not None:
        jit_compile = bool(experimental_compile)
    options = {"jit_compile": jit_compile, "reduce_retracing": reduce_retracing, "input_signature": input_signature,
               "backend": backend, "mode": mode, "fullgraph": fullgraph}

    def decorate(python_function):
        return Function(python_function, **options)

    return decorate if func is None else decorate(func)


def _has_unknown_dims(signature):
    if signature is None:
        return False
    for spec in signature if isinstance(signature, (list, tuple)) else [signature]:
        if isinstance(spec, (list, tuple)):
            if _has_unknown_dims(spec):
                return True
            continue
        shape = getattr(spec, "shape", None)
        if shape is not None and any(d is None for d in tuple(shape)):
            return True
    return False
