"""A sweep's search space (sweeps/space.py): every syntax form of a flag or a TOML file gives the
expected Param or fixed value, every wrong input is a ConfigError naming the setting (and the
file), and what a trial samples goes back through the setting's own parse into a valid config.

Only test_real_optuna_samples_valid_configs needs optuna; the rest use a recording fake trial."""

from __future__ import annotations

import json
import re

import pytest

from tui_mnist.engine.config import TrainConfig
from tui_mnist.engine.errors import ConfigError
from tui_mnist.engine.settings import BY_NAME, SETTINGS
from tui_mnist.sweeps.space import (
    NOT_SEARCHED,
    Param,
    Space,
    parse_param,
    space_from_flags,
    space_from_toml,
)


class RecordingTrial:
    """Optuna's three suggest calls, recorded: the last choice, the high int, the low float."""

    def __init__(self):
        self.calls: list[tuple] = []

    def suggest_categorical(self, name, choices):
        self.calls.append(("categorical", name, list(choices)))
        return choices[-1]

    def suggest_int(self, name, low, high, log=False):
        self.calls.append(("int", name, low, high, log))
        return high

    def suggest_float(self, name, low, high, log=False):
        self.calls.append(("float", name, low, high, log))
        return low


# --- flags ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "text", "expected"),
    [
        ("lr", "0.01..0.3", Param("lr", low=0.01, high=0.3)),
        ("lr", "1e-3..1e-1:log", Param("lr", low=0.001, high=0.1, log=True)),
        ("dropout", "0..0.4", Param("dropout", low=0.0, high=0.4)),
        ("epochs", "1..5", Param("epochs", low=1, high=5, integer=True)),
        ("batch_size", "32..256:log", Param("batch_size", low=32, high=256, log=True, integer=True)),
        ("batch_size", "64,128,256", Param("batch_size", choices=(64, 128, 256))),
        ("batch_size", "64|128", Param("batch_size", choices=(64, 128))),
        ("hidden", "128|512,256", Param("hidden", choices=((128,), (512, 256)))),
        ("hidden", "128,256,512|512,256", Param("hidden", choices=((128, 256, 512), (512, 256)))),
        ("activation", "relu, tanh", Param("activation", choices=("relu", "tanh"))),
        ("nesterov", "yes|no", Param("nesterov", choices=(True, False))),
        ("hidden", "512,256", (512, 256)),
        ("hidden", "", ()),
        ("lr", "0.05", 0.05),
        ("epochs", " 3 ", 3),
        ("optimizer", "adam", "adam"),
        ("standardize", "yes", True),
    ],
)
def test_flag_text_gives_its_param_or_fixed_value(name, text, expected):
    assert parse_param(name, text) == expected


def test_a_data_folder_is_fixed_even_with_dots_in_its_path(tmp_path):
    (tmp_path / "a").mkdir()
    text = str(tmp_path / "a" / "..")
    assert parse_param("data_dir", text) == text


@pytest.mark.parametrize("setting", [setting for setting in SETTINGS if setting.choices], ids=lambda s: s.name)
def test_every_pick_from_a_list_can_search_all_its_values(setting):
    text = "|".join(setting.show(value) for value in setting.choices)
    assert parse_param(setting.name, text) == Param(setting.name, choices=tuple(setting.choices))


def test_the_refused_settings_are_settings():
    assert set(NOT_SEARCHED) <= set(BY_NAME)


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        ("colour", "red", r'--colour "red": unknown setting \'colour\''),
        ("threads", "2", r'--threads "2": threads cannot be set .* 1 BLAS thread'),
        ("threads", "1|2", r"--threads .*1 BLAS thread"),
        ("threads", "1..4", r"--threads .*1 BLAS thread"),
        ("data_dir", "/no/such/folder", r'--data-dir "/no/such/folder": "/no/such/folder" is not a directory'),
        ("activation", "relu..tanh", r"--activation .*activation is not a number: give choices"),
        ("nesterov", "no..yes", r"--nesterov .*nesterov is not a number"),
        ("hidden", "128..512", r'--hidden "128\.\.512": hidden takes choices, not a range'),
        ("lr", "0.3..0.3", r'--lr "0\.3\.\.0\.3": the range is empty or reversed'),
        ("lr", "0.3..0.01", r"--lr .*empty or reversed \(0\.3 is not below 0\.01\)"),
        ("lr", "0..0.3:log", r"--lr .*a log range needs a low end above 0, not 0\.0"),
        ("weight_decay", "-1..1:log", r"--weight-decay .*a log range needs a low end above 0"),
        ("lr", "0.01..0.3:ln", r'--lr .*unknown range option ":ln"'),
        ("lr", "0.01..0.1..1", r"--lr .*a range is low\.\.high, with one \.\."),
        ("lr", "0.01..abc", r'--lr "0\.01\.\.abc": "abc" is not a number'),
        ("lr", "..0.3", r"--lr .*a number is needed"),
        ("lr", "0..inf", r'--lr .*"inf" is not a number'),
        ("epochs", "1..2.5", r'--epochs .*"2\.5" is not a whole number'),
        ("lr", "fast", r'--lr "fast": "fast" is not a number'),
        ("activation", "relu|swish", r'--activation .*"swish" is not one of relu'),
        ("hidden", "128|0", r"--hidden .*a layer must have at least 1 unit, not 0"),
        ("batch_size", "64,,128", r"--batch-size .*a choice is empty"),
        ("hidden", "128|", r"--hidden .*a choice is empty"),
        ("batch_size", "64,128,064", r"--batch-size .*64 is given twice"),
        ("hidden", "128| 128", r"--hidden .*128 is given twice"),
    ],
)
def test_bad_flag_text_is_refused_naming_the_flag(name, text, message):
    with pytest.raises(ConfigError, match=message):
        parse_param(name, text)


