"""Notebook 00, ``00_setup_and_tour.ipynb``: the checkers of its exercises 00.1-00.2 (the shapes
a recurrent layer returns in every configuration, copying weights between cells)."""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np

from lstmkit.exercises.framework import CheckResult, Mistake, _first_line, hint, passed

__all__ = [
    "check_returned_shapes",
    "check_copy_weights",
]

_CELLS = ("lstm", "simple_rnn")


def _returned_shapes(cell, batch, steps, features, units, return_sequences, return_state):
    output = (batch, steps, units) if return_sequences else (batch, units)
    if not return_state:
        return [output]
    return [output] + [(batch, units)] * (2 if cell == "lstm" else 1)


def _with_states(cell, batch, units, output, states):
    return [output] + [(batch, units)] * states


_SHAPE_MISTAKES = (
    Mistake("with return_sequences=False the output is the last step only: (batch, units).",
            lambda cell, b, t, f, u, seq, st: _with_states(cell, b, u, (b, t, u),
                                                           (2 if cell == "lstm" else 1) * st)),
    Mistake("with return_sequences=True the output holds every step: (batch, steps, units).",
            lambda cell, b, t, f, u, seq, st: _with_states(cell, b, u, (b, u),
                                                           (2 if cell == "lstm" else 1) * st)),
    Mistake("a simple RNN has one state, h; only the LSTM has two (h and c).",
            lambda cell, b, t, f, u, seq, st: _returned_shapes("lstm", b, t, f, u, seq, st)),
    Mistake("an LSTM has two states, h and c: with return_state=True the layer returns "
            "[output, h, c].",
            lambda cell, b, t, f, u, seq, st: _returned_shapes("simple_rnn", b, t, f, u, seq, st)),
    Mistake("return_state=True adds the final states *after* the output: the output stays in "
            "the list, first.",
            lambda cell, b, t, f, u, seq, st: _returned_shapes(cell, b, t, f, u, seq, st)[1:]
            if st else [(b, t, u) if seq else (b, u)]),
    Mistake("return_state=False returns the output alone: a list of one shape.",
            lambda cell, b, t, f, u, seq, st: _with_states(cell, b, u, (b, t, u) if seq
                                                           else (b, u), 2 if cell == "lstm"
                                                           else 1)),
    Mistake("the width of the outputs and states is `units`, not the number of input features.",
            lambda cell, b, t, f, u, seq, st: _returned_shapes(cell, b, t, f, f, seq, st)),
    Mistake("Keras puts the batch axis first: a sequence output is (batch, steps, units).",
            lambda cell, b, t, f, u, seq, st: [
                (t, b, u) if len(s) == 3 else s
                for s in _returned_shapes(cell, b, t, f, u, seq, st)]),
    Mistake("return_state gives the final states only, one (batch, units) each, even with "
            "return_sequences=True.",
            lambda cell, b, t, f, u, seq, st: [
                (b, t, u) if seq else s for s in _returned_shapes(cell, b, t, f, u, seq, st)]),
)


def _as_shapes(value: Any) -> Any:
    """``[(2, 3), [4, 5]]`` -> ``((2, 3), (4, 5))``; anything else unchanged."""
    try:
        return tuple(tuple(int(n) for n in shape) for shape in value)
    except (TypeError, ValueError):
        return value


def check_returned_shapes(fn: Any) -> CheckResult:
    """Exercise 00.1: ``fn(cell, batch, steps, features, units, return_sequences,
    return_state)`` returns the list of shapes (tuples) of the tensors that
    ``keras.layers.RNN(cell, return_sequences=..., return_state=...)`` returns on an input of
    shape ``(batch, steps, features)``, for ``cell`` ``"lstm"`` (an LSTM cell of width
    ``units``) or ``"simple_rnn"``. Checked on every configuration, with sizes all different."""
    name = "returned_shapes"
    if not callable(fn):
        return hint(name, f"expected a function, got a {type(fn).__name__}.")
    sizes = {"batch": 7, "steps": 5, "features": 3, "units": 4}
    for cell, seq, state in itertools.product(_CELLS, (True, False), (True, False)):
        args = (cell, *sizes.values(), seq, state)
        where = f"for {cell} with return_sequences={seq}, return_state={state}"
        try:
            got = fn(*args)
        except Exception as err:  # noqa: BLE001 - any error of the learner's code is a hint
            return hint(name, f"{where} your function raised {type(err).__name__}: "
                              f"{_first_line(err)}")
        if got is None:
            return hint(name, "your function returned None: replace `return None` with your "
                              "code and return the list of shapes.")
        got = _as_shapes(got)
        if got == _as_shapes(_returned_shapes(*args)):
            continue
        for mistake in _SHAPE_MISTAKES:
            if got == _as_shapes(mistake.compute(*args)):
                return hint(name, f"{where}: {mistake.hint}")
        return hint(name, f"{where} you returned {got!r}; expected "
                          f"{len(_returned_shapes(*args))} shape(s). Which tensors does the "
                          "layer return, and which axes does each have?")
    return passed(name, "right for both cells in all four configurations.")


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
