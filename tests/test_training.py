import numpy as np
import pandas as pd
import pytest
import torch
import torch.nn.functional as F

from utils.models import mlp
from utils.training import History, accuracy, evaluate, loss_fn, train


def separable(n=200, seed=0):
    g = torch.Generator().manual_seed(seed)
    X = torch.randn(n, 2, generator=g)
    return X, (X[:, 0] + 0.5 * X[:, 1] > 0).long()


# --- losses against hand computations -------------------------------------------------

def test_cross_entropy_matches_log_softmax_by_hand():
    out = torch.tensor([[1.0, 2.0, 0.5], [0.0, 0.0, 3.0]])
    y = torch.tensor([1, 0])
    by_hand = np.mean([-(2.0 - np.log(np.exp(1) + np.exp(2) + np.exp(0.5))),
                       -(0.0 - np.log(2 + np.exp(3)))])
    assert loss_fn(out, y, "cross_entropy").item() == pytest.approx(by_hand, rel=1e-6)


def test_mse_sums_over_outputs_and_averages_over_examples():
    out = torch.tensor([[0.5, 0.2], [1.0, 1.0]])
    y = torch.tensor([0, 1])
    by_hand = ((0.5 - 1) ** 2 + 0.2 ** 2 + 1.0 ** 2 + 0.0) / 2
    assert loss_fn(out, y, "mse").item() == pytest.approx(by_hand)
    real = loss_fn(torch.tensor([[1.0], [3.0]]), torch.tensor([0.0, 1.0]), "mse")
    assert real.item() == pytest.approx((1 + 4) / 2)


def test_logistic_loss_matches_log1p_exp():
    z = torch.tensor([[2.0], [-1.0], [0.3]])
    y = torch.tensor([1, 1, 0])
    s = np.array([1, 1, -1])
    by_hand = np.mean(np.log1p(np.exp(-s * z.numpy().ravel())))
    assert loss_fn(z, y, "logistic").item() == pytest.approx(by_hand, rel=1e-6)


def test_unknown_loss_is_rejected():
    with pytest.raises(ValueError, match="loss must be one of"):
        loss_fn(torch.zeros(1, 2), torch.tensor([0]), "hinge")


# --- evaluation -----------------------------------------------------------------------

def test_evaluate_and_accuracy():
    net = torch.nn.Linear(2, 2)
    with torch.no_grad():
        net.weight.copy_(torch.tensor([[1.0, 0.0], [0.0, 1.0]]))
        net.bias.zero_()
    X = torch.tensor([[2.0, 1.0], [0.0, 1.0], [1.0, 3.0]])
    y = torch.tensor([0, 1, 0])
    assert accuracy(net, X, y) == pytest.approx(2 / 3)
    result = evaluate(net, X, y)
    assert result["loss"] == pytest.approx(F.cross_entropy(net(X), y).item())
    assert np.isnan(evaluate(net, X, torch.zeros(3, 2), loss="mse")["accuracy"])
    assert net.training  # mode restored


def test_evaluate_rejects_numpy_and_mismatched_rows():
    net = torch.nn.Linear(2, 2)
    with pytest.raises(TypeError, match="torch tensors"):
        evaluate(net, np.zeros((2, 2)), np.zeros(2))
    with pytest.raises(ValueError, match="same number of rows"):
        evaluate(net, torch.zeros(3, 2), torch.zeros(2, dtype=torch.long))


# --- the loop -------------------------------------------------------------------------

def test_one_full_batch_step_is_gradient_descent_by_hand():
    # Linear regression, MSE, one step from w0: w1 = w0 - lr * (2/n) X^T (X w0 - y).
    X = torch.tensor([[1.0, 2.0], [0.5, -1.0], [2.0, 0.0]])
    y = torch.tensor([1.0, 0.0, 2.0])
    net = torch.nn.Linear(2, 1, bias=False)
    with torch.no_grad():
        net.weight.copy_(torch.tensor([[0.3, -0.2]]))
    w0 = net.weight.detach().numpy().ravel().astype(float)
    train(net, X, y, loss="mse", lr=0.1, epochs=1)
    Xn, yn = X.numpy().astype(float), y.numpy().astype(float)
    w1 = w0 - 0.1 * (2 / 3) * Xn.T @ (Xn @ w0 - yn)
    assert np.allclose(net.weight.detach().numpy().ravel(), w1, atol=1e-6)


def test_reaches_target_accuracy_and_stops():
    X, y = separable()
    net = mlp(2, [16], 2, generator=torch.Generator().manual_seed(0))
    h = train(net, X, y, lr=0.5, epochs=500, target_accuracy=0.99)
    assert h.stopped_because == "target_accuracy"
    assert h.final["train_acc"] >= 0.99
    assert h.rows[0]["epoch"] == 0 and h.rows[0]["step"] == 0   # the initial state is recorded
    assert len(h.rows) < 501


def test_step_budget_minibatches_and_evals_per_epoch():
    X, y = separable(n=100)
    net = mlp(2, [8], 2, generator=torch.Generator().manual_seed(0))
    h = train(net, X, y, batch_size=10, epochs=100, max_steps=25, evals_per_epoch=2,
              optimizer="adam", lr=0.01, generator=torch.Generator().manual_seed(0))
    assert h.stopped_because == "max_steps"
    assert h.final["step"] == 25
    assert h["epoch"].tolist()[:4] == [0, 0.5, 1.0, 1.5]   # 10 steps an epoch, 2 evaluations


