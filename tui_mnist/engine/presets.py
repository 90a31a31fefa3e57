"""Named starting points, shared by the app's configure screen and `tui-mnist train --preset`."""

from __future__ import annotations

from tui_mnist.engine.config import TrainConfig

PRESETS: dict[str, tuple[str, TrainConfig]] = {
    "seed": (
        "the seed's network: 784-10-10 ReLU, softmax",
        TrainConfig(hidden=(10,), activation="relu", epochs=5, batch_size=128, lr=0.1),
    ),
    "fast": (
        "98 % in a few seconds",
        TrainConfig(
            hidden=(256,),
            epochs=5,
            batch_size=256,
            lr=0.2,
            optimizer="momentum",
            schedule="cosine",
            standardize=True,
        ),
    ),
    "best": (
        "the highest accuracy, in about a minute",
        TrainConfig(
            hidden=(800, 800),
            epochs=15,
            batch_size=128,
            lr=0.05,
            optimizer="momentum",
            schedule="cosine",
            standardize=True,
            augment="shift",
        ),
    ),
}
