"""The exercise checkers: each accepts a right answer and, for every hint it gives, a wrong answer
that makes that exact hint appear. A checker must never raise because of the learner's code."""

from __future__ import annotations

import numpy as np
import pytest

from lstmkit import exercises as ex


def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def assert_pass(result):
    assert isinstance(result, ex.CheckResult)
    assert result.passed, result.message
    assert result.message.startswith("PASS")


def assert_hint(result, *fragments):
    assert isinstance(result, ex.CheckResult)
    assert not result.passed, result.message
    assert result.message.startswith("NOT YET")
    for fragment in fragments:
        assert fragment in result.message, result.message


# ---------------------------------------------------------------------------------------------
# framework
# ---------------------------------------------------------------------------------------------
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


# ---------------------------------------------------------------------------------------------
# notebook 01
# ---------------------------------------------------------------------------------------------
def rnn_step_right(x, h_prev, W, U, b):
    return np.tanh(x @ W + h_prev @ U + b)


def test_rnn_step_right_answers():
    assert_pass(ex.check_rnn_step(rnn_step_right))
    import keras

    assert_pass(ex.check_rnn_step(lambda x, h, W, U, b: keras.ops.tanh(
        keras.ops.matmul(x, W) + keras.ops.matmul(h, U) + b)))


@pytest.mark.parametrize(
    ("wrong", "fragment"),
    [
        (lambda x, h, W, U, b: None, "returned None"),
        (lambda x, h, W, U, b: np.tanh(x @ W + h @ U), "forgot the bias"),
        (lambda x, h, W, U, b: x @ W + h @ U + b, "forgot the activation"),
        (lambda x, h, W, U, b: sigmoid(x @ W + h @ U + b), "not sigmoid"),
        (lambda x, h, W, U, b: np.tanh(x @ W + b), "forgot the recurrent term"),
        (lambda x, h, W, U, b: np.tanh(x @ W + h @ U.T + b), "U.T is not"),
        (lambda x, h, W, U, b: np.tanh(x @ W + h @ U) + b, "after tanh"),
        (lambda x, h, W, U, b: np.tanh(W @ x + h @ U + b), "x @ W and h_prev @ U"),
        (lambda x, h, W, U, b: np.tanh(x @ W + U @ h + b), "raised ValueError"),
        (lambda x, h, W, U, b: np.tanh(x @ W + h @ U + b)[:, :2], "wrong shape"),
        (lambda x, h, W, U, b: np.tanh(x @ W + 2 * h @ U + b), "wrong values"),
    ],
)
def test_rnn_step_hints(wrong, fragment):
    assert_hint(ex.check_rnn_step(wrong), fragment)


def rnn_unroll_right(xs, h0, W, U, b):
    h, states = h0, []
    for t in range(xs.shape[1]):
        h = np.tanh(xs[:, t] @ W + h @ U + b)
        states.append(h)
    return np.stack(states, axis=1)


def test_rnn_unroll_right_answer():
    assert_pass(ex.check_rnn_unroll(rnn_unroll_right))


def _states(xs, h0, W, U, b, carry=True, reverse=False):
    h, out = h0, []
    order = range(xs.shape[1])
    for t in reversed(order) if reverse else order:
        h = np.tanh(xs[:, t] @ W + (h if carry else h0) @ U + b)
        out.append(h)
    return out


@pytest.mark.parametrize(
    ("wrong", "fragment"),
    [
        (lambda xs, h0, W, U, b: _states(xs, h0, W, U, b)[-1], "only the last state"),
        (lambda xs, h0, W, U, b: np.stack(_states(xs, h0, W, U, b)), "wrong axis"),
        (lambda xs, h0, W, U, b: np.stack(_states(xs, h0, W, U, b, carry=False), 1),
         "not carried"),
        (lambda xs, h0, W, U, b: np.stack([h0, *_states(xs, h0, W, U, b)], 1), "initial state"),
        (lambda xs, h0, W, U, b: np.stack(_states(xs, h0, W, U, b, reverse=True), 1),
         "backwards"),
        (lambda xs, h0, W, U, b: np.tanh(xs @ W + b), "wrong values"),
        (lambda xs, h0, W, U, b: np.stack([np.tanh(xs[t] @ W) for t in range(6)], 1),
         "xs[:, t]"),
    ],
)
def test_rnn_unroll_hints(wrong, fragment):
    assert_hint(ex.check_rnn_unroll(wrong), fragment)


