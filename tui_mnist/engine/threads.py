"""BLAS thread policy. Imported before numpy: OpenBLAS reads its thread count once, at load."""

import os

_THREAD_VARIABLES = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")

# Below this batch size the GEMMs are too small to split: a second thread costs more in
# synchronisation than it saves (measured: batch 10 runs faster on one thread).
SMALL_BATCH = 32


def auto_threads(batch_size: int) -> int:
    """One thread for tiny batches, every core otherwise."""
    if batch_size <= SMALL_BATCH:
        return 1
    return max(1, os.cpu_count() or 1)


def set_blas_threads(threads: int) -> None:
    """Fix the BLAS thread count; takes effect only if numpy is not imported yet."""
    for name in _THREAD_VARIABLES:
        os.environ[name] = str(threads)


def limit_blas_threads(threads: int) -> None:
    """Change the BLAS thread count of an already loaded numpy (the app's case)."""
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=threads, user_api="blas")
