"""The exercise checkers of lstmkit.exercises.framework: check_function, check_answer, CheckResult:
each accepts a right answer and, for every hint it gives, a wrong answer that makes that exact hint
appear. A checker must never raise because of the learner's code."""

from __future__ import annotations

import numpy as np
from exercise_asserts import assert_hint, assert_pass

from lstmkit import exercises as ex


def _double(x):
    return 2 * x


def _inputs(rng):
    return {"x": rng.normal(size=(2, 3))}


def test_result_displays_as_its_message():
    result = ex.CheckResult(True, "PASS demo: fine.")
    assert repr(result) == str(result) == "PASS demo: fine."
    assert bool(result) and not bool(ex.CheckResult(False, "NOT YET demo"))

    class Printer:
        text_out = ""

        def text(self, s):
            self.text_out += s

    printer = Printer()
    result._repr_pretty_(printer, False)
    assert printer.text_out == "PASS demo: fine."


def test_check_function_pass_and_generic_failures():
    check = ex.check_function
    assert_pass(check("demo", lambda x: x * 2.0, _double, _inputs))
    # float32 arithmetic (e.g. keras.ops) is within tolerance
    assert_pass(check("demo", lambda x: (2 * x).astype(np.float32), _double, _inputs))
    assert_hint(check("demo", 42, _double, _inputs), "expected a function")
    assert_hint(check("demo", lambda x: None, _double, _inputs), "returned None")
    assert_hint(check("demo", lambda x: x.T * 2, _double, _inputs), "wrong shape", "transposed")
    assert_hint(check("demo", lambda x: x[0] * 2, _double, _inputs), "wrong shape")
    assert_hint(check("demo", lambda x: x * 3, _double, _inputs), "wrong values")
    assert_hint(check("demo", lambda x: x * np.nan, _double, _inputs), "NaN")
    assert_hint(check("demo", lambda x: (2 * x, x), _double, _inputs), "one array")
    assert_hint(check("demo", lambda x: "text", _double, _inputs))


def test_check_function_reports_errors_with_the_hint():
    def broken(x):
        raise ValueError("shapes do not match\nsecond line")

    result = ex.check_function("demo", broken, _double, _inputs, error_hint="Mind the shapes.")
    assert_hint(result, "raised ValueError: shapes do not match. Hint: Mind the shapes.")
    assert "second line" not in result.message


def test_check_function_maps_mistakes_and_does_not_mutate_inputs():
    mistakes = [ex.Mistake("you tripled it.", lambda x: 3 * x)]
    assert_hint(ex.check_function("demo", lambda x: 3 * x, _double, _inputs, mistakes=mistakes),
                "you tripled it.")

    def in_place(x):
        x *= 2
        return x

    assert_pass(ex.check_function("demo", in_place, _double, _inputs))


def test_check_function_passes_inputs_positionally():
    # the learner may name parameters as they like
    assert_pass(ex.check_function("demo", lambda anything: anything * 2, _double, _inputs))


def test_check_function_tuple_outputs():
    def ref(x):
        return x, 2 * x

    assert_pass(ex.check_function("demo", lambda x: [x, 2 * x], ref, _inputs))
    assert_hint(ex.check_function("demo", lambda x: 2 * x, ref, _inputs, output_names="(a, b)"),
                "(a, b)")


def test_check_answer():
    assert_pass(ex.check_answer("count", 144, 144))
    assert_pass(ex.check_answer("shape", (32, 4), (32, 4)))
    assert_hint(ex.check_answer("count", None, 144), "no answer yet")
    assert_hint(ex.check_answer("count", 108, 144, {108: "forgot the bias"}), "forgot the bias")
    assert_hint(ex.check_answer("count", 7, 144), "7 is not right")
    assert_hint(ex.check_answer("shape", (4, 32), (32, 4)))
    assert_hint(ex.check_answer("shape", (32, 4, 1), (32, 4)))
    assert_pass(ex.check_answer("array", np.arange(3), np.arange(3)))
    assert_hint(ex.check_answer("array", np.arange(4), np.arange(3)))
    assert_pass(ex.check_answer("name", "sigmoid", "sigmoid"))


def test_tensor_results_are_accepted():
    import keras

    assert_pass(ex.check_function("demo", lambda x: keras.ops.multiply(x, 2.0), _double,
                                  _inputs))
