import numpy as np
import pytest
import torch
from sklearn.metrics import mutual_info_score

from utils.checks import CheckFailed, check_function
from utils.starvation import (agreement, bisect_to_boundary, distance_to_boundary,
                              explained_information, linear_slabs, margin, mutual_information,
                              feature_responses, feature_responses_gd, plot_decision_boundary,
                              randomization_test, randomize_coordinates, score_function,
                              spectral_decoupling)
from utils.training import train


# --- linear_slabs -----------------------------------------------------------------------

@pytest.mark.parametrize("k", [3, 4, 5])
def test_linear_slabs_every_coordinate_predicts_the_label(k):
    X, y = linear_slabs(2000, n_slab_coords=3, n_slabs=k, linear_margin=0.2, slab_gap=0.1,
                        rng=1)
    assert X.shape == (2000, 4) and y.dtype == np.int64
    assert abs(y.mean() - 0.5) < 0.05
    # linear coordinate: sign gives the label, with the requested gap
    assert ((X[:, 0] > 0) == (y == 1)).all()
    assert np.abs(X[:, 0]).min() >= 0.1 - 1e-12 and np.abs(X[:, 0]).max() <= 1
    width = 2 / k
    for j in range(1, 4):
        slab = np.floor((X[:, j] + 1) / width).astype(int)
        assert (slab % 2 == y).all()                      # slab parity is the label
        assert set(np.unique(slab)) == set(range(k))      # every slab is used
        offset = X[:, j] + 1 - slab * width               # position inside the slab
        assert offset.min() >= 0.05 - 1e-12 and offset.max() <= width - 0.05 + 1e-12


def test_linear_slabs_is_not_linearly_separable_on_slab_coordinates():
    from sklearn.linear_model import LogisticRegression
    X, y = linear_slabs(1000, n_slab_coords=1, n_slabs=5, rng=0)
    acc = LogisticRegression().fit(X[:, 1:], y).score(X[:, 1:], y)
    assert acc < 0.75


@pytest.mark.parametrize("kwargs, match", [
    ({"n": 0}, "n must be at least 1"),
    ({"n_slabs": 2}, "n_slabs must be at least 3"),
    ({"slab_gap": 0.5, "n_slabs": 5}, "slab_gap must be in"),
    ({"linear_margin": -0.1}, "linear_margin must be in"),
    ({"n_slab_coords": 0}, "n_slab_coords must be at least 1"),
])
def test_linear_slabs_rejects_bad_arguments(kwargs, match):
    args = {"n": 10, **kwargs}
    with pytest.raises(ValueError, match=match):
        linear_slabs(**args)


# --- spectral_decoupling ----------------------------------------------------------------

def test_spectral_decoupling_value_and_gradient():
    g = torch.Generator().manual_seed(0)
    out = torch.randn(7, 3, generator=g, requires_grad=True)
    pen = spectral_decoupling(0.3, gamma=0.5)(None, out)
    # independent computation: loop over examples and units
    expected = sum(0.5 * 0.3 * (out[i, j].item() - 0.5) ** 2
                   for i in range(7) for j in range(3)) / 7
    assert pen.item() == pytest.approx(expected, rel=1e-6)
    pen.backward()
    # d/d out_ij of lam/2 mean_i ||out_i - gamma||^2 = lam (out_ij - gamma) / n
    assert torch.allclose(out.grad, 0.3 * (out.detach() - 0.5) / 7, atol=1e-7)


def test_spectral_decoupling_zero_strength_and_one_output():
    assert spectral_decoupling(0.0)(None, torch.ones(4, 1)).item() == 0.0
    assert spectral_decoupling(2.0)(None, torch.full((5,), 3.0)).item() == pytest.approx(9.0)


def test_spectral_decoupling_shrinks_logits_in_training():
    g = torch.Generator().manual_seed(0)
    X = torch.randn(64, 2, generator=g)
    y = (X[:, 0] > 0).long()
    norms = []
    for lam in (0.0, 0.1):
        net = torch.nn.Linear(2, 1)
        with torch.no_grad():
            net.weight.zero_(); net.bias.zero_()
        train(net, X, y, loss="logistic", lr=0.5, epochs=300,
              penalty=spectral_decoupling(lam))
        norms.append(net(X).abs().mean().item())
    assert norms[1] < 0.5 * norms[0]


