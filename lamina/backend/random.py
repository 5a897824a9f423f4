"""Random numbers: ``lamina.random`` (Keras 3 ``keras.random`` names) over torch generators.

``seed`` may be ``None`` (torch's global generator, so `set_random_seed` makes runs
repeatable), an int (the same numbers on every call, as Keras's stateless ops) or a
`SeedGenerator` (a stream that advances on every call).

>>> from lamina import random
>>> a = random.normal((2,), seed=3); b = random.normal((2,), seed=3)
>>> bool((a == b).all())
True
>>> gen = random.SeedGenerator(7)
>>> bool((random.uniform((2,), seed=gen) == random.uniform((2,), seed=gen)).all())
False
"""

import random as _py_random

import numpy as np
import torch

from lamina.backend import config
from lamina.backend.dtypes import to_torch_dtype


class SeedGenerator:
    """A seeded random stream; each draw advances it.

    Args:
        seed: an int; ``None`` draws one from the global generator.
    """

    def __init__(self, seed=None, name=None, **kwargs):
        if seed is None:
            seed = int(torch.randint(0, 2**31 - 1, ()).item())
        if not isinstance(seed, (int, np.integer)):
            raise ValueError(f"SeedGenerator seed must be an int or None. Received: seed={seed!r}")
        self.seed = int(seed)
        self.name = name or "seed_generator"
        self._generators = {}

    def generator(self, device):
        device = torch.device(device)
        key = str(device)
        if key not in self._generators:
            gen = torch.Generator(device=device)
            gen.manual_seed(self.seed)
            self._generators[key] = gen
        return self._generators[key]

    def get_config(self):
        return {"seed": self.seed}

    def __repr__(self):
        return f"<SeedGenerator seed={self.seed}>"


def set_random_seed(seed):
    """Seeds Python's, NumPy's and torch's global generators (all devices)."""
    if not isinstance(seed, (int, np.integer)):
        raise ValueError(f"Expected `seed` argument to be an integer. Received: seed={seed!r}")
    _py_random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def _generator(seed, device):
    if seed is None:
        return None
    if isinstance(seed, SeedGenerator):
        return seed.generator(device)
    if isinstance(seed, (int, np.integer)):
        gen = torch.Generator(device=device)
        gen.manual_seed(int(seed))
        return gen
    raise ValueError(f"`seed` must be None, an int or a SeedGenerator. Received: seed={seed!r}")


def _shape(shape):
    return tuple(int(d) for d in shape) if not isinstance(shape, int) else (shape,)


def _device(device):
    return torch.device(device) if device is not None else config.device()


def normal(shape, mean=0.0, stddev=1.0, dtype=None, seed=None, device=None):
    """Samples from N(mean, stddev**2)."""
    device = _device(device)
    out = torch.empty(_shape(shape), dtype=to_torch_dtype(dtype), device=device)
    return out.normal_(float(mean), float(stddev), generator=_generator(seed, device))


def uniform(shape, minval=0.0, maxval=1.0, dtype=None, seed=None, device=None):
    """Samples uniformly from [minval, maxval)."""
    device = _device(device)
    torch_dtype = to_torch_dtype(dtype)
    if not torch_dtype.is_floating_point:
        return randint(shape, minval, maxval, dtype=dtype, seed=seed, device=device)
    out = torch.empty(_shape(shape), dtype=torch_dtype, device=device)
    return out.uniform_(float(minval), float(maxval), generator=_generator(seed, device))


def randint(shape, minval, maxval, dtype="int32", seed=None, device=None):
    """Samples integers uniformly from [minval, maxval)."""
    device = _device(device)
    return torch.randint(
        int(minval), int(maxval), _shape(shape), dtype=to_torch_dtype(dtype), device=device,
        generator=_generator(seed, device),
    )


def truncated_normal(shape, mean=0.0, stddev=1.0, dtype=None, seed=None, device=None):
    """N(mean, stddev**2) with values beyond two standard deviations redrawn (as Keras)."""
    device = _device(device)
    out = torch.empty(_shape(shape), dtype=to_torch_dtype(dtype), device=device)
    gen = _generator(seed, device)
    # Resample out-of-range entries; the expected number of rounds is tiny.
    out.normal_(0.0, 1.0, generator=gen)
    bad = out.abs() > 2.0
    while bool(bad.any()):
        fresh = torch.empty(int(bad.sum()), dtype=out.dtype, device=device).normal_(0.0, 1.0, generator=gen)
        out[bad] = fresh
        bad = out.abs() > 2.0
    return out.mul_(float(stddev)).add_(float(mean))


def dropout(inputs, rate, noise_shape=None, seed=None):
    """Zeroes entries with probability ``rate`` and scales the rest by ``1 / (1 - rate)``."""
    inputs = torch.as_tensor(inputs)
    if rate <= 0:
        return inputs
    if rate >= 1:
        return torch.zeros_like(inputs)
    if noise_shape is None and seed is None:
        return torch.nn.functional.dropout(inputs, float(rate), training=True)
    shape = inputs.shape if noise_shape is None else tuple(
        inputs.shape[i] if d is None else int(d) for i, d in enumerate(noise_shape)
    )
    keep = uniform(shape, dtype=inputs.dtype, seed=seed, device=inputs.device) >= rate
    return inputs * keep / (1.0 - rate)


def shuffle(x, axis=0, seed=None):
    """Shuffles ``x`` along ``axis``."""
    x = torch.as_tensor(x)
    gen = _generator(seed, x.device)
    perm = torch.randperm(x.shape[axis], generator=gen, device=x.device)
    return x.index_select(axis, perm)


def categorical(logits, num_samples, dtype="int32", seed=None):
    """Draws ``num_samples`` class indices per row of ``logits``."""
    logits = torch.as_tensor(logits)
    probs = torch.softmax(logits.float(), dim=-1)
    out = torch.multinomial(probs, int(num_samples), replacement=True, generator=_generator(seed, logits.device))
    return out.to(to_torch_dtype(dtype))


def gamma(shape, alpha, dtype=None, seed=None, device=None):
    """Samples from Gamma(alpha, 1)."""
    device = _device(device)
    concentration = torch.full(_shape(shape), float(alpha), dtype=to_torch_dtype(dtype), device=device)
    return torch._standard_gamma(concentration, generator=_generator(seed, device))
