"""The exercise checkers of notebook 07 (one LSTM step backwards), lstmkit.exercises.bptt: each
accepts a right answer and, for every hint it gives, a wrong answer that makes that exact hint
appear. A checker must never raise because of the learner's code."""

from __future__ import annotations

import numpy as np
from exercise_asserts import assert_hint, assert_pass

from lstmkit import exercises as ex


def test_check_output_backward():
    def right(dh, o, c):
        return dh * np.tanh(c), dh * o * (1 - np.tanh(c) ** 2)

    assert_pass(ex.check_output_backward(right))
    assert_hint(ex.check_output_backward(lambda dh, o, c: (dh * np.tanh(c), dh * o)),
                "derivative of tanh")
    assert_hint(ex.check_output_backward(
        lambda dh, o, c: (dh * np.tanh(c), dh * (1 - np.tanh(c) ** 2))), "factor o")
    assert_hint(ex.check_output_backward(
        lambda dh, o, c: (dh * np.tanh(c), dh * o * (1 - c**2))), "not 1 - c**2")
    assert_hint(ex.check_output_backward(lambda dh, o, c: (dh * c, right(dh, o, c)[1])),
                "not c.")
    assert_hint(ex.check_output_backward(lambda dh, o, c: right(dh, o, c)[::-1]),
                "(do, dc) in that order")
    assert_hint(ex.check_output_backward(lambda dh, o, c: right(dh, o, c)[0]), "(do, dc)")


def test_check_cell_state_backward():
    assert_pass(ex.check_cell_state_backward(
        lambda dc, c_prev, i, f, g: (dc * f, dc * g, dc * c_prev, dc * i)))
    assert_hint(ex.check_cell_state_backward(
        lambda dc, c_prev, i, f, g: (dc, dc * g, dc * c_prev, dc * i)), "through the forget")
    assert_hint(ex.check_cell_state_backward(
        lambda dc, c_prev, i, f, g: (dc * f, dc * i, dc * c_prev, dc * g)), "swapped")
    assert_hint(ex.check_cell_state_backward(
        lambda dc, c_prev, i, f, g: (dc * f, dc * g, dc * f, dc * i)), "df = dc * c_prev")
    assert_hint(ex.check_cell_state_backward(
        lambda dc, c_prev, i, f, g: (dc * f, dc * g, dc * c_prev, dc * i * 2)), "wrong values")


def _gates(di, df, dg, do, i, f, g, o, order="ifco", gate_d=None, cand_d=None):
    gate_d = gate_d or (lambda s: s * (1 - s))
    cand_d = cand_d or (lambda t: 1 - t**2)
    blocks = {"i": di * gate_d(i), "f": df * gate_d(f), "c": dg * cand_d(g), "o": do * gate_d(o)}
    return np.concatenate([blocks[k] for k in order], axis=-1)


def test_check_gates_backward():
    assert_pass(ex.check_gates_backward(_gates))
    assert_hint(ex.check_gates_backward(
        lambda *a: _gates(*a, cand_d=lambda t: t * (1 - t))), "dz_g = dg * (1 - g**2)")
    assert_hint(ex.check_gates_backward(
        lambda *a: _gates(*a, gate_d=lambda s: 1 - s**2)), "are sigmoids")
    assert_hint(ex.check_gates_backward(
        lambda di, df, dg, do, *gates: np.concatenate([di, df, dg, do], axis=-1)),
        "forgot the activations' derivatives")
    assert_hint(ex.check_gates_backward(lambda *a: _gates(*a, order="icfo")),
                "wrong block order: yours is i, c, f, o")
    assert_hint(ex.check_gates_backward(lambda *a: _gates(*a, order="fico")),
                "wrong block order: yours is f, i, c, o")
    assert_hint(ex.check_gates_backward(lambda *a: np.stack(np.split(_gates(*a), 4, -1))),
                "wrong shape")