def jacobian_right(x, h_prev, W, U, b):
    h = np.tanh(x @ W + h_prev @ U + b)
    return np.diag(1 - h**2) @ U.T


def test_step_jacobian_right_answers():
    assert_pass(ex.check_step_jacobian(jacobian_right))

    def by_finite_differences(x, h_prev, W, U, b, eps=1e-6):
        def f(h):
            return np.tanh(x @ W + h @ U + b)

        return np.stack([(f(h_prev + eps * e) - f(h_prev - eps * e)) / (2 * eps)
                         for e in np.eye(len(h_prev))], axis=1)

    assert_pass(ex.check_step_jacobian(by_finite_differences))


def _h(x, h_prev, W, U, b):
    return np.tanh(x @ W + h_prev @ U + b)


@pytest.mark.parametrize(
    ("wrong", "fragment"),
    [
        (lambda x, h, W, U, b: U.T, "forgot the derivative of tanh"),
        (lambda x, h, W, U, b: jacobian_right(x, h, W, U, b).T, "transposed"),
        (lambda x, h, W, U, b: np.diag(1 - h**2) @ U.T, "not 1 - h_prev**2"),
        (lambda x, h, W, U, b: np.diag(1 - _h(x, h, W, U, b)) @ U.T, "squared"),
        (lambda x, h, W, U, b: np.diag(1 - _h(x, h, W, U, b) ** 2) @ U, "U where U.T"),
        (lambda x, h, W, U, b: np.diag(1 - _h(x, h, W, U, b) ** 2), "wrong values"),
        (lambda x, h, W, U, b: np.zeros((5, 5)), "wrong shape"),
    ],
)
def test_step_jacobian_hints(wrong, fragment):
    assert_hint(ex.check_step_jacobian(wrong), fragment)


# ---------------------------------------------------------------------------------------------
# notebook 02
# ---------------------------------------------------------------------------------------------
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


# ---------------------------------------------------------------------------------------------
# notebook 00
# ---------------------------------------------------------------------------------------------
def test_tour_shapes():
    right = ((32, 10, 4), (32, 4), (32, 4))
    assert_pass(ex.check_tour_shapes(right, 32, 10, 8, 4))
    assert_pass(ex.check_tour_shapes([[32, 10, 4], [32, 4], [32, 4]], 32, 10, 8, 4))
    assert_pass(ex.check_tour_shapes(((2, 3, 5), (2, 5), (2, 5)), 2, 3, 7, 5))


@pytest.mark.parametrize(
    ("answer", "fragment"),
    [
        (None, "no answer yet"),
        (((32, 4), (32, 4), (32, 4)), "return_sequences=True"),
        (((32, 10, 8), (32, 8), (32, 8)), "not the number of input features"),
        (((32, 10, 4), (32, 4)), "two states"),
        (((10, 32, 4), (32, 4), (32, 4)), "batch axis first"),
        (((32, 10, 4), (32, 10, 4), (32, 10, 4)), "final states only"),
        (((32, 10, 4), (32, 4), (32, 5)), "is not right"),
        ("a string", "is not right"),
    ],
)
def test_tour_shapes_hints(answer, fragment):
    assert_hint(ex.check_tour_shapes(answer, 32, 10, 8, 4), fragment)


def copy_weights_right(src, dst):
    dst.build((None, src.kernel.shape[0]))
    dst.set_weights(src.get_weights())


def test_copy_weights_right():
    assert_pass(ex.check_copy_weights(copy_weights_right))


def _reverse_copy(src, dst):
    dst.build((None, src.kernel.shape[0]))
    src.set_weights(dst.get_weights())


def _zero_bias_copy(src, dst):
    dst.build((None, src.kernel.shape[0]))
    kernel, recurrent_kernel, bias = src.get_weights()
    dst.set_weights([kernel, recurrent_kernel, np.zeros_like(bias)])


def _wrong_width(src, dst):
    dst.build((None, 7))