def test_spectral_decoupling_rejects_bad_arguments():
    with pytest.raises(ValueError, match="lam must be in"):
        spectral_decoupling(-1.0)
    with pytest.raises(ValueError, match="gamma must be a finite number"):
        spectral_decoupling(1.0, gamma=float("nan"))
    with pytest.raises(TypeError, match="outputs must be a torch tensor"):
        spectral_decoupling(1.0)(None, np.zeros(3))


def test_check_catches_a_penalty_without_the_half():
    ref = lambda out: spectral_decoupling(0.2)(None, out)  # noqa: E731
    wrong = lambda out: 0.2 * (out ** 2).sum(dim=1).mean()  # noqa: E731
    with pytest.raises(CheckFailed):
        check_function(wrong, ref, cases=[(torch.ones(3, 1) * 2,)])


# --- score_function, bisection, distances and margins -----------------------------------

def test_score_function_for_modules_and_callables():
    net = torch.nn.Linear(2, 2)
    with torch.no_grad():
        net.weight.copy_(torch.tensor([[1.0, 0.0], [0.0, 1.0]])); net.bias.zero_()
    s = score_function(net)(np.array([[1.0, 3.0]]))
    assert s.tolist() == [2.0]                       # output 1 minus output 0
    assert score_function(lambda P: P[:, 0])(np.array([[4.0, 0.0]])).tolist() == [4.0]
    with pytest.raises(ValueError, match="1 or 2 outputs"):
        score_function(torch.nn.Linear(2, 3))(np.zeros((1, 2)))
    with pytest.raises(TypeError, match="torch module or a callable"):
        score_function(3)


def test_bisection_finds_the_crossing_of_a_circle():
    score = lambda P: np.linalg.norm(P, axis=1) - 1.0  # noqa: E731  (outside the unit circle)
    X = np.array([[0.0, 0.0], [0.2, -0.1]])
    T = np.array([[2.0, 0.0], [0.2, -3.0]])
    t = bisect_to_boundary(score, X, T, steps=40)
    crossing = X + t[:, None] * (T - X)
    assert np.allclose(np.linalg.norm(crossing, axis=1), 1.0, atol=1e-9)
    with pytest.raises(ValueError, match="other class"):
        bisect_to_boundary(score, X, X + 0.01)
    with pytest.raises(ValueError, match="shape of X"):
        bisect_to_boundary(score, X, T[:1])


def test_distance_to_a_linear_boundary_matches_the_closed_form():
    rng = np.random.default_rng(0)
    w, b = np.array([1.0, -2.0]), 0.3
    X = rng.normal(size=(50, 2))
    d = distance_to_boundary(lambda P: P @ w + b, X, resolution=300)
    exact = np.abs(X @ w + b) / np.linalg.norm(w)
    spacing = (X.max(0) - X.min(0) + 1.0).max() / 299
    assert np.all(d >= exact - 1e-9)                 # an upper bound...
    assert np.all(d <= exact + spacing)              # ...within a grid spacing


def test_distance_to_a_circle_and_margin_of_a_torch_model():
    rng = np.random.default_rng(1)
    X = rng.uniform(-1.5, 1.5, size=(40, 2))
    d = distance_to_boundary(lambda P: np.linalg.norm(P, axis=1) - 1.0, X, resolution=400)
    exact = np.abs(np.linalg.norm(X, axis=1) - 1.0)
    assert np.allclose(d, exact, atol=0.02)
    # a torch linear model with a known margin
    net = torch.nn.Linear(2, 1)
    with torch.no_grad():
        net.weight.copy_(torch.tensor([[3.0, 4.0]])); net.bias.fill_(-5.0)
    X = np.array([[1.0, 1.0], [0.0, 0.0], [3.0, 3.0]])
    y = np.array([1, 0, 1])
    # distances |3x + 4y - 5| / 5 = 0.4, 1.0, 3.2
    assert margin(net, X, y) == pytest.approx(0.4, abs=0.02)
    assert margin(net, X, np.array([0, 0, 1])) == pytest.approx(-0.4, abs=0.02)


