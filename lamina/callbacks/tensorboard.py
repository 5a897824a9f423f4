"""`TensorBoard`: writes TensorBoard event files (through `torch.utils.tensorboard.SummaryWriter`).

As Keras: ``<log_dir>/train`` holds ``epoch_<name>`` scalars (and ``epoch_learning_rate``),
``batch_<name>`` scalars when ``update_freq`` is ``'batch'`` or an int, weight histograms
every ``histogram_freq`` epochs and the model graph; ``<log_dir>/validation`` holds the
``val_`` logs as ``epoch_<name>`` and, for ``evaluate``, ``evaluation_<name>_vs_iterations``.
Needs the ``tensorboard`` package (``pip install tensorboard``).

>>> import os, tempfile, numpy as np, lamina
>>> from lamina import layers
>>> model = lamina.Sequential([lamina.Input((2,)), layers.Dense(1)])
>>> model.compile(optimizer="sgd", loss="mse")
>>> log_dir = tempfile.mkdtemp()
>>> _ = model.fit(np.ones((4, 2)), np.zeros((4, 1)), epochs=2, verbose=0, validation_split=0.5,
...               callbacks=[TensorBoard(log_dir, write_graph=False)])
>>> sorted(os.listdir(log_dir))
['train', 'validation']
"""

import os
import time
import warnings

import numpy as np
import torch

from lamina.callbacks.callback import Callback


def _summary_writer_class():
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError as error:
        raise ImportError("The TensorBoard callback needs the `tensorboard` package to write event files: "
                          "`pip install tensorboard`.") from error
    return SummaryWriter


