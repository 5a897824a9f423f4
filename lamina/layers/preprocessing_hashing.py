"""Hashing: Keras's string hash functions in pure Python, and the `Hashing` layer.

`fingerprint64` is FarmHash's ``Fingerprint64`` (``farmhashna::Hash64``), which
``tf.strings.to_hash_bucket_fast`` (Keras's default) uses; `siphash64` is SipHash-2-4,
which ``tf.strings.to_hash_bucket_strong`` (Keras with a ``salt``) uses. Both give the
same buckets as Keras, bit for bit. They run in Python, one string at a time: fine for
preprocessing, not for hot loops over millions of strings.

>>> hex(fingerprint64(b""))
'0x9ae16a3b2f90404f'
>>> from lamina import layers
>>> layers.Hashing(num_bins=3)([["A"], ["B"], ["C"], ["D"], ["E"]]).tolist()
[[1], [0], [1], [1], [2]]
"""

import numpy as np
import torch

from lamina.backend import config
from lamina.engine.keras_tensor import KerasTensor
from lamina.layers.preprocessing_numeric import check_output_mode, encode_categorical, encoded_shape
from lamina.layers.preprocessing_strings import StringInputLayer, is_string_array, to_string_array

_MASK = (1 << 64) - 1
_K0, _K1, _K2 = 0xC3A5C85C97CB3127, 0xB492B66FBE98F273, 0x9AE16A3B2F90404F


def _rot(value, shift):
    return ((value >> shift) | (value << (64 - shift))) & _MASK if shift else value


def _shift_mix(value):
    return value ^ (value >> 47)


def _fetch64(data, i):
    return int.from_bytes(data[i:i + 8], "little")


def _fetch32(data, i):
    return int.from_bytes(data[i:i + 4], "little")


def _hash16(u, v, mul):
    a = ((u ^ v) * mul) & _MASK
    a ^= a >> 47
    b = ((v ^ a) * mul) & _MASK
    b ^= b >> 47
    return (b * mul) & _MASK


def _hash_0_to_16(data, n):
    if n >= 8:
        mul = _K2 + n * 2
        a = (_fetch64(data, 0) + _K2) & _MASK
        b = _fetch64(data, n - 8)
        c = (_rot(b, 37) * mul + a) & _MASK
        d = ((_rot(a, 25) + b) * mul) & _MASK
        return _hash16(c, d, mul)
    if n >= 4:
        mul = _K2 + n * 2
        return _hash16(n + (_fetch32(data, 0) << 3), _fetch32(data, n - 4), mul)
    if n > 0:
        y = (data[0] + (data[n >> 1] << 8)) & 0xFFFFFFFF
        z = (n + (data[n - 1] << 2)) & 0xFFFFFFFF
        return (_shift_mix(((y * _K2) ^ (z * _K0)) & _MASK) * _K2) & _MASK
    return _K2


def _hash_17_to_32(data, n):
    mul = _K2 + n * 2
    a = (_fetch64(data, 0) * _K1) & _MASK
    b = _fetch64(data, 8)
    c = (_fetch64(data, n - 8) * mul) & _MASK
    d = (_fetch64(data, n - 16) * _K2) & _MASK
    return _hash16((_rot((a + b) & _MASK, 43) + _rot(c, 30) + d) & _MASK,
                   (a + _rot((b + _K2) & _MASK, 18) + c) & _MASK, mul)


def _hash_33_to_64(data, n):
    mul = _K2 + n * 2
    a = (_fetch64(data, 0) * _K2) & _MASK
    b = _fetch64(data, 8)
    c = (_fetch64(data, n - 8) * mul) & _MASK
    d = (_fetch64(data, n - 16) * _K2) & _MASK
    y = (_rot((a + b) & _MASK, 43) + _rot(c, 30) + d) & _MASK
    z = _hash16(y, (a + _rot((b + _K2) & _MASK, 18) + c) & _MASK, mul)
    e = (_fetch64(data, 16) * mul) & _MASK
    f = _fetch64(data, 24)
    g = ((y + _fetch64(data, n - 32)) * mul) & _MASK
    h = ((z + _fetch64(data, n - 24)) * mul) & _MASK
    return _hash16((_rot((e + f) & _MASK, 43) + _rot(g, 30) + h) & _MASK,
                   (e + _rot((f + a) & _MASK, 18) + g) & _MASK, mul)


def _weak_hash_32(data, i, a, b):
    w, x, y, z = (_fetch64(data, i + 8 * k) for k in range(4))
    a = (a + w) & _MASK
    b = _rot((b + a + z) & _MASK, 21)
    c = a
    a = (a + x + y) & _MASK
    b = (b + _rot(a, 44)) & _MASK
    return (a + z) & _MASK, (b + c) & _MASK


