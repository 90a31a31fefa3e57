"""How parameters move: optimizer steps against hand-written PyTorch-convention formulas, and
the learning-rate schedules."""

from __future__ import annotations

import math

import numpy as np
import pytest

from tui_mnist.engine.errors import ConfigError
from tui_mnist.engine.optimizers import make_optimizer
from tui_mnist.engine.schedules import Schedule

SHAPES = [(3, 4), (4,), (4, 2), (2,)]  # W0, b0, W1, b1
LEARNING_RATES = [0.1, 0.05, 0.02]  # a different lr each step: each step must use its own
MU, BETA1, BETA2, ADAM_EPS = 0.9, 0.9, 0.999, 1e-8
OPTIMIZERS = [("sgd", False), ("momentum", False), ("momentum", True), ("adam", False)]
IDS = ["sgd", "momentum", "nesterov", "adam"]


def problem(seed=0):
    """Parameters and one gradient list per step. The last parameter's gradients are ~1e-8,
    where Adam's epsilon matters, so its placement is checked too."""
    rng = np.random.default_rng(seed)
    params = [rng.normal(size=shape) for shape in SHAPES]
    steps = [[rng.normal(size=shape) for shape in SHAPES] for _ in LEARNING_RATES]
    for grads in steps:
        grads[-1] *= 1e-8
    return params, steps


def reference_run(name, nesterov, weight_decay, params, steps):
    """The update rules written out plainly, one parameter at a time."""
    params = [p.copy() for p in params]
    velocity = [np.zeros_like(p) for p in params]
    m = [np.zeros_like(p) for p in params]
    s = [np.zeros_like(p) for p in params]
    for t, (lr, grads) in enumerate(zip(LEARNING_RATES, steps), start=1):
        for i, (p, g) in enumerate(zip(params, grads)):
            if i % 2 == 0:  # weights decay, biases do not
                g = g + weight_decay * p
            if name == "sgd":
                p -= lr * g
            elif name == "momentum":
                velocity[i] = MU * velocity[i] + g
                p -= lr * (g + MU * velocity[i]) if nesterov else lr * velocity[i]
            else:
                m[i] = BETA1 * m[i] + (1 - BETA1) * g
                s[i] = BETA2 * s[i] + (1 - BETA2) * g * g
                m_hat = m[i] / (1 - BETA1**t)
                s_hat = s[i] / (1 - BETA2**t)
                p -= lr * m_hat / (np.sqrt(s_hat) + ADAM_EPS)
    return params


def engine_run(name, nesterov, weight_decay, params, steps):
    params = [p.copy() for p in params]
    optimizer = make_optimizer(name, params, weight_decay, momentum=MU, nesterov=nesterov)
    for lr, grads in zip(LEARNING_RATES, steps):
        optimizer.step([g.copy() for g in grads], lr)  # step may use the gradients as scratch
    return params


@pytest.mark.parametrize("weight_decay", [0.0, 0.05])
@pytest.mark.parametrize("name, nesterov", OPTIMIZERS, ids=IDS)
def test_steps_match_the_reference_formulas(name, nesterov, weight_decay):
    params, steps = problem()
    expected = reference_run(name, nesterov, weight_decay, params, steps)
    actual = engine_run(name, nesterov, weight_decay, params, steps)
    for i, (a, e) in enumerate(zip(actual, expected)):
        np.testing.assert_allclose(a, e, rtol=1e-10, atol=1e-15, err_msg=f"parameter {i}")


@pytest.mark.parametrize("name, nesterov", OPTIMIZERS, ids=IDS)
def test_steps_match_pytorch(name, nesterov):
    torch = pytest.importorskip("torch")
    params, steps = problem()
    tensors = [torch.tensor(p, requires_grad=True) for p in params]
    groups = [{"params": tensors[0::2], "weight_decay": 0.05}, {"params": tensors[1::2]}]
    if name == "adam":
        optimizer = torch.optim.Adam(groups, lr=1.0, betas=(BETA1, BETA2), eps=ADAM_EPS)
    else:
        momentum = MU if name == "momentum" else 0.0
        optimizer = torch.optim.SGD(groups, lr=1.0, momentum=momentum, nesterov=nesterov)
    for lr, grads in zip(LEARNING_RATES, steps):
        for group in optimizer.param_groups:
            group["lr"] = lr
        for tensor, g in zip(tensors, grads):
            tensor.grad = torch.tensor(g)
        optimizer.step()

    actual = engine_run(name, nesterov, 0.05, params, steps)
    for i, (a, t) in enumerate(zip(actual, tensors)):
        np.testing.assert_allclose(a, t.detach().numpy(), rtol=1e-10, atol=1e-15, err_msg=f"{i}")


