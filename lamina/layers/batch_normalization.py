"""`BatchNormalization`, with Keras 3's statistics and moving-average convention.

Training (``training=True`` and ``layer.trainable``) normalizes with the batch mean
and the *biased* batch variance and updates
``moving = moving * momentum + batch * (1 - momentum)`` with that same biased
variance, as Keras 3 does. Inference (or a frozen layer) uses the moving statistics.

The fast path is one ``torch.nn.functional.batch_norm`` call on a view with the
features on axis 1 (channels-last memory stays channels-last). torch updates its
running variance with the *unbiased* variance, so the update is redone right after
with the biased one (``n - 1 / n`` rescaling of the batch term). Masks, batches of
one sample per channel, synchronized statistics and batch renormalization take the
explicit path.

>>> import torch
>>> bn = BatchNormalization()
>>> x = torch.tensor([[1.0], [3.0]])
>>> bn(x, training=True).round(decimals=4).tolist()
[[-0.9995], [0.9995]]
>>> bn.moving_mean.numpy().round(4).tolist(), bn.moving_variance.numpy().round(4).tolist()
([0.02], [1.0])
"""

import torch
import torch.nn.functional as F

from lamina import constraints, initializers, regularizers
from lamina.backend import config
from lamina.engine.input_spec import InputSpec
from lamina.engine.layer import Layer
from lamina.layers.conv_base import serialize

_HALF = (torch.float16, torch.bfloat16)


def _distributed():
    return torch.distributed.is_available() and torch.distributed.is_initialized()


class _AllReduceSum(torch.autograd.Function):
    """Sum over all processes; the gradient is summed too (each process's statistics feed every output)."""

    @staticmethod
    def forward(ctx, x):
        x = x.clone()
        torch.distributed.all_reduce(x)
        return x

    @staticmethod
    def backward(ctx, grad):
        grad = grad.clone()
        torch.distributed.all_reduce(grad)
        return grad


