"""`GradientTape`: TensorFlow's gradient API over `torch.autograd`.

torch records every operation on tensors that require grad, so the tape does not
record anything itself: trainable Variables always require grad, and ``watch``
makes a plain tensor require grad while the tape is open. The tape's job is to
ask autograd for the gradients in TensorFlow's shape: results in the structure of
``sources``, ``None`` (or zeros) for unconnected sources, one use unless
``persistent=True``, and nested tapes for higher-order derivatives.

Two differences from TensorFlow follow from autograd: a tensor must be watched
before it is used (as in TensorFlow), and operations that ran *before* the tape
opened are still part of the graph, so a gradient may flow through them.

>>> import lamina, torch
>>> x = torch.tensor(3.0)
>>> with lamina.GradientTape() as tape:
...     tape.watch(x)
...     y = x * x
>>> tape.gradient(y, x)
tensor(6.)
"""

import contextlib
import gc
import warnings

import torch

from lamina.backend.variable import Variable

_NON_PERSISTENT_MESSAGE = (
    "A non-persistent GradientTape can only be used to compute one set of gradients (or jacobians)"
)

# Tapes that are currently recording, innermost last. A gradient computed while a tape
# records is itself recorded (``create_graph``), which gives higher-order derivatives.
_RECORDING = []


