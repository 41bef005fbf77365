"""Self-checking exercises for the course notebooks.

Each exercise in a notebook has a stub cell where the learner writes a function and a cell that
calls a checker from this module. A checker runs the learner's function on a few random inputs,
compares it with a reference, and returns a :class:`CheckResult`: a pass, or a hint naming the
most likely mistake (wrong shape, wrong gate order, forgot the bias...). A checker never raises
for a wrong answer, so a notebook always runs top to bottom; in a notebook the result displays as
its one-line message.

The framework, for whoever adds a checker:

- :class:`Mistake` models one failure mode as a *wrong reference*: a function computing what an
  implementation with that mistake returns, and the hint to give when the learner's output
  matches it. Mapping outputs to known mistakes gives specific hints without parsing code.
- :func:`check_function` runs a candidate against a reference and a list of mistakes on random
  inputs, and handles the generic failures (returned ``None``, raised, wrong structure, wrong
  shape, wrong values).
- :func:`check_answer` checks a plain value (a number, a shape, a string) against the expected
  one, with hints for known wrong answers.

Checkers are listed per notebook below; add new ones at the end of the file.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = [
    "CheckResult",
    "Mistake",
    "check_answer",
    "check_function",
    # notebook 00
    "check_tour_shapes",
    "check_copy_weights",
    # notebook 01
    "check_rnn_step",
    "check_rnn_unroll",
    "check_step_jacobian",
    # notebook 02
    "check_lstm_step",
    "check_unit_forget_bias",
    "check_torch_to_keras",
]

PASS = "PASS"
HINT = "NOT YET"


# ---------------------------------------------------------------------------------------------
# Framework
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class CheckResult:
    """The outcome of a check: ``passed`` and a one-line ``message`` (the pass or the hint).

    Truthy when passed. Its ``repr`` is the message, so a notebook cell ending with a checker
    call displays just that line.
    """

    passed: bool
    message: str

    def __bool__(self) -> bool:
        return self.passed

    def __str__(self) -> str:
        return self.message

    def __repr__(self) -> str:
        return self.message

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:  # IPython display
        printer.text(self.message)


def passed(name: str, detail: str) -> CheckResult:
    """A passing result for exercise ``name``."""
    return CheckResult(True, f"{PASS} {name}: {detail}")


def hint(name: str, text: str) -> CheckResult:
    """A failing result for exercise ``name`` with a hint."""
    return CheckResult(False, f"{HINT} {name}: {text}")


@dataclass(frozen=True)
class Mistake:
    """A known wrong answer: ``compute`` takes the reference's arguments (positionally) and returns
    what a function with this mistake returns; ``hint`` is shown when the learner's output matches
    it."""

    hint: str
    compute: Callable[..., Any]


def _as_arrays(value: Any) -> tuple[bool, tuple[np.ndarray, ...]]:
    """``(is_sequence, arrays)``: a tuple/list of outputs, or one output, as float64 arrays."""
    if isinstance(value, (tuple, list)):
        return True, tuple(_to_numpy(v) for v in value)
    return False, (_to_numpy(value),)


def _to_numpy(value: Any) -> np.ndarray:
    if hasattr(value, "numpy") and callable(value.numpy):  # eager tensors, variables
        value = value.numpy()
    array = np.asarray(value)
    if array.dtype.kind in "biuf":
        array = array.astype(np.float64)
    return array


def _same(got: tuple[np.ndarray, ...], want: tuple[np.ndarray, ...], rtol: float,
          atol: float) -> bool:
    return len(got) == len(want) and all(
        g.shape == w.shape
        and g.dtype.kind == w.dtype.kind
        and (np.array_equal(g, w) if g.dtype.kind not in "f" else
             np.allclose(g, w, rtol=rtol, atol=atol))
        for g, w in zip(got, want, strict=False)
    )


def _copy(inputs: Mapping[str, Any]) -> dict[str, Any]:
    return {k: (v.copy() if isinstance(v, np.ndarray) else v) for k, v in inputs.items()}


def _first_line(err: BaseException) -> str:
    text = str(err).strip().splitlines()
    return text[0][:200] if text else ""


def _shapes(arrays: Iterable[np.ndarray]) -> str:
    return ", ".join(str(a.shape) for a in arrays)


def check_function(
    name: str,
    candidate: Any,
    reference: Callable[..., Any],
    make_inputs: Callable[[np.random.Generator], dict[str, Any]],
    *,
    mistakes: Iterable[Mistake] = (),
    error_hint: str = "",
    output_names: str = "",
    trials: int = 3,
    seed: int = 0,
    rtol: float = 1e-5,
    atol: float = 1e-5,
) -> CheckResult:
    """Run ``candidate`` against ``reference`` on ``trials`` random inputs.

    Args:
        name: The exercise's name, shown in the message.
        candidate: The learner's function. It is called with the inputs positionally, in the
            order of ``make_inputs``' dict, so the learner may name the parameters freely.
        reference: The right answer, called with the same inputs (also positionally).
        make_inputs: ``rng -> dict`` of the inputs of one trial.
        mistakes: Known wrong answers; the first one the candidate's output matches gives the hint.
        error_hint: Added to the message when the candidate raises (e.g. a shape reminder).
        output_names: How to name the outputs in a hint about the return structure, e.g.
            ``"(h, c)"``.
        trials, seed: How many random inputs, from which seed (trial k uses ``seed + k``).
        rtol, atol: Tolerances of the comparison (float32 arithmetic passes).

    Returns:
        A :class:`CheckResult`; never raises because of the candidate.
    """
    if not callable(candidate):
        return hint(name, f"expected a function, got a {type(candidate).__name__}.")
    mistakes = list(mistakes)
    for trial in range(trials):
        rng = np.random.default_rng(seed + trial)
        inputs = make_inputs(rng)
        want_seq, want = _as_arrays(reference(*_copy(inputs).values()))
        try:
            raw = candidate(*_copy(inputs).values())
        except Exception as err:  # noqa: BLE001 - any error of the learner's code is a hint
            message = f"your function raised {type(err).__name__}: {_first_line(err)}"
            return hint(name, f"{message}. Hint: {error_hint}" if error_hint else message)
        if raw is None:
            return hint(name, "your function returned None: replace `return None` with your code "
                              "and return the result.")
        try:
            got_seq, got = _as_arrays(raw)
        except Exception as err:  # noqa: BLE001
            return hint(name, f"could not read your result as arrays ({type(err).__name__}).")
        if _same(got, want, rtol, atol) and got_seq == want_seq:
            continue
        for mistake in mistakes:
            _, wrong = _as_arrays(mistake.compute(*_copy(inputs).values()))
            if _same(got, wrong, rtol, atol):
                return hint(name, mistake.hint)
        if got_seq != want_seq or len(got) != len(want):
            expected = output_names or (f"a tuple of {len(want)} arrays" if want_seq
                                        else "one array")
            return hint(name, f"expected your function to return {expected}; it returned "
                              f"{len(got)} value(s) of shape {_shapes(got)}.")
        for k, (g, w) in enumerate(zip(got, want, strict=True)):
            which = f"output {k}" if want_seq else "the result"
            if g.shape != w.shape:
                text = f"wrong shape: {which} should have shape {w.shape}, yours has {g.shape}"
                if g.ndim >= 2 and g.shape == w.shape[::-1]:
                    text += " (transposed? check the order of the operands)"
                return hint(name, text + ".")
            if g.dtype.kind == "f" and not np.all(np.isfinite(g)):
                return hint(name, f"{which} contains NaN or inf.")
        diff = max(float(np.max(np.abs(g - w))) if g.size and g.dtype.kind == "f" else 0.0
                   for g, w in zip(got, want, strict=True))
        return hint(name, f"right shape, wrong values (max abs difference {diff:.2g} from the "
                          "reference). Compare your code with the equations above.")
    return passed(name, f"matches the reference on {trials} random inputs.")


def check_answer(name: str, answer: Any, expected: Any,
                 wrong_answers: Mapping[Any, str] | None = None) -> CheckResult:
    """Check a plain value (number, tuple, string) against ``expected``.

    ``wrong_answers`` maps known wrong values to their hint.
    """
    if answer is None:
        return hint(name, "no answer yet: replace `None` with your answer.")
    if _equal(answer, expected):
        return passed(name, "right.")
    for wrong, text in (wrong_answers or {}).items():
        if _equal(answer, wrong):
            return hint(name, text)
    return hint(name, f"{answer!r} is not right; look again at the derivation above.")


def _equal(a: Any, b: Any) -> bool:
    """Structural equality: sequences element by element, arrays by value, the rest with ==."""
    if isinstance(a, (tuple, list)) or isinstance(b, (tuple, list)):
        return (isinstance(a, (tuple, list)) and isinstance(b, (tuple, list))
                and len(a) == len(b) and all(_equal(x, y) for x, y in zip(a, b, strict=True)))
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return np.shape(a) == np.shape(b) and bool(np.all(np.asarray(a) == np.asarray(b)))
    try:
        return bool(a == b)
    except Exception:  # noqa: BLE001
        return False


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-z))


# ---------------------------------------------------------------------------------------------
# Notebook 00: setup and tour
# ---------------------------------------------------------------------------------------------
def check_tour_shapes(answer: Any, batch: int, steps: int, features: int,
                      units: int) -> CheckResult:
    """Exercise 00.1: the shapes ``(output, h, c)`` of
    ``keras.layers.RNN(LSTMCell(units), return_sequences=True, return_state=True)`` on an input
    of shape ``(batch, steps, features)``, as a tuple of three shape tuples."""
    expected = ((batch, steps, units), (batch, units), (batch, units))
    wrong = {
        ((batch, units), (batch, units), (batch, units)):
            "with return_sequences=True the output holds every step: (batch, steps, units).",
        ((batch, steps, features), (batch, features), (batch, features)):
            "the cell's width is `units`, not the number of input features.",
        ((batch, steps, units), (batch, units)):
            "an LSTM has two states, h and c: the layer returns (output, h, c).",
        ((steps, batch, units), (batch, units), (batch, units)):
            "Keras puts the batch axis first: (batch, steps, units).",
        ((batch, steps, units), (batch, steps, units), (batch, steps, units)):
            "return_state gives the final states only, one (batch, units) tensor each.",
    }
    # turn lists into tuples so [[32, 10, 4], ...] is accepted too
    try:
        answer = tuple(tuple(int(n) for n in shape) for shape in answer)
    except (TypeError, ValueError):
        pass
    return check_answer("tour_shapes", answer, expected, wrong)


def check_copy_weights(fn: Any) -> CheckResult:
    """Exercise 00.2: ``fn(src, dst)`` makes the (unbuilt) ``lstmkit.LSTMCell`` ``dst`` compute
    exactly what the built ``keras.layers.LSTMCell`` ``src`` computes."""
    import keras

    from lstmkit.cells import LSTMCell

    name = "copy_weights"
    if not callable(fn):
        return hint(name, f"expected a function, got a {type(fn).__name__}.")
    rng = np.random.default_rng(0)
    input_dim, units, batch = 5, 3, 2
    src = keras.layers.LSTMCell(units)
    src.build((None, input_dim))
    src.set_weights([rng.normal(size=w.shape) for w in src.get_weights()])
    before = [w.copy() for w in src.get_weights()]
    dst = LSTMCell(units)
    try:
        fn(src, dst)
    except Exception as err:  # noqa: BLE001
        text = f"your function raised {type(err).__name__}: {_first_line(err)}"
        if not dst.built:
            text += (". dst has no weights until it is built: call "
                     "dst.build((None, input_dim)) first, with input_dim = src.kernel.shape[0].")
        return hint(name, text)
    if any(not np.array_equal(a, b) for a, b in zip(before, src.get_weights(), strict=True)):
        return hint(name, "src's weights changed: you copied from dst to src. Read src's "
                          "weights (get_weights) and write them into dst (set_weights).")
    if not dst.built or not dst.weights:
        return hint(name, "dst has no weights: build it with dst.build((None, input_dim)), then "
                          "dst.set_weights(src.get_weights()).")
    x = keras.ops.convert_to_tensor(rng.normal(size=(batch, input_dim)), "float32")
    states = [keras.ops.convert_to_tensor(rng.normal(size=(batch, units)), "float32")
              for _ in range(2)]
    want = keras.ops.convert_to_numpy(src(x, states)[0])
    try:
        got = keras.ops.convert_to_numpy(dst(x, states)[0])
    except Exception as err:  # noqa: BLE001
        return hint(name, f"calling dst raised {type(err).__name__}: {_first_line(err)}. Was it "
                          "built for inputs of width src.kernel.shape[0]?")
    if not np.allclose(got, want, atol=1e-5):
        return hint(name, "dst computes something different from src: copy all three arrays "
                          "(kernel, recurrent_kernel, bias) unchanged, e.g. "
                          "dst.set_weights(src.get_weights()).")
    return passed(name, "dst now computes exactly what src computes.")


# ---------------------------------------------------------------------------------------------
# Notebook 01: the simple RNN cell
# ---------------------------------------------------------------------------------------------
_RNN_SHAPES = (
    "Shapes: x is (batch, input_dim), W is (input_dim, units), h_prev is (batch, units) and "
    "U is (units, units), so the products are x @ W and h_prev @ U (data on the left)."
)


def _rnn_inputs(rng: np.random.Generator) -> dict[str, np.ndarray]:
    batch, input_dim, units = 3, 5, 4
    return {
        "x": rng.normal(size=(batch, input_dim)),
        "h_prev": rng.normal(size=(batch, units)) * 0.5,
        "W": rng.normal(size=(input_dim, units)) * 0.5,
        "U": rng.normal(size=(units, units)) * 0.5,
        "b": rng.normal(size=(units,)),
    }


def _rnn_step(x, h_prev, W, U, b):
    return np.tanh(x @ W + h_prev @ U + b)


_RNN_STEP_MISTAKES = (
    Mistake("forgot the bias: add b to the pre-activation before tanh.",
            lambda x, h_prev, W, U, b: np.tanh(x @ W + h_prev @ U)),
    Mistake("forgot the activation: h_t = tanh(x W + h_prev U + b).",
            lambda x, h_prev, W, U, b: x @ W + h_prev @ U + b),
    Mistake("wrong activation: the simple RNN cell uses tanh, not sigmoid.",
            lambda x, h_prev, W, U, b: _sigmoid(x @ W + h_prev @ U + b)),
    Mistake("forgot the recurrent term h_prev @ U: without it the cell has no memory.",
            lambda x, h_prev, W, U, b: np.tanh(x @ W + b)),
    Mistake("h_prev @ U.T is not h_prev @ U: in the row-vector convention rows of U index "
            "h_prev and columns index h_t, so no transpose is needed.",
            lambda x, h_prev, W, U, b: np.tanh(x @ W + h_prev @ U.T + b)),
    Mistake("the bias belongs inside the activation: you added b after tanh, but "
            "h_t = tanh(x W + h_prev U + b).",
            lambda x, h_prev, W, U, b: np.tanh(x @ W + h_prev @ U) + b),
)


def check_rnn_step(fn: Any) -> CheckResult:
    """Exercise 01.1: ``fn(x, h_prev, W, U, b) -> h_t`` in NumPy, ``h_t = tanh(x W + h U + b)``."""
    return check_function("rnn_step", fn, _rnn_step, _rnn_inputs,
                          mistakes=_RNN_STEP_MISTAKES, error_hint=_RNN_SHAPES)


def _unroll_inputs(rng: np.random.Generator) -> dict[str, np.ndarray]:
    batch, time, input_dim, units = 3, 6, 5, 4
    return {
        "xs": rng.normal(size=(batch, time, input_dim)),
        "h0": rng.normal(size=(batch, units)) * 0.5,
        "W": rng.normal(size=(input_dim, units)) * 0.5,
        "U": rng.normal(size=(units, units)) * 0.5,
        "b": rng.normal(size=(units,)),
    }


def _unroll_states(xs, h0, W, U, b, carry=True, reverse=False):
    h, out = h0, []
    steps = range(xs.shape[1])
    for t in reversed(steps) if reverse else steps:
        h = _rnn_step(xs[:, t], h if carry else h0, W, U, b)
        out.append(h)
    return out


def _unroll(xs, h0, W, U, b):
    return np.stack(_unroll_states(xs, h0, W, U, b), axis=1)


_UNROLL_MISTAKES = (
    Mistake("you returned only the last state; return every step's h_t, stacked on axis 1 "
            "into (batch, time, units).",
            lambda xs, h0, W, U, b: _unroll_states(xs, h0, W, U, b)[-1]),
    Mistake("the states are stacked on the wrong axis: Keras' layout is (batch, time, units), "
            "so stack on axis 1 (np.stack(states, axis=1)).",
            lambda xs, h0, W, U, b: np.stack(_unroll_states(xs, h0, W, U, b), axis=0)),
    Mistake("the state is not carried: each step must use the h_t of the step before, not h0.",
            lambda xs, h0, W, U, b: np.stack(_unroll_states(xs, h0, W, U, b, carry=False),
                                             axis=1)),
    Mistake("you included the initial state h0 in the output; return only the T new states.",
            lambda xs, h0, W, U, b: np.stack([h0, *_unroll_states(xs, h0, W, U, b)], axis=1)),
    Mistake("time runs backwards in your loop: go from t = 0 to T-1 (xs[:, t] is step t).",
            lambda xs, h0, W, U, b: np.stack(_unroll_states(xs, h0, W, U, b, reverse=True),
                                             axis=1)),
)


def check_rnn_unroll(fn: Any) -> CheckResult:
    """Exercise 01.2: ``fn(xs, h0, W, U, b) -> hs``, all states (batch, time, units)."""
    return check_function(
        "rnn_unroll", fn, _unroll, _unroll_inputs, mistakes=_UNROLL_MISTAKES,
        error_hint="xs is (batch, time, input_dim): the input of step t is xs[:, t]. "
                   + _RNN_SHAPES,
    )


def _jacobian_inputs(rng: np.random.Generator) -> dict[str, np.ndarray]:
    input_dim, units = 5, 4
    return {
        "x": rng.normal(size=(input_dim,)),
        "h_prev": rng.normal(size=(units,)) * 0.5,
        "W": rng.normal(size=(input_dim, units)) * 0.5,
        "U": rng.normal(size=(units, units)) * 0.5,
        "b": rng.normal(size=(units,)),
    }


def _new_h(x, h_prev, W, U, b):
    return np.tanh(x @ W + h_prev @ U + b)


def _step_jacobian(x, h_prev, W, U, b):
    h = _new_h(x, h_prev, W, U, b)
    return (1.0 - h**2)[:, None] * U.T


_JACOBIAN_MISTAKES = (
    Mistake("forgot the derivative of tanh: J = diag(1 - h_t**2) @ U.T.",
            lambda x, h_prev, W, U, b: U.T),
    Mistake("your Jacobian is transposed: J[i, j] = d h_t[i] / d h_prev[j], so rows follow "
            "h_t: J = diag(1 - h_t**2) @ U.T, i.e. (1 - h_t**2)[:, None] * U.T.",
            lambda x, h_prev, W, U, b: _step_jacobian(x, h_prev, W, U, b).T),
    Mistake("tanh' must be taken at the new state: 1 - h_t**2, not 1 - h_prev**2.",
            lambda x, h_prev, W, U, b: (1.0 - h_prev**2)[:, None] * U.T),
    Mistake("tanh'(z) = 1 - tanh(z)**2 = 1 - h_t**2 (squared), not 1 - h_t.",
            lambda x, h_prev, W, U, b: (1.0 - _new_h(x, h_prev, W, U, b))[:, None] * U.T),
    Mistake("you used U where U.T belongs: since h_t = tanh(... + h_prev @ U), "
            "d h_t[i] / d h_prev[j] = (1 - h_t[i]**2) * U[j, i], i.e. J = (1 - h_t**2)[:, None] "
            "* U.T.",
            lambda x, h_prev, W, U, b: (1.0 - _new_h(x, h_prev, W, U, b) ** 2)[:, None] * U),
)


def check_step_jacobian(fn: Any) -> CheckResult:
    """Exercise 01.3: ``fn(x, h_prev, W, U, b) -> J`` with ``J[i, j] = d h_t[i] / d h_prev[j]``
    for one sample (vectors, no batch axis)."""
    return check_function(
        "step_jacobian", fn, _step_jacobian, _jacobian_inputs, mistakes=_JACOBIAN_MISTAKES,
        error_hint="Here x, h_prev and b are vectors (no batch axis) and J is (units, units).",
    )


# ---------------------------------------------------------------------------------------------
# Notebook 02: the LSTM cell
# ---------------------------------------------------------------------------------------------
_GATES = "ifco"  # Keras' column blocks: input, forget, candidate (c), output


def _lstm_inputs(rng: np.random.Generator) -> dict[str, np.ndarray]:
    batch, input_dim, units = 3, 5, 4
    return {
        "x": rng.normal(size=(batch, input_dim)),
        "h_prev": rng.normal(size=(batch, units)) * 0.5,
        "c_prev": rng.normal(size=(batch, units)),
        "kernel": rng.normal(size=(input_dim, 4 * units)) * 0.5,
        "recurrent_kernel": rng.normal(size=(units, 4 * units)) * 0.5,
        "bias": rng.normal(size=(4 * units,)),
    }


def _lstm(x, h_prev, c_prev, kernel, recurrent_kernel, bias, order=_GATES, use_bias=True,
          candidate=np.tanh, tanh_c=True, forget=True):
    z = x @ kernel + h_prev @ recurrent_kernel + (bias if use_bias else 0.0)
    blocks = dict(zip(order, np.split(z, 4, axis=-1), strict=True))
    i, f, o = _sigmoid(blocks["i"]), _sigmoid(blocks["f"]), _sigmoid(blocks["o"])
    g = candidate(blocks["c"])
    c = (f * c_prev if forget else 0.0) + i * g
    h = o * (np.tanh(c) if tanh_c else c)
    return h, c


def _lstm_step(x, h_prev, c_prev, kernel, recurrent_kernel, bias):
    return _lstm(x, h_prev, c_prev, kernel, recurrent_kernel, bias)


def _gate_order_mistake(order: str) -> Mistake:
    return Mistake(
        f"wrong gate order: your function reads the column blocks as {', '.join(order)}, "
        "but Keras stores them as i, f, c, o (input, forget, candidate, output).",
        lambda *args: _lstm(*args, order=order),
    )


_LSTM_STEP_MISTAKES = (
    Mistake("forgot the bias: z = x @ kernel + h_prev @ recurrent_kernel + bias.",
            lambda *args: _lstm(*args, use_bias=False)),
    Mistake("h_t = o * tanh(c_t): you forgot the tanh on the new cell state.",
            lambda *args: _lstm(*args, tanh_c=False)),
    Mistake("the candidate g uses tanh, not sigmoid (only i, f and o are sigmoid gates).",
            lambda *args: _lstm(*args, candidate=_sigmoid)),
    Mistake("c_t = f * c_prev + i * g: you dropped the forget term f * c_prev.",
            lambda *args: _lstm(*args, forget=False)),
    Mistake("return (h_t, c_t) in that order; yours returns (c_t, h_t).",
            lambda *args: _lstm(*args)[::-1]),
    *(_gate_order_mistake("".join(p)) for p in itertools.permutations(_GATES)
      if "".join(p) != _GATES),
)


def check_lstm_step(fn: Any) -> CheckResult:
    """Exercise 02.1: ``fn(x, h_prev, c_prev, kernel, recurrent_kernel, bias) -> (h_t, c_t)`` in
    NumPy with Keras' weight layout (column blocks i, f, c, o)."""
    return check_function(
        "lstm_step", fn, _lstm_step, _lstm_inputs, mistakes=_LSTM_STEP_MISTAKES,
        output_names="a tuple (h_t, c_t)",
        error_hint="Shapes: kernel is (input_dim, 4*units) and recurrent_kernel (units, "
                   "4*units): x @ kernel + h_prev @ recurrent_kernel is (batch, 4*units); "
                   "split it into 4 blocks of `units` columns.",
    )