def test_distance_is_infinite_without_a_boundary_and_rejects_bad_input():
    assert np.isinf(distance_to_boundary(lambda P: np.ones(len(P)), [[0.0, 0.0]])).all()
    with pytest.raises(ValueError, match="2-D points"):
        distance_to_boundary(lambda P: P[:, 0], np.zeros((3, 3)))
    with pytest.raises(ValueError, match="resolution must be at least 10"):
        distance_to_boundary(lambda P: P[:, 0], np.zeros((3, 2)), resolution=5)
    with pytest.raises(ValueError, match="one 0/1 label"):
        margin(lambda P: P[:, 0], np.zeros((3, 2)), [0, 1])


# --- randomization ----------------------------------------------------------------------

def test_randomize_coordinates_permutes_the_block_jointly():
    X = np.arange(30.0).reshape(10, 3)
    Z = randomize_coordinates(X, [1, 2], rng=np.random.default_rng(4))
    perm = np.random.default_rng(4).permutation(10)
    assert np.array_equal(Z[:, 0], X[:, 0])
    assert np.array_equal(Z[:, 1:], X[perm, 1:])
    assert not np.array_equal(Z, X)
    assert np.array_equal(randomize_coordinates(X, [], rng=0), X)
    with pytest.raises(ValueError, match="distinct"):
        randomize_coordinates(X, [1, 1], rng=0)
    with pytest.raises(ValueError, match="at most 2"):
        randomize_coordinates(X, [3], rng=0)


def test_randomization_test_on_a_model_that_reads_one_coordinate():
    X, y = linear_slabs(4000, n_slab_coords=2, rng=0)
    net = torch.nn.Linear(3, 1)
    with torch.no_grad():
        net.weight.copy_(torch.tensor([[1.0, 0.0, 0.0]])); net.bias.zero_()
    acc = randomization_test(net, X, y, {"linear": [0], "slabs": [1, 2]}, rng=0, n_repeats=3)
    assert acc["none"] == 1.0 and acc["slabs"] == 1.0
    assert abs(acc["linear"] - 0.5) < 0.05               # a shuffled sign is a coin flip
    with pytest.raises(ValueError, match="reserved"):
        randomization_test(net, X, y, {"none": [0]}, rng=0)
    with pytest.raises(ValueError, match="non-empty dict"):
        randomization_test(net, X, y, {}, rng=0)


def test_check_catches_a_randomization_that_shuffles_each_column_separately():
    def ref(seed):
        return randomize_coordinates(np.arange(40.0).reshape(10, 4), [1, 2], seed)

    def wrong(seed):
        rng = np.random.default_rng(seed)
        X = np.arange(40.0).reshape(10, 4)
        for c in (1, 2):
            X[:, c] = X[rng.permutation(10), c]
        return X
    with pytest.raises(CheckFailed):
        check_function(wrong, ref, cases=[(0,), (1,)])


# --- agreement and information ----------------------------------------------------------

def test_mutual_information_matches_sklearn():
    rng = np.random.default_rng(0)
    a = rng.integers(0, 4, 500)
    b = (a + rng.integers(0, 2, 500)) % 4
    assert mutual_information(a, b) == pytest.approx(mutual_info_score(a, b), abs=1e-12)
    assert mutual_information(a, np.zeros(500)) == 0.0


def test_explained_information_brute_force_and_limits():
    rng = np.random.default_rng(2)
    y = rng.integers(0, 2, 800)
    f = np.where(rng.random(800) < 0.8, y, 1 - y)
    l = np.where(rng.random(800) < 0.7, f, rng.integers(0, 2, 800))  # noqa: E741
    # brute force from the 2x2x2 joint table
    p = np.zeros((2, 2, 2))
    for fi, li, yi in zip(f, l, y):
        p[fi, li, yi] += 1 / 800
    pfl, pf, pl, py = p.sum(2), p.sum((1, 2)), p.sum((0, 2)), p.sum((0, 1))
    pfy, ply = p.sum(1), p.sum(0)
    i_fl = sum(pfl[i, j] * np.log(pfl[i, j] / (pf[i] * pl[j]))
               for i in range(2) for j in range(2) if pfl[i, j] > 0)
    i_fl_y = sum(p[i, j, k] * np.log(p[i, j, k] * py[k] / (pfy[i, k] * ply[j, k]))
                 for i in range(2) for j in range(2) for k in range(2) if p[i, j, k] > 0)
    assert explained_information(f, l, y) == pytest.approx(i_fl - i_fl_y, abs=1e-12)
    assert explained_information(f, f, y) == pytest.approx(mutual_info_score(f, y))
    noise = rng.integers(0, 2, 800)
    assert abs(explained_information(f, noise, y)) < 0.01