@pytest.mark.parametrize(
    ("wrong", "fragment"),
    [
        ("not a function", "expected a function"),
        (lambda src, dst: dst.set_weights(src.get_weights()), "call dst.build((None, input_dim))"),
        (_reverse_copy, "you copied from dst to src"),
        (lambda src, dst: None, "dst has no weights"),
        (_zero_bias_copy, "computes something different"),
        (_wrong_width, "calling dst raised ValueError"),
    ],
)
def test_copy_weights_hints(wrong, fragment):
    assert_hint(ex.check_copy_weights(wrong), fragment)


# ---------------------------------------------------------------------------------------------
# notebook 03
# ---------------------------------------------------------------------------------------------
def _drive_ok(step, xs, units, reverse=False, carry=True):
    h = c = z = np.zeros((xs.shape[0], units))
    outputs = []
    steps = range(xs.shape[1])
    for t in reversed(steps) if reverse else steps:
        h, c = step(xs[:, t], h if carry else z, c if carry else z)
        outputs.append(h)
    return np.stack(outputs, axis=1), h, c


def _drive_masked_ok(step, xs, mask, units, zero_output=False, gate_states=True):
    h = c = out = np.zeros((xs.shape[0], units))
    outputs = []
    for t in range(xs.shape[1]):
        h_new, c_new = step(xs[:, t], h, c)
        m = mask[:, t:t + 1]
        out = np.where(m, h_new, 0.0 if zero_output else out)
        h, c = (np.where(m, h_new, h), np.where(m, c_new, c)) if gate_states else (h_new, c_new)
        outputs.append(out)
    return np.stack(outputs, axis=1), h, c


def test_drive_right_answer():
    assert_pass(ex.check_drive(_drive_ok))
    assert_pass(ex.check_drive(lambda s, xs, u: list(_drive_ok(s, xs, u))))


@pytest.mark.parametrize(
    ("wrong", "fragment"),
    [
        (lambda s, xs, u: None, "returned None"),
        (lambda s, xs, u: (np.moveaxis(_drive_ok(s, xs, u)[0], 1, 0), *_drive_ok(s, xs, u)[1:]),
         "wrong axis"),
        (lambda s, xs, u: _drive_ok(s, xs, u, carry=False), "not carried"),
        (lambda s, xs, u: _drive_ok(s, xs, u, reverse=True), "backwards"),
        (lambda s, xs, u: (lambda o, h, c: (o, c, h))(*_drive_ok(s, xs, u)), "swapped"),
        (lambda s, xs, u: (lambda o, h, c: (o[:, -1], h, c))(*_drive_ok(s, xs, u)),
         "not only the last one"),
        (lambda s, xs, u: _drive_ok(s, xs, u)[0], "(outputs, h, c)"),
        (lambda s, xs, u: s(xs, 0, 0), "Start from h = c"),
        (lambda s, xs, u: (lambda o, h, c: (o + 1, h, c))(*_drive_ok(s, xs, u)), "wrong values"),
    ],
)
def test_drive_hints(wrong, fragment):
    assert_hint(ex.check_drive(wrong), fragment)


def test_drive_masked_right_answer():
    assert_pass(ex.check_drive_masked(_drive_masked_ok))


@pytest.mark.parametrize(
    ("wrong", "fragment"),
    [
        (lambda s, xs, m, u: _drive_ok(s, xs, u), "mask is ignored"),
        (lambda s, xs, m, u: _drive_masked_ok(s, xs, m, u, zero_output=True),
         "zero_output_for_mask"),
        (lambda s, xs, m, u: _drive_masked_ok(s, xs, m, u, gate_states=False),
         "states still change"),
        (lambda s, xs, m, u: 1 / 0, "ZeroDivisionError"),
        (lambda s, xs, m, u: _drive_masked_ok(s, xs, ~m, u), "wrong values"),
    ],
)
def test_drive_masked_hints(wrong, fragment):
    assert_hint(ex.check_drive_masked(wrong), fragment)


def test_last_valid_right_answer():
    assert_pass(ex.check_last_valid(lambda o, n: o[np.arange(len(n)), n - 1]))
    assert_pass(ex.check_last_valid(
        lambda o, n: np.stack([o[i, k - 1] for i, k in enumerate(n)])))