def _forget_bias_inputs(rng: np.random.Generator) -> dict[str, int]:
    return {"units": int(rng.integers(2, 7))}


def _forget_bias(units, block=1, value=1.0):
    bias = np.zeros(4 * units)
    bias[block * units:(block + 1) * units] = value
    return bias


_FORGET_BIAS_MISTAKES = (
    *(Mistake(f"the ones are in block {k} ({'ifco'[k]}); the forget gate is block 1: Keras' "
              "order is i, f, c, o.", lambda units, k=k: _forget_bias(units, block=k))
      for k in (0, 2, 3)),
    Mistake("only the forget block starts at 1; the other three blocks start at 0 (zeros).",
            lambda units: np.ones(4 * units)),
    Mistake("the forget block must start at exactly 1, not 0: that is the point of "
            "unit_forget_bias.", lambda units: np.zeros(4 * units)),
    Mistake("return the whole bias, 4 * units values (i, f, c, o), not only the forget block.",
            lambda units: np.ones(units)),
)


def check_unit_forget_bias(fn: Any) -> CheckResult:
    """Exercise 02.2: ``fn(units) -> bias`` (4*units,), the initial LSTM bias with
    ``unit_forget_bias=True`` and ``bias_initializer="zeros"``."""
    return check_function("unit_forget_bias", fn, lambda units: _forget_bias(units),
                          _forget_bias_inputs, mistakes=_FORGET_BIAS_MISTAKES)


