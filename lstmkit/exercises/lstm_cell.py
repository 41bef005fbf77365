"""Notebook 02, ``02_lstm_cell_from_scratch.ipynb``: the checkers of its exercises 02.1-02.3 (a
peephole LSTM cell, unit_forget_bias, PyTorch weights to Keras)."""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np

from lstmkit.exercises.framework import (
    _GATES,
    CheckResult,
    Mistake,
    _first_line,
    _sigmoid,
    check_function,
    hint,
    passed,
)

__all__ = [
    "check_peephole_cell",
    "check_unit_forget_bias",
    "check_torch_to_keras",
]

_PEEPHOLES = ("peephole_i", "peephole_f", "peephole_o")
_WEIGHTS = ("kernel", "recurrent_kernel", "bias", *_PEEPHOLES)


def _peephole_inputs(rng: np.random.Generator) -> dict[str, np.ndarray]:
    batch, input_dim, units = 3, 5, 4
    return {
        "x": rng.normal(size=(batch, input_dim)),
        "h_prev": rng.normal(size=(batch, units)) * 0.5,
        "c_prev": rng.normal(size=(batch, units)),
        "kernel": rng.normal(size=(input_dim, 4 * units)) * 0.5,
        "recurrent_kernel": rng.normal(size=(units, 4 * units)) * 0.5,
        "bias": rng.normal(size=(4 * units,)) * 0.5,
        "peephole_i": rng.normal(size=(units,)),
        "peephole_f": rng.normal(size=(units,)),
        "peephole_o": rng.normal(size=(units,)),
    }


def _peephole(x, h_prev, c_prev, kernel, recurrent_kernel, bias, p_i, p_f, p_o, *,
              order=_GATES, o_sees_new=True, inside=True, peep="ifo", tanh_c=True):
    """The peephole LSTM step (Gers & Schmidhuber, 2000) in NumPy, or a known variant of it."""
    z = x @ kernel + h_prev @ recurrent_kernel + bias
    blocks = dict(zip(order, np.split(z, 4, axis=-1), strict=True))

    def gate(k: str, p: np.ndarray, c: np.ndarray) -> np.ndarray:
        if k not in peep:
            return _sigmoid(blocks[k])
        return _sigmoid(blocks[k] + p * c) if inside else _sigmoid(blocks[k]) + p * c

    i, f = gate("i", p_i, c_prev), gate("f", p_f, c_prev)
    c = f * c_prev + i * np.tanh(blocks["c"])
    o = gate("o", p_o, c if o_sees_new else c_prev)
    return o * (np.tanh(c) if tanh_c else c), c


def _gate_order_mistake(order: str) -> Mistake:
    return Mistake(
        f"wrong gate order: your cell reads the column blocks as {', '.join(order)}, but "
        "Keras' layout (which the cell's weights follow) is i, f, c, o.",
        lambda *args: _peephole(*args, order=order),
    )


_PEEPHOLE_MISTAKES = (
    Mistake("the output gate looks at the *new* cell state: compute c_t first, then "
            "o_t = sigmoid(z_o + p_o * c_t); i and f look at c_{t-1}.",
            lambda *args: _peephole(*args, o_sees_new=False)),
    Mistake("your cell ignores the peepholes: add p_i * c_{t-1}, p_f * c_{t-1} and p_o * c_t "
            "to the pre-activations of i, f and o.",
            lambda *args: _peephole(*args, peep="")),
    Mistake("the output gate has a peephole too: o_t = sigmoid(z_o + p_o * c_t).",
            lambda *args: _peephole(*args, peep="if")),
    Mistake("the input gate has a peephole too: i_t = sigmoid(z_i + p_i * c_{t-1}).",
            lambda *args: _peephole(*args, peep="fo")),
    Mistake("the forget gate has a peephole too: f_t = sigmoid(z_f + p_f * c_{t-1}).",
            lambda *args: _peephole(*args, peep="io")),
    Mistake("p_i belongs to the input gate and p_f to the forget gate; yours are swapped.",
            lambda x, h, c, k, r, b, p_i, p_f, p_o: _peephole(x, h, c, k, r, b, p_f, p_i, p_o)),
    Mistake("the peephole term goes inside the sigmoid: i_t = sigmoid(z_i + p_i * c_{t-1}), "
            "not sigmoid(z_i) + p_i * c_{t-1}.",
            lambda *args: _peephole(*args, inside=False)),
    Mistake("h_t = o_t * tanh(c_t): you forgot the tanh on the new cell state.",
            lambda *args: _peephole(*args, tanh_c=False)),
    Mistake("return (h_t, [h_t, c_t]): the new states are h, then c.",
            lambda *args: _peephole(*args)[::-1]),
    *(_gate_order_mistake("".join(p)) for p in itertools.permutations(_GATES)
      if "".join(p) != _GATES),
)