def test_agreement_and_its_errors():
    assert agreement([1, 2, 3], [1, 2, 0]) == pytest.approx(2 / 3)
    assert agreement([1, 2, 3], [1, 2, 0], mask=np.array([False, True, True])) == 0.5
    with pytest.raises(ValueError, match="selects no example"):
        agreement([1], [1], mask=np.array([False]))
    with pytest.raises(ValueError, match="same length"):
        agreement([1, 2], [1])
    with pytest.raises(ValueError, match="same length"):
        mutual_information([1, 2], [1])
    with pytest.raises(ValueError, match="same length"):
        explained_information([1, 2], [1, 2], [1])
    with pytest.raises(ValueError, match="non-empty 1-D"):
        agreement([], [])


def test_plot_decision_boundary_returns_the_margin():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots()
    X = np.array([[0.0, 0.0], [1.0, 3.0], [2.0, 1.0]])
    y = np.array([0, 1, 1])
    m = plot_decision_boundary(ax, lambda P: P[:, 1] - 0.5, X, y)
    assert m == pytest.approx(margin(lambda P: P[:, 1] - 0.5, X, y))
    assert m == pytest.approx(0.5, abs=0.02)
    assert len(ax.patches) == 1 and len(ax.collections) >= 3
    assert np.isnan(plot_decision_boundary(ax, lambda P: P[:, 0], X, y, show_margin=False))
    with pytest.raises(ValueError, match="one label per point"):
        plot_decision_boundary(ax, lambda P: P[:, 0], X, y[:2])
    plt.close(fig)


def test_score_function_scores_in_chunks_like_one_pass():
    net = torch.nn.Sequential(torch.nn.Linear(2, 16), torch.nn.ReLU(), torch.nn.Linear(16, 1))
    X = np.random.default_rng(0).normal(size=(20000, 2))
    with torch.no_grad():
        direct = net(torch.as_tensor(X, dtype=torch.float32)).reshape(-1).double().numpy()
    assert np.allclose(score_function(net)(X), direct, atol=1e-6)
    assert score_function(net)(np.zeros((0, 2))).shape == (0,)


# --- the rank-one toy of Chapter 4, spectral decoupling's margin, the within-class null ----

from utils.starvation import permute_within_class, spectral_decoupling_margin  # noqa: E402


def _toy_gradient_descent(s, lam=0.0, steps=20_000, lr=0.2):
    # Every example is label * s: the mean loss is log(1 + e^{-m}) + lam/2 m^2 with m = w . s.
    w = np.zeros(len(s))
    for _ in range(steps):
        m = w @ s
        w += lr * (1.0 / (1.0 + np.exp(m)) - lam * m) * s
    return w * s          # each coordinate's contribution to the margin


def test_spectral_decoupling_margin_solves_the_stationarity_condition():
    for lam in (0.001, 0.01, 0.1, 1.0):
        m = spectral_decoupling_margin(lam)
        assert 1 / (1 + np.exp(m)) == pytest.approx(lam * m, rel=1e-9)
    # an independent check: minimize the scalar objective on a fine grid
    grid = np.linspace(0.01, 10, 200_001)
    objective = np.log1p(np.exp(-grid)) + 0.01 / 2 * grid ** 2
    assert spectral_decoupling_margin(0.01) == pytest.approx(grid[np.argmin(objective)], abs=1e-3)
    with pytest.raises(ValueError, match="lam"):
        spectral_decoupling_margin(0.0)


