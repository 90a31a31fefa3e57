"""Random ±1-pixel shifts of a batch, by array slicing: one slice per (dy, dx) offset,
never a Python loop over images."""

from __future__ import annotations

import numpy as np

OFFSETS = [(dy, dx) for dy in (-1, 0, 1) for dx in (-1, 0, 1)]


def _span(offset: int, size: int) -> tuple[slice, slice]:
    """Destination and source slices that move a row or column by `offset`."""
    if offset > 0:
        return slice(offset, size), slice(0, size - offset)
    if offset < 0:
        return slice(0, size + offset), slice(-offset, size)
    return slice(0, size), slice(0, size)


def shift_batch(
    pixels: np.ndarray, shape: tuple[int, int], rng: np.random.Generator, out: np.ndarray
) -> np.ndarray:
    """Shift each flattened image in `pixels` by a random offset in {-1,0,1}²; pixels moved in
    from outside are 0 (background). Writes into `out` (same shape as pixels) and returns it."""
    m = len(pixels)
    rows, cols = shape
    images = pixels.reshape(m, rows, cols)
    shifted = out.reshape(m, rows, cols)
    shifted[:] = 0
    choice = rng.integers(len(OFFSETS), size=m)
    for k, (dy, dx) in enumerate(OFFSETS):
        members = np.flatnonzero(choice == k)
        if len(members) == 0:
            continue
        dst_y, src_y = _span(dy, rows)
        dst_x, src_x = _span(dx, cols)
        shifted[members, dst_y, dst_x] = images[members, src_y, src_x]
    return out