def _tensor(value: np.ndarray) -> Any:
    import keras

    return keras.ops.convert_to_tensor(np.asarray(value, dtype="float32"))


def _stepper(cell_class: Any) -> Any:
    """``cell_class`` as a function of one step's inputs and weights, returning ``(h, c)``."""
    import keras

    def step(x, h_prev, c_prev, kernel, recurrent_kernel, bias, p_i, p_f, p_o):
        cell = cell_class(h_prev.shape[-1])
        cell.build((None, x.shape[-1]))
        for name, value in zip(_WEIGHTS, (kernel, recurrent_kernel, bias, p_i, p_f, p_o),
                               strict=True):
            getattr(cell, name).assign(value.astype("float32"))
        output, states = cell(_tensor(x), [_tensor(h_prev), _tensor(c_prev)])
        return keras.ops.convert_to_numpy(output), keras.ops.convert_to_numpy(states[1])

    return step


def _structure_hint(cell_class: Any) -> str | None:
    """What is wrong with the cell's weights or its return structure, if anything."""
    import keras

    units, input_dim = 3, 2
    try:
        cell = cell_class(units)
        cell.build((None, input_dim))
    except Exception as err:  # noqa: BLE001 - any error of the learner's code is a hint
        return (f"building your cell raised {type(err).__name__}: {_first_line(err)}. Keep the "
                "exercise's __init__ and build.")
    shapes = {"kernel": (input_dim, 4 * units), "recurrent_kernel": (units, 4 * units),
              "bias": (4 * units,), **dict.fromkeys(_PEEPHOLES, (units,))}
    for name, shape in shapes.items():
        weight = getattr(cell, name, None)
        if weight is None or tuple(weight.shape) != shape:
            return (f"the cell needs a weight `{name}` of shape {shape} after build: keep the "
                    "exercise's build.")
    x = _tensor(np.ones((2, input_dim)))
    try:
        result = cell(x, [_tensor(np.zeros((2, units))), _tensor(np.ones((2, units)))])
    except Exception as err:  # noqa: BLE001
        return (f"calling your cell raised {type(err).__name__}: {_first_line(err)}. In call, "
                "`h_prev, c_prev = states`; the peepholes are vectors of `units` values, so "
                "they multiply elementwise (p * c), no matmul.")
    if result is None:
        return "your call returned None: replace `return None` with your code."
    if not isinstance(result, (tuple, list)) or len(result) != 2 or not isinstance(
            result[1], (tuple, list)) or len(result[1]) != 2:
        return "call must return (h_t, [h_t, c_t]): the output, then the list of the two states."
    output, first, second = (keras.ops.convert_to_numpy(v) for v in (result[0], *result[1]))
    if not np.array_equal(output, first):
        if np.array_equal(output, second):
            return "the new states are [h_t, c_t] in that order (as state_size says): h first."
        return "the output is h_t itself: return (h, [h, c])."
    return None


def check_peephole_cell(cell_class: Any) -> CheckResult:
    r"""Exercise 02.1: ``cell_class(units)`` is a Keras cell whose ``build`` creates ``kernel``,
    ``recurrent_kernel``, ``bias`` (Keras' layout, blocks i, f, c, o) and the peephole vectors
    ``peephole_i``, ``peephole_f``, ``peephole_o`` (units,), and whose ``call(inputs, [h, c])``
    computes the peephole LSTM step (Gers & Schmidhuber, 2000):

    .. math::

        i_t = \sigma(z_i + p_i \odot c_{t-1}), \quad f_t = \sigma(z_f + p_f \odot c_{t-1}),
        \quad c_t = f_t \odot c_{t-1} + i_t \odot \tanh(z_c), \quad
        o_t = \sigma(z_o + p_o \odot c_t), \quad h_t = o_t \odot \tanh(c_t)

    It is compared with a NumPy reference on random weights and states."""
    name = "peephole_cell"
    if not isinstance(cell_class, type):
        return hint(name, f"expected a class (a Keras cell), got a {type(cell_class).__name__}.")
    problem = _structure_hint(cell_class)
    if problem:
        return hint(name, problem)
    result = check_function(
        name, _stepper(cell_class), _peephole, _peephole_inputs, mistakes=_PEEPHOLE_MISTAKES,
        error_hint="the peepholes are vectors: p * c elementwise; z = x @ kernel + h_prev @ "
                   "recurrent_kernel + bias is (batch, 4*units), split into 4 blocks.")
    return passed(name, "your cell matches the NumPy peephole LSTM on 3 random weights and "
                        "states.") if result else result


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