def fingerprint64(data):
    """FarmHash ``Fingerprint64`` of ``data`` (bytes) as an unsigned 64-bit int."""
    n = len(data)
    if n <= 16:
        return _hash_0_to_16(data, n)
    if n <= 32:
        return _hash_17_to_32(data, n)
    if n <= 64:
        return _hash_33_to_64(data, n)
    seed = 81
    x = seed
    y = (seed * _K1 + 113) & _MASK
    z = (_shift_mix((y * _K2 + 113) & _MASK) * _K2) & _MASK
    v, w = (0, 0), (0, 0)
    x = (x * _K2 + _fetch64(data, 0)) & _MASK
    end = ((n - 1) // 64) * 64
    last64 = end + ((n - 1) & 63) - 63
    for s in range(0, end, 64):
        x = (_rot((x + y + v[0] + _fetch64(data, s + 8)) & _MASK, 37) * _K1) & _MASK
        y = (_rot((y + v[1] + _fetch64(data, s + 48)) & _MASK, 42) * _K1) & _MASK
        x ^= w[1]
        y = (y + v[0] + _fetch64(data, s + 40)) & _MASK
        z = (_rot((z + w[0]) & _MASK, 33) * _K1) & _MASK
        v = _weak_hash_32(data, s, (v[1] * _K1) & _MASK, (x + w[0]) & _MASK)
        w = _weak_hash_32(data, s + 32, (z + w[1]) & _MASK, (y + _fetch64(data, s + 16)) & _MASK)
        z, x = x, z
    mul = _K1 + ((z & 0xFF) << 1)
    s = last64
    w0 = (w[0] + ((n - 1) & 63)) & _MASK
    v0 = (v[0] + w0) & _MASK
    w0 = (w0 + v0) & _MASK
    v, w = (v0, v[1]), (w0, w[1])
    x = (_rot((x + y + v[0] + _fetch64(data, s + 8)) & _MASK, 37) * mul) & _MASK
    y = (_rot((y + v[1] + _fetch64(data, s + 48)) & _MASK, 42) * mul) & _MASK
    x ^= (w[1] * 9) & _MASK
    y = (y + v[0] * 9 + _fetch64(data, s + 40)) & _MASK
    z = (_rot((z + w[0]) & _MASK, 33) * mul) & _MASK
    v = _weak_hash_32(data, s, (v[1] * mul) & _MASK, (x + w[0]) & _MASK)
    w = _weak_hash_32(data, s + 32, (z + w[1]) & _MASK, (y + _fetch64(data, s + 16)) & _MASK)
    z, x = x, z
    return _hash16((_hash16(v[0], w[0], mul) + _shift_mix(y) * _K0 + z) & _MASK,
                   (_hash16(v[1], w[1], mul) + x) & _MASK, mul)


def _sip_round(v0, v1, v2, v3):
    v0 = (v0 + v1) & _MASK
    v1 = _rot(v1, 51) ^ v0  # rotate left by 13 == right by 51
    v0 = _rot(v0, 32)
    v2 = (v2 + v3) & _MASK
    v3 = _rot(v3, 48) ^ v2
    v0 = (v0 + v3) & _MASK
    v3 = _rot(v3, 43) ^ v0
    v2 = (v2 + v1) & _MASK
    v1 = _rot(v1, 47) ^ v2
    v2 = _rot(v2, 32)
    return v0, v1, v2, v3


def siphash64(data, key):
    """SipHash-2-4 of ``data`` (bytes) with the 128-bit ``key`` given as two unsigned 64-bit ints."""
    k0, k1 = (int(k) & _MASK for k in key)
    v0, v1 = k0 ^ 0x736F6D6570736575, k1 ^ 0x646F72616E646F6D
    v2, v3 = k0 ^ 0x6C7967656E657261, k1 ^ 0x7465646279746573
    n = len(data)
    tail = n - n % 8
    for i in range(0, tail, 8):
        m = _fetch64(data, i)
        v3 ^= m
        v0, v1, v2, v3 = _sip_round(*_sip_round(v0, v1, v2, v3))
        v0 ^= m
    m = int.from_bytes(data[tail:], "little") | ((n & 0xFF) << 56)
    v3 ^= m
    v0, v1, v2, v3 = _sip_round(*_sip_round(v0, v1, v2, v3))
    v0 ^= m
    v2 ^= 0xFF
    for _ in range(4):
        v0, v1, v2, v3 = _sip_round(v0, v1, v2, v3)
    return v0 ^ v1 ^ v2 ^ v3


def _as_bytes(value):
    """TF's string form of a value: UTF-8 text; ints (and floats, truncated to int64) in decimal."""
    if isinstance(value, bytes):
        return value
    if isinstance(value, str):
        return value.encode("utf-8")
    if isinstance(value, (float, np.floating)):
        value = int(value)
    return str(int(value)).encode("ascii")


def hash_buckets(values, num_buckets, key=None):
    """``tf.strings.to_hash_bucket_fast`` (``key=None``) or ``_strong`` of a NumPy array of values."""
    flat = [_as_bytes(v) for v in np.asarray(values, dtype=object).reshape(-1)]
    if key is None:
        hashes = [fingerprint64(b) % num_buckets for b in flat]
    else:
        hashes = [siphash64(b, key) % num_buckets for b in flat]
    return np.asarray(hashes, dtype="int64").reshape(np.shape(values))


class Hashing(StringInputLayer):
    """Hashes strings or integers into ``num_bins`` bins with Keras's hash functions.

    Integers are hashed through their decimal string, as Keras does (floats are first
    truncated to integers). String inputs are Python lists or NumPy arrays of ``str``/
    ``bytes`` (torch tensors cannot hold strings); the output is a torch tensor.

    Args:
        num_bins: the number of bins, including the mask bin when ``mask_value`` is set.
        mask_value: a value mapped to bin 0 (the others then hash into ``[1, num_bins)``).
        salt: an int or a pair of ints: use SipHash-2-4 keyed by it instead of FarmHash.
        output_mode: ``'int'`` (default), ``'one_hot'``, ``'multi_hot'`` or ``'count'``.
        sparse: only ``False``.

    >>> Hashing(num_bins=3, salt=133)([["A"], ["B"], ["C"], ["D"], ["E"]]).flatten().tolist()
    [0, 0, 2, 1, 0]
    """

    def __init__(self, num_bins, mask_value=None, salt=None, output_mode="int", sparse=False, **kwargs):
        if kwargs.get("dtype") is None:
            kwargs["dtype"] = "int64" if output_mode == "int" else config.floatx()
        super().__init__(**kwargs)
        if num_bins is None or isinstance(num_bins, bool) or not isinstance(num_bins, (int, np.integer)) \
                or num_bins <= 0:
            raise ValueError("The `num_bins` for `Hashing` cannot be `None` or non-positive values. "
                             f"Received: num_bins={num_bins}.")
        check_output_mode(output_mode, ("int", "one_hot", "multi_hot", "count"), "Hashing")
        if output_mode == "int" and self.compute_dtype not in ("int32", "int64"):
            raise ValueError("When `output_mode=\"int\"`, `dtype` should be an integer type, 'int32' or 'int64'. "
                             f"Received: dtype={kwargs['dtype']}")
        if sparse:
            raise ValueError("Hashing does not support sparse outputs on torch. Received: sparse=True")
        if salt is not None:
            if isinstance(salt, (tuple, list)) and len(salt) == 2:
                salt = [int(s) for s in salt]
            elif isinstance(salt, (int, np.integer)) and not isinstance(salt, bool):
                salt = [int(salt), int(salt)]
            else:
                raise ValueError("The `salt` argument for `Hashing` can only be a tuple of size 2 integers, or a "
                                 f"single integer. Received: salt={salt}.")
        self.num_bins = int(num_bins)
        self.mask_value = mask_value
        self.salt = salt
        self.output_mode = output_mode
        self.sparse = sparse

    def call(self, inputs):
        values = to_string_array(inputs) if is_string_array(inputs) else np.asarray(
            inputs.detach().cpu() if isinstance(inputs, torch.Tensor) else inputs)
        device = inputs.device if isinstance(inputs, torch.Tensor) else config.device()
        bins = self.num_bins
        mask = None
        if self.mask_value is not None and bins > 1:
            bins -= 1
            mask = values == (self.mask_value if values.dtype.kind != "O" else _text(self.mask_value))
        hashed = hash_buckets(values, bins, self.salt)
        if mask is not None:
            hashed = np.where(mask, 0, hashed + 1)
        indices = torch.as_tensor(hashed, device=device)
        return encode_categorical(indices, self.output_mode, self.num_bins, self.dtype_policy.torch_compute_dtype)

    def compute_output_shape(self, input_shape):
        if self.output_mode == "one_hot" and input_shape and input_shape[-1] == 1:
            input_shape = tuple(input_shape)[:-1]
            return input_shape + (self.num_bins,)
        return encoded_shape(input_shape, self.output_mode, self.num_bins)

    def compute_output_spec(self, inputs):
        return KerasTensor(self.compute_output_shape(inputs.shape), self.compute_dtype)

    def get_config(self):
        return {**super().get_config(), "num_bins": self.num_bins, "salt": self.salt, "mask_value": self.mask_value,
                "output_mode": self.output_mode, "sparse": self.sparse}


def _text(value):
    return value.decode("utf-8") if isinstance(value, bytes) else value
