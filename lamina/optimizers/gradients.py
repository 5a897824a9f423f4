"""Gradient lists for optimizers: checking, computing and clipping (Keras 3 formulas, multi-tensor ops).

>>> import torch
>>> [g.tolist() for g in clip_by_global_norm([torch.tensor([3.0]), torch.tensor([4.0])], 1.0)]
[[0.6000000238418579], [0.800000011920929]]
"""

import warnings

import numpy as np
import torch

from lamina.backend.variable import Variable


def to_float(value):
    """A Python float from a number, a 0-d tensor or a Variable (a learning rate, for instance)."""
    if isinstance(value, Variable):
        value = value.value
    if isinstance(value, torch.Tensor):
        return value.item()
    return float(value)


def _as_gradient(grad, variable):
    """``grad`` as a dense tensor with the variable's dtype and device, or a clear error."""
    param = variable.value
    if type(grad) is torch.Tensor and not grad.requires_grad and grad.layout == torch.strided \
            and grad.shape == param.shape and grad.dtype == param.dtype and grad.device == param.device:
        return grad  # autograd's gradients: nothing to convert (the common case, once per variable per step)
    if isinstance(grad, Variable):
        grad = grad.value
    if not isinstance(grad, torch.Tensor):
        try:
            grad = torch.as_tensor(np.asarray(grad))
        except (TypeError, ValueError) as error:
            raise TypeError(
                f"Gradients must be tensors or arrays. Received: gradient of type {type(grad).__name__} "
                f"for variable '{variable.path}'"
            ) from error
    if grad.is_sparse:
        grad = grad.to_dense()
    if grad.shape != param.shape:
        raise ValueError(
            f"The gradient for variable '{variable.path}' must have the variable's shape {tuple(param.shape)}. "
            f"Received: gradient.shape={tuple(grad.shape)}"
        )
    if grad.dtype != param.dtype or grad.device != param.device:
        grad = grad.to(device=param.device, dtype=param.dtype)
    return grad.detach()


def prepare(grads, variables):
    """Drops ``None`` gradients (warning, as Keras) and converts the others; returns ``(grads, variables)``."""
    kept_grads, kept_vars, missing = [], [], []
    for grad, variable in zip(grads, variables):
        if grad is None:
            missing.append(variable.name)
            continue
        kept_grads.append(_as_gradient(grad, variable))
        kept_vars.append(variable)
    if not kept_grads:
        raise ValueError("No gradients provided for any variable.")
    if missing:
        warnings.warn(
            f"Gradients do not exist for variables {missing} when minimizing the loss. If using `model.compile()`, "
            "did you forget to provide a `loss` argument?",
            stacklevel=3,
        )
    return kept_grads, kept_vars


def clip_by_norm(grads, clipnorm):
    """Each gradient times ``clipnorm / max(norm, clipnorm)``: its L2 norm becomes at most ``clipnorm``."""
    norms = torch._foreach_norm(grads)
    torch._foreach_clamp_min_(norms, clipnorm)
    clipped = torch._foreach_mul(grads, clipnorm)
    torch._foreach_div_(clipped, norms)
    return clipped


def global_norm(grads):
    """The L2 norm of all gradients together (float32 unless they are all float64)."""
    norms = torch._foreach_norm(grads)
    dtype = torch.float64 if all(n.dtype == torch.float64 for n in norms) else torch.float32
    device = norms[0].device
    return torch.linalg.vector_norm(torch.stack([n.to(device=device, dtype=dtype) for n in norms]))


def clip_by_global_norm(grads, clip_norm):
    """All gradients times ``clip_norm * min(1 / global_norm, 1 / clip_norm)`` (NaN if the norm is not finite)."""
    norm = global_norm(grads)
    scale = clip_norm * torch.minimum(1.0 / norm, torch.tensor(1.0 / clip_norm, dtype=norm.dtype, device=norm.device))
    scale = scale + (norm - norm)
    if len({(g.device, g.dtype) for g in grads}) > 1:
        return [g * scale.to(device=g.device, dtype=g.dtype) for g in grads]
    return torch._foreach_mul(grads, scale.to(device=grads[0].device, dtype=grads[0].dtype))


def clip_by_value(grads, clipvalue):
    """Each gradient element clipped to ``[-clipvalue, clipvalue]``."""
    clipped = torch._foreach_clamp_min(grads, -clipvalue)
    torch._foreach_clamp_max_(clipped, clipvalue)
    return clipped


def compute_gradients(loss, var_list, tape=None):
    """Gradients of ``loss`` (a tensor or a callable) for ``var_list`` (a list or a callable); ``(grads, vars)``."""
    if tape is not None:
        if callable(loss):
            with tape:
                if not callable(var_list):
                    tape.watch(list(var_list))
                loss = loss()
        variables = list(var_list() if callable(var_list) else var_list)
        return list(tape.gradient(loss, variables)), variables
    if callable(loss):
        with torch.enable_grad():
            loss = loss()
    variables = list(var_list() if callable(var_list) else var_list)
    if not isinstance(loss, torch.Tensor) or not loss.requires_grad:
        raise ValueError(
            "`minimize` needs a loss connected to the variables by autograd: pass a callable that computes it, "
            f"or a tensor computed from them (with `tape`). Received: loss={loss!r}"
        )
    tensors = [v.value if isinstance(v, Variable) else v for v in variables]
    return list(torch.autograd.grad(loss, tensors, allow_unused=True)), variables