def test_rank_one_toy_spectral_decoupling_cannot_decouple_the_coordinates():
    # The label-weighted feature matrix of the toy has rank 1: one singular direction.
    rng = np.random.default_rng(0)
    labels = rng.choice([-1.0, 1.0], size=50)
    X = labels[:, None] * np.array([1.0, 2.0])
    assert np.linalg.matrix_rank(labels[:, None] * X) == 1
    # With the penalty, gradient descent converges to the common margin m*, and the weak
    # coordinate keeps its share s_1^2 / |s|^2 of it: the chapter's 3.36, 0.67 and 0.34.
    m_star = spectral_decoupling_margin(0.01)
    for s, weak in ((np.array([1.0]), 3.36), (np.array([1.0, 2.0]), 0.67),
                    (np.array([1.0, 3.0]), 0.34)):
        contributions = _toy_gradient_descent(s, lam=0.01)
        assert contributions.sum() == pytest.approx(m_star, rel=1e-6)
        assert contributions[0] == pytest.approx(m_star * s[0] ** 2 / (s @ s), rel=1e-6)
        assert round(contributions[0], 2) == weak


def test_permute_within_class_keeps_the_confusion_table_and_breaks_the_link_to_l():
    rng = np.random.default_rng(3)
    y = rng.integers(0, 2, 4000)
    l = np.where(rng.random(4000) < 0.85, y, 1 - y)   # noqa: E741
    f = np.where(rng.random(4000) < 0.7, l, y)       # F copies many of L's mistakes
    g = permute_within_class(f, y, rng=0)
    for cls in (0, 1):
        assert np.array_equal(np.sort(g[y == cls]), np.sort(f[y == cls]))
    assert mutual_information(g, y) == pytest.approx(mutual_information(f, y), abs=1e-12)
    # shuffled, F's errors are independent of L's given Y: I(F; L | Y) is about 0 ...
    conditional = mutual_information(g, l) - explained_information(g, l, y)
    assert abs(conditional) < 0.002
    # ... while the real F shares L's mistakes, so its conditional term is clearly positive
    assert mutual_information(f, l) - explained_information(f, l, y) > 0.05
    with pytest.raises(ValueError, match="same length"):
        permute_within_class([0, 1], [0], rng=0)


def _binary_entropy(p):
    return -(p * np.log(p) + (1 - p) * np.log(1 - p))


@pytest.mark.parametrize("acc_f, expected", [(0.81, 0.593), (0.96, 0.548)])
def test_permutation_null_matches_the_closed_form_chance_level(acc_f, expected):
    # Binary, balanced Y; L right with probability a_L in each class; F's errors independent of
    # L's given Y (which is what the permutation produces). Then I(F; L | Y) = 0, P(F = L) =
    # q = a_F a_L + (1 - a_F)(1 - a_L), and mu_Y / I(F; Y) = (ln 2 - h(q)) / (ln 2 - h(a_F)).
    acc_l = 0.891
    q = acc_f * acc_l + (1 - acc_f) * (1 - acc_l)
    closed = (np.log(2) - _binary_entropy(q)) / (np.log(2) - _binary_entropy(acc_f))
    assert closed == pytest.approx(expected, abs=1e-3)   # computed by hand
    n = 5000                                             # per class
    y = np.repeat([0, 1], n)
    l = y.copy()                                         # noqa: E741
    f = y.copy()
    for cls in (0, 1):
        idx = np.flatnonzero(y == cls)
        l[idx[: round((1 - acc_l) * n)]] = 1 - cls       # L's mistakes come first ...
        f[idx[: round((1 - acc_f) * n)]] = 1 - cls       # ... and F repeats them
    real = explained_information(f, l, y) / mutual_information(f, y)
    ratios = [explained_information(g, l, y) / mutual_information(g, y)
              for g in (permute_within_class(f, y, rng=seed) for seed in range(20))]
    assert np.mean(ratios) == pytest.approx(closed, abs=0.01)
    assert real > closed + 0.05                          # the null is below the real F


