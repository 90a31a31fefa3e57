"""mnist_like: a drawing cropped, scaled into 20x20 with its aspect kept, centred by its centre of
mass in 28x28, as MNIST's digits were made."""

from __future__ import annotations

import numpy as np

from tui_mnist.engine.preprocess import BOX, CENTRE, area_weights, centre_of_mass, mnist_like


def ink_box(image: np.ndarray) -> tuple[int, int]:
    """(height, width) of the bounding box of the ink."""
    rows = np.flatnonzero(image.any(axis=1))
    cols = np.flatnonzero(image.any(axis=0))
    return rows[-1] - rows[0] + 1, cols[-1] - cols[0] + 1


def test_an_empty_drawing_is_a_blank_image():
    out = mnist_like(np.zeros((28, 28)))
    assert out.shape == (28, 28) and out.dtype == np.uint8
    assert not out.any()


def test_shrunk_off_centre_mnist_digits_come_back_centred_and_full_size(mnist):
    for digit in mnist.x_test[:5].reshape(-1, 28, 28).astype(float):
        # Half the size (2x2 means), in the top right corner.
        small = (digit[0::2, 0::2] + digit[1::2, 0::2] + digit[0::2, 1::2] + digit[1::2, 1::2]) / 4
        drawing = np.zeros((28, 28), np.uint8)
        drawing[1:15, 13:27] = np.rint(small)
        assert np.hypot(*np.subtract(centre_of_mass(drawing.astype(float)), CENTRE)) > 5

        out = mnist_like(drawing)

        assert np.hypot(*np.subtract(centre_of_mass(out.astype(float)), CENTRE)) <= 1.0
        assert max(ink_box(out)) == BOX
        # Still the same digit, blurred by the trip (cosine similarity 0.77-0.95 on these).
        a, b = out.astype(float).ravel(), digit.ravel()
        assert a @ b / np.linalg.norm(a) / np.linalg.norm(b) > 0.7


def test_mnist_digits_are_left_as_they_are(mnist):
    for digit in mnist.x_test[:50]:
        np.testing.assert_array_equal(mnist_like(digit.reshape(28, 28)), digit.reshape(28, 28))


def test_a_thin_vertical_stroke_keeps_its_aspect_ratio():
    drawing = np.zeros((28, 28))
    drawing[4:20, 10:12] = 1.0  # 16 tall, 2 wide

    out = mnist_like(drawing)

    height, width = ink_box(out)
    assert height == BOX
    assert abs(width - 2 * BOX / 16) <= 0.5  # 2.5: the stroke stays thin, not stretched to 20


def test_ink_in_0_255_and_in_0_1_give_the_same_image():
    rng = np.random.default_rng(0)
    drawing = np.zeros((28, 28))
    drawing[5:22, 8:19] = rng.random((17, 11))
    as_bytes = np.rint(drawing * 255).astype(np.uint8)
    # The same up to the rounding of the input to whole levels.
    difference = mnist_like(drawing).astype(int) - mnist_like(as_bytes)
    assert np.abs(difference).max() <= 1


def test_a_drawing_too_big_for_the_box_is_shrunk_into_it():
    out = mnist_like(np.ones((28, 28)))
    assert ink_box(out) == (BOX, BOX)
    assert out.max() == 255


def test_area_weights_average_and_keep_the_total():
    shrink = area_weights(4, 2)
    np.testing.assert_allclose(shrink, [[0.5, 0.5, 0, 0], [0, 0, 0.5, 0.5]])
    grow = area_weights(2, 3)  # output pixels 2/3 of an input pixel wide
    np.testing.assert_allclose(grow.sum(axis=1), 1.0)
    np.testing.assert_allclose(grow[1], [0.5, 0.5])