class TensorBoard(Callback):
    """Enable visualizations for TensorBoard.

    Args:
        log_dir: the directory of the logs (``train`` and ``validation`` subdirectories are made in it).
        histogram_freq: write histograms of the weights every that many epochs (``0``: never).
        write_graph: write the model graph (traced with `torch.jit.trace` on zeros shaped like the
            model's inputs; skipped with a warning when the model cannot be traced) and, for functional
            and Sequential models, the ``keras`` summary Keras writes: the model's JSON config for
            TensorBoard's conceptual graph (the ``graph_keras_model`` plugin).
        write_images: also write each weight as an image (2-D weights, and 4-D kernels per filter).
        write_steps_per_second: log ``steps_per_second`` with the epoch scalars.
        update_freq: ``'epoch'``, ``'batch'``, or an int ``n``: also write ``batch_<name>`` scalars every
            ``n`` training batches.
        profile_batch: profile a training batch (an int, 1-based, counted across epochs) or a range
            ``(start, stop)`` of them with `torch.profiler`; the traces go to ``<log_dir>/train`` for
            TensorBoard's profiler plugin. ``0`` (the default) disables profiling.
        embeddings_freq: not supported (as in Keras 3 outside TensorFlow); must be ``0``.
        embeddings_metadata: not supported; must be ``None``.
    """

    def __init__(self, log_dir="logs", histogram_freq=0, write_graph=True, write_images=False,
                 write_steps_per_second=False, update_freq="epoch", profile_batch=0, embeddings_freq=0,
                 embeddings_metadata=None):
        super().__init__()
        self._writer_class = _summary_writer_class()
        self.log_dir = os.fspath(log_dir)
        if not isinstance(histogram_freq, int) or histogram_freq < 0:
            raise ValueError("`histogram_freq` must be a non-negative int. "
                             f"Received: histogram_freq={histogram_freq!r}")
        self.histogram_freq = histogram_freq
        self.write_graph = write_graph
        self.write_images = write_images
        self.write_steps_per_second = write_steps_per_second
        if update_freq == "batch":
            update_freq = 1
        if update_freq != "epoch" and (not isinstance(update_freq, int) or update_freq < 1):
            raise ValueError("`update_freq` must be 'epoch', 'batch' or a positive int. "
                             f"Received: update_freq={update_freq!r}")
        self.update_freq = update_freq
        self._profile_range = _profile_range(profile_batch)
        if embeddings_freq or embeddings_metadata is not None:
            raise ValueError("Embeddings visualization is not supported by lamina's TensorBoard callback. "
                             f"Received: embeddings_freq={embeddings_freq!r}, "
                             f"embeddings_metadata={embeddings_metadata!r}")
        self.embeddings_freq = embeddings_freq
        self.embeddings_metadata = embeddings_metadata
        self._writers = {}
        self._global_train_batch = 0
        self._profiler = None
        self._epoch_start = None
        if self.update_freq != "epoch" or self._profile_range is not None:
            # Batch hooks only when something happens per batch.
            self.on_train_batch_begin = self._on_train_batch_begin
            self.on_train_batch_end = self._on_train_batch_end

    def _writer(self, name):
        if name not in self._writers:
            self._writers[name] = self._writer_class(log_dir=os.path.join(self.log_dir, name))
        return self._writers[name]

    # ---- training -----------------------------------------------------------------------------
    def on_train_begin(self, logs=None):
        self._global_train_batch = 0
        if self.write_graph:
            self._write_graph()

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch_start = time.time()
        self._epoch_batches = 0

    def _on_train_batch_begin(self, batch, logs=None):
        if self._profile_range is not None and self._global_train_batch == self._profile_range[0]:
            self._start_profiler()

    def _on_train_batch_end(self, batch, logs=None):
        self._global_train_batch += 1
        self._epoch_batches = batch + 1
        if self.update_freq != "epoch" and batch % self.update_freq == 0:
            writer = self._writer("train")
            for name, value in (logs or {}).items():
                writer.add_scalar("batch_" + name, _scalar(value), global_step=self._global_train_batch)
        if self._profiler is not None:
            self._profiler.step()
            if self._global_train_batch >= self._profile_range[1]:
                self._stop_profiler()

    def on_epoch_end(self, epoch, logs=None):
        logs = dict(logs or {})
        train_logs = {k: v for k, v in logs.items() if not k.startswith("val_")}
        val_logs = {k[4:]: v for k, v in logs.items() if k.startswith("val_")}
        optimizer = getattr(self.model, "optimizer", None)
        if optimizer is not None and hasattr(optimizer, "learning_rate"):
            train_logs["learning_rate"] = float(np.asarray(optimizer.learning_rate))
        if self.write_steps_per_second and self._epoch_start is not None:
            steps = self._epoch_batches or self.params.get("steps") or 0
            train_logs["steps_per_second"] = steps / max(time.time() - self._epoch_start, 1e-9)
        for writer_name, values in (("train", train_logs), ("validation", val_logs)):
            if values:
                writer = self._writer(writer_name)
                for name, value in values.items():
                    writer.add_scalar("epoch_" + name, _scalar(value), global_step=epoch)
                writer.flush()
        if self.histogram_freq and epoch % self.histogram_freq == 0:
            self._log_weights(epoch)

    def on_train_end(self, logs=None):
        self._stop_profiler()
        self._close()

    # ---- evaluation ------------------------------------------------------------------------------
    def on_test_end(self, logs=None):
        optimizer = getattr(self.model, "optimizer", None)
        if optimizer is None or not hasattr(optimizer, "iterations"):
            return
        step = int(np.asarray(optimizer.iterations))
        writer = self._writer("validation")
        for name, value in (logs or {}).items():
            writer.add_scalar("evaluation_" + name + "_vs_iterations", _scalar(value), global_step=step)
        writer.flush()

    # ---- helpers -------------------------------------------------------------------------------
    def _log_weights(self, epoch):
        writer = self._writer("train")
        for weight in self.model.weights:
            name = str(getattr(weight, "path", None) or weight.name).replace(":", "_")
            values = np.asarray(weight.numpy() if hasattr(weight, "numpy") else weight)
            writer.add_histogram(name + "/histogram", values, global_step=epoch)
            if self.write_images:
                image = _weight_image(values)
                if image is not None:
                    writer.add_image(name + "/image", image, global_step=epoch, dataformats="NHWC")
        writer.flush()

    def _write_graph(self):
        self._write_keras_config()
        inputs = getattr(self.model, "inputs", None)
        try:
            if not inputs:
                raise ValueError("the model has no symbolic inputs to take shapes from")
            device = next((w.value.device for w in self.model.weights), None)
            examples = [torch.zeros([1 if d is None else d for d in t.shape], device=device,
                                    dtype=getattr(torch, str(getattr(t, "dtype", "float32"))))
                        for t in inputs]
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # tracer warnings about Python control flow
                self._writer("train").add_graph(self.model, examples[0] if len(examples) == 1 else examples)
        except Exception as error:  # best effort, as Keras when a graph cannot be made
            warnings.warn(f"TensorBoard could not write the graph of model '{self.model.name}': {error}",
                          stacklevel=3)

    def _write_keras_config(self):
        """The ``keras`` summary at step 0: the model's JSON as a string tensor, as Keras's TensorBoard writes."""
        if not getattr(self.model, "inputs", None):  # subclassed models: Keras writes no conceptual graph either
            return
        from tensorboard.compat.proto.summary_pb2 import Summary, SummaryMetadata
        from tensorboard.compat.proto.tensor_pb2 import TensorProto
        from tensorboard.compat.proto.tensor_shape_pb2 import TensorShapeProto

        try:
            config = self.model.to_json()
        except Exception as error:  # a layer without a config: the traced graph is still written
            warnings.warn(f"TensorBoard could not write the config of model '{self.model.name}': {error}",
                          stacklevel=4)
            return
        metadata = SummaryMetadata(plugin_data=SummaryMetadata.PluginData(plugin_name="graph_keras_model",
                                                                          content=b"1"))
        tensor = TensorProto(dtype=7, tensor_shape=TensorShapeProto(), string_val=[config.encode()])  # DT_STRING
        summary = Summary(value=[Summary.Value(tag="keras", metadata=metadata, tensor=tensor)])
        writer = self._writer("train")
        writer._get_file_writer().add_summary(summary, global_step=0)

    def _start_profiler(self):
        from torch.profiler import ProfilerActivity, profile, tensorboard_trace_handler

        activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if torch.cuda.is_available() else [])
        self._profiler = profile(activities=activities,
                                 on_trace_ready=tensorboard_trace_handler(os.path.join(self.log_dir, "train")))
        self._profiler.__enter__()

    def _stop_profiler(self):
        if self._profiler is not None:
            profiler, self._profiler = self._profiler, None
            profiler.__exit__(None, None, None)

    def _close(self):
        for writer in self._writers.values():
            writer.close()
        self._writers = {}

    def __del__(self):
        try:
            self._close()
        except Exception:
            pass