@pytest.mark.parametrize("name, nesterov", OPTIMIZERS, ids=IDS)
def test_weight_decay_pulls_weights_toward_zero_but_not_biases(name, nesterov):
    params, _ = problem()
    before = [p.copy() for p in params]
    optimizer = make_optimizer(name, params, weight_decay=0.1, nesterov=nesterov)
    optimizer.step([np.zeros_like(p) for p in params], 0.1)
    for i, (old, new) in enumerate(zip(before[0::2], params[0::2])):  # the weights
        assert np.all((new - old) * old < 0), f"weight {i} did not move toward 0"
    for old, new in zip(before[1::2], params[1::2]):  # the biases
        np.testing.assert_array_equal(new, old)


@pytest.mark.parametrize("name, nesterov", OPTIMIZERS[1:], ids=IDS[1:])
def test_saved_state_resumes_exactly(name, nesterov):
    params, steps = problem()
    uninterrupted = engine_run(name, nesterov, 0.0, params, steps)

    first = make_optimizer(name, [p.copy() for p in params], nesterov=nesterov)
    for lr, grads in zip(LEARNING_RATES[:-1], steps[:-1]):
        first.step([g.copy() for g in grads], lr)
    resumed = make_optimizer(name, [p.copy() for p in first.parameters], nesterov=nesterov)
    resumed.load_state_arrays(first.state_arrays())
    resumed.step([g.copy() for g in steps[-1]], LEARNING_RATES[-1])

    for a, b in zip(resumed.parameters, uninterrupted):
        np.testing.assert_array_equal(a, b)


def test_unknown_optimizer_is_a_config_error():
    with pytest.raises(ConfigError, match="rmsprop"):
        make_optimizer("rmsprop", [np.zeros(3)])


# --- learning-rate schedules -----------------------------------------------------------------


def test_constant():
    schedule = Schedule("constant", base_lr=0.3, total_steps=100)
    assert [schedule.lr_at(s) for s in (0, 50, 99, 1000)] == [0.3] * 4


def test_step_decay():
    schedule = Schedule("step", base_lr=1.0, total_steps=100, step_every=10, gamma=0.5)
    assert [schedule.lr_at(s) for s in (0, 9, 10, 19, 20, 35)] == [1, 1, 0.5, 0.5, 0.25, 0.125]


def test_cosine():
    schedule = Schedule("cosine", base_lr=2.0, total_steps=100)
    assert schedule.lr_at(0) == 2.0
    assert schedule.lr_at(25) == pytest.approx(1 + math.cos(math.pi / 4))
    assert schedule.lr_at(50) == pytest.approx(1.0)
    assert schedule.lr_at(100) == pytest.approx(0.0, abs=1e-15)
    assert schedule.lr_at(150) == pytest.approx(0.0, abs=1e-15)
    values = [schedule.lr_at(s) for s in range(101)]
    assert values == sorted(values, reverse=True)


@pytest.mark.parametrize("kind", ["constant", "step", "cosine"])
def test_linear_warmup_then_the_schedule(kind):
    schedule = Schedule(kind, base_lr=1.0, total_steps=110, warmup_steps=10, step_every=50)
    assert [schedule.lr_at(s) for s in range(10)] == pytest.approx([0.1 * k for k in range(1, 11)])
    assert schedule.lr_at(10) == 1.0  # the schedule proper starts where warmup ended
    halfway = {"constant": 1.0, "step": 0.1, "cosine": 0.5}[kind]
    assert schedule.lr_at(60) == pytest.approx(halfway)


def test_unknown_schedule_is_a_config_error():
    with pytest.raises(ConfigError, match="exponential"):
        Schedule("exponential", base_lr=1.0, total_steps=10)