class BatchNormalization(Layer):
    """Normalizes each feature with batch statistics in training and moving statistics in inference.

    Args:
        axis: the features axis (``-1``; ``1`` after ``channels_first`` convolutions).
        momentum: momentum of the moving averages.
        epsilon: added to the variance before the square root.
        center, scale: whether to add ``beta`` / multiply by ``gamma``.
        beta_initializer, gamma_initializer, moving_mean_initializer,
            moving_variance_initializer: initializers of the four weights.
        beta_regularizer, gamma_regularizer, beta_constraint, gamma_constraint: for the
            trainable weights.
        synchronized: compute the batch statistics over all processes of the
            `torch.distributed` group (as torch's ``SyncBatchNorm``); a single process
            uses its own batch.
        renorm, renorm_clipping, renorm_momentum: batch renormalization (Keras 3):
            ``renorm_clipping`` maps ``'rmax'``, ``'rmin'``, ``'dmax'`` to clip values.

    Call arguments:
        training: batch statistics (and moving-average updates) when true.
        mask: ``inputs.shape`` without the last axis (as in Keras); masked positions are left
            out of the batch statistics.

    Setting ``trainable = False`` freezes the layer *and* puts it in inference mode, as in Keras.
    """

    supports_masking = True

    def __init__(self, axis=-1, momentum=0.99, epsilon=1e-3, center=True, scale=True, beta_initializer="zeros",
                 gamma_initializer="ones", moving_mean_initializer="zeros", moving_variance_initializer="ones",
                 beta_regularizer=None, gamma_regularizer=None, beta_constraint=None, gamma_constraint=None,
                 synchronized=False, renorm=False, renorm_clipping=None, renorm_momentum=0.99, **kwargs):
        super().__init__(**kwargs)
        if isinstance(axis, (list, tuple)) and len(axis) == 1:  # Keras 2 configs may store [axis]
            axis = axis[0]
        if not isinstance(axis, int) or isinstance(axis, bool):
            raise TypeError(f"The `axis` argument of BatchNormalization must be an int. Received: axis={axis!r}")
        self.axis = int(axis)
        self.momentum = float(momentum)
        self.epsilon = float(epsilon)
        self.center = bool(center)
        self.scale = bool(scale)
        self.beta_initializer = initializers.get(beta_initializer)
        self.gamma_initializer = initializers.get(gamma_initializer)
        self.moving_mean_initializer = initializers.get(moving_mean_initializer)
        self.moving_variance_initializer = initializers.get(moving_variance_initializer)
        self.beta_regularizer = regularizers.get(beta_regularizer)
        self.gamma_regularizer = regularizers.get(gamma_regularizer)
        self.beta_constraint = constraints.get(beta_constraint)
        self.gamma_constraint = constraints.get(gamma_constraint)
        self.synchronized = bool(synchronized)
        self.renorm = bool(renorm)
        self.renorm_clipping = self._check_clipping(renorm_clipping) if self.renorm else renorm_clipping
        self.renorm_momentum = float(renorm_momentum)
        self.gamma = self.beta = self.moving_mean = self.moving_variance = None

    @staticmethod
    def _check_clipping(clipping):
        clipping = dict(clipping or {})
        unknown = set(clipping) - {"rmax", "rmin", "dmax"}
        if unknown:
            raise ValueError(
                "Received invalid keys for the `renorm_clipping` argument of BatchNormalization; supported keys "
                f"are 'rmax', 'rmin', 'dmax'. Received: renorm_clipping={clipping}"
            )
        rmax, rmin, dmax = clipping.get("rmax"), clipping.get("rmin"), clipping.get("dmax")
        if rmax is not None and rmin is not None and rmax < rmin:
            raise ValueError(f"`rmax` must be >= `rmin` in `renorm_clipping`. Received: rmax={rmax}, rmin={rmin}")
        if dmax is not None and dmax < 0:
            raise ValueError(f"`dmax` must be non-negative in `renorm_clipping`. Received: dmax={dmax}")
        return clipping

    def build(self, input_shape):
        ndim = len(input_shape)
        if not -ndim <= self.axis < ndim:
            raise ValueError(
                f'Layer "{self.name}" (BatchNormalization): axis {self.axis} is out of bounds for inputs of rank '
                f"{ndim}. Received: axis={self.axis}, input_shape={tuple(input_shape)}"
            )
        size = input_shape[self.axis]
        if size is None:
            raise ValueError(
                f'Layer "{self.name}" (BatchNormalization) needs a known size along axis {self.axis}. '
                f"Received: input_shape={tuple(input_shape)}"
            )
        shape = (size,)
        if self.scale:
            self.gamma = self.add_weight(shape=shape, initializer=self.gamma_initializer, name="gamma",
                                         regularizer=self.gamma_regularizer, constraint=self.gamma_constraint,
                                         autocast=False)
        if self.center:
            self.beta = self.add_weight(shape=shape, initializer=self.beta_initializer, name="beta",
                                        regularizer=self.beta_regularizer, constraint=self.beta_constraint,
                                        autocast=False)
        self.moving_mean = self.add_weight(shape=shape, initializer=self.moving_mean_initializer,
                                           trainable=False, name="moving_mean", autocast=False)
        self.moving_variance = self.add_weight(shape=shape, initializer=self.moving_variance_initializer,
                                               trainable=False, name="moving_variance", autocast=False)
        if self.renorm:
            stddev_init = _SqrtInitializer(self.moving_variance_initializer)
            self.moving_stddev = self.add_weight(shape=shape, initializer=stddev_init, trainable=False,
                                                 name="moving_stddev", autocast=False)
            self.renorm_mean = self.add_weight(shape=shape, initializer=self.moving_mean_initializer,
                                               trainable=False, name="renorm_mean", autocast=False)
            self.renorm_stddev = self.add_weight(shape=shape, initializer=stddev_init, trainable=False,
                                                 name="renorm_stddev", autocast=False)
        self.input_spec = InputSpec(ndim=ndim, axes={self.axis: size})

    # ---- call ----------------------------------------------------------------------------------
    def call(self, inputs, training=None, mask=None):
        if mask is not None and mask.dim() != inputs.dim() - 1:
            raise ValueError(
                f'Layer "{self.name}" (BatchNormalization): the mask must have one dimension less than the '
                f"inputs. Received: mask.shape={tuple(mask.shape)}, inputs.shape={tuple(inputs.shape)}"
            )
        x = inputs.float() if inputs.dtype in _HALF else inputs  # half-precision statistics overflow
        gamma = self.gamma.value if self.gamma is not None else None
        beta = self.beta.value if self.beta is not None else None
        moving_mean, moving_var = self.moving_mean.value, self.moving_variance.value
        if x.dtype != moving_mean.dtype:
            x = x.to(moving_mean.dtype)
        if not (training and self.trainable):
            # features on axis 1 as a view: channels_last memory stays channels_last
            out = F.batch_norm(x.movedim(self.axis, 1), moving_mean, moving_var, gamma, beta, False, 0.0,
                               self.epsilon).movedim(1, self.axis)
        elif self._fast_training(x, mask):
            out = self._fused_training(x.movedim(self.axis, 1), gamma, beta).movedim(1, self.axis)
        else:
            out = self._explicit_training(x, mask, gamma, beta)
        compute = self._dtype_policy.torch_compute_dtype
        return out if out.dtype == compute else out.to(compute)

    def _fast_training(self, x, mask):
        return (mask is None and not self.renorm and not (self.synchronized and _distributed())
                and x.numel() > x.shape[self.axis])

    def _fused_training(self, features, gamma, beta):
        # torch updates (and saves for backward) the running statistics it is given: hand it copies, so the
        # variables can be updated again before this call's backward runs.
        moving_mean, moving_var = self.moving_mean.value, self.moving_variance.value
        running_mean, running_var = moving_mean.detach().clone(), moving_var.detach().clone()
        out = F.batch_norm(features, running_mean, running_var, gamma, beta, True, 1.0 - self.momentum,
                           self.epsilon)
        n = features.numel() // features.shape[1]
        with torch.no_grad():  # torch added (1 - momentum) * the unbiased variance: Keras uses the biased one
            kept = moving_var * self.momentum
            moving_var.copy_(kept + (running_var - kept) * ((n - 1) / n))
            moving_mean.copy_(running_mean)
        return out

    def _explicit_training(self, x, mask, gamma, beta):
        mean, variance = self._moments(x, mask)
        if self.renorm:
            gamma, beta = self._renorm_transform(mean, variance, gamma, beta)
            self._update_renorm_statistics(mean.detach(), variance.detach())
        else:
            with torch.no_grad():
                self.moving_mean.value.mul_(self.momentum).add_(mean.detach() * (1.0 - self.momentum))
                self.moving_variance.value.mul_(self.momentum).add_(variance.detach() * (1.0 - self.momentum))
        shape = [1] * x.dim()
        shape[self.axis] = x.shape[self.axis]
        inv = torch.rsqrt(variance + self.epsilon)
        if gamma is not None:
            inv = inv * gamma
        shift = -mean * inv
        if beta is not None:
            shift = shift + beta
        return x * inv.view(shape) + shift.view(shape)

    def _moments(self, x, mask):
        axis = self.axis % x.dim()
        dims = [d for d in range(x.dim()) if d != axis]
        if mask is None:
            if self.synchronized and _distributed():
                return self._synchronized_moments(x, dims)
            variance, mean = torch.var_mean(x, dim=dims, correction=0)
            return mean, variance
        weights = mask.to(device=x.device, dtype=x.dtype).unsqueeze(-1).expand_as(x)  # Keras: mask = leading axes
        count = weights.sum(dim=dims) + config.epsilon()
        mean = (weights * x).sum(dim=dims) / count
        shape = [1] * x.dim()
        shape[axis] = x.shape[axis]
        variance = (weights * torch.square(x - mean.view(shape))).sum(dim=dims) / count
        return mean, variance

    def _synchronized_moments(self, x, dims):
        """Global mean and biased variance over every process (differentiable all-reduce)."""
        count = torch.full((1,), x.numel() / x.shape[self.axis], dtype=x.dtype, device=x.device)
        totals = _AllReduceSum.apply(torch.cat([x.sum(dim=dims), torch.square(x).sum(dim=dims), count]))
        channels = x.shape[self.axis]
        n = totals[-1]
        mean = totals[:channels] / n
        return mean, torch.clamp(totals[channels:2 * channels] / n - torch.square(mean), min=0.0)

    # ---- batch renormalization ---------------------------------------------------------------------
    def _renorm_transform(self, mean, variance, gamma, beta):
        """``(x_hat * r + d) * gamma + beta`` folded into a new gamma and beta (r, d without gradient)."""
        with torch.no_grad():
            stddev = torch.sqrt(variance + self.epsilon)
            renorm_stddev = torch.clamp(self.renorm_stddev.value, min=self.epsilon ** 0.5)
            r = stddev / renorm_stddev
            d = (mean - self.renorm_mean.value) / renorm_stddev
            clip = self.renorm_clipping or {}
            if clip.get("rmin") is not None:
                r = torch.clamp(r, min=clip["rmin"])
            if clip.get("rmax") is not None:
                r = torch.clamp(r, max=clip["rmax"])
            if clip.get("dmax") is not None:
                d = torch.clamp(d, -clip["dmax"], clip["dmax"])
        new_gamma = r if gamma is None else r * gamma
        new_beta = d if gamma is None else d * gamma
        return new_gamma, new_beta if beta is None else new_beta + beta

    def _update_renorm_statistics(self, mean, variance):
        stddev = torch.sqrt(variance + self.epsilon)
        with torch.no_grad():
            for variable, value, momentum in ((self.renorm_mean, mean, self.renorm_momentum),
                                              (self.renorm_stddev, stddev, self.renorm_momentum),
                                              (self.moving_mean, mean, self.momentum),
                                              (self.moving_stddev, stddev, self.momentum)):
                variable.value.mul_(momentum).add_(value * (1.0 - momentum))
            moving_stddev = self.moving_stddev.value
            self.moving_variance.value.copy_(torch.relu(moving_stddev * moving_stddev - self.epsilon))

    # ---- shapes and config -------------------------------------------------------------------------
    def compute_output_shape(self, input_shape):
        ndim = len(input_shape)
        if not -ndim <= self.axis < ndim:
            raise ValueError(
                f"Axis {self.axis} is out of bounds for input shape {tuple(input_shape)}. Received: axis={self.axis}"
            )
        return tuple(input_shape)

    def __repr__(self):
        return f"<BatchNormalization name={self.name}, axis={self.axis}, built={self.built}>"

    def get_config(self):
        return {
            **super().get_config(),
            "axis": self.axis,
            "momentum": self.momentum,
            "epsilon": self.epsilon,
            "center": self.center,
            "scale": self.scale,
            "beta_initializer": serialize(initializers, self.beta_initializer),
            "gamma_initializer": serialize(initializers, self.gamma_initializer),
            "moving_mean_initializer": serialize(initializers, self.moving_mean_initializer),
            "moving_variance_initializer": serialize(initializers, self.moving_variance_initializer),
            "beta_regularizer": serialize(regularizers, self.beta_regularizer),
            "gamma_regularizer": serialize(regularizers, self.gamma_regularizer),
            "beta_constraint": serialize(constraints, self.beta_constraint),
            "gamma_constraint": serialize(constraints, self.gamma_constraint),
            "synchronized": self.synchronized,
            "renorm": self.renorm,
            "renorm_clipping": self.renorm_clipping,
            "renorm_momentum": self.renorm_momentum,
        }


class _SqrtInitializer:
    """The square root of another initializer (the renorm standard deviations start at sqrt(variance))."""

    def __init__(self, initializer):
        self.initializer = initializer

    def __call__(self, shape, dtype=None):
        return torch.sqrt(torch.as_tensor(self.initializer(shape, dtype=dtype)))
