"""The classic MLPs' published test errors, and which one a run's network is compared with: the
same number of hidden layers, then the nearest widths as ratios."""

from __future__ import annotations

import pytest

from tui_mnist.engine.published import CLASSIC_MLPS, PublishedMLP, closest_mlp, width_distance


@pytest.mark.parametrize(
    ("sizes", "paper"),
    [
        ((784, 300, 10), (784, 300, 10)),
        ((784, 128, 10), (784, 300, 10)),  # the app's default network
        ((784, 16, 10), (784, 300, 10)),
        ((784, 600, 10), (784, 800, 10)),  # 800/600 is a smaller step than 600/300 or 1000/600
        ((784, 4096, 10), (784, 1000, 10)),
        ((784, 256, 128, 10), (784, 300, 100, 10)),
        ((784, 512, 128, 10), (784, 500, 150, 10)),
    ],
)
def test_the_closest_classic_mlp_has_as_many_hidden_layers_and_the_nearest_widths(sizes, paper):
    assert closest_mlp(sizes).sizes == paper


@pytest.mark.parametrize(
    "sizes",
    [(784, 10), (784, 100, 100, 100, 10), (3072, 300, 10), (784, 300, 26)],
    ids=["no hidden layer", "three hidden layers", "other inputs", "other classes"],
)
def test_a_network_no_paper_matches_has_no_reference(sizes):
    assert closest_mlp(sizes) is None


def test_widths_are_compared_as_ratios():
    assert width_distance((300,), (600,)) == pytest.approx(width_distance((500,), (1000,)))
    assert width_distance((256, 128), (300, 100)) < width_distance((256, 128), (500, 150))


def test_equally_close_papers_go_to_the_first_in_the_table():
    narrow = PublishedMLP((784, 100, 10), 5.0, "A 2000", "A, 2000")
    wide = PublishedMLP((784, 400, 10), 4.0, "B 2001", "B, 2001")
    assert width_distance((200,), narrow.hidden) == width_distance((200,), wide.hidden)  # x2 either way
    assert closest_mlp((784, 200, 10), table=(narrow, wide)) is narrow
    assert closest_mlp((784, 200, 10), table=(wide, narrow)) is wide


def test_labels_give_the_source_the_network_and_the_test_accuracy():
    assert [paper.label for paper in CLASSIC_MLPS] == [
        "LeCun 1998, 784-300-10: 95.3 %",
        "LeCun 1998, 784-1000-10: 95.5 %",
        "LeCun 1998, 784-300-100-10: 96.95 %",
        "LeCun 1998, 784-500-150-10: 97.05 %",
        "Simard 2003, 784-800-10: 98.4 %",
    ]
    assert closest_mlp((784, 128, 10)).short_label == "LeCun 1998: 95.3 %"
    assert closest_mlp((784, 800, 10)).test_accuracy == pytest.approx(98.4)