def test_flags_make_a_space_of_params_and_fixed_values():
    space = space_from_flags({"lr": "0.01..0.3:log", "batch-size": "64,128", "epochs": "3"})
    assert space == Space(
        params=(Param("lr", low=0.01, high=0.3, log=True), Param("batch_size", choices=(64, 128))),
        fixed={"epochs": 3},
    )


def test_flags_win_over_the_file_when_merged():
    from_file = space_from_flags({"lr": "0.01..0.3", "dropout": "0..0.4", "epochs": "3", "seed": "1|2"})
    from_flags = space_from_flags({"dropout": "0.1", "seed": "4", "epochs": "1..2", "hidden": "64|128"})
    assert from_file.merged(from_flags) == Space(
        params=(Param("lr", low=0.01, high=0.3), Param("epochs", low=1, high=2, integer=True),
                Param("hidden", choices=((64,), (128,)))),
        fixed={"dropout": 0.1, "seed": 4},
    )


# --- TOML ----------------------------------------------------------------------------------------

LR_LOG = Param("lr", low=0.01, high=0.3, log=True)


@pytest.mark.parametrize(
    ("toml", "expected"),
    [
        ('lr = "0.01..0.3:log"', Space(params=(LR_LOG,))),
        ("lr = {low = 0.01, high = 0.3, log = true}", Space(params=(LR_LOG,))),
        ("[lr]\nlow = 0.01\nhigh = 0.3", Space(params=(Param("lr", low=0.01, high=0.3),))),
        ("epochs = {low = 1, high = 5}", Space(params=(Param("epochs", low=1, high=5, integer=True),))),
        ('weight-decay = {low = "1e-5", high = 1e-3, log = true}',
         Space(params=(Param("weight_decay", low=1e-5, high=1e-3, log=True),))),
        ("batch-size = [64, 128]", Space(params=(Param("batch_size", choices=(64, 128)),))),
        ('batch_size = ["64", "128"]', Space(params=(Param("batch_size", choices=(64, 128)),))),
        ('batch_size = "64,128"', Space(params=(Param("batch_size", choices=(64, 128)),))),
        ('hidden = [128, "512,256"]', Space(params=(Param("hidden", choices=((128,), (512, 256))),))),
        ('hidden = "128|512,256"', Space(params=(Param("hidden", choices=((128,), (512, 256))),))),
        ("nesterov = [true, false]", Space(params=(Param("nesterov", choices=(True, False)),))),
        ("standardize = true", Space(fixed={"standardize": True})),
        ("epochs = 3", Space(fixed={"epochs": 3})),
        ("lr = 0.05", Space(fixed={"lr": 0.05})),
        ('activation = ["tanh"]', Space(fixed={"activation": "tanh"})),
        ('hidden = "512,256"', Space(fixed={"hidden": (512, 256)})),
    ],
)
def test_a_toml_file_gives_its_space(tmp_path, toml, expected):
    path = tmp_path / "sweep.toml"
    path.write_text(toml + "\n")
    assert space_from_toml(path) == expected


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        ('colour = "red"', r"colour: unknown setting 'colour'"),
        ("lr = [0.1, [0.2]]", r"lr: \[0\.2\] is not a value"),
        ("lr = 2026-01-01", r"lr: datetime\.date\(2026, 1, 1\) is not a value"),
        ("lr = []", r"lr: the list of choices is empty"),
        ("lr = {low = 0.1}", r"lr: a range needs both low and high"),
        ('lr = {low = 0.1, high = 1, scale = "log"}', r"lr: a range takes low, high and log, not scale"),
        ('lr = {low = 0.1, high = 1, log = "yes"}', r"lr: log is true or false, not 'yes'"),
        ("lr = {low = 0, high = 1, log = true}", r"lr: a log range needs a low end above 0"),
        ("lr = {low = 1, high = 0.1}", r"lr: the range is empty or reversed"),
        ('lr = "0.3..0.01"', r"lr: the range is empty or reversed"),
        ("lr = true", r'lr: "true" is not a number'),
        ("nesterov = 1", r'nesterov: "1" is not yes or no'),
        ('activation = ["relu", "relu"]', r"activation: relu is given twice"),
        ('hidden = [128, ""]', r"hidden: a choice is empty"),
        ('data_dir = [".", ".."]', r"data_dir: the data folder cannot be searched"),
        ("threads = 1", r"threads: threads cannot be set .* 1 BLAS thread"),
        ("epochs = 2.5", r'epochs: "2\.5" is not a whole number'),
        ("hidden = {low = 1, high = 2}", r"hidden: hidden takes choices, not a range"),
        ("batch-size = 64\nbatch_size = 128", r"batch_size: batch_size is already given as batch-size"),
    ],
)
def test_a_bad_toml_value_is_refused_naming_the_file_and_key(tmp_path, toml, message):
    path = tmp_path / "sweep.toml"
    path.write_text(toml + "\n")
    with pytest.raises(ConfigError, match=re.escape(f"{path}: ") + message):
        space_from_toml(path)