def _torch_inputs(rng: np.random.Generator) -> dict[str, np.ndarray]:
    input_dim, units = 5, 3
    return {
        "weight_ih": rng.normal(size=(4 * units, input_dim)),
        "weight_hh": rng.normal(size=(4 * units, units)),
        "bias_ih": rng.normal(size=(4 * units,)),
        "bias_hh": rng.normal(size=(4 * units,)),
    }


def _torch_to_keras(weight_ih, weight_hh, bias_ih, bias_hh):
    return weight_ih.T, weight_hh.T, bias_ih + bias_hh


_TORCH_MISTAKES = (
    Mistake("PyTorch stores weights as (4*units, input_dim) for W @ x; Keras as "
            "(input_dim, 4*units) for x @ W: transpose both weight matrices.",
            lambda weight_ih, weight_hh, bias_ih, bias_hh: (weight_ih, weight_hh,
                                                            bias_ih + bias_hh)),
    Mistake("PyTorch adds two biases (b_ih + b_hh) and Keras has one: the Keras bias is "
            "their sum, you kept only bias_ih.",
            lambda weight_ih, weight_hh, bias_ih, bias_hh: (weight_ih.T, weight_hh.T, bias_ih)),
    Mistake("the two PyTorch biases are added in the cell, so the Keras bias is their sum "
            "(4*units values), not their concatenation.",
            lambda weight_ih, weight_hh, bias_ih, bias_hh: (
                weight_ih.T, weight_hh.T, np.concatenate([bias_ih, bias_hh]))),
    Mistake("the kernel comes from weight_ih (input to hidden) and the recurrent kernel from "
            "weight_hh; yours are swapped.",
            lambda weight_ih, weight_hh, bias_ih, bias_hh: (weight_hh.T, weight_ih.T,
                                                            bias_ih + bias_hh)),
)