def _minimize_full_linear_model(U, s, lam, penalty, p=7, seed=0):
    # Independent computation: the p-dimensional parameters theta of a linear model with
    # Y Phi = U diag(s) V^T for a random V, minimized by L-BFGS; responses U^T (Y Phi theta).
    from scipy.optimize import minimize
    V = np.linalg.qr(np.random.default_rng(seed).normal(size=(p, len(s))))[0]
    A = U @ np.diag(s) @ V.T
    n = len(A)

    def f(theta):
        m = A @ theta
        pen = lam / 2 * (np.mean(m ** 2) if penalty == "sd" else theta @ theta)
        return np.mean(np.logaddexp(0, -m)) + pen

    def g(theta):
        m = A @ theta
        d = -1 / (1 + np.exp(m)) / n
        return A.T @ d + (lam * A.T @ m / n if penalty == "sd" else lam * theta)

    r = minimize(f, np.zeros(p), jac=g, method="L-BFGS-B",
                 options=dict(gtol=1e-12, ftol=1e-15, maxiter=50_000))
    return U.T @ (A @ r.x)


def test_feature_responses_match_an_independent_minimization_and_the_closed_form():
    U = np.linalg.qr(np.random.default_rng(1).normal(size=(3, 3)))[0]
    m_star = spectral_decoupling_margin(0.01)
    for s1 in (1.0, 2.0, 4.0, 8.0):
        s = np.array([s1, 1.0, 0.5])
        for penalty in ("sd", "wd"):
            z = feature_responses(U, s, 0.01, penalty)
            assert z == pytest.approx(_minimize_full_linear_model(U, s, 0.01, penalty),
                                      abs=2e-4)
        # full row rank: every margin is m*, so z = m* U^T 1, whatever the strengths
        assert feature_responses(U, s, 0.01, "sd") == pytest.approx(
            m_star * U.T @ np.ones(3), abs=1e-9)


def test_feature_responses_on_pezeshki_et_al_toy_show_starvation_only_under_ridge():
    # Their Figure_6/toy_fig_6.py: two examples with labels +1, U mixing with sin 0.5,
    # strengths (s1, 2), summed loss + 0.5/C theta^T theta (C = 100) or + 0.1/C sum y_hat^2:
    # in this module's mean normalization, lam = 0.01 / 2 (ridge) and 0.002 (SD).
    U = np.array([[np.sqrt(0.75), -0.5], [0.5, np.sqrt(0.75)]])
    ridge = [feature_responses(U, [s1, 2.0], 0.005, "wd")[1] for s1 in (2, 3, 4, 5, 6)]
    assert np.round(ridge, 2).tolist() == [1.64, 1.58, 1.47, 1.33, 1.19]   # starvation
    for s1 in (2, 3, 4, 5, 6):
        assert feature_responses(U, [s1, 2.0], 0.002, "sd") == pytest.approx(
            spectral_decoupling_margin(0.002) * U.T @ np.ones(2), abs=1e-7)
    # rank one (every example s (s_1, s_2)): one direction, U = 1 / sqrt(n), margin m*
    z = feature_responses(np.full((4, 1), 0.5), [np.sqrt(5.0)], 0.01, "sd")
    assert 0.5 * z[0] == pytest.approx(spectral_decoupling_margin(0.01), rel=1e-9)


@pytest.mark.parametrize("args, match", [
    ((np.ones((2, 2)), [1.0, 1.0], 0.01), "orthonormal"),
    ((np.eye(2), [1.0], 0.01), "strengths"),
    ((np.eye(2), [1.0, -1.0], 0.01), "strengths"),
    ((np.eye(2), [1.0, 1.0], 0.0), "lam"),
    ((np.ones((1, 2)) / np.sqrt(2), [1.0, 1.0], 0.01), "shape"),
])
def test_feature_responses_rejects_bad_arguments(args, match):
    with pytest.raises(ValueError, match=match):
        feature_responses(*args)
    with pytest.raises(ValueError, match="penalty"):
        feature_responses(np.eye(2), [1.0, 1.0], 0.01, penalty="l1")


# --- feature_responses_gd -------------------------------------------------------------------

