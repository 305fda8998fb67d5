"""Bad inputs get messages that say what was wrong and what is allowed (issue 20).

Each case here once misled a user: an answer that passed although it was wrong, a loop that
never ended, a raw torch error, or garbage returned without a word. Every test pins the new
message's key words, so a regression to the old behaviour fails.
"""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from utils._validation import (check_finite, check_int, check_option, check_real, check_rng,
                               per_member)
from utils.bounds import binary_kl, kl_inverse, project_to_other_sphere
from utils.checks import CheckFailed, check_array, check_choice, check_function, check_scalar
from utils.data import concentric_spheres, gaussian_linear_regression
from utils.models import mlp
from utils.starvation import explained_information, mutual_information
from utils.sweeps import interpolation_width, sweep
from utils.training import evaluate, train

# --- checks: complex answers ----------------------------------------------------------------


def test_complex_scalar_answer_fails_instead_of_dropping_the_imaginary_part():
    with pytest.raises(CheckFailed, match=r"complex \(e.g. \(0.69\+0.5j\)\).*reference is real"):
        check_scalar(0.69 + 0.5j, 0.69)


def test_complex_array_answer_fails_and_names_the_first_complex_value():
    with pytest.raises(CheckFailed, match=r"is complex \(e.g. \(1\+5j\)\)"):
        check_array([1 + 5j], [1.0])
    with pytest.raises(CheckFailed, match=r"\(3\+0.5j\)"):
        check_array([1.0, 2.0, 3 + 0.5j], [1.0, 2.0, 3.0])


def test_complex_dtype_with_zero_imaginary_part_is_a_real_answer(capsys):
    # np.linalg.eig returns complex dtype for real eigenvalues: that answer is right.
    check_array(np.array([1.0 + 0j, 2.0 + 0j]), [1.0, 2.0])
    assert "matches the reference" in capsys.readouterr().out


def test_complex_reference_is_compared_as_complex():
    check_array([1 + 2j], [1 + 2j])
    with pytest.raises(CheckFailed, match=r"expected \(1\+2j\), got \(1\+1j\)"):
        check_array([1 + 1j], [1 + 2j])


# --- checks: test cases and choices ---------------------------------------------------------


def test_check_function_with_bare_values_as_cases_says_how_to_write_a_case():
    with pytest.raises(TypeError, match=r"test case 1 of 2 is 1 \(int\).*tuple.*\(1,\)"):
        check_function(abs, abs, cases=[1, 2])


def test_check_function_with_cases_that_are_not_a_list():
    with pytest.raises(TypeError, match="cases must be a list of test cases, got int"):
        check_function(abs, abs, cases=3)


def test_check_function_still_takes_tuples_and_dicts(capsys):
    check_function(lambda x, k=1: x * k, lambda x, k=1: k * x, cases=[(2,), {"x": 3, "k": 2}])
    assert "2 test cases" in capsys.readouterr().out


def test_check_choice_with_a_numpy_array_answer():
    with pytest.raises(CheckFailed, match=r"must be one of \['higher', 'lower'\], got an array "
                                          r"of shape \(2,\): give a single value"):
        check_choice(np.array(["higher", "lower"]), "higher", options=["higher", "lower"])


def test_check_choice_reads_a_one_element_array_and_array_options(capsys):
    check_choice(np.array("higher"), "higher", options=np.array(["higher", "lower"]))
    assert "is right" in capsys.readouterr().out


def test_argument_choice_with_a_numpy_array_names_the_choices():
    with pytest.raises(ValueError, match=r"loss must be one of 'mse', 'logistic'; got an array "
                                         r"of shape \(1,\)"):
        check_option("loss", np.array(["mse"]), ("mse", "logistic"))


def test_check_finite_counts_and_locates_nan():
    with pytest.raises(ValueError, match=r"beta holds 2 NaN or infinite value\(s\) \(the first at "
                                         r"index \(1,\)\)"):
        check_finite("beta", [1.0, np.nan, np.inf])
    assert check_finite("labels", np.array(["a", "b"])).tolist() == ["a", "b"]