def check_torch_to_keras(fn: Any) -> CheckResult:
    """Exercise 02.3: ``fn(weight_ih, weight_hh, bias_ih, bias_hh) -> (kernel,
    recurrent_kernel, bias)``: PyTorch ``nn.LSTM`` weights to Keras' ``LSTMCell`` layout."""
    return check_function(
        "torch_to_keras", fn, _torch_to_keras, _torch_inputs, mistakes=_TORCH_MISTAKES,
        output_names="a tuple (kernel, recurrent_kernel, bias)",
        error_hint="PyTorch: weight_ih (4*units, input_dim), weight_hh (4*units, units), two "
                   "biases (4*units,). Keras: kernel (input_dim, 4*units), recurrent_kernel "
                   "(units, 4*units), one bias (4*units,).",
    )


# ---------------------------------------------------------------------------------------------
# Notebooks 03-05: add checkers below (and to __all__).
# ---------------------------------------------------------------------------------------------


# ---------------------------------------------------------------------------------------------
# Notebook 03: driving cells over a sequence
# ---------------------------------------------------------------------------------------------
def _drive_inputs(rng: np.random.Generator) -> dict[str, Any]:
    batch, time, input_dim, units = 3, 5, 4, 2
    kernel = rng.normal(size=(input_dim, 4 * units)) * 0.5
    recurrent_kernel = rng.normal(size=(units, 4 * units)) * 0.5
    bias = rng.normal(size=(4 * units,))

    def step(x_t, h_prev, c_prev):
        """One LSTM step in NumPy: (batch, input_dim), (batch, units) x2 -> (h_t, c_t)."""
        return _lstm(x_t, h_prev, c_prev, kernel, recurrent_kernel, bias)

    return {"step": step, "xs": rng.normal(size=(batch, time, input_dim)), "units": units}