def _authors_gd(U, s, steps, lr_sum, ridge_coef=0.0, sd_coef=0.0, seed=1235):
    # The loop of Pezeshki et al.'s Figure_6/toy_fig_6.py, written independently: an explicit
    # feature matrix Phi = U S V^T (V from an SVD of random numbers), labels +1, summed loss
    # with plain gradient descent on theta from 0; returns U^T Phi theta.
    V = np.linalg.svd(np.random.RandomState(seed).randn(len(s), len(s)))[2]
    phi = U @ np.diag(s) @ V
    theta = np.zeros(len(s))
    for _ in range(steps):
        out = phi @ theta
        grad = -(phi.T @ (1.0 / (1.0 + np.exp(out))))
        grad = grad + ridge_coef * theta + 2 * sd_coef * phi.T @ out
        theta -= lr_sum * grad
    return U.T @ (phi @ theta)


def test_feature_responses_gd_matches_the_authors_loop_and_the_fixed_points():
    U = np.array([[np.sqrt(0.75), -0.5], [0.5, np.sqrt(0.75)]])
    for s1 in (2.0, 6.0):
        # their lr 0.05 on the summed loss is lr 0.1 on the mean
        assert feature_responses_gd(U, [s1, 2.0], 3000, lr=0.1) == pytest.approx(
            _authors_gd(U, [s1, 2.0], 3000, 0.05), rel=1e-9)
        # their ridge 0.5/C ||theta||^2 (C = 100) is lam = 0.005 in the mean form
        assert feature_responses_gd(U, [s1, 2.0], 500, lr=0.1, lam=0.005, penalty="wd") == \
            pytest.approx(_authors_gd(U, [s1, 2.0], 500, 0.05, ridge_coef=0.01), rel=1e-9)
        assert feature_responses_gd(U, [s1, 2.0], 500, lr=0.1, lam=0.002, penalty="sd") == \
            pytest.approx(_authors_gd(U, [s1, 2.0], 500, 0.05, sd_coef=0.001), rel=1e-9)
    # long enough, the penalized runs reach the optimum that Newton's method finds
    for penalty in ("wd", "sd"):
        assert feature_responses_gd(U, [4.0, 2.0], 100_000, lr=0.1, lam=0.01,
                                    penalty=penalty) == pytest.approx(
            feature_responses(U, [4.0, 2.0], 0.01, penalty), abs=1e-6)


def test_feature_responses_gd_plain_training_starves_for_one_sign_of_the_coupling_only():
    U = np.array([[np.sqrt(0.75), -0.5], [0.5, np.sqrt(0.75)]])
    weak = [feature_responses_gd(U, [s1, 2.0], 5000)[1] for s1 in (2.0, 6.0)]
    assert 1 - weak[1] / weak[0] == pytest.approx(0.38, abs=0.01)    # the referee's -38 %
    opposite = [feature_responses_gd(U.T, [s1, 2.0], 5000)[1] for s1 in (2.0, 6.0)]
    assert opposite[1] >= opposite[0]
    assert np.array_equal(feature_responses_gd(U, [3.0, 2.0], 0), np.zeros(2))


@pytest.mark.parametrize("kwargs, error, match", [
    (dict(U=np.ones((2, 2)), strengths=[1.0, 1.0], steps=10), ValueError, "orthonormal"),
    (dict(U=np.eye(2), strengths=[1.0], steps=10), ValueError, "strengths"),
    (dict(U=np.eye(2), strengths=[1.0, 1.0], steps=-1), ValueError, "steps"),
    (dict(U=np.eye(2), strengths=[1.0, 1.0], steps=1.5), TypeError, "steps"),
    (dict(U=np.eye(2), strengths=[1.0, 1.0], steps=10, lr=0.0), ValueError, "lr"),
    (dict(U=np.eye(2), strengths=[1.0, 1.0], steps=10, penalty="l1", lam=0.1), ValueError,
     "penalty"),
    (dict(U=np.eye(2), strengths=[1.0, 1.0], steps=10, penalty="sd"), ValueError, "lam"),
    (dict(U=np.eye(2), strengths=[1.0, 1.0], steps=10, lam=0.1), ValueError, "lam"),
])
def test_feature_responses_gd_rejects_bad_arguments(kwargs, error, match):
    with pytest.raises(error, match=match):
        feature_responses_gd(**kwargs)
