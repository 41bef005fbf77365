"""Notebook 00, ``00_setup_and_tour.ipynb``: the checkers of its exercises 00.1-00.2 (the shapes of
an LSTM layer's outputs, copying weights between cells)."""

from __future__ import annotations

from typing import Any

import numpy as np

from lstmkit.exercises.framework import CheckResult, _first_line, check_answer, hint, passed

__all__ = [
    "check_tour_shapes",
    "check_copy_weights",
]


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