def _drive_states(step, xs, units, mask=None, carry=True, reverse=False, gate_states=True,
                  zero_output=False):
    """Reference loop (and its variants): Keras' masking semantics when ``mask`` is given."""
    batch = xs.shape[0]
    h = c = np.zeros((batch, units))
    h0 = c0 = h
    out = np.zeros((batch, units))
    outs = []
    steps = range(xs.shape[1])
    for t in reversed(steps) if reverse else steps:
        h_new, c_new = step(xs[:, t], h if carry else h0, c if carry else c0)
        m = np.ones((batch, 1), bool) if mask is None else mask[:, t:t + 1]
        if gate_states:
            h, c = np.where(m, h_new, h), np.where(m, c_new, c)
        else:
            h, c = h_new, c_new
        out = np.where(m, h_new, 0.0 if zero_output else out)
        outs.append(out)
    return outs, h, c


def _drive(step, xs, units):
    outs, h, c = _drive_states(step, xs, units)
    return np.stack(outs, axis=1), h, c


_DRIVE_MISTAKES = (
    Mistake("the outputs are stacked on the wrong axis: Keras' layout is (batch, time, units), "
            "so stack on axis 1.",
            lambda step, xs, units: (np.stack(_drive_states(step, xs, units)[0], axis=0),
                                     *_drive_states(step, xs, units)[1:])),
    Mistake("the state is not carried: pass the (h, c) returned at step t-1 to step t, not the "
            "zeros every time.",
            lambda step, xs, units: (lambda o, h, c: (np.stack(o, axis=1), h, c))(
                *_drive_states(step, xs, units, carry=False))),
    Mistake("time runs backwards in your loop (that is go_backwards=True): go from t = 0 to "
            "T-1, xs[:, t] is step t.",
            lambda step, xs, units: (lambda o, h, c: (np.stack(o, axis=1), h, c))(
                *_drive_states(step, xs, units, reverse=True))),
    Mistake("return (outputs, h, c) in that order, as RNN(return_sequences=True, "
            "return_state=True) does; yours has h and c swapped.",
            lambda step, xs, units: (lambda o, h, c: (o, c, h))(*_drive(step, xs, units))),
    Mistake("the first return value is every step's output (batch, time, units), not only the "
            "last one.",
            lambda step, xs, units: (lambda o, h, c: (o[:, -1], h, c))(*_drive(step, xs, units))),
)


def check_drive(fn: Any) -> CheckResult:
    """Exercise 03.1: ``fn(step, xs, units) -> (outputs, h, c)``: drive the NumPy LSTM step
    ``step(x_t, h_prev, c_prev) -> (h_t, c_t)`` over ``xs`` (batch, time, input_dim) from zero
    states, like ``RNN(cell, return_sequences=True, return_state=True)``."""
    return check_function(
        "drive", fn, _drive, _drive_inputs, mistakes=_DRIVE_MISTAKES,
        output_names="a tuple (outputs, h, c)",
        error_hint="Start from h = c = np.zeros((batch, units)); the input of step t is "
                   "xs[:, t]; step(x_t, h, c) returns the new (h, c), and the output is h.",
    )


def _masked_inputs(rng: np.random.Generator) -> dict[str, Any]:
    inputs = _drive_inputs(rng)
    batch, time = inputs["xs"].shape[:2]
    mask = rng.random((batch, time)) < 0.6
    mask[0] = np.arange(time) < 2  # right-padded
    mask[1] = np.arange(time) >= time - 2  # left-padded
    return {"step": inputs["step"], "xs": inputs["xs"], "mask": mask, "units": inputs["units"]}


def _drive_masked(step, xs, mask, units, **variant):
    outs, h, c = _drive_states(step, xs, units, mask=mask, **variant)
    return np.stack(outs, axis=1), h, c


_MASKED_MISTAKES = (
    Mistake("the mask is ignored: at a step where mask[:, t] is False, keep h and c unchanged "
            "(np.where(m, new, old)).",
            lambda step, xs, mask, units: _drive(step, xs, units)),
    Mistake("at masked steps you wrote zeros to the output (that is zero_output_for_mask=True); "
            "by default Keras repeats the previous output there.",
            lambda step, xs, mask, units: _drive_masked(step, xs, mask, units, zero_output=True)),
    Mistake("the outputs are right but the states still change at masked steps: keep h and c "
            "too, not only the output.",
            lambda step, xs, mask, units: _drive_masked(step, xs, mask, units,
                                                        gate_states=False)),
)


def check_drive_masked(fn: Any) -> CheckResult:
    """Exercise 03.2: ``fn(step, xs, mask, units) -> (outputs, h, c)`` with Keras' masking:
    at a masked step the states stay and the output repeats the previous output (zeros before
    the first real step)."""
    return check_function(
        "drive_masked", fn, _drive_masked, _masked_inputs, mistakes=_MASKED_MISTAKES,
        output_names="a tuple (outputs, h, c)",
        error_hint="mask is a (batch, time) bool array; m = mask[:, t:t+1] has shape (batch, 1) "
                   "and broadcasts in np.where(m, new, old).",
    )


def _last_valid_inputs(rng: np.random.Generator) -> dict[str, np.ndarray]:
    batch, time, units = 5, 6, 3
    lengths = rng.integers(1, time + 1, size=batch)
    lengths[0] = time
    lengths[1] = 1
    return {"outputs": rng.normal(size=(batch, time, units)), "lengths": lengths}


