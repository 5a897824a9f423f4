"""`pad_sequences`: lists of sequences to one padded 2-D (or higher) NumPy array, as Keras.

>>> pad_sequences([[1], [2, 3], [4, 5, 6]])
array([[0, 0, 1],
       [0, 2, 3],
       [4, 5, 6]], dtype=int32)
>>> pad_sequences([[1], [2, 3], [4, 5, 6]], maxlen=2, padding="post", truncating="post", value=-1)
array([[ 1, -1],
       [ 2,  3],
       [ 4,  5]], dtype=int32)
"""

import numpy as np


def pad_sequences(sequences, maxlen=None, dtype="int32", padding="pre", truncating="pre", value=0.0):
    """Pads (and truncates) sequences to a common length.

    Args:
        sequences: a list of sequences (lists or arrays; their items may themselves be arrays of one shape).
        maxlen: the output length; default the longest sequence.
        dtype: the output dtype; use ``object`` (or a NumPy string dtype) for strings.
        padding: ``"pre"`` or ``"post"``: pad before or after each sequence.
        truncating: ``"pre"`` or ``"post"``: drop values from the start or the end of longer sequences.
        value: the padding value (a string needs ``dtype=object`` or a string dtype).

    Returns:
        A NumPy array of shape ``(len(sequences), maxlen) + item_shape``.
    """
    if not hasattr(sequences, "__len__"):
        raise ValueError(f"`sequences` must be iterable. Received: sequences of type {type(sequences).__name__}")
    if padding not in ("pre", "post"):
        raise ValueError(f'Padding type "{padding}" not understood')
    if truncating not in ("pre", "post"):
        raise ValueError(f'Truncating type "{truncating}" not understood')
    lengths, sample_shape = [], ()
    found_shape = False
    for x in sequences:
        try:
            lengths.append(len(x))
        except TypeError as error:
            raise ValueError(f"`sequences` must be a list of iterables. Found non-iterable: {x}") from error
        if not found_shape and len(x):
            sample_shape = np.asarray(x).shape[1:]
            found_shape = True
    if maxlen is None:
        maxlen = int(np.max(lengths)) if lengths else 0
    is_str_dtype = np.issubdtype(dtype, np.str_) or np.issubdtype(dtype, np.bytes_)
    if isinstance(value, str) and dtype is not object and not is_str_dtype:
        raise ValueError(f"`dtype` {dtype} is not compatible with `value`'s type: {type(value)}\n"
                         "You should set `dtype=object` for variable length strings.")
    out = np.full((len(sequences), maxlen) + sample_shape, value, dtype=dtype)
    if maxlen == 0:
        return out
    for idx, seq in enumerate(sequences):
        if not len(seq):
            continue
        trunc = seq[-maxlen:] if truncating == "pre" else seq[:maxlen]
        trunc = np.asarray(trunc, dtype=dtype)
        if trunc.shape[1:] != sample_shape:
            raise ValueError(f"Shape of sample {trunc.shape[1:]} of sequence at position {idx} is different from "
                             f"expected shape {sample_shape}")
        if padding == "post":
            out[idx, : len(trunc)] = trunc
        else:
            out[idx, -len(trunc):] = trunc
    return out
