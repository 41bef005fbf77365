"""The exercise checkers of notebook 02, lstmkit.exercises.lstm_cell: each accepts a right answer
and, for every hint it gives, a wrong answer that makes that exact hint appear. A checker must
never raise because of the learner's code."""

from __future__ import annotations

import numpy as np
import pytest
from exercise_asserts import assert_hint, assert_pass

from lstmkit import exercises as ex


def peephole_cell_class(order="ifco", o_sees="new", peep="ifo", inside=True, tanh_c=True,
                        swap_pif=False, returned="hc", output="h"):
    """A peephole LSTM cell written from the equations with keras.ops, or one of its variants."""
    import keras
    from keras import ops

    class Cell(keras.layers.Layer):
        def __init__(self, units, **kwargs):
            super().__init__(**kwargs)
            self.units = units
            self.state_size = [units, units]

        def build(self, input_shape):
            u = self.units
            self.kernel = self.add_weight(shape=(input_shape[-1], 4 * u), name="kernel")
            self.recurrent_kernel = self.add_weight(shape=(u, 4 * u), name="recurrent_kernel")
            self.bias = self.add_weight(shape=(4 * u,), initializer="zeros", name="bias")
            for gate in "ifo":
                setattr(self, f"peephole_{gate}", self.add_weight(
                    shape=(u,), initializer="zeros", name=f"peephole_{gate}"))

        def call(self, inputs, states):
            h_prev, c_prev = states
            z = ops.matmul(inputs, self.kernel) + ops.matmul(h_prev, self.recurrent_kernel)
            blocks = dict(zip(order, ops.split(z + self.bias, 4, axis=-1), strict=True))
            p_i, p_f = self.peephole_i, self.peephole_f
            if swap_pif:
                p_i, p_f = p_f, p_i
            peeps = {"i": p_i, "f": p_f, "o": self.peephole_o}

            def gate(k, c):
                if k not in peep:
                    return ops.sigmoid(blocks[k])
                if inside:
                    return ops.sigmoid(blocks[k] + peeps[k] * c)
                return ops.sigmoid(blocks[k]) + peeps[k] * c

            i, f = gate("i", c_prev), gate("f", c_prev)
            c = f * c_prev + i * ops.tanh(blocks["c"])
            o = gate("o", c if o_sees == "new" else c_prev)
            h = o * (ops.tanh(c) if tanh_c else c)
            new = {"h": h, "c": c, "o": o}
            return new[output], [new[k] for k in returned]

    return Cell


def test_peephole_cell_right_answer():
    assert_pass(ex.check_peephole_cell(peephole_cell_class()))


def test_the_tests_peephole_cell_without_peepholes_is_keras_lstm_cell():
    """The right answer of these tests is itself checked: with zero peepholes it must be
    keras.layers.LSTMCell."""
    import keras

    rng = np.random.default_rng(0)
    ours, theirs = peephole_cell_class()(3), keras.layers.LSTMCell(3)
    ours.build((None, 2))
    theirs.build((None, 2))
    weights = [rng.normal(size=w.shape) for w in theirs.get_weights()]
    theirs.set_weights(weights)
    ours.set_weights(weights + [np.zeros(3)] * 3)
    x = rng.normal(size=(4, 5, 2)).astype("float32")
    a = keras.layers.RNN(ours, return_sequences=True)(x)
    b = keras.layers.RNN(theirs, return_sequences=True)(x)
    assert np.max(np.abs(keras.ops.convert_to_numpy(a - b))) < 1e-6


@pytest.mark.parametrize(
    ("options", "fragment"),
    [
        ({"o_sees": "old"}, "looks at the *new* cell state"),
        ({"peep": ""}, "ignores the peepholes"),
        ({"peep": "if"}, "output gate has a peephole too"),
        ({"peep": "fo"}, "input gate has a peephole too"),
        ({"peep": "io"}, "forget gate has a peephole too"),
        ({"swap_pif": True}, "yours are swapped"),
        ({"inside": False}, "inside the sigmoid"),
        ({"tanh_c": False}, "forgot the tanh on the new cell state"),
        ({"order": "ifoc"}, "reads the column blocks as i, f, o, c"),
        ({"order": "fico"}, "reads the column blocks as f, i, c, o"),
        ({"returned": "ch"}, "[h_t, c_t] in that order"),
        ({"returned": "ch", "output": "c"}, "the new states are h, then c"),
        ({"returned": "h"}, "return (h_t, [h_t, c_t])"),
        ({"output": "o"}, "the output is h_t itself"),
    ],
)
def test_peephole_cell_hints(options, fragment):
    assert_hint(ex.check_peephole_cell(peephole_cell_class(**options)), fragment)


def test_peephole_cell_generic_hints():
    import keras

    assert_hint(ex.check_peephole_cell(lambda units: None), "expected a class")
    right = peephole_cell_class()

    class NoneCall(right):
        def call(self, inputs, states):
            return None

    class Raises(right):
        def call(self, inputs, states):
            return keras.ops.matmul(self.peephole_i, inputs)  # a matmul with a vector

    class NoPeepholeWeights(right):
        def build(self, input_shape):
            super().build(input_shape)
            del self.peephole_o

    class BadBuild(right):
        def build(self, input_shape):
            raise RuntimeError("no")

    class DoubledPeephole(right):
        def call(self, inputs, states):
            h, (_, c) = super().call(inputs, states)
            return 2 * h, [2 * h, c]

    assert_hint(ex.check_peephole_cell(NoneCall), "returned None")
    assert_hint(ex.check_peephole_cell(Raises), "calling your cell raised", "elementwise")
    assert_hint(ex.check_peephole_cell(NoPeepholeWeights), "`peephole_o` of shape (3,)")
    assert_hint(ex.check_peephole_cell(BadBuild), "building your cell raised RuntimeError")
    assert_hint(ex.check_peephole_cell(DoubledPeephole), "wrong values")


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