# --- bounds ---------------------------------------------------------------------------------


def test_kl_inverse_with_tol_below_float_spacing_terminates_at_float_precision():
    # Before, bisection looped for ever once the bracket was two neighbouring floats.
    p = kl_inverse(0.5, 0.1, tol=1e-17)
    assert p == pytest.approx(kl_inverse(0.5, 0.1), abs=1e-11)
    # p is the largest float with kl <= c
    assert binary_kl(0.5, p) <= 0.1 < binary_kl(0.5, math.nextafter(p, 1.0))
    assert kl_inverse(0.5, 0.1, tol=5e-324) == p


def test_project_to_other_sphere_rejects_the_origin_and_points_off_their_sphere():
    with pytest.raises(ValueError, match=r"point 0 has norm 0 but label 0 puts it on the sphere "
                                         r"of radius 1"):
        project_to_other_sphere(np.zeros((1, 3)), np.array([0]))
    X, y = concentric_spheres(6, d=3, rng=0)
    X[4] *= 0.5
    with pytest.raises(ValueError, match=r"point 4 has norm .* 1 point\(s\) lie off their sphere"):
        project_to_other_sphere(X, y)


def test_project_to_other_sphere_rejects_nan():
    with pytest.raises(ValueError, match=r"X holds 1 NaN or infinite value\(s\)"):
        project_to_other_sphere(np.array([[np.nan, 0.0]]), np.array([0]))


# --- data and starvation ---------------------------------------------------------------------


def test_gaussian_linear_regression_rejects_nan_in_beta():
    with pytest.raises(ValueError, match=r"beta must hold finite numbers, got 1 NaN"):
        gaussian_linear_regression(5, beta=[1.0, np.nan], sigma=0.1, rng=0)


def test_mutual_information_rejects_nan_labels_instead_of_counting_them_as_a_class():
    # Before: NaN became one more class and the answer looked plausible (log 2).
    with pytest.raises(ValueError, match=r"a holds 1 NaN .* labels must be discrete values"):
        mutual_information([0, np.nan, 1, 1], [0, 0, 1, 1])
    with pytest.raises(ValueError, match=r"b holds \d NaN"):
        explained_information(np.array([0, 1, 0, 1]), np.array([np.nan, np.nan, 0.0, 1.0]),
                              np.array([0, 1, 0, 1]))
    assert mutual_information([0.0, 0.0, 1.0, 1.0], [0, 0, 1, 1]) == pytest.approx(math.log(2))


# --- sweeps ---------------------------------------------------------------------------------


def test_sweep_with_a_function_returning_a_string_names_the_call():
    with pytest.raises(TypeError, match=r"fn\(a=1, seed=0\) returned 'done' \(str\); fn must "
                                        r"return a dict of results .* or a single number"):
        sweep(lambda a, seed: "done", {"a": [1, 2]})


def test_sweep_rejects_results_named_like_a_setting():
    with pytest.raises(ValueError, match=r"returned results named \['a'\], which are already "
                                         "columns"):
        sweep(lambda a, seed: {"a": a}, {"a": [1]})


def test_sweep_still_takes_numbers_of_every_kind():
    table = sweep(lambda seed: np.float64(seed) / 2, seeds=[0, 1])
    assert table["value"].tolist() == [0.0, 0.5]


# --- training -------------------------------------------------------------------------------


@pytest.fixture
def task():
    """A 3-class model on 2 features and 8 examples of data that fits it."""
    net = mlp(2, [4], 3, generator=torch.Generator().manual_seed(0))
    g = torch.Generator().manual_seed(1)
    X = torch.randn(8, 2, generator=g)
    y = torch.randint(0, 3, (8,), generator=g)
    return net, X, y


def test_train_on_empty_data(task):
    net, X, y = task
    with pytest.raises(ValueError, match=r"X and y hold no examples \(0 rows\)"):
        train(net, X[:0], y[:0])


