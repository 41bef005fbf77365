"""The exercise checkers of notebook 02, lstmkit.exercises.lstm_cell: each accepts a right answer
and, for every hint it gives, a wrong answer that makes that exact hint appear. A checker must
never raise because of the learner's code."""

from __future__ import annotations

import numpy as np
import pytest
from exercise_asserts import assert_hint, assert_pass, sigmoid

from lstmkit import exercises as ex


def lstm_variant(x, h_prev, c_prev, kernel, recurrent_kernel, bias, order="ifco", use_bias=True,
                 cand=np.tanh, tanh_c=True, forget=True, swap=False):
    z = x @ kernel + h_prev @ recurrent_kernel + (bias if use_bias else 0)
    u = h_prev.shape[-1]
    blocks = {name: z[:, k * u:(k + 1) * u] for k, name in enumerate(order)}
    i, f, o = sigmoid(blocks["i"]), sigmoid(blocks["f"]), sigmoid(blocks["o"])
    c = (f * c_prev if forget else 0) + i * cand(blocks["c"])
    h = o * (np.tanh(c) if tanh_c else c)
    return (c, h) if swap else (h, c)


def test_lstm_step_right_answers():
    assert_pass(ex.check_lstm_step(lstm_variant))
    import keras

    from lstmkit import LSTMCell

    def with_lstmkit(x, h_prev, c_prev, kernel, recurrent_kernel, bias):
        cell = LSTMCell(h_prev.shape[-1])
        cell.build((None, x.shape[-1]))
        cell.set_weights([kernel, recurrent_kernel, bias])
        h, (_, c) = cell(keras.ops.convert_to_tensor(x, "float32"),
                         [keras.ops.convert_to_tensor(h_prev, "float32"),
                          keras.ops.convert_to_tensor(c_prev, "float32")])
        return h, c

    assert_pass(ex.check_lstm_step(with_lstmkit))


@pytest.mark.parametrize(
    ("options", "fragment"),
    [
        ({"use_bias": False}, "forgot the bias"),
        ({"tanh_c": False}, "forgot the tanh on the new cell state"),
        ({"cand": sigmoid}, "candidate g uses tanh"),
        ({"forget": False}, "dropped the forget term"),
        ({"swap": True}, "yours returns (c_t, h_t)"),
        ({"order": "ifoc"}, "reads the column blocks as i, f, o, c"),
        ({"order": "fico"}, "reads the column blocks as f, i, c, o"),
        ({"order": "icfo"}, "reads the column blocks as i, c, f, o"),
    ],
)
def test_lstm_step_hints(options, fragment):
    assert_hint(ex.check_lstm_step(lambda *args: lstm_variant(*args, **options)), fragment)


@pytest.mark.parametrize(
    ("wrong", "fragment"),
    [
        (lambda x, h, c, k, r, b: lstm_variant(x, h, c, k, r, b)[0], "(h_t, c_t)"),
        (lambda x, h, c, k, r, b: (h, c), "wrong values"),
        (lambda x, h, c, k, r, b: (k @ x, c), "raised ValueError"),
    ],
)
def test_lstm_step_generic_hints(wrong, fragment):
    assert_hint(ex.check_lstm_step(wrong), fragment)


def test_unit_forget_bias():
    def right(units):
        return np.concatenate([np.zeros(units), np.ones(units), np.zeros(2 * units)])

    assert_pass(ex.check_unit_forget_bias(right))
    assert_pass(ex.check_unit_forget_bias(_keras_bias))  # what Keras itself builds


def _keras_bias(units):
    import keras

    cell = keras.layers.LSTMCell(units)
    cell.build((None, 2))
    return cell.bias.numpy()


def _bias_with_block(units, block):
    bias = np.zeros(4 * units)
    bias[block * units:(block + 1) * units] = 1
    return bias


@pytest.mark.parametrize(
    ("wrong", "fragment"),
    [
        (lambda units: _bias_with_block(units, 0), "block 0 (i)"),
        (lambda units: _bias_with_block(units, 2), "block 2 (c)"),
        (lambda units: _bias_with_block(units, 3), "block 3 (o)"),
        (lambda units: np.ones(4 * units), "other three blocks start at 0"),
        (lambda units: np.zeros(4 * units), "exactly 1"),
        (lambda units: np.ones(units), "not only the forget block"),
        (lambda units: np.ones(4 * units) * 0.5, "wrong values"),
        (lambda units: np.zeros(3 * units), "wrong shape"),
    ],
)
def test_unit_forget_bias_hints(wrong, fragment):
    assert_hint(ex.check_unit_forget_bias(wrong), fragment)


def test_torch_to_keras_right_answer():
    assert_pass(ex.check_torch_to_keras(lambda wi, wh, bi, bh: (wi.T, wh.T, bi + bh)))
    assert_pass(ex.check_torch_to_keras(
        lambda wi, wh, bi, bh: [np.transpose(wi), np.transpose(wh), np.add(bh, bi)]))


@pytest.mark.parametrize(
    ("wrong", "fragment"),
    [
        (lambda wi, wh, bi, bh: (wi, wh, bi + bh), "transpose both"),
        (lambda wi, wh, bi, bh: (wi.T, wh.T, bi), "their sum"),
        (lambda wi, wh, bi, bh: (wi.T, wh.T, np.concatenate([bi, bh])), "not their concatenation"),
        (lambda wi, wh, bi, bh: (wh.T, wi.T, bi + bh), "swapped"),
        (lambda wi, wh, bi, bh: (wi.T, wh.T), "(kernel, recurrent_kernel, bias)"),
        (lambda wi, wh, bi, bh: (wi.T, wh.T, bi - bh), "wrong values"),
    ],
)
def test_torch_to_keras_hints(wrong, fragment):
    assert_hint(ex.check_torch_to_keras(wrong), fragment)
