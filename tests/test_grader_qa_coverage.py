"""Every row of the QA report ../shared/reviews/qa-grader.md has a test or a stated reason.

:data:`COVERAGE` maps each row of the report (its own numbering) to the test that pins the
behaviour now, as ``"file::function"``, or to the reason no test is needed, as a sentence
starting with ``"reason:"``. The test below checks that every named test exists, so the map
cannot silently point at a renamed or deleted test.
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

TESTS = Path(__file__).parent
G, A, V, S, B = ("test_grader.py", "test_grader_attacks.py", "test_grader_verdicts.py",
                 "test_grader_sandbox.py", "test_bad_inputs.py")
C, N = "test_checks.py", "test_nbgrader.py"

COVERAGE = {
    # 1a. Perfect, blank and wrong submissions
    "1.1": f"{G}::test_lab0_solved_all_pass",
    "1.2": f"{V}::test_right_wrong_and_blank_get_what_they_deserve",
    "1.3": f"{G}::test_lab0_solved_all_pass",
    "1.4": f"{G}::test_lab0_untouched_student_version_not_attempted",
    "1.5": f"{V}::test_right_wrong_and_blank_get_what_they_deserve",
    "1.6": "reason: the claims run with the reference solution in place of every failed "
           "exercise, and the report says so in the same line ('with the reference solution in "
           "place of ...'); the CSV's claims column carries no marks",
    "1.7": f"{G}::test_lab0_wrong_answers_fail_with_the_checks_message",
    # 1b. Malformed files, wrong labs, edited structure
    "2.1": f"{G}::test_not_a_notebook",
    "2.2": f"{G}::test_not_a_notebook",
    "2.3": f"{G}::test_not_a_notebook",
    "2.4": f"{G}::test_not_a_notebook",
    "2.5": f"{G}::test_not_a_notebook",
    "2.6": f"{G}::test_load_submission_raises_not_a_notebook_and_reads_leniently",
    "2.7": f"{G}::test_not_a_notebook",
    "2.8": f"{A}::test_attack6_a_lone_surrogate_and_deep_nesting_are_bad_submissions_not_bugs",
    "2.9": f"{G}::test_missing_and_oversized_files",
    "2.10": "reason: nbformat converts version 3 on reading (nbformat.read as_version=4); "
            "the QA run graded it 3/3 and 0/3 as expected",
    "2.11": f"{G}::test_wrong_lab",
    "2.12": "reason: the metadata course_lab names the lab by design (the handouts write "
            "it); a notebook whose metadata was edited to another lab is graded as that lab, "
            "with a note that its cells differ: the grade is right for what was submitted",
    "2.13": f"{G}::test_deleted_and_renamed_exercise_cells",
    "2.14": f"{G}::test_deleted_and_renamed_exercise_cells",
    "2.15": f"{G}::test_deleted_and_renamed_exercise_cells",
    "2.16": "reason: cells for one exercise run in the submission's order and the first "
            "error decides (runner.student_code); the QA run found both orders graded right",
    "2.17": "reason: the graded notebook follows the reference lab's order, not the "
            "submission's (matching.student_cells); the QA run found 3/3 both ways",
    "2.18": "reason: exercise headers are matched without regard to case "
            "(labs.exercise_header); the QA run graded the lower-case header 3/3",
    "2.19": "reason: swapped headers grade each cell as the exercise it names; the NameError "
            "of the first is the right grade (QA: OK)",
    "2.20": f"{G}::test_missing_and_oversized_files",
    "2.21": "reason: a large image output is within the size limit and not run; the QA run "
            "graded it 3/3",
    "2.22": f"{A}::test_attack6_a_lone_surrogate_and_deep_nesting_are_bad_submissions_not_bugs",
    "2.23": f"{A}::test_attack6_a_lone_surrogate_and_deep_nesting_are_bad_submissions_not_bugs",
    "2.24": f"{A}::test_attack6_huge_headers_are_matched_within_the_time_limit",
    # 1c. Hostile code in an exercise cell
    "3.1": f"{G}::test_infinite_loop_hits_the_time_limit",
    "3.2": f"{G}::test_infinite_loop_hits_the_time_limit",
    "3.3": "reason: SystemExit raised by a cell is an error of that cell (failed, the run goes "
           "on), as in Jupyter; QA: OK",
    "3.4": f"{G}::test_kernel_that_dies",
    "3.5": f"{G}::test_kernel_killed_by_a_signal",
    "3.6": "reason: a MemoryError is an error of the cell (failed); bounding memory is the "
           "machine's (documented in grading.md)",
    "3.7": "reason: as 3.6: an allocation that fails is an error of the cell that asked",
    "3.8": f"{G}::test_solved_passes_runs_in_a_kernel_in_a_temp_folder_and_cuts_enormous_output",
    "3.9": f"{G}::test_solved_passes_runs_in_a_kernel_in_a_temp_folder_and_cuts_enormous_output",
    "3.10": f"{A}::test_attack3_the_answer_key_checks_reports_and_home_cannot_be_written",
    "3.11": f"{A}::test_the_network_is_unreachable_and_labs_are_not_visible",
    "3.11b": "reason: an answer that calls the toolkit's reference is behaviour, not "
             "authorship (grading.md, 'Not prevented')",
    "3.12": f"{A}::test_attack2_patching_the_checks_or_numpy_changes_no_verdict",
    "3.12b": f"{A}::test_attack2_patching_the_checks_or_numpy_changes_no_verdict",
    "3.12c": f"{G}::test_edited_checks_and_rebound_check_functions_do_not_count",
    "3.12d": f"{A}::test_attack1_input_transformer_that_silences_every_later_cell",
    "3.13": f"{V}::test_in_process_attacks_get_the_grade_of_their_wrong_answers",
    "3.14": "reason: input() raises StdinNotImplementedError in an nbclient kernel: an error "
            "of the cell (QA: OK)",
    "3.15": f"{S}::test_an_enormous_error_message_is_clipped",
    "3.16": f"{A}::test_attack4_a_detached_process_dies_with_the_run",
    "3.16b": f"{A}::test_attack4_a_detached_process_dies_with_the_run",
    "3.17": f"{A}::test_attack5_a_hostile_submission_in_a_batch_cannot_kill_the_grader",
    "3.18": f"{A}::test_attack5_a_hostile_submission_in_a_batch_cannot_kill_the_grader",
    "3.19": f"{G}::test_infinite_loop_hits_the_time_limit",
    "3.20": f"{G}::test_infinite_loop_hits_the_time_limit",
    "3.21": "reason: the sandbox's bind mount cannot be removed from inside (EBUSY), so the "
            "student's own exercise fails and the rest is graded (QA: OK)",
    "3.22": f"{A}::test_attack3_the_answer_key_checks_reports_and_home_cannot_be_written",
    # 1d. A folder of submissions
    "4.1": f"{A}::test_attack6_odd_names_are_graded_or_named_and_reports_do_not_collide",
    "4.2": f"{A}::test_attack6_odd_names_are_graded_or_named_and_reports_do_not_collide",
    "4.3": f"{A}::test_attack6_odd_names_are_graded_or_named_and_reports_do_not_collide",
    "4.4": f"{A}::test_attack6_a_symlink_is_not_graded",
    "4.5": f"{G}::test_not_a_notebook",
    "4.6": f"{S}::test_hidden_files_are_graded_and_look_alike_names_get_their_own_rows",
    # 1e. Concurrency
    "5.1": f"{A}::test_attack5_a_second_run_into_the_same_csv_refuses_clearly",
    "5.2": "reason: make grade now takes OUT= (one report folder per batch run at once); "
           "the default CSV is one per folder (tested by test_two_folders_without_a_csv...)",
    # 1f. Instructor command-line mistakes
    "6.1": f"{A}::test_attack6_a_fractional_timeout_works",
    "6.2": f"{S}::test_impossible_timeouts_are_usage_errors",
    "6.3": f"{S}::test_impossible_timeouts_are_usage_errors",
    "6.4": f"{A}::test_attack5_csv_and_output_paths_are_checked_before_grading",
    "6.5": f"{A}::test_attack5_csv_and_output_paths_are_checked_before_grading",
    "6.6": f"{S}::test_instructor_mistakes_get_a_usage_error_not_a_traceback",
    "6.7": f"{S}::test_student_versions_are_not_reference_labs",
    "6.8": f"{G}::test_command_line_single_and_batch",
    "6.9": "reason: make reports any non-zero exit status as an error; running.md says that "
           "'Error 1' is the grade, not a failure",
    "6.10": "reason: argparse reads a leading '-' as an option, as every command does; "
            "'./-dash.ipynb' or '-- -dash.ipynb' works",
    "6.11": f"{S}::test_a_small_max_output_cuts_output_but_never_a_grade",
    # 1g. Toolkit, earlier rows
    "7.1": f"{B}::test_kl_inverse_with_tol_below_float_spacing_terminates_at_float_precision",
    "7.2": f"{B}::test_complex_scalar_answer_fails_instead_of_dropping_the_imaginary_part",
    "7.3": f"{B}::test_check_choice_with_a_numpy_array_answer",
    "7.4": f"{B}::test_check_function_with_bare_values_as_cases_says_how_to_write_a_case",
    "7.5": f"{B}::test_train_on_empty_data",
    "7.6": f"{B}::test_train_on_float64_inputs_says_how_to_convert",
    "7.7": f"{B}::test_train_on_nan_inputs_refuses_instead_of_training_to_nan",
    "7.8": f"{B}::test_gaussian_linear_regression_rejects_nan_in_beta",
    "7.9": f"{B}::test_project_to_other_sphere_rejects_the_origin_and_points_off_their_sphere",
    "7.10": f"{B}::test_mutual_information_rejects_nan_labels_instead_of_counting_them_as_a_class",
    "7.11": f"{B}::test_7_11_huge_counts_give_value_errors_not_overflow",
    "7.12": f"{B}::test_7_12_and_7_13_mlp_says_how_to_write_widths_and_a_generator",
    "7.13": f"{B}::test_7_12_and_7_13_mlp_says_how_to_write_widths_and_a_generator",
    "7.14": f"{B}::test_7_14_success_probability_names_bad_investments",
    "7.15": f"{B}::test_7_15_margin_with_a_score_of_the_wrong_length",
    "7.16": f"{B}::test_7_16_to_tensors_of_strings",
    "7.17": "reason: huge sizes are valid arguments; the machine's memory is the limit, and "
            "numpy's MemoryError says so",
    "7.18": f"{B}::test_sweep_with_a_function_returning_a_string_names_the_call",
    "7.19": "reason: the QA run found clear ValueErrors (OK)",
    # 3a. Marks without the work: one test per attack, no special case in the grader
    "N0": f"{S}::test_the_sandbox_grades_a_course_and_environment_that_live_under_tmp",
    **{f"N{k}": f"{V}::test_in_process_attacks_get_the_grade_of_their_wrong_answers"
       for k in range(1, 12)},
    "N12": f"{A}::test_an_honest_submission_is_not_flagged",
    "N13": f"{A}::test_attack2_patching_the_checks_or_numpy_changes_no_verdict",
    "N14": f"{G}::test_lab0_untouched_student_version_not_attempted",
    # 3b. The sandbox and the machine
    "N15": f"{A}::test_the_network_is_unreachable_and_labs_are_not_visible",
    "N16": f"{A}::test_the_network_is_unreachable_and_labs_are_not_visible",
    "N17": f"{S}::test_the_sandbox_sets_limits_on_tmp_files_and_open_files",
    "N18": "reason: a full disk on the instructor's side is the machine's, not the "
           "submission's; the per-file limit (512 MiB) keeps one submission from filling it "
           "quickly, and the grader reports the error instead of crashing",
    "N19": f"{S}::test_the_sandbox_sets_limits_on_tmp_files_and_open_files",
    "N20": "reason: many files are removed with the folder (QA: OK)",
    "N21": f"{S}::test_a_tree_thousands_deep_is_removed_and_the_grade_stands",
    "N22": "reason: PID 1 of the sandbox ignores the signals and nothing else is visible "
           "(QA: OK)",
    "N23": f"{G}::test_kernel_that_dies",
    "N24": f"{S}::test_control_characters_never_reach_a_report",
    # 3c. Files, folders and metadata
    "N25": "reason: as 2.12: the metadata the handouts write names the lab by design",
    "N26": f"{S}::test_hidden_files_are_graded_and_look_alike_names_get_their_own_rows",
    "N27": f"{S}::test_hidden_files_are_graded_and_look_alike_names_get_their_own_rows",
    "N28": "reason: rglob does not follow symlinked folders; the QA run found them listed "
           "as not graded (OK)",
    "N29": "reason: only the course's utils/ is mounted in the sandbox; a copy beside the "
           "submission is never on the kernel's path (QA: OK)",
    "N30": "reason: nbformat reads these cases; the QA run graded all ten 3/3",
    "N31": "reason: a markdown cell, a zero-width space, a NUL or UTF-16 behave as in "
           "Jupyter (QA: OK)",
    # 3d. Careless instructor
    "N32": f"{S}::test_two_folders_without_a_csv_keep_their_own_rows",
    "N33": f"{A}::test_attack5_an_interrupted_batch_keeps_its_rows_and_resumes",
    "N34": f"{A}::test_attack6_a_fractional_timeout_works",
    "N35": f"{A}::test_attack5_csv_and_output_paths_are_checked_before_grading",
    "N36": f"{S}::test_instructor_mistakes_get_a_usage_error_not_a_traceback",
    "N37": "reason: a rerun keeps rows by design (resuming an interrupted batch) and says "
           "how to regrade; running.md documents REGRADE=1",
    "N38": f"{S}::test_the_nbgrader_step_is_printed_with_the_path_it_needs",
    "N39": f"{N}::test_real_nbgrader_generates_the_assignment_and_autogrades",
    "N40": f"{N}::test_real_nbgrader_generates_the_assignment_and_autogrades",
    "N41": "reason: running.md's warning now describes the sandbox (a documentation row)",
    # 4. Toolkit fuzz, new rows
    "T1": f"{B}::test_t1_bft_complexity_term_refuses_inputs_of_another_width",
    "T2": f"{B}::test_t2_train_ensemble_refuses_nan_inputs",
    "T3": f"{B}::test_t3_plan_groups_refuses_impossible_sizes",
    "T4": f"{B}::test_t4_first_crossing_refuses_a_nan_threshold",
    "T5": "reason: a frontage counts attacking units, not sectors: 10 with 3 sectors is valid",
    "T6": f"{B}::test_t6_save_figure_needs_a_file_name",
    "T7": f"{B}::test_t7_progress_bar_over_a_number_says_to_use_range",
    "T8": "reason: a ticket may leave a layer dense (no mask) or prune it whole (all False); "
          "both are valid",
    "T9": f"{C}::test_only_real_tensors_are_read_as_tensors_and_bfloat16_works",
    "T10": f"{B}::test_t10_feature_responses_cannot_be_asked_to_run_for_ever",
    "T11": f"{C}::test_an_answer_equal_to_everything_is_not_a_right_prediction",
    "T12": f"{B}::test_t12_mutual_information_refuses_fractional_labels",
    "T13": f"{B}::test_t13_wrong_objects_get_a_type_error_naming_the_argument",
    "T14": f"{B}::test_t14_design_spectra_refuses_nan",
}


def _test_names(file: str) -> set[str]:
    tree = ast.parse((TESTS / file).read_text(encoding="utf-8"))
    return {node.name for node in tree.body if isinstance(node, ast.FunctionDef)}


@pytest.mark.parametrize("row", sorted(COVERAGE))
def test_every_row_names_an_existing_test_or_a_reason(row):
    entry = COVERAGE[row]
    if entry.startswith("reason: "):
        assert len(entry) > 40, f"{row}: say why in a sentence"
        return
    file, name = entry.split("::")
    assert name in _test_names(file), f"{row}: no test {name} in {file}"


def test_every_row_of_the_report_is_covered():
    rows = {f"{a}.{b}" for a, n in ((1, 7), (2, 24), (3, 22), (4, 6), (5, 2), (6, 11), (7, 19))
            for b in range(1, n + 1)}
    rows |= {"3.11b", "3.12b", "3.12c", "3.12d", "3.16b"} | {f"N{k}" for k in range(42)}
    rows |= {f"T{k}" for k in range(1, 15)}
    assert rows - set(COVERAGE) == set()
