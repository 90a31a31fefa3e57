"""A hand drawing turned into an image like MNIST's, the way MNIST's were made: the ink's
bounding box is scaled to fit a 20x20 box keeping its aspect ratio (the averaging of pixel
areas gives the grey, anti-aliased edges), then placed in a 28x28 field so that its centre of
mass sits at the field's centre.

NumPy only; never imports textual.
"""

from __future__ import annotations

import numpy as np

FIELD = 28  # side of the image, in pixels
BOX = 20  # the longer side of the ink's bounding box, once scaled
# Where MNIST puts the centre of mass, in pixel indices (0..27): its test set's mean is
# (13.99, 14.00), std 0.29, half a pixel past the field's middle (13.5). With this target an
# MNIST digit goes through `mnist_like` unchanged (500 test images: identical).
CENTRE = (14.0, 14.0)


def ink_fraction(drawing: np.ndarray) -> np.ndarray:
    """The drawing as float64 ink in [0, 1]: integer arrays are 0..255, float arrays are
    0..1 unless some value is above 1 (then 0..255)."""
    ink = np.asarray(drawing, dtype=np.float64)
    if np.issubdtype(np.asarray(drawing).dtype, np.integer) or ink.max(initial=0.0) > 1.0:
        ink = ink / 255.0
    return np.clip(ink, 0.0, 1.0)


def area_weights(size: int, target: int) -> np.ndarray:
    """(target, size) float64: row i averages the input pixels under output pixel i, each
    weighted by the length of their overlap (rows sum to 1). Shrinking, an output pixel covers
    several inputs; enlarging, it covers a part of one or two."""
    edges = np.arange(target + 1) * (size / target)  # output pixel edges, in input pixels
    starts, ends = edges[:-1, None], edges[1:, None]
    pixels = np.arange(size)[None, :]
    overlap = np.clip(np.minimum(ends, pixels + 1) - np.maximum(starts, pixels), 0.0, None)
    return overlap / overlap.sum(axis=1, keepdims=True)


def centre_of_mass(image: np.ndarray) -> tuple[float, float]:
    """(row, column) of the ink's centre of mass, in pixel indices; the field's centre for a
    blank image."""
    total = float(image.sum())
    if total <= 0:
        return (image.shape[0] - 1) / 2, (image.shape[1] - 1) / 2
    rows = np.arange(image.shape[0]) @ image.sum(axis=1) / total
    cols = np.arange(image.shape[1]) @ image.sum(axis=0) / total
    return float(rows), float(cols)


def mnist_like(drawing: np.ndarray) -> np.ndarray:
    """(28, 28) uint8 in 0..255 from a (rows, cols) drawing (see `ink_fraction`): the ink's
    bounding box scaled to fit 20x20 with its aspect ratio kept, placed so that its centre of
    mass is at `CENTRE` (an integer shift, kept inside the field). All zeros when there is
    no ink."""
    ink = ink_fraction(drawing)
    out = np.zeros((FIELD, FIELD), dtype=np.float64)
    rows = np.flatnonzero(ink.any(axis=1))
    cols = np.flatnonzero(ink.any(axis=0))
    if not len(rows):
        return out.astype(np.uint8)
    crop = ink[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]
    height, width = crop.shape
    scale = BOX / max(height, width)
    new_height = max(1, round(height * scale))
    new_width = max(1, round(width * scale))
    box = area_weights(height, new_height) @ crop @ area_weights(width, new_width).T
    com_row, com_col = centre_of_mass(box)
    # The integer shift that brings the centre of mass nearest CENTRE, clamped so that the box
    # stays whole inside the field.
    top = int(np.clip(round(CENTRE[0] - com_row), 0, FIELD - new_height))
    left = int(np.clip(round(CENTRE[1] - com_col), 0, FIELD - new_width))
    out[top : top + new_height, left : left + new_width] = box
    return np.rint(out * 255).astype(np.uint8)
