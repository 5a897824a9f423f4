"""The PyTorch side: safetensors weights and inference exports (ONNX, ``torch.export``).

A lamina model is a ``torch.nn.Module``, so its ``state_dict`` is the natural key
space for torch tools: `save_safetensors` writes it (no pickle), `load_safetensors`
checks every key and shape before loading. ``model.export(path, format=...)``
traces the model in inference mode with example inputs built from its input
shapes (unknown dimensions become 1, the batch dimension stays dynamic when the
exporter allows it).

>>> import os, tempfile, numpy as np, torch, lamina
>>> from lamina import layers
>>> inputs = lamina.Input((3,), name="x")
>>> model = lamina.Model(inputs, layers.Dense(2, name="d")(inputs))
>>> path = os.path.join(tempfile.mkdtemp(), "m.pt2")
>>> model.export(path, format="torch")
>>> program = torch.export.load(path)
>>> x = torch.ones(4, 3)
>>> bool(torch.allclose(program.module()(x), model(x)))
True
"""

import contextlib

import torch

from lamina.saving.atomic import atomic_path
from lamina.saving.errors import WeightsMismatchError, mismatch_message


def _safetensors():
    try:
        from safetensors import torch as safetensors_torch
    except ImportError as error:
        raise ImportError("Saving and loading safetensors requires the `safetensors` package: "
                          "pip install safetensors") from error
    return safetensors_torch


def save_safetensors(model, filepath, overwrite=True):
    """Writes ``model.state_dict()`` to a ``.safetensors`` file (atomically)."""
    safetensors_torch = _safetensors()
    tensors = {key: value.detach().contiguous().cpu() for key, value in model.state_dict().items()}
    with atomic_path(filepath, overwrite) as tmp:
        if tmp is not None:
            safetensors_torch.save_file(tensors, tmp, metadata={"format": "pt", "framework": "lamina"})


def load_safetensors(model, filepath, strict=True):
    """Loads a ``.safetensors`` state dict into ``model`` after checking every key and shape."""
    safetensors_torch = _safetensors()
    from lamina.saving.errors import FileFormatError

    try:
        stored = safetensors_torch.load_file(str(filepath))
    except Exception as error:  # safetensors raises its own SafetensorError for broken files
        raise FileFormatError(f"'{filepath}' is not a readable safetensors file: {error}") from error
    expected = model.state_dict()
    problems = [f"'{key}': file {tuple(value.shape)} vs model {tuple(expected[key].shape)}"
                for key, value in stored.items()
                if key in expected and tuple(value.shape) != tuple(expected[key].shape)]
    if strict:
        problems += [f"missing from the file: '{key}'" for key in expected if key not in stored]
        problems += [f"not in the model: '{key}'" for key in stored if key not in expected]
    if problems:
        raise WeightsMismatchError(mismatch_message("safetensors", filepath, problems))
    model.load_state_dict(stored, strict=strict)


class _Inference(torch.nn.Module):
    """Calls the model in inference mode with positional tensors (what exporters trace)."""

    def __init__(self, model, multiple):
        super().__init__()
        self.model = model
        self.multiple = multiple

    def forward(self, *inputs):
        return self.model(list(inputs) if self.multiple else inputs[0], training=False)


def example_inputs(model, input_signature=None):
    """Example tensors for tracing: from ``input_signature`` (shapes or tensors) or the model's inputs."""
    from lamina.backend.dtypes import to_torch_dtype

    if input_signature is None:
        inputs = getattr(model, "inputs", None)
        if not inputs:
            raise ValueError(f"Model '{model.name}' has no known input shape. Pass `input_signature`, e.g. "
                             "`input_signature=[(None, 3)]`, or call the model on data first.")
        # Unknown dimensions become 2: exporters specialize dimensions of size 1.
        return [torch.zeros([2 if d is None else d for d in t.shape], dtype=to_torch_dtype(t.dtype)) for t in inputs]
    out = []
    for item in input_signature:
        if isinstance(item, torch.Tensor):
            out.append(item)
        else:
            out.append(torch.zeros([2 if d is None else d for d in item]))
    return out


@contextlib.contextmanager
def _traced(model):
    """Leaves the model as it was after a trace, and keeps eager-call caches out of the trace.

    A layer remembers the last input shape it checked (``_checked_input``): compared against a traced
    shape it would pin the batch size (the dynamic export then fails), and the traced shape it stores
    would outlive the trace. Both caches and every module's train/eval mode are restored afterwards.
    """
    modules = list(model.modules())
    saved = [(m, m.training, m.__dict__.get("_checked_input", _MISSING)) for m in modules]
    for module, _, checked in saved:
        if checked is not _MISSING:
            object.__setattr__(module, "_checked_input", None)
    try:
        yield
    finally:
        for module, training, checked in saved:
            module.train(training) if module.training != training else None
            if checked is not _MISSING:
                object.__setattr__(module, "_checked_input", checked)


_MISSING = object()


def _export_program(wrapper, args, kwargs):
    batch = torch.export.Dim("batch")
    try:
        return torch.export.export(wrapper, args, dynamic_shapes=(tuple({0: batch} for _ in args),), **kwargs)
    except Exception:  # a model that fixes its batch size: export it static
        return torch.export.export(wrapper, args, **kwargs)


def export(model, filepath, format="onnx", input_signature=None, verbose=None, **kwargs):
    """``model.export``: ``'onnx'`` (needs the ``onnx`` package) or ``'torch'`` (a ``torch.export`` program).

    The model is left as it was: same weights, same train/eval mode of every module, and it still
    accepts any batch size.
    """
    args = tuple(example_inputs(model, input_signature))
    with _traced(model):
        return _export(model, filepath, format, args, kwargs, verbose)


def _export(model, filepath, format, args, kwargs, verbose):
    wrapper = _Inference(model, len(args) > 1).eval()
    if format == "torch":
        program = _export_program(wrapper, args, kwargs)
        with atomic_path(filepath, suffix=".tmp.pt2") as tmp:
            torch.export.save(program, tmp)
        return None
    if format == "onnx":
        try:
            import onnx  # noqa: F401
        except ImportError as error:
            raise ImportError("Exporting to ONNX requires the `onnx` package: pip install onnx onnxscript") from error
        names = [f"input_{i}" for i in range(len(args))]
        with atomic_path(filepath, suffix=".tmp.onnx") as tmp:
            try:  # torch >= 2.5: the torch.export-based exporter, with a dynamic batch dimension
                batch = torch.export.Dim("batch")
                torch.onnx.export(wrapper, args, tmp, input_names=names, output_names=["output"], dynamo=True,
                                  dynamic_shapes=(tuple({0: batch} for _ in args),), verbose=bool(verbose),
                                  **kwargs)
            except TypeError:  # older torch: the TorchScript-based exporter
                torch.onnx.export(wrapper, args, tmp, input_names=names, output_names=["output"],
                                  dynamic_axes={name: {0: "batch"} for name in names + ["output"]}, **kwargs)
        return None
    raise ValueError("Unrecognized export format. Supported formats are 'onnx' and 'torch'. "
                     f"Received: format={format!r}")