def test_train_on_float64_inputs_says_how_to_convert(task):
    # The rule: the data's dtype must be the model's (float32 unless you made it float64).
    net, X, y = task
    with pytest.raises(ValueError, match=r"X is torch.float64 but the model's parameters are "
                                         r"torch.float32: convert the data with X.float\(\)"):
        train(net, X.double(), y, epochs=1)
    train(net.double(), X.double(), y, epochs=1)   # a float64 model takes float64 data


def test_train_with_float_labels_for_a_classification_loss(task):
    net, X, y = task
    with pytest.raises(ValueError, match=r"loss='cross_entropy' needs integer class labels "
                                         r"\(torch.int64\) in y, got dtype torch.float32: use "
                                         r"y.long\(\).*or loss='mse'"):
        train(net, X, y.float())
    with pytest.raises(ValueError, match=r"loss='logistic' needs integer class labels"):
        train(mlp(2, [4], 1), X, (y > 0).float(), loss="logistic")
    with pytest.raises(ValueError, match=r"got dtype torch.int32: use y.long\(\)"):
        evaluate(net, X, y.int())


def test_train_with_the_wrong_input_width(task):
    net, X, y = task
    with pytest.raises(ValueError, match=r"the model cannot take X, which has 5 features per "
                                         r"example; its first linear layer takes 2"):
        train(net, torch.randn(8, 5), y)
    with pytest.raises(ValueError, match=r"X_val must have the features of X: 2 columns, got 4"):
        train(net, X, y, X_val=torch.randn(3, 4), y_val=y[:3])


def test_train_with_labels_out_of_range(task):
    net, X, y = task
    with pytest.raises(ValueError, match=r"y holds labels from 3 to 5, but the model has 3 "
                                         r"outputs, so labels must be in 0..2"):
        train(net, X, y + 3)
    with pytest.raises(ValueError, match=r"y_val holds labels from -1"):
        train(net, X, y, X_val=X, y_val=y - 1)
    with pytest.raises(ValueError, match=r"loss='logistic' needs a model with 1 output, got 3"):
        train(net, X, y.clamp(max=1), loss="logistic")


def test_train_on_nan_inputs_refuses_instead_of_training_to_nan(task):
    net, X, y = task
    X_nan = X.clone()
    X_nan[2, 1] = float("nan")
    with pytest.raises(ValueError, match=r"X holds 1 NaN or infinite value\(s\), the first in "
                                         r"row 2"):
        train(net, X_nan, y)
    with pytest.raises(ValueError, match=r"y holds 3 NaN"):
        train(mlp(2, [4], 1), X, torch.tensor([0.0, 1.0] * 4).where(
            torch.arange(8) % 3 != 0, torch.tensor(float("nan"))), loss="mse")


def test_train_with_real_targets_of_the_wrong_width(task):
    net, X, _ = task
    with pytest.raises(ValueError, match=r"one target per output: the model gives 3 output\(s\) "
                                         r"per example, y has 1"):
        train(net, X, torch.zeros(8), loss="mse")


def test_the_up_front_forward_pass_changes_nothing():
    # train() checks the model on one example before training: in eval mode, without
    # gradients, so neither the weights, nor the mode, nor torch's random stream move (a
    # Dropout layer in training mode would draw random numbers).
    from utils.training import _check_model_takes

    net = torch.nn.Sequential(torch.nn.Linear(2, 4), torch.nn.Dropout(0.5), torch.nn.Linear(4, 3))
    X, y = torch.randn(5, 2), torch.tensor([0, 1, 2, 0, 1])
    before = [p.detach().clone() for p in net.parameters()]
    rng = torch.get_rng_state()
    _check_model_takes(net, X, y, "cross_entropy")
    assert torch.equal(torch.get_rng_state(), rng)
    assert net.training
    assert all(torch.equal(a, b) for a, b in zip(before, net.parameters()))