def _last_valid(outputs, lengths, shift=1):
    return outputs[np.arange(outputs.shape[0]), np.asarray(lengths) - shift]


_LAST_VALID_MISTAKES = (
    Mistake("outputs[:, -1] is the output after the padding; take each sample's own last real "
            "step, outputs[i, lengths[i] - 1].",
            lambda outputs, lengths: outputs[:, -1]),
    Mistake("off by one: a sample of length L has its last real output at index L - 1, "
            "not L - 2.",
            lambda outputs, lengths: _last_valid(outputs, lengths, shift=2)),
)


def check_last_valid(fn: Any) -> CheckResult:
    """Exercise 03.3: ``fn(outputs, lengths) -> (batch, units)``: from the sequence of an
    unmasked run over right-padded inputs, each sample's output at its last real step."""
    return check_function(
        "last_valid", fn, lambda outputs, lengths: _last_valid(outputs, lengths),
        _last_valid_inputs, mistakes=_LAST_VALID_MISTAKES,
        error_hint="outputs is (batch, time, units) and lengths (batch,) integers >= 1; a "
                   "sample of length L has its last real output at index L - 1, and "
                   "outputs[np.arange(batch), idx] picks one step per sample.",
    )


__all__ += ["check_drive", "check_drive_masked", "check_last_valid"]


# ---------------------------------------------------------------------------------------------
# Notebook 06: training on real data (windows and normalisation)
# ---------------------------------------------------------------------------------------------
def _window_inputs(rng: np.random.Generator) -> dict[str, Any]:
    return {"series": rng.normal(size=int(rng.integers(9, 15))), "window": int(rng.integers(2, 5))}


def _windows(series, window, first_target=0, last_missing=0):
    starts = range(len(series) - window - last_missing)
    x = np.array([series[a:a + window] for a in starts])
    y = np.array([series[a + window - 1 + first_target] for a in starts])
    return x, y


_WINDOW_MISTAKES = (
    Mistake("one window too few: a series of T values gives T - window windows with a next "
            "value to predict (the last window ends at step T - 2).",
            lambda series, window: _windows(series, window, first_target=1, last_missing=1)),
    Mistake("the target is the last value *inside* the window; it must be the value right "
            "after it, series[start + window].",
            lambda series, window: _windows(series, window, first_target=0)),
    Mistake("the target skips a step: it is series[start + window], the value right after the "
            "window, not series[start + window + 1].",
            lambda series, window: _windows(series, window, first_target=2, last_missing=1)),
    Mistake("return (x, y) in that order: the windows first, then the targets.",
            lambda series, window: _windows(series, window, first_target=1)[::-1]),
)


def check_make_windows(fn: Any) -> CheckResult:
    """Exercise 06.1: ``fn(series, window) -> (x, y)`` for a 1-D series: ``x[n]`` is
    ``series[n:n + window]`` and ``y[n]`` the value after it, ``series[n + window]``."""
    return check_function(
        "make_windows", fn, lambda series, window: _windows(series, window, first_target=1),
        _window_inputs, mistakes=_WINDOW_MISTAKES, output_names="a tuple (x, y)",
        error_hint="series is 1-D of length T: x is (T - window, window), y is (T - window,).",
    )


def _standardize_inputs(rng: np.random.Generator) -> dict[str, np.ndarray]:
    scale = rng.uniform(0.5, 5.0, size=3)
    return {
        "train": rng.normal(2.0, 1.0, size=(20, 5, 3)) * scale,
        "test": rng.normal(-1.0, 3.0, size=(10, 5, 3)) * scale,
    }


def _standardize_with(train, test, mean, std):
    return (train - mean) / std, (test - mean) / std


def _standardize(train, test):
    return _standardize_with(train, test, train.mean(axis=(0, 1)), train.std(axis=(0, 1)))


_STANDARDIZE_MISTAKES = (
    Mistake("the test data was standardised with its own mean and standard deviation: use the "
            "training statistics for both, or the test set leaks into the preprocessing.",
            lambda train, test: (
                _standardize(train, test)[0],
                (test - test.mean(axis=(0, 1))) / test.std(axis=(0, 1)))),
    Mistake("the statistics come from training and test data together; fit them on the "
            "training data only.",
            lambda train, test: _standardize_with(
                train, test, np.concatenate([train, test]).mean(axis=(0, 1)),
                np.concatenate([train, test]).std(axis=(0, 1)))),
    Mistake("one mean and standard deviation per feature: reduce over the sample and time "
            "axes, axis=(0, 1), not over the whole array.",
            lambda train, test: _standardize_with(train, test, train.mean(), train.std())),
    Mistake("use the population standard deviation (np.std's default ddof=0), as "
            "lstmkit.data.Normalizer does, not ddof=1.",
            lambda train, test: _standardize_with(
                train, test, train.mean(axis=(0, 1)), train.std(axis=(0, 1), ddof=1))),
    Mistake("you subtracted the mean but did not divide by the standard deviation.",
            lambda train, test: _standardize_with(train, test, train.mean(axis=(0, 1)), 1.0)),
)


def check_standardize(fn: Any) -> CheckResult:
    """Exercise 06.2: ``fn(train, test) -> (train_z, test_z)``: both standardised per feature
    (last axis) with the training data's mean and standard deviation."""
    return check_function(
        "standardize", fn, _standardize, _standardize_inputs, mistakes=_STANDARDIZE_MISTAKES,
        output_names="a tuple (train_z, test_z)",
        error_hint="train and test are (samples, time, features); the statistics are (features,).",
    )


# ---------------------------------------------------------------------------------------------
# Notebook 07: backpropagation through time (one LSTM step backwards)
# ---------------------------------------------------------------------------------------------
def _output_backward_inputs(rng: np.random.Generator) -> dict[str, np.ndarray]:
    batch, units = 3, 4
    return {
        "dh": rng.normal(size=(batch, units)),
        "o": _sigmoid(rng.normal(size=(batch, units))),
        "c": rng.normal(size=(batch, units)),
    }


def _output_backward(dh, o, c):
    return dh * np.tanh(c), dh * o * (1.0 - np.tanh(c) ** 2)


_OUTPUT_BACKWARD_MISTAKES = (
    Mistake("dc needs the derivative of tanh: dc = dh * o * (1 - tanh(c)**2).",
            lambda dh, o, c: (dh * np.tanh(c), dh * o)),
    Mistake("dc needs the factor o from h = o * tanh(c): dc = dh * o * (1 - tanh(c)**2).",
            lambda dh, o, c: (dh * np.tanh(c), dh * (1.0 - np.tanh(c) ** 2))),
    Mistake("tanh'(c) = 1 - tanh(c)**2, not 1 - c**2.",
            lambda dh, o, c: (dh * np.tanh(c), dh * o * (1.0 - c**2))),
    Mistake("do = dh * tanh(c): the output gate multiplies tanh(c), not c.",
            lambda dh, o, c: (dh * c, _output_backward(dh, o, c)[1])),
    Mistake("return (do, dc) in that order.", lambda dh, o, c: _output_backward(dh, o, c)[::-1]),
)


