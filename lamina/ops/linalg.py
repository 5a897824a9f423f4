"""Linear algebra (Keras 3 ``keras.ops.linalg``) over ``torch.linalg``; all ops batch over leading axes.

>>> norm([[3.0, 4.0]]).item()
5.0
>>> solve([[2.0, 0.0], [0.0, 4.0]], [2.0, 2.0]).tolist()
[1.0, 0.5]
"""

import torch

from lamina.ops._utils import axes, common, floating


def _square(x, name):
    x = floating(x)
    if x.dim() < 2 or x.shape[-1] != x.shape[-2]:
        raise ValueError(f"`{name}` needs (batches of) square matrices. Received: x.shape={tuple(x.shape)}")
    return x


def norm(x, ord=None, axis=None, keepdims=False):  # noqa: A002 - NumPy name
    """Vector or matrix norm with NumPy semantics.

    ``axis=None`` takes the 2-norm of the flattened input when ``ord`` is ``None``, else
    a vector norm of 1-D or a matrix norm of 2-D inputs. An int ``axis`` gives vector
    norms (``ord`` a number, ``inf`` or ``-inf``); a pair gives matrix norms (``'fro'``,
    ``'nuc'``, ``1``, ``-1``, ``2``, ``-2``, ``inf``, ``-inf``).
    """
    x = floating(x)
    dims = axes(axis, x.dim())
    if dims is None:
        if ord is None:
            out = torch.linalg.vector_norm(x, 2)
            return out.reshape((1,) * x.dim()) if keepdims else out
        if x.dim() not in (1, 2):
            raise ValueError(f"Improper number of dimensions to norm. Received: x.shape={tuple(x.shape)}, ord={ord}")
        dims = tuple(range(x.dim()))
    if len(dims) == 1:
        if isinstance(ord, str):
            raise ValueError(f"Invalid `ord` for a vector norm. Received: ord={ord!r}")
        return torch.linalg.vector_norm(x, 2 if ord is None else ord, dim=dims, keepdim=keepdims)
    if len(dims) == 2:
        if ord is None:
            ord = "fro"
        if ord not in ("fro", "nuc", 1, -1, 2, -2, float("inf"), float("-inf")):
            raise ValueError(f"Invalid `ord` for a matrix norm. Received: ord={ord!r}")
        return torch.linalg.matrix_norm(x, ord=ord, dim=dims, keepdim=keepdims)
    raise ValueError(f"`axis` must be None, an int or a pair of ints. Received: axis={axis!r}")


def inv(x):
    """The inverse of (batches of) square matrices."""
    return torch.linalg.inv(_square(x, "inv"))


def det(x):
    """The determinant of (batches of) square matrices."""
    return torch.linalg.det(_square(x, "det"))


def solve(a, b):
    """Solves ``a @ x = b`` for ``x`` (``b`` a vector or a matrix of right-hand sides)."""
    a, b = common(floating(a), floating(b))
    return torch.linalg.solve(_square(a, "solve"), b)


def solve_triangular(a, b, lower=False):
    """Solves ``a @ x = b`` for triangular ``a`` (``lower`` or upper)."""
    a, b = common(floating(a), floating(b))
    vector = b.dim() == a.dim() - 1
    out = torch.linalg.solve_triangular(a, b.unsqueeze(-1) if vector else b, upper=not lower)
    return out.squeeze(-1) if vector else out


def cholesky(x, upper=False):
    """The Cholesky factor of (batches of) symmetric positive-definite matrices (lower by default)."""
    x = _square(x, "cholesky")
    factor, info = torch.linalg.cholesky_ex(x, upper=upper)
    if bool((info > 0).any()):
        raise ValueError("Cholesky decomposition failed: the input is not positive-definite.")
    return factor


def eig(x):
    """Eigenvalues and eigenvectors (complex) of (batches of) square matrices."""
    return tuple(torch.linalg.eig(_square(x, "eig")))


def eigh(x):
    """Ascending eigenvalues and eigenvectors of (batches of) symmetric matrices."""
    return tuple(torch.linalg.eigh(_square(x, "eigh")))


def svd(x, full_matrices=True, compute_uv=True):
    """``(u, s, vh)`` with ``x = u @ diag(s) @ vh``, or only ``s`` when not ``compute_uv``."""
    x = floating(x)
    if not compute_uv:
        return torch.linalg.svdvals(x)
    return tuple(torch.linalg.svd(x, full_matrices=full_matrices))


def qr(x, mode="reduced"):
    """``(q, r)`` with ``x = q @ r``; ``mode`` is ``'reduced'`` or ``'complete'``."""
    if mode not in ("reduced", "complete"):
        raise ValueError(f"`mode` must be 'reduced' or 'complete'. Received: mode={mode!r}")
    return tuple(torch.linalg.qr(floating(x), mode=mode))


def lu_factor(x):
    """``(lu, pivots)`` of the LU decomposition with partial pivoting (pivots 0-based, int32)."""
    lu, pivots = torch.linalg.lu_factor(_square(x, "lu_factor"))
    return lu, (pivots - 1).to(torch.int32)


def lstsq(a, b, rcond=None):
    """The least-squares solution ``x`` of ``a @ x = b``."""
    a, b = common(floating(a), floating(b))
    vector = b.dim() == 1
    driver = "gelsd" if a.device.type == "cpu" else None
    out = torch.linalg.lstsq(a, b.unsqueeze(-1) if vector else b, rcond=rcond, driver=driver).solution
    return out.squeeze(-1) if vector else out
