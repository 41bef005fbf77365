"""Argument and shape checks shared by lstmkit's cells and layers.

Each check raises a ``ValueError`` whose message names the argument, what was expected and what
was received, so a user never has to read a TensorFlow traceback to find a bad argument.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from typing import Any

from keras import activations


def check_units(units: Any) -> int:
    """Return ``units`` as an ``int`` if it is a positive integer, else raise ``ValueError``."""
    try:
        value = operator.index(units)
    except TypeError:
        value = None
    if value is None or isinstance(units, bool) or value <= 0:
        raise ValueError(
            f"Argument `units` must be a positive integer; received units={units!r}."
        )
    return value


def check_rate(name: str, rate: Any) -> float:
    """Return a dropout ``rate`` as a float in [0, 1], else raise ``ValueError`` naming ``name``."""
    try:
        value = float(rate)
    except (TypeError, ValueError):
        value = float("nan")
    if not 0.0 <= value <= 1.0:  # also rejects NaN
        raise ValueError(
            f"Argument `{name}` must be a float in [0, 1]; received {name}={rate!r}."
        )
    return value


def get_activation(name: str, identifier: Any) -> Callable:
    """Resolve an activation like ``keras.activations.get``; unknown names raise ``ValueError``.

    ``None`` means linear, as in Keras.
    """
    try:
        return activations.get(identifier)
    except (ValueError, TypeError) as err:
        raise ValueError(
            f"Argument `{name}` must be the name of a Keras activation (e.g. 'tanh', "
            f"'sigmoid', 'relu'), a callable or None; received {name}={identifier!r}."
        ) from err


def check_implementation(implementation: Any) -> int:
    """``implementation`` must be 1 (one product per gate) or 2 (one fused product)."""
    if implementation not in (1, 2) or isinstance(implementation, bool):
        raise ValueError(
            "Argument `implementation` must be 1 (one product per gate) or 2 (one fused "
            f"product); received implementation={implementation!r}."
        )
    return int(implementation)


def check_step_input(inputs: Any, input_dim: int, cell: str) -> None:
    """A cell's step input must have shape (batch, input_dim)."""
    shape = tuple(inputs.shape)
    if len(shape) != 2:
        raise ValueError(
            f"{cell} expects `inputs` of rank 2, shape (batch, {input_dim}); received a tensor "
            f"of shape {shape}. To process a sequence (batch, time, features), wrap the cell "
            "in keras.layers.RNN or loop over tf.unstack(x, axis=1)."
        )
    if shape[-1] is not None and shape[-1] != input_dim:
        raise ValueError(
            f"{cell} was built for inputs of width {input_dim}; received `inputs` of shape "
            f"{shape} (last dimension {shape[-1]})."
        )


def check_states(states: Any, units: int, count: int, batch: Any, cell: str) -> list:
    """Return ``states`` as a list after checking its count and that each has shape (batch, units).

    A single tensor is accepted where one state is expected, as Keras' SimpleRNNCell does.
    """
    if not isinstance(states, (list, tuple)):
        states = [states]
    states = list(states)
    if len(states) != count:
        expected = "[h, c]" if count == 2 else "[h]"
        raise ValueError(
            f"{cell} expects `states` to be a list of {count} tensor(s) {expected}, each of "
            f"shape (batch, {units}); received {len(states)}."
        )
    for index, state in enumerate(states):
        shape = tuple(state.shape)
        batch_ok = batch is None or shape[:1] == (None,) or shape[:1] == (batch,)
        if len(shape) != 2 or shape[-1] not in (None, units) or not batch_ok:
            raise ValueError(
                f"{cell} expects `states[{index}]` of shape ({batch if batch else 'batch'}, "
                f"{units}); received shape {shape}."
            )
    return states