@pytest.mark.parametrize(
    ("content", "message"),
    [(b"lr = \n", "not valid TOML"), (b"\xff = 1\n", "not valid TOML"), (None, "cannot read the sweep space")],
)
def test_an_unreadable_toml_file_is_refused_naming_it(tmp_path, content, message):
    path = tmp_path / "sweep.toml"
    if content is not None:  # setup: None is a file that does not exist
        path.write_bytes(content)
    with pytest.raises(ConfigError, match=re.escape(f"{path}: {message}")):
        space_from_toml(path)


# --- checking against a base config ----------------------------------------------------------------


def test_a_space_whose_every_value_is_valid_passes_the_check():
    space = space_from_flags({"lr": "0.01..0.3:log", "dropout": "0..0.5", "hidden": "128|512,256", "epochs": "3"})
    assert space.check(TrainConfig()) is None


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        ({"dropout": "0..1"}, r"--dropout 0\.0\.\.1\.0: 1\.0 is not allowed: dropout must be in \[0, 0\.95\]"),
        ({"momentum": "0.5..1.5"}, r"--momentum 0\.5\.\.1\.5: 1\.5 is not allowed: momentum must be in \[0, 1\)"),
        ({"warmup_epochs": "0|10"}, r"--warmup-epochs 0\.0 \| 10\.0: 10\.0 is not allowed: warmup must be shorter"),
        ({"epochs": "1", "warmup_epochs": "0..2"}, r"--warmup-epochs 0\.0\.\.2\.0: 2\.0 is not allowed"),
        ({"dropout": "1", "lr": "0.01..0.1"}, r"settings that are not searched are invalid: dropout must be"),
        ({"lr": "0.1"}, r"nothing to search"),
    ],
)
def test_check_refuses_a_value_that_makes_an_invalid_config(flags, message):
    with pytest.raises(ConfigError, match=message):
        space_from_flags(flags).check(TrainConfig())


@pytest.mark.parametrize("flags", [
    {"optimizer": "adam", "momentum": "0.5", "lr": "0.01..0.1"},
    {"optimizer": "sgd", "nesterov": "yes|no"},
], ids=["fixed", "searched"])
def test_a_setting_the_fixed_optimizer_ignores_is_refused_as_train_refuses_it(flags):
    ignored = r"^--(momentum|nesterov) is not used by --optimizer (adam|sgd), only by momentum$"
    with pytest.raises(ConfigError, match=ignored):
        space_from_flags(flags).check(TrainConfig())


def test_a_searched_optimizer_may_come_with_momentum():
    assert space_from_flags({"optimizer": "sgd|momentum", "momentum": "0.5..0.9"}).check(TrainConfig()) is None