# --- the toolkit fuzz of issue 36 (rows T1-T14 and 7.11-7.16 of ../shared/reviews/qa-grader.md)
# Wrong type -> TypeError, wrong value -> ValueError; the message names the argument and what
# is allowed. T5 (a frontage of 10 units with 3 sectors: a frontage counts attacking units,
# not sectors), T8 (masks for some layers only, or a layer pruned whole: a ticket may leave a
# layer dense or prune it entirely), the float targets of T12's to_tensors (real targets are
# documented) and 7.17 (huge sizes: the machine's memory is the limit) are legitimate inputs.


def test_t1_bft_complexity_term_refuses_inputs_of_another_width():
    from utils.bounds import bft_complexity_term
    net = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.ReLU(), torch.nn.Linear(3, 2))
    with pytest.raises(ValueError, match="X has 7 features but the model's first layer takes 4"):
        bft_complexity_term(net, torch.randn(5, 7), 1.0)
    with pytest.raises(TypeError, match="model must be a torch.nn.Module"):
        bft_complexity_term("net", torch.randn(5, 4), 1.0)


def test_t2_train_ensemble_refuses_nan_inputs():
    from utils.ensembles import train_ensemble
    X = torch.full((8, 2), float("nan"))
    y = torch.zeros(8, dtype=torch.int64)
    with pytest.raises(ValueError, match=r"X holds 16 NaN or infinite value\(s\)"):
        train_ensemble([mlp(2, [3], 2)], X, y, epochs=1)


@pytest.mark.parametrize("sizes, options, error, words", [
    ([[-1]], {}, ValueError, r"sizes\[0\] must list \[in, \*widths, out\]"),
    ([[4, -1, 2]], {}, ValueError, r"sizes\[0\]\[1\] must be at least 1"),
    ([[4, 3, 2], [4, 3]], {}, ValueError, r"sizes\[1\] must list"),
    ([5], {}, TypeError, r"sizes\[0\] must be a list of layer sizes"),
    ([[4, 3, 2]], {"overhead_macs": float("nan")}, ValueError, "overhead_macs must be a finite"),
])
def test_t3_plan_groups_refuses_impossible_sizes(sizes, options, error, words):
    from utils.ensembles import plan_groups
    with pytest.raises(error, match=words):
        plan_groups(sizes, **options)


def test_t4_first_crossing_refuses_a_nan_threshold():
    from utils.grokking import first_crossing
    with pytest.raises(ValueError, match="threshold must be a finite number"):
        first_crossing([0.1, 0.5], [0, 10], float("nan"))


def test_t6_save_figure_needs_a_file_name(tmp_path):
    import matplotlib.pyplot as plt
    from utils.plotting import save_figure
    fig, _ = plt.subplots()
    try:
        for path in ("", tmp_path):
            with pytest.raises(ValueError, match="path must name a file"):
                save_figure(fig, path)
        with pytest.raises(TypeError, match="path must be a file name or a Path"):
            save_figure(fig, 3)
    finally:
        plt.close(fig)


def test_t7_progress_bar_over_a_number_says_to_use_range():
    from utils.progress import progress_bar
    with pytest.raises(TypeError, match=r"use range\(n\) or total=n"):
        progress_bar(5)


def test_t10_feature_responses_cannot_be_asked_to_run_for_ever():
    from utils.starvation import feature_responses
    U = np.eye(2)
    with pytest.raises(ValueError, match=r"tol must be in \[1e-15, inf\]"):
        feature_responses(U, [1.0, 2.0], 0.1, tol=1e-300)
    with pytest.raises(ValueError, match="max_iter must be at most 100000"):
        feature_responses(U, [1.0, 2.0], 0.1, max_iter=10**9)


def test_t12_mutual_information_refuses_fractional_labels():
    with pytest.raises(ValueError, match="non-integer numbers .*0.5"):
        mutual_information([0.5, 0.25], [0, 1])
    assert mutual_information([0.0, 1.0], [0, 1]) == pytest.approx(math.log(2))