class GradientTape:
    """Records operations for automatic differentiation, as ``tf.GradientTape``.

    Args:
        persistent: whether ``gradient``/``jacobian`` may be called more than once
            (the graph is retained between calls).
        watch_accessed_variables: whether trainable Variables used while the tape is
            open are watched automatically. With ``False`` only Variables passed to
            `watch` get gradients; the others give ``None``.

    Example:

    >>> import lamina
    >>> v = lamina.Variable(2.0)
    >>> with lamina.GradientTape(persistent=True) as tape:
    ...     y = v * v
    ...     z = y * y
    >>> float(tape.gradient(z, v)), float(tape.gradient(y, v))
    (32.0, 4.0)
    """

    def __init__(self, persistent=False, watch_accessed_variables=True):
        self._persistent = bool(persistent)
        self._watch_accessed_variables = bool(watch_accessed_variables)
        self._recording = False
        self._used = False
        self._watched_variables = []  # explicitly watched, in watch order
        self._flipped = []  # leaf tensors whose requires_grad the tape switched on
        self._start_seq = None
        self._end_seq = None

    # ---- context --------------------------------------------------------------------------
    def __enter__(self):
        if self._recording:
            raise ValueError("Tape is still recording, this can happen if you try to re-enter an already-active tape.")
        self._start_recording()
        self._start_seq = _next_sequence_nr()
        self._end_seq = None
        return self

    def __exit__(self, exc_type, exc_value, traceback):
        if self._recording:
            self._stop_recording()
        self._end_seq = _next_sequence_nr()
        # Watched tensors go back to normal tensors; gradient() re-enables them briefly.
        self._set_flipped(False)
        return False

    def _start_recording(self):
        self._recording = True
        _RECORDING.append(self)

    def _stop_recording(self):
        self._recording = False
        for index in range(len(_RECORDING) - 1, -1, -1):
            if _RECORDING[index] is self:
                del _RECORDING[index]
                break

    @contextlib.contextmanager
    def stop_recording(self):
        """A context in which operations are not recorded (``torch.no_grad``)."""
        if not self._recording:
            raise ValueError("Tape must be recording.")
        self._stop_recording()
        try:
            with torch.no_grad():
                yield
        finally:
            self._start_recording()

    def reset(self):
        """Clears what the tape has recorded; a recording tape keeps recording afresh."""
        self._set_flipped(False)
        self._flipped = []
        self._watched_variables = []
        self._used = False
        self._start_seq = _next_sequence_nr()
        self._end_seq = None

    # ---- watching -------------------------------------------------------------------------------
    def watch(self, tensor):
        """Makes a tensor (or every tensor/Variable of a nested structure) differentiable.

        A plain tensor must be watched before the operations that use it, since
        autograd records only operations on tensors that already require grad.
        Integer tensors cannot be watched and are skipped with a warning.
        """
        for item in _flatten(tensor):
            if isinstance(item, Variable):
                if not any(item is v for v in self._watched_variables):
                    self._watched_variables.append(item)
                self._enable_grad(item.value)
            elif isinstance(item, torch.Tensor):
                self._enable_grad(item)
            else:
                raise ValueError(
                    f"Passed in object of type {type(item)}, not a tensor or a Variable. Received: tensor={item!r}"
                )

    def _enable_grad(self, tensor):
        if not (tensor.is_floating_point() or tensor.is_complex()):
            warnings.warn(
                f"The dtype of the watched tensor must be floating (e.g. float32), got {tensor.dtype}. "
                "It cannot be differentiated and is not watched.",
                stacklevel=3,
            )
            return
        if any(t is tensor for t in self._flipped):
            return
        if not tensor.requires_grad or _flipped_by_recording_tape(tensor):
            tensor.requires_grad_(True)
            self._flipped.append(tensor)

    def _set_flipped(self, value):
        for tensor in self._flipped:
            # A tensor that another open tape also watches stays differentiable.
            if value or not _flipped_by_recording_tape(tensor, besides=self):
                tensor.requires_grad_(value)

    def watched_variables(self):
        """The Variables watched by this tape: watched explicitly, then used while recording.

        Variables used while recording are found from the autograd graph of tensors
        computed inside the tape that are still alive.
        """
        out = list(self._watched_variables)
        if self._watch_accessed_variables and self._start_seq is not None:
            for variable in _accessed_variables(self._start_seq, self._end_seq):
                if variable.trainable and not any(variable is v for v in out):
                    out.append(variable)
        return tuple(out)

    # ---- gradients ------------------------------------------------------------------------------
    def gradient(self, target, sources, output_gradients=None, unconnected_gradients="none"):
        """Gradients of ``target`` with respect to ``sources``.

        Args:
            target: a tensor or a nested structure of tensors; non-scalar targets are
                summed, as in TensorFlow.
            sources: a Variable, a tensor, or a nested structure (lists, tuples, dicts) of them.
            output_gradients: the upstream gradients, one per target (``None``: ones).
            unconnected_gradients: ``'none'`` (``None`` for sources that ``target`` does
                not depend on) or ``'zero'`` (zeros of the source's shape).

        Returns:
            The gradients in the structure of ``sources``.
        """
        zero = _check_unconnected(unconnected_gradients)
        with self._computing():
            return self._gradient(target, sources, output_gradients, zero)

    def _gradient(self, target, sources, output_gradients, zero):
        targets = [_as_tensor(t, "target") for t in _flatten(target)]
        if output_gradients is not None:
            upstream = _flatten(output_gradients)
            if len(upstream) != len(targets):
                raise ValueError(
                    f"`output_gradients` must have one entry per target: expected {len(targets)}. "
                    f"Received: output_gradients with {len(upstream)} entries"
                )
        else:
            upstream = [None] * len(targets)
        flat_sources = _flatten(sources)
        source_tensors = [self._source_tensor(s) for s in flat_sources]
        pairs = [
            (t, _upstream(g, t)) for t, g in zip(targets, upstream) if t is not None and t.requires_grad
        ]
        grads = self._grad([t for t, _ in pairs], source_tensors, [g for _, g in pairs])
        results = [_finish(g, s, zero) for g, s in zip(grads, source_tensors)]
        return _pack(sources, iter(results))

    def jacobian(self, target, sources, unconnected_gradients="none", parallel_iterations=None,
                 experimental_use_pfor=True):
        """The Jacobian of ``target``: one tensor of shape ``target.shape + source.shape`` per source."""
        del parallel_iterations, experimental_use_pfor  # vectorized by autograd when it can be
        zero = _check_unconnected(unconnected_gradients)
        with self._computing():
            return self._jacobian(target, sources, zero)

    def _jacobian(self, target, sources, zero):
        target = _as_tensor(target, "target")
        flat_sources = _flatten(sources)
        source_tensors = [self._source_tensor(s) for s in flat_sources]
        if target is None or not target.requires_grad or target.numel() == 0:
            grads = [None] * len(source_tensors)
        else:
            n = target.numel()
            basis = torch.eye(n, dtype=target.dtype, device=target.device).reshape((n,) + tuple(target.shape))
            grads = self._batched_grad(target, source_tensors, basis)
        results = []
        for g, s in zip(grads, source_tensors):
            if g is not None:
                g = g.reshape(tuple(target.shape) + tuple(s.shape))
            elif zero and s is not None:
                g = torch.zeros(tuple(target.shape) + tuple(s.shape), dtype=s.dtype, device=s.device)
            results.append(g)
        return _pack(sources, iter(results))

    def batch_jacobian(self, target, source, unconnected_gradients="none", parallel_iterations=None,
                       experimental_use_pfor=True):
        """Per-example Jacobians: shape ``(batch,) + target.shape[1:] + source.shape[1:]``.

        Assumes ``target[i]`` depends only on ``source[i]``, as TensorFlow does.
        """
        del parallel_iterations, experimental_use_pfor
        zero = _check_unconnected(unconnected_gradients)
        with self._computing():
            return self._batch_jacobian(target, source, zero)

    def _batch_jacobian(self, target, source, zero):
        target = _as_tensor(target, "target")
        source_tensor = self._source_tensor(source)
        if target.dim() == 0 or source_tensor.dim() == 0 or target.shape[0] != source_tensor.shape[0]:
            raise ValueError(
                f"Need first dimension of target shape {tuple(target.shape)} and source shape "
                f"{tuple(source_tensor.shape)} to match."
            )
        batch = target.shape[0]
        out_shape = (batch,) + tuple(target.shape[1:]) + tuple(source_tensor.shape[1:])
        if not target.requires_grad or target.numel() == 0:
            grad = None
        else:
            m = target.numel() // batch
            eye = torch.eye(m, dtype=target.dtype, device=target.device)
            basis = eye.unsqueeze(1).expand(m, batch, m).reshape((m,) + tuple(target.shape))
            (grad,) = self._batched_grad(target, [source_tensor], basis)
        if grad is None:
            if not zero:
                return None
            return torch.zeros(out_shape, dtype=source_tensor.dtype, device=source_tensor.device)
        # (m, batch, *source[1:]) -> (batch, *target[1:], *source[1:])
        return grad.movedim(0, 1).reshape(out_shape)

    # ---- internals ---------------------------------------------------------------------------
    @contextlib.contextmanager
    def _computing(self):
        """One gradient computation: checks reuse; watched tensors are differentiable meanwhile."""
        if self._used and not self._persistent:
            raise RuntimeError(_NON_PERSISTENT_MESSAGE)
        self._used = True
        self._set_flipped(True)
        try:
            yield
        finally:
            self._release()

    def _source_tensor(self, source):
        if isinstance(source, Variable):
            if not self._watch_accessed_variables and not any(source is v for v in self._watched_variables):
                return _Unwatched(source.value)
            return source.value
        if isinstance(source, torch.Tensor):
            return source
        raise TypeError(
            "GradientTape sources must be Variables or tensors (or nested structures of them). "
            f"Received: source={source!r} of type {type(source).__name__}"
        )

    def _create_graph(self):
        return any(tape is not self or tape._persistent for tape in _RECORDING)

    def _grad(self, targets, sources, upstream):
        wanted = [i for i, s in enumerate(sources) if _differentiable(s)]
        out = [None] * len(sources)
        if not targets or not wanted:
            return out
        create_graph = self._create_graph()
        grads = torch.autograd.grad(
            targets, [sources[i] for i in wanted], grad_outputs=upstream,
            retain_graph=self._persistent or create_graph, create_graph=create_graph, allow_unused=True,
        )
        for i, g in zip(wanted, grads):
            out[i] = g
        return out

    def _batched_grad(self, target, sources, basis):
        """Gradients for each row of ``basis`` as upstream gradient, stacked on axis 0."""
        wanted = [i for i, s in enumerate(sources) if _differentiable(s)]
        out = [None] * len(sources)
        if not wanted:
            return out
        inputs = [sources[i] for i in wanted]
        create_graph = self._create_graph()
        try:
            grads = torch.autograd.grad(
                target, inputs, grad_outputs=basis, retain_graph=True, create_graph=create_graph,
                allow_unused=True, is_grads_batched=True,
            )
        except RuntimeError:  # an operation without a batching rule: one row at a time
            rows = [
                torch.autograd.grad(target, inputs, grad_outputs=row, retain_graph=True,
                                    create_graph=create_graph, allow_unused=True)
                for row in basis
            ]
            grads = [None if rows[0][k] is None else torch.stack([r[k] for r in rows]) for k in range(len(inputs))]
        for i, g in zip(wanted, grads):
            out[i] = g
        return out

    def _release(self):
        # Between calls, and for good after a non-persistent tape is used, watched tensors
        # are plain tensors again unless the tape is still recording.
        if not self._recording:
            self._set_flipped(False)

    def __repr__(self):
        return f"<GradientTape persistent={self._persistent}, recording={self._recording}>"


