"""Keras 3 optimizer update rules re-implemented in NumPy float32, one variable at a time.

Written from the Keras 3 formulas (not from lamina's code), as the independent reference of
the optimizer tests. Constants follow Keras's precision: ``1 - beta`` is a Python (double)
difference rounded to float32 where Keras subtracts Python floats (Adam, Adamax, RMSprop,
Adadelta), and a float32 difference where Keras first casts beta to the variable dtype
(Nadam, Lion): `KerasReference` runs the base pipeline (loss-scale, accumulation,
clipping, weight decay, update, EMA, iteration count) around one of the rules below.
"""

import numpy as np

F = np.float32


def _f(x):
    return F(x)


class SGDRule:
    def __init__(self, momentum=0.0, nesterov=False):
        self.momentum, self.nesterov = _f(momentum), nesterov

    def init(self, var):
        return {"m": np.zeros_like(var)} if self.momentum != 0 else {}

    def step(self, g, var, s, lr, t):
        if self.momentum == 0:
            return var - g * lr
        s["m"] = s["m"] * self.momentum - g * lr
        if self.nesterov:
            return var + (s["m"] * self.momentum - g * lr)
        return var + s["m"]


class AdamRule:
    def __init__(self, beta_1=0.9, beta_2=0.999, epsilon=1e-7, amsgrad=False):
        self.b1, self.b2, self.eps, self.amsgrad = _f(beta_1), _f(beta_2), _f(epsilon), amsgrad
        self.c1, self.c2 = _f(1 - beta_1), _f(1 - beta_2)

    def init(self, var):
        state = {"m": np.zeros_like(var), "v": np.zeros_like(var)}
        if self.amsgrad:
            state["vhat"] = np.zeros_like(var)
        return state

    def step(self, g, var, s, lr, t):
        alpha = lr * np.sqrt(F(1) - self.b2 ** F(t)) / (F(1) - self.b1 ** F(t))
        s["m"] = s["m"] + (g - s["m"]) * self.c1
        s["v"] = s["v"] + (g * g - s["v"]) * self.c2
        v = s["v"]
        if self.amsgrad:
            s["vhat"] = np.maximum(s["vhat"], s["v"])
            v = s["vhat"]
        return var - (s["m"] * alpha) / (np.sqrt(v) + self.eps)


class RMSpropRule:
    def __init__(self, rho=0.9, momentum=0.0, epsilon=1e-7, centered=False):
        self.rho, self.momentum, self.eps, self.centered = _f(rho), _f(momentum), _f(epsilon), centered
        self.c = _f(1 - rho)

    def init(self, var):
        return {"vel": np.zeros_like(var), "mom": np.zeros_like(var), "avg": np.zeros_like(var)}

    def step(self, g, var, s, lr, t):
        s["vel"] = self.rho * s["vel"] + self.c * (g * g)
        if self.centered:
            s["avg"] = self.rho * s["avg"] + self.c * g
            denominator = s["vel"] - s["avg"] ** 2 + self.eps
        else:
            denominator = s["vel"] + self.eps
        increment = lr * g / np.sqrt(denominator)
        if self.momentum > 0:
            s["mom"] = self.momentum * s["mom"] + increment
            return var - s["mom"]
        return var - increment


class AdagradRule:
    def __init__(self, initial_accumulator_value=0.1, epsilon=1e-7):
        self.init_value, self.eps = _f(initial_accumulator_value), _f(epsilon)

    def init(self, var):
        return {"acc": np.full_like(var, self.init_value)}

    def step(self, g, var, s, lr, t):
        s["acc"] = s["acc"] + g * g
        return var - lr * g / np.sqrt(s["acc"] + self.eps)


class AdadeltaRule:
    def __init__(self, rho=0.95, epsilon=1e-7):
        self.rho, self.eps, self.c = _f(rho), _f(epsilon), _f(1 - rho)

    def init(self, var):
        return {"ag": np.zeros_like(var), "ad": np.zeros_like(var)}

    def step(self, g, var, s, lr, t):
        s["ag"] = self.rho * s["ag"] + self.c * (g * g)
        delta = -(np.sqrt(s["ad"] + self.eps) * g) / np.sqrt(s["ag"] + self.eps)
        s["ad"] = self.rho * s["ad"] + self.c * (delta * delta)
        return var + lr * delta


class AdamaxRule:
    def __init__(self, beta_1=0.9, beta_2=0.999, epsilon=1e-7):
        self.b1, self.b2, self.eps, self.c1 = _f(beta_1), _f(beta_2), _f(epsilon), _f(1 - beta_1)

    def init(self, var):
        return {"m": np.zeros_like(var), "u": np.zeros_like(var)}

    def step(self, g, var, s, lr, t):
        s["m"] = s["m"] + (g - s["m"]) * self.c1
        s["u"] = np.maximum(self.b2 * s["u"], np.abs(g))
        return var - lr * s["m"] / ((F(1) - self.b1 ** F(t)) * (s["u"] + self.eps))


