"""Reuse of freed host memory while lamina's loops run on the CPU.

glibc serves each allocation above 32 MiB with a fresh ``mmap`` and unmaps it when it is
freed, so every large activation of every batch page-faults its memory in again (the kernel
zeroes each 4 KiB page). A ``Conv2D(32, 3)`` output at batch 1024 is 88 MiB: on a 2-core
CPU its ``relu`` took 39.7 ms on a fresh tensor and 3.2 ms in place. While ``fit``,
``evaluate`` and ``predict`` run on the CPU, `reuse_freed_memory` tells glibc to serve large
blocks from its heap and to keep what is freed, so the next batch reuses the same pages;
a second after the last loop ends, the free pages go back to the system (``malloc_trim``).

Measured on the issue's CNN (2-core CPU, torch 2.13): ``predict`` at batch 1024 went from
9.4k to 16.9k samples/s, ``evaluate`` at batch 1024 from 8.6k to 16.2k and ``fit`` at batch
1024 from 3.2k to 4.8k; at batch 128 glibc's own adaptive threshold already reuses memory
and the figures are unchanged.

After a loop, glibc is left with a fixed 32 MiB mmap threshold and a 64 MiB trim threshold,
the values its adaptive rule reaches after the first large block is freed (glibc cannot read
its settings back). Nothing is changed when the allocator is not glibc's, when the process
sets glibc's malloc tunables or preloads another allocator (jemalloc, tcmalloc, mimalloc), or
after ``set_reuse_freed_memory(False)``.

>>> with reuse_freed_memory():
...     _ = bytearray(64 << 20)  # served from glibc's heap, and kept for reuse
>>> release()  # or a second later, by itself
"""

import contextlib
import ctypes
import os
import sys
import threading

_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
_M_MMAP_MAX = -4
_GLIBC_MMAP_MAX = 65536  # glibc's default count of mmapped blocks
_MMAP_THRESHOLD_AFTER = 32 << 20
_TRIM_THRESHOLD_AFTER = 64 << 20
_TRIM_THRESHOLD_DURING = (1 << 31) - 1  # the largest int mallopt takes: keep up to 2 GiB free

RELEASE_DELAY_S = 1.0

_enabled = True
_depth = 0  # loops running now
_reusing = False  # whether glibc is set for reuse (until `release`)
_timer = None  # the pending `release`
_lock = threading.Lock()
_libc = None
_libc_resolved = False


def set_reuse_freed_memory(enabled):
    """Turns the reuse of freed host memory in lamina's CPU loops on (the default) or off."""
    global _enabled
    _enabled = bool(enabled)


def reuse_freed_memory_enabled():
    """Whether lamina's CPU loops keep freed host memory for reuse (see the module notes)."""
    return _enabled


def _allocator_managed_elsewhere():
    if any(name in os.environ for name in ("MALLOC_MMAP_MAX_", "MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_",
                                           "MALLOC_TOP_PAD_")):
        return True
    if "glibc.malloc" in os.environ.get("GLIBC_TUNABLES", ""):
        return True
    preload = os.environ.get("LD_PRELOAD", "")
    return any(name in preload for name in ("jemalloc", "tcmalloc", "mimalloc"))


def _glibc():
    """The C library when it is glibc and lamina may tune it, else ``None`` (resolved once)."""
    global _libc, _libc_resolved
    if not _libc_resolved:
        _libc_resolved = True
        if sys.platform.startswith("linux") and not _allocator_managed_elsewhere():
            try:
                libc = ctypes.CDLL(None)
                if hasattr(libc, "gnu_get_libc_version") and hasattr(libc, "mallopt"):
                    libc.mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
                    libc.malloc_trim.argtypes = [ctypes.c_size_t]
                    _libc = libc
            except (OSError, AttributeError):
                _libc = None
    return _libc


@contextlib.contextmanager
def reuse_freed_memory(device=None):
    """While the block runs, large host allocations come from glibc's heap and freed ones are kept.

    Nested blocks (``evaluate`` run by a callback inside ``fit``) share the outermost block's
    setting. ``device`` is the loop's device: anything but the CPU changes nothing. The settings
    are restored, and the free pages handed back, `RELEASE_DELAY_S` after the outermost block
    ends, so that loops run back to back (``predict`` in a Python loop) keep reusing the pages.
    """
    global _depth, _timer
    libc = _glibc() if _enabled and (device is None or device.type == "cpu") else None
    if libc is None:
        yield
        return
    with _lock:
        _depth += 1
        if _timer is not None:
            _timer.cancel()
            _timer = None
        if _depth == 1 and not _reusing:
            _start(libc)
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0:
                _timer = threading.Timer(RELEASE_DELAY_S, _release_unless_replaced)
                _timer.args = (_timer,)
                _timer.daemon = True
                _timer.start()


def _release_unless_replaced(timer):
    with _lock:
        if timer is _timer:  # a timer cancelled too late (a loop began and ended since) does nothing
            _release_locked()


def release():
    """Restores glibc's settings and hands the free pages back now, unless a loop is running."""
    with _lock:
        _release_locked()


def _release_locked():
    global _reusing, _timer
    if _depth:
        return
    if _timer is not None:
        _timer.cancel()
        _timer = None
    if _reusing:
        _reusing = False
        _libc.mallopt(_M_MMAP_MAX, _GLIBC_MMAP_MAX)
        _libc.mallopt(_M_MMAP_THRESHOLD, _MMAP_THRESHOLD_AFTER)
        _libc.mallopt(_M_TRIM_THRESHOLD, _TRIM_THRESHOLD_AFTER)
        _libc.malloc_trim(0)


def _start(libc):
    global _reusing
    _reusing = True
    libc.mallopt(_M_MMAP_MAX, 0)
    libc.mallopt(_M_TRIM_THRESHOLD, _TRIM_THRESHOLD_DURING)
