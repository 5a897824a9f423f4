"""`lamina.utils.Progbar` on a terminal and off one."""

import io
import re

from lamina.utils.progbar import Progbar


class Terminal(io.StringIO):
    def isatty(self):
        return True


def _draws(text):
    return text.split("\r")[1:]


def test_a_terminal_redraws_in_place_and_blanks_leftovers():
    out = Terminal()
    bar = Progbar(target=3, stream=out, interval=0)
    bar.update(1, {"loss": 12345.678})
    bar.update(2, {"loss": 1.5})  # a shorter line than the one before
    bar.update(3, {"loss": 1.25})
    first, second, final = _draws(out.getvalue())
    assert re.fullmatch(r"1/3 ━{6} {14} \d+s \d+(us|ms|s)/step - loss: 12345\.6780", first)
    assert len(second) == len(first) and second.rstrip().endswith("loss: 1.5000")
    assert re.fullmatch(r"3/3 ━{20} \d+s \d+(us|ms|s)/step - loss: 1\.2500 *\n", final)


def test_redraws_wait_for_the_interval_but_the_final_line_always_shows():
    out = Terminal()
    bar = Progbar(target=100, stream=out, interval=3600)
    for step in range(1, 101):
        bar.update(step)
    assert len(_draws(out.getvalue())) == 2  # the first step (the clock starts at 0) and the final one


def test_off_a_terminal_only_the_final_line_is_printed():
    out = io.StringIO()
    bar = Progbar(target=4, stream=out, interval=0)
    for step in range(1, 5):
        bar.update(step, {"acc": 0.5})
    assert re.fullmatch(r"4/4 \d+s \d+(us|ms|s)/step - acc: 0\.5000\n", out.getvalue())


def test_verbose_2_and_silent():
    out = Terminal()
    bar = Progbar(target=2, stream=out, verbose=2)
    bar.update(1)
    bar.update(2, {"loss": 0.00012})
    assert re.fullmatch(r"2/2 - \d+s - \d+(us|ms|s)/step - loss: 1\.2000e-04\n", out.getvalue())
    quiet = Terminal()
    silent = Progbar(target=2, stream=quiet, verbose=0)
    silent.update(2)
    assert quiet.getvalue() == ""


def test_unknown_target_counts_up():
    out = Terminal()
    bar = Progbar(target=None, stream=out, interval=0)
    bar.update(5)
    bar.update(9, finalize=True)
    assert re.fullmatch(r" {6}9/Unknown \d+s \d+(us|ms|s)/step *\n", _draws(out.getvalue())[-1])


def test_time_per_step_leaves_out_the_first_step(monkeypatch):
    clock = iter([0.0, 10.0, 10.5, 11.0])  # construction, then steps 1-3: a slow first step (warm-up)
    monkeypatch.setattr("lamina.utils.progbar.time.time", lambda: next(clock))
    out = io.StringIO()
    bar = Progbar(target=3, stream=out, verbose=2)
    for step in (1, 2, 3):
        bar.update(step)
    assert out.getvalue() == "3/3 - 11s - 500ms/step\n"  # (11.0 - 10.0) / 2 steps; the elapsed time in seconds


def test_long_runs_show_elapsed_seconds_and_eta_in_minutes(monkeypatch):
    clock = iter([0.0, 50.0, 100.0, 150.0])
    monkeypatch.setattr("lamina.utils.progbar.time.time", lambda: next(clock))
    out = Terminal()
    bar = Progbar(target=4, stream=out, interval=0)
    bar.update(1)
    bar.update(2)  # 50 s per step after the first: 2 steps left -> 1:40
    bar.update(4)  # two steps at once
    first, second, final = _draws(out.getvalue())
    assert " 2:30 50s/step" in first and " 1:40 50s/step" in second  # the first estimate from one step
    assert final.startswith("4/4 ━━━━━━━━━━━━━━━━━━━━ 150s 33s/step")  # (150 - 50) / 3