@pytest.mark.parametrize(
    ("wrong", "fragment"),
    [
        (lambda o, n: o[:, -1], "after the padding"),
        (lambda o, n: o[np.arange(len(n)), n], "L - 1"),
        (lambda o, n: o[np.arange(len(n)), n - 2], "not L - 2"),
        (lambda o, n: o[:, 0], "wrong values"),
        (lambda o, n: o[np.arange(len(n)), n - 1].T, "wrong shape"),
    ],
)
def test_last_valid_hints(wrong, fragment):
    assert_hint(ex.check_last_valid(wrong), fragment)


# ---------------------------------------------------------------------------------------------
# notebook 06: windows and standardisation
# ---------------------------------------------------------------------------------------------
def _make_windows(series, window, target_offset=0, missing=0):
    starts = range(len(series) - window - missing)
    return (np.array([series[a:a + window] for a in starts]),
            np.array([series[a + window + target_offset] for a in starts]))


def test_check_make_windows():
    from lstmkit.data import sliding_windows

    assert_pass(ex.check_make_windows(_make_windows))
    assert_pass(ex.check_make_windows(
        lambda s, w: tuple(a[..., 0] for a in sliding_windows(s, w))))
    assert_hint(ex.check_make_windows(lambda s, w: _make_windows(s, w, missing=1)),
                "one window too few")
    assert_hint(ex.check_make_windows(lambda s, w: _make_windows(s, w, target_offset=-1)),
                "last value *inside* the window")
    assert_hint(ex.check_make_windows(lambda s, w: _make_windows(s, w, 1, missing=1)),
                "skips a step")
    assert_hint(ex.check_make_windows(lambda s, w: _make_windows(s, w)[::-1]),
                "(x, y) in that order")
    assert_hint(ex.check_make_windows(lambda s, w: _make_windows(s, w, missing=-1)),
                "raised IndexError")
    assert_hint(ex.check_make_windows(lambda s, w: None), "returned None")


def _standardize(train, test, stats=None, ddof=0, divide=True):
    stats = train if stats is None else stats
    mean = stats.mean(axis=(0, 1))
    std = stats.std(axis=(0, 1), ddof=ddof) if divide else 1.0
    return (train - mean) / std, (test - mean) / std


def test_check_standardize():
    from lstmkit.data import Normalizer

    assert_pass(ex.check_standardize(_standardize))
    assert_pass(ex.check_standardize(
        lambda tr, te: (Normalizer().fit(tr).transform(tr), Normalizer().fit(tr).transform(te))))
    assert_hint(ex.check_standardize(
        lambda tr, te: (_standardize(tr, te)[0], _standardize(te, te)[0])), "its own mean")
    assert_hint(ex.check_standardize(
        lambda tr, te: _standardize(tr, te, stats=np.concatenate([tr, te]))), "together")
    assert_hint(ex.check_standardize(
        lambda tr, te: ((tr - tr.mean()) / tr.std(), (te - tr.mean()) / tr.std())),
        "axis=(0, 1)")
    assert_hint(ex.check_standardize(lambda tr, te: _standardize(tr, te, ddof=1)), "ddof=0")
    assert_hint(ex.check_standardize(lambda tr, te: _standardize(tr, te, divide=False)),
                "did not divide")
    assert_hint(ex.check_standardize(lambda tr, te: _standardize(tr, te)[0]), "(train_z, test_z)")


# ---------------------------------------------------------------------------------------------
# notebook 07: one LSTM step backwards
# ---------------------------------------------------------------------------------------------
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


# ---------------------------------------------------------------------------------------------
# notebook 04
# ---------------------------------------------------------------------------------------------
def _count_ok(d, u):
    return 4 * (u * (d + u) + u)


def _stack_ok(d, units):
    total = 0
    for u in units:
        total, d = total + _count_ok(d, u), u
    return total


def test_lstm_param_count_right_answer():
    assert_pass(ex.check_lstm_param_count(_count_ok))
    assert_pass(ex.check_lstm_param_count(lambda d, u: 4 * u * (d + u + 1)))