def _scalar(value):
    return float(value.detach().cpu()) if isinstance(value, torch.Tensor) else float(value)


def _profile_range(profile_batch):
    """``0`` -> None; ``n`` -> (n, n); ``(start, stop)`` or ``"start,stop"`` -> (start, stop) (1-based, global)."""
    if isinstance(profile_batch, str):
        profile_batch = [int(p) for p in profile_batch.split(",")]
    if isinstance(profile_batch, int) and not isinstance(profile_batch, bool):
        bounds = (profile_batch, profile_batch)
    elif isinstance(profile_batch, (list, tuple)) and len(profile_batch) == 2:
        bounds = tuple(int(p) for p in profile_batch)
    else:
        bounds = None
    if bounds is None or bounds[0] < 0 or bounds[1] < bounds[0]:
        raise ValueError("profile_batch must be a non-negative integer or 2-tuple of positive integers. A pair of "
                         "positive integers signifies a range of batches to profile. "
                         f"Found: {profile_batch}")
    if bounds[0] == 0:
        return None
    return bounds[0] - 1, bounds[1]


def _weight_image(values):
    """A weight as NHWC images in [0, 1]: 2-D as one image, 4-D kernels one image per output filter."""
    if values.ndim == 1:
        values = values[None, :]
    if values.ndim == 2:
        images = values[None, :, :, None]
    elif values.ndim == 4:
        images = np.transpose(values, (3, 0, 1, 2))[..., :1]
    else:
        return None
    low, high = float(images.min()), float(images.max())
    return ((images - low) / (high - low if high > low else 1.0)).astype("float32")
