"""The exercise checkers of notebook 08, lstmkit.exercises.gru_cell: each accepts a right answer
(checked against Keras' GRUCell, PyTorch's nn.GRU when installed, or Keras' count_params) and,
for every hint it gives, a wrong answer that makes that exact hint appear. A checker must never
raise because of the learner's code."""

from __future__ import annotations

import numpy as np
import pytest
from exercise_asserts import assert_hint, assert_pass, sigmoid

from lstmkit import exercises as ex

U = 4  # the checkers' units


# 08.1: folding a reset_after=True bias

def fold_right(bias):
    folded = np.array(bias, dtype=float)
    folded[0, :2 * U] += folded[1, :2 * U]
    folded[1, :2 * U] = 0.0
    return folded


def test_fold_right_answer_computes_keras_gru_function():
    """The right answer, run by Keras' own GRUCell, gives the cell's outputs unchanged."""
    import keras

    rng = np.random.default_rng(1)
    cell = keras.layers.GRUCell(U)
    cell.build((None, 3))
    bias = rng.normal(size=(2, 3 * U)).astype("float32")
    kernel, recurrent = (w.numpy() for w in cell.weights[:2])
    x = rng.normal(size=(2, 3)).astype("float32")
    h = rng.normal(size=(2, U)).astype("float32")
    cell.set_weights([kernel, recurrent, bias])
    before = cell(x, [h])[0].numpy()
    cell.set_weights([kernel, recurrent, fold_right(bias).astype("float32")])
    assert np.max(np.abs(cell(x, [h])[0].numpy() - before)) < 1e-6
    cell.set_weights([kernel, recurrent, fold_right(fold_right(bias)).astype("float32")])
    assert np.max(np.abs(cell(x, [h])[0].numpy() - before)) < 1e-6
    all_folded = bias.copy()
    all_folded[0] += all_folded[1]
    all_folded[1] = 0
    cell.set_weights([kernel, recurrent, all_folded])
    assert np.max(np.abs(cell(x, [h])[0].numpy() - before)) > 1e-3  # the hint's claim


def test_fold_right_answers():
    assert_pass(ex.check_fold_gru_bias(fold_right))
    assert_pass(ex.check_fold_gru_bias(
        lambda b: np.stack([b[0] + np.r_[b[1, :2 * U], np.zeros(U)],
                            np.r_[np.zeros(2 * U), b[1, 2 * U:]]])))


def _fold_all(b):
    return np.stack([b[0] + b[1], np.zeros(3 * U)])


@pytest.mark.parametrize(
    ("wrong", "fragment"),
    [
        (lambda b: None, "returned None"),
        (lambda b: b, "the bias unchanged"),
        (lambda b: b.sum(axis=0), "cannot become one"),
        (lambda b: b.ravel(), "not one long vector"),
        (lambda b: b[:, :U], "should have shape (2, 12)"),
        (lambda b: np.stack([b[0], b[1] * 0.5]), "should end up zero"),
        (_fold_all, "cannot move"),
        (lambda b: np.stack([b[0], np.r_[np.zeros(2 * U), b[1, 2 * U:]]]), "did not add"),
        (lambda b: fold_right(b)[::-1], "should end up zero"),
        (lambda b: np.stack([b[0] + np.r_[b[1, :2 * U], np.zeros(U)] + 1,
                             np.r_[np.zeros(2 * U), b[1, 2 * U:]]]), "wrong values"),
        (lambda b: b.undefined, "raised AttributeError"),
        ("not a function", "expected a function"),
    ],
)
def test_fold_hints(wrong, fragment):
    assert_hint(ex.check_fold_gru_bias(wrong), fragment)


# 08.2: PyTorch nn.GRU weights to Keras

def _swap_rz(a, axis=-1):
    r, z, n = np.split(a, 3, axis=axis)
    return np.concatenate([z, r, n], axis=axis)


def torch_right(weight_ih, weight_hh, bias_ih, bias_hh):
    return _swap_rz(weight_ih.T), _swap_rz(weight_hh.T), np.stack([_swap_rz(bias_ih),
                                                                  _swap_rz(bias_hh)])


