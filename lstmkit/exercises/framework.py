"""The checking framework the notebooks' exercise checkers are built on.

A checker runs the learner's function on a few random inputs, compares it with a reference, and
returns a :class:`CheckResult`: a pass, or a hint naming the most likely mistake. For whoever
adds a checker:

- :class:`Mistake` models one failure mode as a *wrong reference*: a function computing what an
  implementation with that mistake returns, and the hint to give when the learner's output
  matches it. Mapping outputs to known mistakes gives specific hints without parsing code.
- :func:`check_function` runs a candidate against a reference and a list of mistakes on random
  inputs, and handles the generic failures (returned ``None``, raised, wrong structure, wrong
  shape, wrong values).
- :func:`check_answer` checks a plain value (a number, a shape, a string) against the expected
  one, with hints for known wrong answers.

Also here: what several notebooks' checkers share (``_sigmoid``; the NumPy LSTM step ``_lstm``
and Keras' gate order ``_GATES``, used by notebooks 02, 03 and 07).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = [
    "CheckResult",
    "Mistake",
    "check_answer",
    "check_function",
]

PASS = "PASS"
HINT = "NOT YET"


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
    """The first line of ``err``'s message, without the line Keras puts before a layer's own
    error ("Exception encountered when calling ...") and without terminal colours."""
    lines = [re.sub(r"\x1b\[[0-9;]*m", "", line).strip() for line in str(err).splitlines()]
    lines = [line for line in lines
             if line and not line.startswith("Exception encountered when calling")]
    return lines[0][:200] if lines else ""


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


# NumPy references shared by several notebooks' checkers (02 and 03: the LSTM step;
# 02 and 07: Keras' gate order)
_GATES = "ifco"  # Keras' column blocks: input, forget, candidate (c), output


def _lstm(x, h_prev, c_prev, kernel, recurrent_kernel, bias, order=_GATES, use_bias=True,
          candidate=np.tanh, tanh_c=True, forget=True):
    z = x @ kernel + h_prev @ recurrent_kernel + (bias if use_bias else 0.0)
    blocks = dict(zip(order, np.split(z, 4, axis=-1), strict=True))
    i, f, o = _sigmoid(blocks["i"]), _sigmoid(blocks["f"]), _sigmoid(blocks["o"])
    g = candidate(blocks["c"])
    c = (f * c_prev if forget else 0.0) + i * g
    h = o * (np.tanh(c) if tanh_c else c)
    return h, c