# ---- helpers ------------------------------------------------------------------------------------

class _Unwatched:
    """A source that must not receive a gradient (unwatched with watch_accessed_variables=False)."""

    __slots__ = ("tensor",)

    def __init__(self, tensor):
        self.tensor = tensor

    @property
    def shape(self):
        return self.tensor.shape

    @property
    def dtype(self):
        return self.tensor.dtype

    @property
    def device(self):
        return self.tensor.device


def _flipped_by_recording_tape(tensor, besides=None):
    return any(tape is not besides and any(t is tensor for t in tape._flipped) for tape in _RECORDING)


def _differentiable(tensor):
    return isinstance(tensor, torch.Tensor) and tensor.requires_grad


def _finish(grad, source, zero):
    if grad is None and zero:
        return torch.zeros(tuple(source.shape), dtype=source.dtype, device=source.device)
    return grad


def _check_unconnected(value):
    value = getattr(value, "value", value)  # an UnconnectedGradients-style enum
    if isinstance(value, str) and value.lower() in ("none", "zero"):
        return value.lower() == "zero"
    raise ValueError(
        f"Unknown value for unconnected_gradients: expected 'none' or 'zero'. Received: unconnected_gradients={value!r}"
    )


def _as_tensor(value, what):
    if isinstance(value, Variable):
        return value.value
    if isinstance(value, torch.Tensor) or value is None:
        return value
    raise TypeError(f"GradientTape {what} must be a tensor or a Variable. Received: {what}={value!r}")


