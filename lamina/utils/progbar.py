"""`Progbar`: the Keras progress bar.

On a terminal the bar redraws in place (at most every ``interval`` seconds, so a fast
loop is not slowed by printing); when output is not a terminal (logs, CI) only the
final line of each bar is printed. ``verbose=2`` prints just that final line too.

>>> bar = Progbar(target=4, verbose=2)
>>> for step in range(1, 5):
...     bar.update(step, values={"loss": 0.5}, finalize=step == 4)  # doctest: +ELLIPSIS
4/4 - ...s - ...s/step - loss: 0.5000
"""

import sys
import time

_BAR_WIDTH = 20


def _to_float(value):
    if hasattr(value, "detach"):
        value = value.detach()
        return float(value.cpu()) if value.numel() == 1 else value
    try:
        return float(value)
    except (TypeError, ValueError):
        return value


def _format_value(value):
    value = _to_float(value)
    if isinstance(value, float):
        return f"{value:.4f}" if abs(value) >= 1e-3 or value == 0 else f"{value:.4e}"
    return str(value)


def _format_eta(seconds):
    """The time left, as Keras shows it: ``'1:02:03'``, ``'2:05'`` or ``'7s'`` (whole seconds, rounded down)."""
    if seconds > 3600:
        return f"{int(seconds // 3600)}:{int(seconds % 3600 // 60):02d}:{int(seconds % 60):02d}"
    if seconds > 60:
        return f"{int(seconds // 60)}:{int(seconds % 60):02d}"
    return f"{int(seconds)}s"


def _format_elapsed(seconds):
    """The time since the start, in seconds however long (``'75s'``), as Keras shows it."""
    return f"{seconds:.0f}s"


def _format_per_step(seconds, unit_name):
    if seconds >= 1 or seconds == 0:
        return f"{seconds:.0f}s/{unit_name}"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.0f}ms/{unit_name}"
    return f"{seconds * 1e6:.0f}us/{unit_name}"


class Progbar:
    """Displays progress of ``target`` steps.

    Args:
        target: the number of steps, or None if unknown.
        width: the bar's width in characters.
        verbose: 0 silent, 1 bar, 2 one line at the end.
        interval: minimum seconds between two redraws on a terminal.
        stateful_metrics: accepted for Keras compatibility; values are shown as given (the training
            loop already passes running averages).
        unit_name: shown after the time per unit (``'step'``).
    """

    def __init__(self, target, width=_BAR_WIDTH, verbose=1, interval=0.05, stateful_metrics=None,
                 unit_name="step", stream=None):
        self.target = target
        self.width = width
        self.verbose = verbose
        self.interval = interval
        self.unit_name = unit_name
        self.stream = stream
        self._start = time.time()
        self._last_draw = 0.0
        self._values = {}
        self._seen = 0
        self._drawn_width = 0
        self._after_first_step = None

    def _out(self):
        return self.stream or sys.stdout

    @property
    def _dynamic(self):
        out = self._out()
        return hasattr(out, "isatty") and out.isatty()

    def update(self, current, values=None, finalize=None):
        """Records progress; draws the bar when due. ``values`` is a dict (or list of pairs) of metrics."""
        if finalize is None:
            finalize = self.target is not None and current >= self.target
        if values:
            self._values.update(values.items() if isinstance(values, dict) else values)
        self._seen = current
        if self.verbose == 0:
            return
        now = time.time()
        if current == 1:
            self._after_first_step = now
        if not finalize:
            if self.verbose != 1 or not self._dynamic or now - self._last_draw < self.interval:
                return
        self._last_draw = now
        line = self._line(current, now, finalize)
        out = self._out()
        if self._dynamic and self.verbose == 1:
            padded = line.ljust(self._drawn_width)  # blanks what a longer previous line left behind
            self._drawn_width = 0 if finalize else len(line)
            out.write("\r" + padded + ("\n" if finalize else ""))
        elif finalize:
            out.write(line + "\n")
        out.flush()

    def add(self, n, values=None):
        self.update(self._seen + n, values)

    def _step_time(self, current, now):
        """Seconds per step; once past the first step (warm-up, compilation), without it, as Keras."""
        if not current:
            return 0.0
        if self._after_first_step is not None and current > 1:
            return (now - self._after_first_step) / (current - 1)
        return (now - self._start) / current

    def _line(self, current, now, finalize):
        elapsed = now - self._start
        per_step = self._step_time(current, now)
        metrics = "".join(f" - {name}: {_format_value(value)}" for name, value in self._values.items())
        if self.verbose == 2:
            return (f"{current}/{self.target if self.target else '?'} - {_format_elapsed(elapsed)} - "
                    f"{_format_per_step(per_step, self.unit_name)}{metrics}")
        if self.target:
            done = int(self.width * min(current / self.target, 1.0))
            bar = "━" * done + " " * (self.width - done) if self._dynamic else ""
            count = f"{current:>{len(str(self.target))}}/{self.target}"
        else:
            bar, count = "", f"{current:7d}/Unknown"
        timing = _format_elapsed(elapsed) if finalize or not self.target else \
            _format_eta(per_step * (self.target - current))
        parts = [count]
        if bar:
            parts.append(bar)
        parts.append(f"{timing} {_format_per_step(per_step, self.unit_name)}")
        return " ".join(parts) + metrics