def check_output_backward(fn: Any) -> CheckResult:
    """Exercise 07.1: ``fn(dh, o, c) -> (do, dc)``, the gradients through
    ``h = o * tanh(c)`` given ``dh`` = dL/dh."""
    return check_function(
        "output_backward", fn, _output_backward, _output_backward_inputs,
        mistakes=_OUTPUT_BACKWARD_MISTAKES, output_names="a tuple (do, dc)",
    )


def _cell_backward_inputs(rng: np.random.Generator) -> dict[str, np.ndarray]:
    batch, units = 3, 4
    return {
        "dc": rng.normal(size=(batch, units)),
        "c_prev": rng.normal(size=(batch, units)),
        "i": _sigmoid(rng.normal(size=(batch, units))),
        "f": _sigmoid(rng.normal(size=(batch, units))),
        "g": np.tanh(rng.normal(size=(batch, units))),
    }


def _cell_backward(dc, c_prev, i, f, g):
    return dc * f, dc * g, dc * c_prev, dc * i


_CELL_BACKWARD_MISTAKES = (
    Mistake("dc_prev = dc * f: the old cell state reaches c_t through the forget gate.",
            lambda dc, c_prev, i, f, g: (dc, dc * g, dc * c_prev, dc * i)),
    Mistake("di and dg are swapped: in i * g, di = dc * g and dg = dc * i.",
            lambda dc, c_prev, i, f, g: (dc * f, dc * i, dc * c_prev, dc * g)),
    Mistake("df = dc * c_prev: the forget gate multiplies the old cell state, not itself.",
            lambda dc, c_prev, i, f, g: (dc * f, dc * g, dc * f, dc * i)),
)


def check_cell_state_backward(fn: Any) -> CheckResult:
    """Exercise 07.2: ``fn(dc, c_prev, i, f, g) -> (dc_prev, di, df, dg)``, the gradients
    through ``c = f * c_prev + i * g`` given ``dc`` = dL/dc."""
    return check_function(
        "cell_state_backward", fn, _cell_backward, _cell_backward_inputs,
        mistakes=_CELL_BACKWARD_MISTAKES, output_names="a tuple (dc_prev, di, df, dg)",
    )


def _gates_backward_inputs(rng: np.random.Generator) -> dict[str, np.ndarray]:
    batch, units = 3, 4
    shape = (batch, units)
    return {
        "di": rng.normal(size=shape), "df": rng.normal(size=shape),
        "dg": rng.normal(size=shape), "do": rng.normal(size=shape),
        "i": _sigmoid(rng.normal(size=shape)), "f": _sigmoid(rng.normal(size=shape)),
        "g": np.tanh(rng.normal(size=shape)), "o": _sigmoid(rng.normal(size=shape)),
    }


def _gates_backward(di, df, dg, do, i, f, g, o, order=_GATES, candidate_tanh=True,
                    gates_sigmoid=True):
    def sig(d, s):
        return d * s * (1.0 - s) if gates_sigmoid else d * (1.0 - s**2)

    blocks = {
        "i": sig(di, i), "f": sig(df, f), "o": sig(do, o),
        "c": dg * (1.0 - g**2) if candidate_tanh else dg * g * (1.0 - g),
    }
    return np.concatenate([blocks[k] for k in order], axis=-1)


_GATES_BACKWARD_MISTAKES = (
    Mistake("the candidate g = tanh(z_g), so dz_g = dg * (1 - g**2), not the sigmoid "
            "derivative g * (1 - g).",
            lambda *args: _gates_backward(*args, candidate_tanh=False)),
    Mistake("i, f and o are sigmoids: sigma'(z) = s * (1 - s) with s the gate's value, not "
            "1 - s**2 (that is tanh').",
            lambda *args: _gates_backward(*args, gates_sigmoid=False)),
    Mistake("you forgot the activations' derivatives: dz = d(gate) * (derivative of the "
            "activation at z), e.g. dz_i = di * i * (1 - i).",
            lambda di, df, dg, do, i, f, g, o: np.concatenate([di, df, dg, do], axis=-1)),
    *(Mistake(f"wrong block order: yours is {', '.join(p)}; Keras' kernel columns are i, f, "
              "c (candidate), o, and dz must follow them.",
              lambda *args, p=p: _gates_backward(*args, order=p))
      for p in ("".join(q) for q in itertools.permutations(_GATES)) if p != _GATES),
)


def check_gates_backward(fn: Any) -> CheckResult:
    """Exercise 07.3: ``fn(di, df, dg, do, i, f, g, o) -> dz`` (batch, 4*units), the gradient
    with respect to the pre-activations, blocks in Keras' order i, f, c, o."""
    return check_function(
        "gates_backward", fn, _gates_backward, _gates_backward_inputs,
        mistakes=_GATES_BACKWARD_MISTAKES,
        error_hint="Each input is (batch, units); concatenate the four blocks on the last axis.",
    )


__all__ += [
    "check_make_windows",
    "check_standardize",
    "check_output_backward",
    "check_cell_state_backward",
    "check_gates_backward",
]


# ---------------------------------------------------------------------------------------------
# Notebook 04: stacked LSTMs and their parameter counts
# ---------------------------------------------------------------------------------------------
def _lstm_count(input_dim, units, gates=4, recurrent=True, bias=1):
    return gates * (units * (input_dim + (units if recurrent else 0)) + bias * units)


def _count_inputs(rng: np.random.Generator) -> dict[str, int]:
    return {"input_dim": int(rng.integers(2, 40)), "units": int(rng.integers(2, 40))}


_COUNT_MISTAKES = (
    Mistake("that is one gate's worth: an LSTM has four (i, f, c, o), each with its own kernel, "
            "recurrent kernel and bias, so multiply by 4.",
            lambda input_dim, units: _lstm_count(input_dim, units, gates=1)),
    Mistake("forgot the biases: each of the 4 gates also has `units` bias values.",
            lambda input_dim, units: _lstm_count(input_dim, units, bias=0)),
    Mistake("forgot the recurrent kernel: each gate also multiplies h_{t-1} (units values) by "
            "a (units, units) matrix.",
            lambda input_dim, units: _lstm_count(input_dim, units, recurrent=False)),
    Mistake("two biases per gate is PyTorch's layout (b_ih + b_hh); Keras keeps one.",
            lambda input_dim, units: _lstm_count(input_dim, units, bias=2)),
    Mistake("three gates is a GRU; the LSTM has four blocks (i, f, c, o).",
            lambda input_dim, units: _lstm_count(input_dim, units, gates=3)),
)