def _upstream(grad, target):
    if grad is None:
        return torch.ones_like(target)
    if isinstance(grad, Variable):
        grad = grad.value
    grad = torch.as_tensor(grad, dtype=target.dtype, device=target.device)
    if grad.shape != target.shape:
        grad = grad.expand(target.shape)
    return grad


def _flatten(structure):
    """Leaves of nested lists/tuples/dicts, in order (dicts by sorted key, as ``tf.nest``)."""
    if isinstance(structure, dict):
        return [leaf for key in sorted(structure) for leaf in _flatten(structure[key])]
    if isinstance(structure, (list, tuple)):
        return [leaf for item in structure for leaf in _flatten(item)]
    return [structure]


def _pack(structure, leaves):
    """Rebuilds ``structure`` with values taken from the iterator ``leaves``."""
    if isinstance(structure, dict):
        values = {key: _pack(structure[key], leaves) for key in sorted(structure)}
        return type(structure)((key, values[key]) for key in structure)
    if isinstance(structure, (list, tuple)):
        items = [_pack(item, leaves) for item in structure]
        if isinstance(structure, tuple) and hasattr(structure, "_fields"):  # namedtuple
            return type(structure)(*items)
        return type(structure)(items)
    return next(leaves)


def _next_sequence_nr():
    """The sequence number the next autograd node will get (they increase per thread)."""
    with torch.enable_grad():
        probe = torch.zeros((), requires_grad=True) * 1
    return probe.grad_fn._sequence_nr() + 1


def _accessed_variables(start, end):
    """Variables whose Parameters feed autograd nodes created between ``start`` and ``end``."""
    variables = {}
    creation_index = {}  # position of a Variable in its layer's creation order (ties: kernel before bias)
    roots = []
    for obj in gc.get_objects():
        cls = type(obj)  # type(), not isinstance: no attribute access on arbitrary objects
        if issubclass(cls, Variable):
            variables[id(obj.value)] = obj
        elif issubclass(cls, torch.Tensor) and obj.grad_fn is not None:
            roots.append(obj.grad_fn)
        elif issubclass(cls, torch.nn.Module):
            for index, variable in enumerate(obj.__dict__.get("_variables") or ()):
                creation_index[id(variable.value)] = index
    first_use = {}
    seen = set()
    stack = [node for node in roots if _in_range(node, start, end)]
    while stack:
        node = stack.pop()
        if node in seen:
            continue
        seen.add(node)
        seq = node._sequence_nr()
        for child, _ in node.next_functions:
            if child is None:
                continue
            parameter = getattr(child, "variable", None)
            if parameter is not None:
                key = id(parameter)
                first_use[key] = min(seq, first_use.get(key, seq))
            elif _in_range(child, start, end):
                stack.append(child)
    ordered = sorted(first_use, key=lambda key: (first_use[key], creation_index.get(key, 0)))
    return [variables[key] for key in ordered if key in variables]


def _in_range(node, start, end):
    seq = node._sequence_nr()
    return seq >= start and (end is None or seq < end)