def test_validation_columns_callback_arrays_and_frame():
    X, y = separable(n=60)
    net = mlp(2, [8], 2, generator=torch.Generator().manual_seed(0))
    calls = []

    def cb(model):
        calls.append(1)
        with torch.no_grad():
            return {"correct": (model(X).argmax(1) == y).numpy()}

    h = train(net, X, y, epochs=3, X_val=X[:10], y_val=y[:10], callback=cb)
    assert h["correct"].shape == (4, 60) and len(calls) == 4
    frame = h.to_frame()
    assert isinstance(frame, pd.DataFrame)
    assert {"val_loss", "val_acc", "train_loss"} <= set(frame.columns)
    assert "correct" not in frame.columns
    with pytest.raises(KeyError, match="no column 'nope'"):
        h["nope"]


def test_penalty_is_added_to_the_loss():
    # A strong penalty on the squared logits (spectral decoupling) keeps the outputs near 0.
    X, y = separable(n=100)
    outs = {}
    for lam in (0.0, 5.0):
        net = mlp(2, [16], 2, generator=torch.Generator().manual_seed(0))
        train(net, X, y, lr=0.05, epochs=50,
              penalty=lambda m, out, lam=lam: 0.5 * lam * (out ** 2).mean())
        outs[lam] = net(X).detach().abs().mean().item()
    assert outs[5.0] < 0.5 * outs[0.0]


def test_same_generators_same_training():
    X, y = separable(n=100)
    weights = []
    for _ in range(2):
        net = mlp(2, [8], 2, generator=torch.Generator().manual_seed(1))
        train(net, X, y, batch_size=16, epochs=3, generator=torch.Generator().manual_seed(2))
        weights.append(net[0].weight.detach().clone())
    assert torch.equal(weights[0], weights[1])


def test_logistic_training_on_binary_labels():
    X, y = separable()
    net = mlp(2, [8], 1, generator=torch.Generator().manual_seed(0))
    h = train(net, X, y, loss="logistic", lr=0.5, epochs=300, target_accuracy=0.98)
    assert h.final["train_acc"] >= 0.98
    with pytest.raises(ValueError, match=r"labels in \{0, 1\}"):
        train(net, X, y + 1, loss="logistic")


@pytest.mark.parametrize("kwargs, match", [
    ({"lr": 0}, r"lr must be in \(0, inf\]"),
    ({"batch_size": 0}, "batch_size must be at least 1"),
    ({"epochs": 0}, "epochs must be at least 1"),
    ({"optimizer": "rmsprop"}, "optimizer must be one of"),
    ({"target_accuracy": 1.5}, r"target_accuracy must be in \(0, 1\]"),
    ({"momentum": 1.0}, r"momentum must be in \[0, 1\)"),
    ({"X_val": torch.zeros(2, 2)}, "both X_val and y_val"),
    ({"evals_per_epoch": 0}, "evals_per_epoch must be at least 1"),
])
def test_train_rejects_bad_arguments(kwargs, match):
    X, y = separable(n=20)
    with pytest.raises(ValueError, match=match):
        train(torch.nn.Linear(2, 2), X, y, **kwargs)


@pytest.mark.parametrize("kwargs, match", [
    ({"lr": "0.1"}, "lr must be a finite number, got str"),
    ({"lr": [0.1]}, "lr must be a finite number, got list"),
    ({"batch_size": 2.5}, "batch_size must be an integer, got float"),
    ({"epochs": True}, "epochs must be an integer, got bool"),
    ({"callback": None, "max_steps": "10"}, "max_steps must be an integer"),
])
def test_train_rejects_a_wrong_type_with_type_error(kwargs, match):
    """scikit-learn's rule: a wrong type is a TypeError, a wrong value a ValueError."""
    X, y = separable(n=20)
    with pytest.raises(TypeError, match=match):
        train(torch.nn.Linear(2, 2), X, y, **kwargs)


def test_empty_history_has_no_final_row():
    with pytest.raises(ValueError, match="history is empty"):
        History().final


def test_make_config_checks_once_and_schedules_the_evaluations():
    from utils.engine import TrainConfig, make_config
    cfg = make_config(n=10, loss="mse", optimizer="sgd", lr=0.1, batch_size=3, epochs=2,
                      evals_per_epoch=2, max_steps=5)
    assert (cfg.steps_per_epoch, sorted(cfg.eval_at), cfg.last_step) == (4, [2, 4], 5)
    assert isinstance(cfg, TrainConfig) and cfg.lr == (0.1,) and not cfg.full_batch
    many = make_config(n=10, loss="mse", optimizer="adamw", optimizers=("adamw",),
                       lr=[0.1, 0.2], members=2, target_loss=0.5)
    assert many.lr == (0.1, 0.2) and many.weight_decay == (0.0, 0.0) and many.full_batch
    assert many.target_reached({"train_acc": 0.0, "train_loss": 0.4}) == "target_loss"
    with pytest.raises(TypeError, match="lr must be a float or a list of 2"):
        make_config(n=10, loss="mse", optimizer="sgd", lr="fast", members=2)
    with pytest.raises(ValueError, match="momentum applies to optimizer='sgd' only"):
        make_config(n=10, loss="mse", optimizer="adam", lr=0.1, momentum=0.9, members=2)
    with pytest.raises(TypeError, match="callback must be callable"):
        make_config(n=10, loss="mse", optimizer="sgd", lr=0.1, callback="print")


def test_check_data_tells_a_wrong_type_from_a_wrong_value():
    from utils.engine import check_data
    with pytest.raises(TypeError, match="X and y must be torch tensors"):
        check_data([[1.0]], torch.zeros(1))
    with pytest.raises(ValueError, match="X must hold floating-point features"):
        check_data(torch.zeros(2, 2, dtype=torch.long), torch.zeros(2))
    with pytest.raises(ValueError, match="needs integer class labels"):
        check_data(torch.zeros(2, 2), torch.zeros(2), loss="cross_entropy")
    check_data(torch.zeros(2, 2), torch.zeros(2, dtype=torch.long), loss="cross_entropy")
