"""`lamina.backend.host_memory`: large host blocks come from glibc's heap while a CPU loop runs."""

import ctypes
import sys

import numpy as np
import pytest
import torch

import lamina
from lamina.backend import host_memory


class _MallInfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in
                ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks", "fordblks",
                 "keepcost")]


def _mallinfo():
    libc = ctypes.CDLL(None)
    libc.mallinfo2.restype = _MallInfo2
    return libc.mallinfo2()


def _has_glibc_mallinfo2():
    if not sys.platform.startswith("linux"):
        return False
    libc = ctypes.CDLL(None)
    return hasattr(libc, "mallinfo2") and host_memory._glibc() is not None


pytestmark = pytest.mark.skipif(not _has_glibc_mallinfo2(), reason="needs glibc >= 2.33 and an untuned allocator")

BLOCK = 64 << 20  # above glibc's largest mmap threshold (32 MiB): always mmapped by default


def _mmapped_by_allocation():
    # Larger than all the free memory in glibc's heap, so that no free block left by earlier tests can serve it:
    # it is mmapped, or (while reusing) taken by growing the heap.
    info = _mallinfo()
    size = max(BLOCK, info.fordblks + BLOCK)
    block = torch.empty(size // 4, dtype=torch.float32)  # virtual memory only: no page is touched
    grown = _mallinfo().hblkhd - info.hblkhd
    del block
    return grown >= size


@pytest.fixture(autouse=True)
def _released():
    host_memory.release()
    yield
    host_memory.set_reuse_freed_memory(True)
    host_memory.release()


def test_a_large_block_is_mmapped_outside_and_taken_from_the_heap_inside():
    assert _mmapped_by_allocation()
    with host_memory.reuse_freed_memory():
        assert not _mmapped_by_allocation()
    host_memory.release()
    assert _mmapped_by_allocation()


def test_the_settings_stay_until_released_so_back_to_back_loops_reuse_pages():
    with host_memory.reuse_freed_memory():
        pass
    assert not _mmapped_by_allocation()  # within RELEASE_DELAY_S of the loop's end
    host_memory.release()
    assert _mmapped_by_allocation()


def test_release_waits_for_the_outermost_block():
    with host_memory.reuse_freed_memory():
        with host_memory.reuse_freed_memory():
            pass
        host_memory.release()  # a loop is still running: nothing is restored
        assert not _mmapped_by_allocation()
    host_memory.release()
    assert _mmapped_by_allocation()


def test_turned_off_or_on_another_device_nothing_changes():
    host_memory.set_reuse_freed_memory(False)
    with host_memory.reuse_freed_memory():
        assert _mmapped_by_allocation()
    host_memory.set_reuse_freed_memory(True)
    with host_memory.reuse_freed_memory(torch.device("cuda")):
        assert _mmapped_by_allocation()
    lamina.config.set_reuse_freed_memory(False)
    assert not host_memory.reuse_freed_memory_enabled()


@pytest.mark.parametrize("variable, value", [
    ("MALLOC_MMAP_THRESHOLD_", "1000000"),
    ("GLIBC_TUNABLES", "glibc.malloc.trim_threshold=1"),
    ("LD_PRELOAD", "/usr/lib/libjemalloc.so.2"),
])
def test_a_process_that_tunes_its_allocator_is_left_alone(monkeypatch, variable, value):
    monkeypatch.setenv(variable, value)
    assert host_memory._allocator_managed_elsewhere()


def test_predict_and_fit_run_with_reuse_and_release_after():
    inputs = lamina.Input((4,))
    model = lamina.Model(inputs, lamina.layers.Dense(2)(inputs))
    model.compile("sgd", "mse")
    seen = []
    probe = lamina.callbacks.LambdaCallback(
        on_train_batch_end=lambda batch, logs: seen.append(host_memory._depth),
        on_predict_batch_end=lambda batch, logs: seen.append(host_memory._depth))
    x, y = np.zeros((8, 4), "float32"), np.zeros((8, 2), "float32")
    model.fit(x, y, batch_size=4, verbose=0, callbacks=[probe])
    model.predict(x, batch_size=4, verbose=0, callbacks=[probe])
    assert seen == [1] * 4
    assert host_memory._depth == 0 and host_memory._timer is not None
    host_memory.release()
    assert _mmapped_by_allocation()


def test_a_timer_replaced_by_a_later_loop_releases_nothing():
    with host_memory.reuse_freed_memory():
        pass
    stale = host_memory._timer
    with host_memory.reuse_freed_memory():
        pass
    host_memory._release_unless_replaced(stale)  # as if it had fired while the second loop ran
    assert not _mmapped_by_allocation()
    host_memory._release_unless_replaced(host_memory._timer)
    assert _mmapped_by_allocation()