@pytest.mark.slow
def test_torch_right_answer_matches_torch_and_keras():
    """The right answer carries a real nn.GRU's weights into keras.layers.GRUCell."""
    torch = pytest.importorskip("torch")
    import keras

    torch.manual_seed(0)
    gru = torch.nn.GRU(5, U, batch_first=True)
    x = np.random.default_rng(2).normal(size=(3, 1, 5)).astype("float32")
    h0 = np.random.default_rng(3).normal(size=(1, 3, U)).astype("float32")
    with torch.no_grad():
        want = gru(torch.from_numpy(x), torch.from_numpy(h0))[0][:, 0].numpy()
    weights = [getattr(gru, f"{n}_l0").detach().numpy()
               for n in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")]
    cell = keras.layers.GRUCell(U)
    cell.build((None, 5))
    cell.set_weights(list(torch_right(*weights)))
    got = cell(x[:, 0], [h0[0]])[0].numpy()
    assert np.max(np.abs(got - want)) < 1e-5


def test_torch_right_answers():
    assert_pass(ex.check_gru_from_torch(torch_right))

    def folded(*w):  # z and r biases folded into the input row: the same function
        kernel, recurrent, bias = torch_right(*w)
        return kernel, recurrent, fold_right(bias)

    assert_pass(ex.check_gru_from_torch(folded))


def _w(fn):
    return lambda wi, wh, bi, bh: fn(wi, wh, bi, bh, *torch_right(wi, wh, bi, bh))


@pytest.mark.parametrize(
    ("wrong", "fragment"),
    [
        (lambda wi, wh, bi, bh: None, "returned None"),
        (_w(lambda wi, wh, bi, bh, k, r, b: (k, r)), "return a tuple (kernel"),
        (_w(lambda wi, wh, bi, bh, k, r, b: (_swap_rz(wi, axis=0), r, b)), "transpose them"),
        (_w(lambda wi, wh, bi, bh, k, r, b: (r, k, b)), "yours are swapped"),
        (_w(lambda wi, wh, bi, bh, k, r, b: (k, r, b.sum(axis=0))), "cannot be summed"),
        (_w(lambda wi, wh, bi, bh, k, r, b: (k, r, b.ravel())), "not one long vector"),
        (_w(lambda wi, wh, bi, bh, k, r, b: (wi.T, wh.T, np.stack([bi, bh]))), "r, z, n"),
        (_w(lambda wi, wh, bi, bh, k, r, b: (k, r, np.stack([bi, bh]))), "not the biases"),
        (_w(lambda wi, wh, bi, bh, k, r, b: (k, r, b[::-1])), "bias rows are swapped"),
        (_w(lambda wi, wh, bi, bh, k, r, b: (np.roll(wi.T, U, 1), np.roll(wh.T, U, 1),
                                             np.stack([np.roll(bi, U), np.roll(bh, U)]))),
         "z and h (n) are swapped"),
        (_w(lambda wi, wh, bi, bh, k, r, b: (k, r, b * 2)), "wrong values"),
        (lambda wi, wh, bi, bh: 1 / 0, "raised ZeroDivisionError"),
    ],
)
def test_torch_hints(wrong, fragment):
    assert_hint(ex.check_gru_from_torch(wrong), fragment)


# 08.3: the minimal gated unit

def mgu_right(x, h_prev, kernel, recurrent_kernel, bias):
    u = h_prev.shape[1]
    f = sigmoid(x @ kernel[:, :u] + h_prev @ recurrent_kernel[:, :u] + bias[:u])
    candidate = np.tanh(x @ kernel[:, u:] + (f * h_prev) @ recurrent_kernel[:, u:] + bias[u:])
    return h_prev + f * (candidate - h_prev)


def test_mgu_right_answer():
    assert_pass(ex.check_minimal_gated_unit(mgu_right))


def _mgu(x, h, k, rk, b, mix=None, reset=None, order=(0, 1), bias=True, act=np.tanh):
    kf, kh = (k[:, i * U:(i + 1) * U] for i in order)
    uf, uh = (rk[:, i * U:(i + 1) * U] for i in order)
    bf, bh = (b[i * U:(i + 1) * U] * bias for i in order)
    f = sigmoid(x @ kf + h @ uf + bf)
    rec = reset(f, h, uh) if reset else (f * h) @ uh
    cand = act(x @ kh + rec + bh)
    return mix(f, h, cand) if mix else (1 - f) * h + f * cand


@pytest.mark.parametrize(
    ("wrong", "fragment"),
    [
        (lambda *a: None, "returned None"),
        (lambda *a: _mgu(*a, mix=lambda f, h, c: f * h + (1 - f) * c), "Keras') mix"),
        (lambda *a: _mgu(*a, reset=lambda f, h, uh: f * (h @ uh)), "you applied it after"),
        (lambda *a: _mgu(*a, reset=lambda f, h, uh: h @ uh), "reset gate's job"),
        (lambda *a: _mgu(*a, order=(1, 0)), "f then h"),
        (lambda *a: _mgu(*a, bias=False), "forgot the bias"),
        (lambda *a: _mgu(*a, act=sigmoid), "not sigmoid"),
        (lambda *a: _mgu(*a)[:, :2], "wrong shape"),
        (lambda *a: 2 * _mgu(*a), "wrong values"),
        (lambda x, h, k, rk, b: k @ x, "(input_dim, 2*units)"),
    ],
)
def test_mgu_hints(wrong, fragment):
    assert_hint(ex.check_minimal_gated_unit(wrong), fragment)


# 08.4: the parameters of a GRU stack

def _keras_stack_count(first_reset_after=False, second_reset_after=True):
    import keras

    model = keras.Sequential([
        keras.Input((7, 5)),
        keras.layers.Bidirectional(keras.layers.GRU(8, reset_after=first_reset_after,
                                                    return_sequences=True)),
        keras.layers.GRU(4, reset_after=second_reset_after),
    ])
    return model.count_params()


def test_gru_stack_params_right_answer_is_keras_count():
    assert_pass(ex.check_gru_stack_params(_keras_stack_count()))


@pytest.mark.parametrize(
    ("wrong", "fragment"),
    [
        (None, "no answer yet"),
        (504, "Bidirectional holds two GRUs (one per direction), and"),
        (600, "count the first layer twice"),
        (840, "2 * 8 = 16"),
        (1248, "four blocks is an LSTM"),
        (937, "is not right"),
    ],
)
def test_gru_stack_params_hints(wrong, fragment):
    assert_hint(ex.check_gru_stack_params(wrong), fragment)


def test_gru_stack_params_reset_after_hints_match_keras():
    """The two reset_after mistakes are the counts Keras gives for those configurations."""
    assert_hint(ex.check_gru_stack_params(_keras_stack_count(first_reset_after=True)),
                "the first layer has reset_after=False")
    assert_hint(ex.check_gru_stack_params(_keras_stack_count(second_reset_after=False)),
                "the second GRU has the default reset_after=True")
