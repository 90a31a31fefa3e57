"""The CLI contract, end to end through subprocesses (other tooling relies on it)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest
from fakes import idx_bytes, tui_mnist

from tui_mnist.engine.data import Normalizer
from tui_mnist.engine.idx import LABEL_MAGIC, SPLITS
from tui_mnist.engine.metrics import evaluate, predict_proba
from tui_mnist.engine.model_io import load_model, save_model
from tui_mnist.engine.my_digits import append_digit

ROOT = Path(__file__).resolve().parent.parent
SMALL_RUN = ["--hidden", "16", "--epochs", "2", "--val", "1000", "--seed", "3"]
TEST_IMAGES, TEST_LABELS = SPLITS["test"]


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    folder = tmp_path_factory.mktemp("cli")
    result = tui_mnist(
        "train", *SMALL_RUN, "--save", "model.npz", "--metrics", "run.jsonl", cwd=folder
    )
    assert result.returncode == 0, result.stderr
    return folder, result


def test_train_prints_one_line_per_epoch_then_the_test_accuracy(trained):
    _, result = trained
    lines = result.stdout.splitlines()
    assert [line.split()[:2] for line in lines[:2]] == [["epoch", "1/2"], ["epoch", "2/2"]]
    assert lines[2].startswith("test accuracy ")
    assert lines[3] == "model saved to model.npz"
    assert "\r" not in result.stdout and "\x1b" not in result.stdout  # not a terminal


def test_metrics_file_is_json_lines_with_a_final_record(trained):
    folder, _ = trained
    records = [json.loads(line) for line in (folder / "run.jsonl").read_text().splitlines()]
    epochs, final = records[:-1], records[-1]
    assert [r["epoch"] for r in epochs] == [1, 2]
    for record in epochs:
        assert {"train_loss", "train_acc", "val_loss", "val_acc", "seconds", "lr"} <= set(record)
        assert 0.8 < record["val_acc"] <= 1
    assert epochs[1]["seconds"] > epochs[0]["seconds"]  # cumulative
    assert final["final"] is True and 0.85 < final["test_acc"] <= 1


def test_eval_json_reproduces_the_training_runs_test_accuracy(trained):
    folder, _ = trained
    final = json.loads((folder / "run.jsonl").read_text().splitlines()[-1])
    result = tui_mnist("eval", str(folder / "model.npz"), "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["n"] == 10000
    assert report["test_acc"] == pytest.approx(final["test_acc"])
    assert report["test_loss"] == pytest.approx(final["test_loss"], rel=1e-5)


# --- eval on a folder of the test files only (the draw screen's saved digits) -------------


def save_my_digits(
    folder: Path, model_path: Path, mnist, right: int, wrong: int
) -> tuple[np.ndarray, np.ndarray]:
    """The first right + wrong MNIST test digits saved as the draw screen saves them, the first
    `right` labelled with the model's own prediction and the rest with another digit; returns
    the (n, 784) images and their labels."""
    images = mnist.x_test[: right + wrong]
    model = load_model(model_path)
    predicted = predict_proba(model.network, images, model.normalizer).argmax(axis=1)
    labels = np.concatenate([predicted[:right], (predicted[right:] + 1) % 10]).astype(np.uint8)
    for image, label in zip(images, labels):
        append_digit(folder, image.reshape(28, 28), int(label))
    return images, labels


def test_eval_reads_a_folder_holding_only_the_test_files(trained, mnist, tmp_path):
    folder, _ = trained
    digits = tmp_path / "my-digits"
    save_my_digits(digits, folder / "model.npz", mnist, right=5, wrong=3)
    assert sorted(p.name for p in digits.iterdir()) == sorted([TEST_IMAGES, TEST_LABELS])

    result = tui_mnist("eval", str(folder / "model.npz"), "--data-dir", str(digits))
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("test accuracy 62.50%  (loss ")
    assert result.stdout.endswith(", 8 images)\n")
    result = tui_mnist("eval", str(folder / "model.npz"), "--data-dir", str(digits), "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["n"] == 8
    assert report["test_acc"] == 0.625


def test_eval_scales_my_digits_with_the_models_normalizer(trained, mnist, tmp_path):
    folder, _ = trained
    network = load_model(folder / "model.npz").network
    standardized = Normalizer(scale=1 / (255 * 0.3081), offset=-0.1307 / 0.3081)
    save_model(tmp_path / "standardized.npz", network, standardized)
    digits = tmp_path / "my-digits"
    images, labels = save_my_digits(digits, folder / "model.npz", mnist, right=4, wrong=2)

    result = tui_mnist("eval", str(tmp_path / "standardized.npz"), "--data-dir", str(digits), "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    expected_loss, expected_acc = evaluate(network, images, labels, standardized)
    plain_loss, _ = evaluate(network, images, labels, Normalizer.fit(images, standardize=False))
    assert report["test_loss"] == pytest.approx(expected_loss, rel=1e-5)
    assert report["test_loss"] != pytest.approx(plain_loss, rel=1e-2)
    assert report["test_acc"] == expected_acc


@pytest.mark.parametrize("present", [[], [TEST_IMAGES], [TEST_LABELS]], ids=["empty", "images", "labels"])
def test_eval_names_the_missing_test_file(trained, mnist, tmp_path, present):
    folder, _ = trained
    full = tmp_path / "full"
    save_my_digits(full, folder / "model.npz", mnist, right=2, wrong=0)
    digits = tmp_path / "my-digits"
    digits.mkdir()
    for name in present:
        (digits / name).write_bytes((full / name).read_bytes())
    missing = TEST_LABELS if present == [TEST_IMAGES] else TEST_IMAGES

    result = tui_mnist("eval", str(folder / "model.npz"), "--data-dir", str(digits))
    assert result.returncode == 1
    assert result.stderr.splitlines() == [f"tui-mnist: {digits / missing}[.gz]: file not found"]


def test_eval_names_the_labels_file_that_disagrees_with_the_images(trained, mnist, tmp_path):
    folder, _ = trained
    digits = tmp_path / "my-digits"
    _, labels = save_my_digits(digits, folder / "model.npz", mnist, right=3, wrong=0)
    (digits / TEST_LABELS).write_bytes(idx_bytes(labels[:2], LABEL_MAGIC))

    result = tui_mnist("eval", str(folder / "model.npz"), "--data-dir", str(digits))
    assert result.returncode == 1
    assert f"{digits / TEST_LABELS}: 2 labels for 3 images in {TEST_IMAGES}" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    "args",
    [
        ["train", "--epochs", "0"],
        ["train", "--hidden", "12a"],
        ["train", "--lr", "fast"],
        ["train", "--activation", "swish"],
        ["train", "--warmup-epochs", "9"],
        ["train", "--dropout", "1"],
        ["train", "--data-dir", "/no/such/dir"],
        ["train", "--no-such-flag"],
        ["eval"],
    ],
)
def test_usage_errors_exit_2(args):
    result = tui_mnist(*args)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    "args, message",
    [
        (["train", "--data-dir", str(ROOT)], "train-images-idx3-ubyte[.gz]: file not found"),
        (["eval", "/no/such/model.npz"], "model.npz: file not found"),
        (["train", "--lr", "1000", "--epochs", "1", "--val", "0"], "diverged at epoch 1"),
        (["train", "--hidden", "1000000,1000000"], "needs about"),
    ],
)
def test_clear_errors_exit_1_without_a_traceback(args, message):
    result = tui_mnist(*args)
    assert result.returncode == 1
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    # Besides the run's folder, announced when training starts, the error is one line.
    errors = [line for line in result.stderr.splitlines() if not line.startswith("tui-mnist: run ")]
    assert len(errors) == 1


def test_a_corrupt_model_file_is_refused(tmp_path):
    corrupt = tmp_path / "model.npz"
    corrupt.write_bytes(b"PK\x03\x04 not really a zip")
    result = tui_mnist("eval", str(corrupt))
    assert result.returncode == 1
    assert "corrupt" in result.stderr


def test_flags_override_the_preset():
    sys.path.insert(0, str(ROOT))
    from tui_mnist.cli.parser import build_parser, config_from_args
    from tui_mnist.engine.presets import PRESETS

    args = build_parser().parse_args(["train", "--preset", "fast", "--epochs", "1"])
    config = config_from_args(args)
    assert config.epochs == 1
    assert config.with_changes(epochs=PRESETS["fast"][1].epochs) == PRESETS["fast"][1]