def check_lstm_param_count(fn: Any) -> CheckResult:
    """Exercise 04.1: ``fn(input_dim, units) -> int``, the parameters of one Keras LSTM layer."""
    return check_function(
        "lstm_param_count", fn, _lstm_count, _count_inputs, mistakes=_COUNT_MISTAKES,
        error_hint="Both arguments are plain integers; return one integer.", atol=0, rtol=0,
    )


def _stack_inputs(rng: np.random.Generator) -> dict[str, Any]:
    depth = int(rng.integers(2, 5))
    return {"input_dim": int(rng.integers(2, 20)),
            "units": [int(u) for u in rng.integers(2, 20, size=depth)]}


def _stack_count(input_dim, units, chain=True, layers=None):
    total, width = 0, input_dim
    for u in units[:layers]:
        total += _lstm_count(width if chain else input_dim, u)
        width = u
    return total


_STACK_MISTAKES = (
    Mistake("every layer after the first reads the previous layer's output, so its input_dim "
            "is the previous layer's units, not the input's feature width.",
            lambda input_dim, units: _stack_count(input_dim, units, chain=False)),
    Mistake("you counted only the first layer; add up every layer of the stack.",
            lambda input_dim, units: _stack_count(input_dim, units, layers=1)),
    Mistake("you left out the last layer: sum over all of `units`.",
            lambda input_dim, units: _stack_count(input_dim, units, layers=-1)),
    Mistake("return the total (one integer), not one count per layer.",
            lambda input_dim, units: [_stack_count(input_dim, units[:k + 1])
                                      - _stack_count(input_dim, units[:k])
                                      for k in range(len(units))]),
)


def check_stack_param_count(fn: Any) -> CheckResult:
    """Exercise 04.2: ``fn(input_dim, units) -> int``, the parameters of a stack of LSTM layers
    with ``units`` (a list) on inputs of width ``input_dim``."""
    return check_function(
        "stack_param_count", fn, _stack_count, _stack_inputs, mistakes=_STACK_MISTAKES,
        error_hint="input_dim is an integer and units a list of integers, one per layer.",
        atol=0, rtol=0,
    )


def check_bidirectional_stack_count(answer: Any) -> CheckResult:
    """Exercise 04.3: the parameters of Bidirectional(LSTM(3, return_sequences=True)) followed
    by Bidirectional(LSTM(5)) on inputs of width 8 (concat merge mode)."""
    return check_answer(
        "bidirectional_stack_count", answer, 2 * 144 + 2 * _lstm_count(6, 5),
        wrong_answers={
            324: "that is the one-directional stack: Bidirectional holds two LSTMs per layer.",
            648: "each Bidirectional layer holds two LSTMs, yes; but the second one reads the "
                 "concatenation of both directions, so its input width is 2 * 3 = 6, not 3.",
            468: "the second layer is bidirectional too: two LSTMs, each reading width 6.",
            528: "the first layer is bidirectional too (2 * 144); the second reads width 6.",
        },
    )


__all__ += ["check_lstm_param_count", "check_stack_param_count",
            "check_bidirectional_stack_count"]


# ---------------------------------------------------------------------------------------------
# Notebook 05: cuDNN and speed
# ---------------------------------------------------------------------------------------------
def _mask_inputs(rng: np.random.Generator) -> dict[str, np.ndarray]:
    time = 6
    rows = [
        np.arange(time) < 3,  # right-padded
        np.ones(time, bool),  # no padding
        np.arange(time) >= 2,  # left-padded
        np.zeros(time, bool),  # fully masked
        np.array([1, 0, 1, 0, 0, 0], bool),  # a hole
        np.array([0, 1, 1, 1, 1, 1], bool),  # only the first step masked
        np.arange(time) < 1,  # one real step
    ]
    rows += [rng.random(time) < 0.6 for _ in range(3)]
    rows += [np.arange(time) < int(rng.integers(1, time + 1))]
    return {"mask": np.stack([rows[k] for k in rng.permutation(len(rows))])}


def _mask_ok(mask, empty_ok=False, any_order=False):
    mask = np.asarray(mask, bool)
    lengths = mask.sum(axis=1)
    right = (mask == (np.arange(mask.shape[1])[None, :] < lengths[:, None])).all(axis=1)
    if any_order:
        right = np.ones(mask.shape[0], bool)
    return right & (empty_ok | (lengths > 0))


_MASK_MISTAKES = (
    Mistake("a fully masked sample (no True at all) rules cuDNN out too: its length would be 0.",
            lambda mask: _mask_ok(mask, empty_ok=True)),
    Mistake("only the number of real steps is not enough: they must come first, then only "
            "padding (left padding or holes rule cuDNN out).",
            lambda mask: _mask_ok(mask, any_order=True)),
    Mistake("return one answer per sample (shape (batch,)); np.all of it answers for the batch.",
            lambda mask: bool(_mask_ok(mask).all())),
    Mistake("your answers are the other way round: True where the sample is fine for cuDNN.",
            lambda mask: ~_mask_ok(mask)),
)


def check_cudnn_mask(fn: Any) -> CheckResult:
    """Exercise 05.1: ``fn(mask) -> (batch,) bool``: for each sample, whether its mask row is
    strictly right-padded (some True, then only False) and not entirely False."""
    return check_function(
        "cudnn_mask", fn, _mask_ok, _mask_inputs, mistakes=_MASK_MISTAKES,
        error_hint="mask is a (batch, time) bool array; return a (batch,) bool array.",
    )


def _flops_inputs(rng: np.random.Generator) -> dict[str, int]:
    return {"batch": int(rng.integers(1, 65)), "steps": int(rng.integers(1, 101)),
            "features": int(rng.integers(1, 65)), "units": int(rng.integers(1, 129))}


def _flops(batch, steps, features, units, mult=2, gates=4, recurrent=True):
    return mult * steps * batch * gates * units * (features + (units if recurrent else 0))


_FLOPS_MISTAKES = (
    Mistake("a multiply-add is 2 floating point operations: a (B, K) @ (K, N) product costs "
            "2 B K N.",
            lambda batch, steps, features, units: _flops(batch, steps, features, units, mult=1)),
    Mistake("the products produce all four gate blocks at once: N = 4 * units columns.",
            lambda batch, steps, features, units: _flops(batch, steps, features, units,
                                                         gates=1)),
    Mistake("forgot the recurrent product h_{t-1} @ U (K = units) at every step.",
            lambda batch, steps, features, units: _flops(batch, steps, features, units,
                                                         recurrent=False)),
    Mistake("that is one step: the products run at every one of the `steps` time steps.",
            lambda batch, steps, features, units: _flops(batch, 1, features, units)),
)


def check_lstm_flops(fn: Any) -> CheckResult:
    """Exercise 05.2: ``fn(batch, steps, features, units) -> int``, the floating point
    operations of the matrix products of one LSTM forward pass."""
    return check_function(
        "lstm_flops", fn, _flops, _flops_inputs, mistakes=_FLOPS_MISTAKES, atol=0, rtol=0,
        error_hint="All four arguments are integers; return one number.",
    )


__all__ += ["check_cudnn_mask", "check_lstm_flops"]