def test_config_for_applies_fixed_and_sampled_values_and_validates():
    space = space_from_flags({"epochs": "2..5", "warmup_epochs": "0..3", "dropout": "0.25"})
    space.check(TrainConfig())
    assert space.config_for(TrainConfig(), {"epochs": 4, "warmup_epochs": 1.5}) == TrainConfig(
        epochs=4, warmup_epochs=1.5, dropout=0.25
    )
    with pytest.raises(ConfigError, match="warmup must be shorter than the run"):
        space.config_for(TrainConfig(), {"epochs": 2, "warmup_epochs": 3.0})


# --- grid, JSON, sampling ---------------------------------------------------------------------------


def test_grid_gives_the_choices_as_suggested():
    space = space_from_flags({"batch_size": "64,128", "hidden": "128|512,256", "nesterov": "yes|no", "epochs": "3"})
    assert space.grid() == {"batch_size": ["64", "128"], "hidden": ["128", "512,256"], "nesterov": ["yes", "no"]}


def test_grid_refuses_a_range():
    space = space_from_flags({"batch_size": "64,128", "lr": "0.01..0.3:log"})
    with pytest.raises(ConfigError, match=r"grid search needs choices: lr is a range \(lr 0\.01\.\.0\.3 log\)"):
        space.grid()


def test_a_space_survives_json():
    space = space_from_flags({
        "lr": "0.01..0.3:log", "epochs": "1..5", "hidden": "128|512,256", "nesterov": "yes|no",
        "batch_size": "64,128", "dropout": "0.25", "activation": "tanh", "standardize": "yes",
    })
    assert Space.from_json(json.loads(json.dumps(space.to_json()))) == space


def test_a_malformed_json_space_is_refused():
    with pytest.raises(ConfigError, match=r"the stored sweep space is malformed \(KeyError: 'fixed'\)"):
        Space.from_json({"params": []})


def test_describe_says_what_is_searched():
    assert [param.describe() for param in space_from_flags({
        "lr": "0.01..0.3:log", "hidden": "128|512,256", "epochs": "1..5",
    }).params] == ["lr 0.01..0.3 log", "hidden 128 | 512,256", "epochs 1..5"]


def test_sample_suggests_every_param_and_parses_the_answers():
    space = space_from_flags({
        "lr": "0.01..0.3:log", "epochs": "1..5", "hidden": "128|512,256", "nesterov": "yes|no",
        "batch_size": "64,128", "dropout": "0.25",
    })
    trial = RecordingTrial()
    values = space.sample(trial)
    assert trial.calls == [
        ("float", "lr", 0.01, 0.3, True),
        ("int", "epochs", 1, 5, False),
        ("categorical", "hidden", ["128", "512,256"]),
        ("categorical", "nesterov", ["yes", "no"]),
        ("categorical", "batch_size", ["64", "128"]),
    ]
    assert values == {"lr": 0.01, "epochs": 5, "hidden": (512, 256), "nesterov": False, "batch_size": 128}
    assert space.config_for(TrainConfig(), values) == TrainConfig(
        lr=0.01, epochs=5, hidden=(512, 256), nesterov=False, batch_size=128, dropout=0.25
    )


def test_real_optuna_samples_valid_configs():
    optuna = pytest.importorskip("optuna")
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    space = space_from_flags({
        "lr": "0.01..0.3:log", "epochs": "1..5", "hidden": "128|512,256", "nesterov": "yes|no",
        "dropout": "0..0.5", "batch_size": "64,128,256",
    })
    space.check(TrainConfig())
    configs = []

    def objective(trial):
        configs.append(space.config_for(TrainConfig(), space.sample(trial)))
        return 0.0

    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    study.optimize(objective, n_trials=5)
    assert len(configs) == 5
    assert all(0.01 <= c.lr <= 0.3 and 1 <= c.epochs <= 5 and 0 <= c.dropout <= 0.5 for c in configs)
    assert {c.hidden for c in configs} <= {(128,), (512, 256)}
    assert {c.batch_size for c in configs} <= {64, 128, 256}
    assert {type(c.nesterov) for c in configs} == {bool}
    assert all(type(c.epochs) is int for c in configs)
    grid = optuna.create_study(sampler=optuna.samplers.GridSampler(
        space_from_flags({"hidden": "128|512,256", "batch_size": "64,128"}).grid()
    ))
    grid.optimize(lambda trial: float(len(space_from_flags({
        "hidden": "128|512,256", "batch_size": "64,128"}).sample(trial))), n_trials=4)
    assert {(t.params["hidden"], t.params["batch_size"]) for t in grid.trials} == {
        ("128", "64"), ("128", "128"), ("512,256", "64"), ("512,256", "128"),
    }