def test_t13_wrong_objects_get_a_type_error_naming_the_argument():
    import matplotlib.pyplot as plt
    from utils.bounds import flatten_parameters, spectral_product
    from utils.grokking import ablate_frequencies
    from utils.plotting import plot_band
    with pytest.raises(TypeError, match="model must be a torch.nn.Module"):
        flatten_parameters("x")
    with pytest.raises(TypeError, match="model must be a torch.nn.Module or a list"):
        spectral_product(42)
    with pytest.raises(TypeError, match="nets must be the PairMLPs"):
        ablate_frequencies(42)
    with pytest.raises(TypeError, match="ax must be a matplotlib Axes"):
        plot_band(None, [1, 2], [[1, 2]])
    plt.close("all")


def test_t14_design_spectra_refuses_nan():
    from utils.linear import design_spectra
    with pytest.raises(ValueError, match="X holds NaN"):
        design_spectra(np.array([[1.0, np.nan]]), np.ones(2))


def test_7_11_huge_counts_give_value_errors_not_overflow():
    from utils.bounds import parameter_count_bound
    from utils.offense_defense import mc_sample_size
    with pytest.raises(ValueError, match="n_params must be at most"):
        parameter_count_bound(0.1, 10**400, 1000, 0.05)
    with pytest.raises(ValueError, match=r"needs more than 10\^12 samples"):
        mc_sample_size(1e-300)


def test_7_12_and_7_13_mlp_says_how_to_write_widths_and_a_generator():
    with pytest.raises(TypeError, match=r"widths must be a list .* e.g. \[10\]"):
        mlp(64, 10, 10)
    with pytest.raises(TypeError, match=r"generator must be a torch.Generator"):
        mlp(64, [10], 10, generator=0)


def test_7_14_success_probability_names_bad_investments():
    from utils.offense_defense import success_probability
    with pytest.raises(TypeError, match="a must be a number or an array of numbers"):
        success_probability("x", 1.0, [1.0])
    with pytest.raises(ValueError, match=r"same shape .* \(2,\) and \(3,\)"):
        success_probability(np.ones(2), np.ones(3), [1.0])


def test_7_15_margin_with_a_score_of_the_wrong_length():
    from utils.starvation import margin
    with pytest.raises(ValueError, match=r"score must return one number per point \(3\)"):
        margin(lambda P: np.ones(2), np.zeros((3, 2)), np.array([0, 1, 0]))


def test_7_16_to_tensors_of_strings():
    from utils.data import to_tensors
    with pytest.raises(TypeError, match="y must hold numbers"):
        to_tensors(np.zeros((2, 3)), np.array(["a", "b"]))


@pytest.mark.parametrize("call, error, words", [
    (lambda: check_int("epochs", 2.0), TypeError, "epochs must be an integer, got float"),
    (lambda: check_int("epochs", 0, minimum=1), ValueError, "epochs must be at least 1"),
    (lambda: check_real("lr", "0.1"), TypeError, "lr must be a finite number, got str"),
    (lambda: check_real("lr", math.inf), ValueError, "lr must be a finite number"),
    (lambda: check_rng("seed"), TypeError, "rng must be a numpy.random.Generator"),
    (lambda: check_rng(-1), ValueError, "non-negative int seed, got -1"),
    (lambda: per_member("lr", {"a": 1}, 2, 0.0), TypeError, "lr must be a float or a list"),
    (lambda: per_member("lr", [0.1], 2, 0.0), ValueError, "list of 2 floats"),
    (lambda: interpolation_width([4], np.ones((1, 1)), eps="0"), TypeError, "eps must be a"),
    (lambda: interpolation_width([4], np.ones((1, 1)), eps=1.0), ValueError, "eps must be a"),
])
def test_a_wrong_type_is_a_type_error_and_a_wrong_value_a_value_error(call, error, words):
    """scikit-learn's rule, kept by the shared argument checks and the modules using them."""
    with pytest.raises(error, match=words):
        call()