@pytest.mark.parametrize(
    ("wrong", "fragment"),
    [
        (lambda d, u: u * (d + u) + u, "multiply by 4"),
        (lambda d, u: 4 * u * (d + u), "forgot the biases"),
        (lambda d, u: 4 * (u * d + u), "forgot the recurrent kernel"),
        (lambda d, u: 4 * (u * (d + u) + 2 * u), "PyTorch"),
        (lambda d, u: 3 * (u * (d + u) + u), "GRU"),
        (lambda d, u: _count_ok(d, u) + 1, "wrong values"),
        (lambda d, u: None, "returned None"),
    ],
)
def test_lstm_param_count_hints(wrong, fragment):
    assert_hint(ex.check_lstm_param_count(wrong), fragment)


def test_stack_param_count_right_answer():
    assert_pass(ex.check_stack_param_count(_stack_ok))


@pytest.mark.parametrize(
    ("wrong", "fragment"),
    [
        (lambda d, us: sum(_count_ok(d, u) for u in us), "previous layer's units"),
        (lambda d, us: _count_ok(d, us[0]), "only the first layer"),
        (lambda d, us: _stack_ok(d, us[:-1]), "left out the last layer"),
        (lambda d, us: [_count_ok(a, b) for a, b in zip([d, *us[:-1]], us, strict=True)],
         "not one count per layer"),
        (lambda d, us: _stack_ok(d, us) + 1, "wrong values"),
    ],
)
def test_stack_param_count_hints(wrong, fragment):
    assert_hint(ex.check_stack_param_count(wrong), fragment)


def test_bidirectional_stack_count():
    assert 2 * _count_ok(8, 3) + 2 * _count_ok(6, 5) == 768
    assert_pass(ex.check_bidirectional_stack_count(768))
    for wrong, fragment in [(324, "one-directional"), (648, "2 * 3 = 6"),
                            (468, "bidirectional too"), (528, "first layer"),
                            (769, "not right"), (None, "no answer")]:
        assert_hint(ex.check_bidirectional_stack_count(wrong), fragment)


# ---------------------------------------------------------------------------------------------
# notebook 05
# ---------------------------------------------------------------------------------------------
def _mask_ok(m):
    lengths = m.sum(axis=1)
    return (m == (np.arange(m.shape[1]) < lengths[:, None])).all(axis=1) & (lengths > 0)


def test_cudnn_mask_right_answer():
    assert_pass(ex.check_cudnn_mask(_mask_ok))
    assert_pass(ex.check_cudnn_mask(
        lambda m: np.array([r[0] and not np.any(np.diff(r.astype(int)) > 0) for r in m])))


@pytest.mark.parametrize(
    ("wrong", "fragment"),
    [
        (lambda m: (m == (np.arange(m.shape[1]) < m.sum(axis=1)[:, None])).all(axis=1),
         "fully masked"),
        (lambda m: m.any(axis=1), "must come first"),
        (lambda m: bool(_mask_ok(m).all()), "one answer per sample"),
        (lambda m: ~_mask_ok(m), "other way round"),
        (lambda m: m[:, 0], "wrong values"),
        (lambda m: None, "returned None"),
    ],
)
def test_cudnn_mask_hints(wrong, fragment):
    assert_hint(ex.check_cudnn_mask(wrong), fragment)


def test_cudnn_mask_agrees_with_lstmkit_cudnn():
    cudnn = pytest.importorskip("lstmkit.cudnn")
    layer = pytest.importorskip("keras").layers.LSTM(2)
    rng = np.random.default_rng(0)
    for _ in range(20):
        mask = rng.random((1, 5)) < 0.7
        assert bool(_mask_ok(mask)[0]) == (cudnn.cudnn_eligibility(layer, mask) == [])


def _flops_ok(b, t, d, u):
    return 2 * t * b * 4 * u * (d + u)


def test_lstm_flops_right_answer():
    assert_pass(ex.check_lstm_flops(_flops_ok))


@pytest.mark.parametrize(
    ("wrong", "fragment"),
    [
        (lambda b, t, d, u: t * b * 4 * u * (d + u), "2 B K N"),
        (lambda b, t, d, u: 2 * t * b * u * (d + u), "4 * units"),
        (lambda b, t, d, u: 2 * t * b * 4 * u * d, "recurrent product"),
        (lambda b, t, d, u: 2 * b * 4 * u * (d + u), "one step"),
        (lambda b, t, d, u: 3 * _flops_ok(b, t, d, u), "wrong values"),
    ],
)
def test_lstm_flops_hints(wrong, fragment):
    assert_hint(ex.check_lstm_flops(wrong), fragment)