class NadamRule:
    """The running product of u_t is optimizer-wide: `begin_step` advances it once per update."""

    def __init__(self, beta_1=0.9, beta_2=0.999, epsilon=1e-7):
        self.b1, self.b2, self.eps = _f(beta_1), _f(beta_2), _f(epsilon)
        self.u_product = F(1)

    def init(self, var):
        return {"m": np.zeros_like(var), "v": np.zeros_like(var)}

    def _u(self, t):
        return self.b1 * (F(1) - F(0.5) * F(0.96) ** F(t))

    def begin_step(self, t):
        self.u_product = self.u_product * self._u(t)

    def step(self, g, var, s, lr, t):
        u_t, u_t1 = self._u(t), self._u(t + 1)
        u_product_t1 = self.u_product * u_t1
        s["m"] = s["m"] + (g - s["m"]) * (F(1) - self.b1)
        s["v"] = s["v"] + (g * g - s["v"]) * (F(1) - self.b2)
        m_hat = u_t1 * s["m"] / (F(1) - u_product_t1) + (F(1) - u_t) * g / (F(1) - self.u_product)
        v_hat = s["v"] / (F(1) - self.b2 ** F(t))
        return var - m_hat * lr / (np.sqrt(v_hat) + self.eps)


class LionRule:
    def __init__(self, beta_1=0.9, beta_2=0.99):
        self.b1, self.b2 = _f(beta_1), _f(beta_2)

    def init(self, var):
        return {"m": np.zeros_like(var)}

    def step(self, g, var, s, lr, t):
        var = var - lr * np.sign(s["m"] * self.b1 + g * (F(1) - self.b1))
        s["m"] = s["m"] * self.b2 + g * (F(1) - self.b2)
        return var


class FtrlRule:
    def __init__(self, learning_rate_power=-0.5, initial_accumulator_value=0.1, l1_regularization_strength=0.0,
                 l2_regularization_strength=0.0, l2_shrinkage_regularization_strength=0.0, beta=0.0):
        self.power = F(-learning_rate_power)
        self.init_value = F(initial_accumulator_value)
        self.l1, self.l2, self.shrink, self.beta = (F(l1_regularization_strength), F(l2_regularization_strength),
                                                    F(l2_shrinkage_regularization_strength), F(beta))

    def init(self, var):
        return {"n": np.full_like(var, self.init_value), "z": np.zeros_like(var)}

    def step(self, g, var, s, lr, t):
        l2 = self.l2 + self.beta / (F(2) * lr)
        grad = g + F(2) * self.shrink * var
        n_new = s["n"] + g * g
        s["z"] = s["z"] + (grad - (n_new ** self.power - s["n"] ** self.power) / lr * var)
        quadratic = n_new ** self.power / lr + F(2) * l2
        var = (np.clip(s["z"], -self.l1, self.l1) - s["z"]) / quadratic
        s["n"] = n_new
        return var


class KerasReference:
    """The Keras 3 base-optimizer pipeline around ``rule``, on a list of float32 arrays."""

    def __init__(self, rule, variables, learning_rate, weight_decay=None, clipnorm=None, clipvalue=None,
                 global_clipnorm=None, use_ema=False, ema_momentum=0.99, ema_overwrite_frequency=None,
                 loss_scale_factor=None, gradient_accumulation_steps=None, no_decay=()):
        self.rule, self.lr = rule, learning_rate
        self.vars = [np.array(v, dtype=F) for v in variables]
        self.states = [rule.init(v) for v in self.vars]
        self.wd, self.clipnorm, self.clipvalue = weight_decay, clipnorm, clipvalue
        self.global_clipnorm = global_clipnorm
        self.use_ema, self.ema_momentum, self.ema_frequency = use_ema, ema_momentum, ema_overwrite_frequency
        self.scale, self.accumulate, self.no_decay = loss_scale_factor, gradient_accumulation_steps, set(no_decay)
        self.averages = [np.zeros_like(v) for v in self.vars]
        self.accumulators = [np.zeros_like(v) for v in self.vars]
        self.iterations = 0

    def _learning_rate(self):
        return F(self.lr(self.iterations)) if callable(self.lr) else F(self.lr)

    def _clip(self, grads):
        if self.clipnorm:
            return [g * F(self.clipnorm) / max(np.sqrt(np.sum(g * g)), F(self.clipnorm)) for g in grads]
        if self.global_clipnorm:
            norm = np.sqrt(sum(np.sum(g * g) for g in grads))
            return [g * F(self.global_clipnorm * min(1 / norm, 1 / self.global_clipnorm)) for g in grads]
        if self.clipvalue:
            return [np.clip(g, -self.clipvalue, self.clipvalue) for g in grads]
        return grads

    def _update(self, grads, t):
        grads = self._clip(grads)
        lr = self._learning_rate()
        if self.wd is not None:
            for i, v in enumerate(self.vars):
                if i not in self.no_decay:
                    self.vars[i] = v - v * F(self.wd) * lr
        if hasattr(self.rule, "begin_step"):
            self.rule.begin_step(t)
        for i, g in enumerate(grads):
            self.vars[i] = self.rule.step(g, self.vars[i], self.states[i], lr, t).astype(F)

    def apply(self, grads):
        grads = [np.asarray(g, dtype=F) for g in grads]
        if self.scale is not None:
            grads = [g / F(self.scale) for g in grads]
        n = self.accumulate
        count = self.iterations // n if n else self.iterations
        if n:
            if (self.iterations + 1) % n == 0:
                self._update([(g + a) / F(n) for g, a in zip(grads, self.accumulators)], count + 1)
                self.accumulators = [np.zeros_like(a) for a in self.accumulators]
            else:
                self.accumulators = [a + g for a, g in zip(self.accumulators, grads)]
        else:
            self._update(grads, count + 1)
        if self.use_ema:
            momentum = F(self.ema_momentum) if count != 0 else F(0)
            self.averages = [momentum * a + (F(1) - momentum) * v for a, v in zip(self.averages, self.vars)]
            if self.ema_frequency and (count + 1) % self.ema_frequency == 0:
                self.vars = [a.copy() for a in self.averages]
        self.iterations += 1
