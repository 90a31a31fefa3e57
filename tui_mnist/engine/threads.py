"""BLAS thread policy. Imported before numpy: OpenBLAS reads its thread count once, at load."""

import os

_THREAD_VARIABLES = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")

# Up to this batch size the matrix products are too small to split: a second thread costs
# more in synchronisation than it saves. Measured on 2 cores (benchmarks/thread_policy.py,
# 784-1024-10 / 784-256-10 / 784-128-10): batch 32 runs 0.7-0.9x as fast on two threads as on
# one, batch 10 no faster; from batch 64 on, two threads run 1.25-1.6x as fast.
SMALL_BATCH = 32


def usable_cores() -> int:
    """Cores this process may run on (respects taskset and container CPU sets)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def auto_threads(batch_size: int) -> int:
    """One thread for small batches, every usable core otherwise. On a machine busy with other
    work, one thread is faster at any batch size: a multi-threaded BLAS call waits for its
    slowest thread, and a thread that has lost its core to another process stalls it."""
    if batch_size <= SMALL_BATCH:
        return 1
    return usable_cores()


def set_blas_threads(threads: int) -> None:
    """Fix the BLAS thread count; takes effect only if numpy is not imported yet."""
    for name in _THREAD_VARIABLES:
        os.environ[name] = str(threads)


def limit_blas_threads(threads: int) -> None:
    """Change the BLAS thread count of an already loaded numpy (the app's case)."""
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=threads, user_api="blas")
