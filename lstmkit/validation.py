"""Argument and shape checks shared by lstmkit's cells, layers, parameter counts and data helpers.

Each check raises a ``ValueError`` whose message names the argument, what was expected and what
was received, as Keras does ("Argument `units` must be a positive integer; received units=0."),
so a user never has to read a TensorFlow traceback to find a bad argument.

The value checks (:func:`positive_int`, :func:`rate`, :func:`fraction`, :func:`one_of`,
:func:`get_activation`) import nothing heavy when this module loads, so plain-NumPy modules
(:mod:`lstmkit.params`, :mod:`lstmkit.data`) use them too. (The command line's argparse types in
``lstmkit_cli/arguments.py`` parse strings and must not import lstmkit; they stay separate.)
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Sequence
from typing import Any


def positive_int(name: str, value: Any) -> int:
    """Return ``value`` as an ``int`` if it is a positive integer (not a bool), else raise
    ``ValueError`` naming ``name``."""
    try:
        number = operator.index(value)
    except TypeError:
        number = None
    if number is None or isinstance(value, bool) or number <= 0:
        raise ValueError(
            f"Argument `{name}` must be a positive integer; received {name}={value!r}."
        )
    return number


def _unit_interval(name: str, value: Any, include_one: bool, allow_bool: bool) -> float:
    """``value`` as a float in [0, 1] (``include_one``) or [0, 1), else a ``ValueError``."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = float("nan")
    if isinstance(value, bool) and not allow_bool:
        number = float("nan")
    if not (0.0 <= number <= 1.0 and (include_one or number < 1.0)):  # also rejects NaN
        interval = "[0, 1]" if include_one else "[0, 1)"
        raise ValueError(
            f"Argument `{name}` must be a float in {interval}; received {name}={value!r}."
        )
    return number


def rate(name: str, value: Any) -> float:
    """Return a dropout rate as a float in [0, 1], else raise ``ValueError`` naming ``name``.

    1 drops everything, as Keras allows; like Keras, a bool counts as 0 or 1.
    """
    return _unit_interval(name, value, include_one=True, allow_bool=True)


def fraction(name: str, value: Any) -> float:
    """Return a share of the data as a float in [0, 1), else raise ``ValueError`` naming
    ``name``; a bool is rejected."""
    return _unit_interval(name, value, include_one=False, allow_bool=False)


def _matches(value: Any, choice: Any) -> bool:
    """``value == choice``, where a bool only matches a bool (``1`` is not ``True``)."""
    if isinstance(value, bool) != isinstance(choice, bool):
        return False
    try:
        return bool(value == choice)
    except (TypeError, ValueError):  # arrays and other values without a plain truth value
        return False


def one_of(name: str, value: Any, choices: Sequence[Any], meanings: Sequence[str] = ()) -> Any:
    """Return the entry of ``choices`` that ``value`` equals (a bool only equals a bool), else
    raise ``ValueError`` naming ``name`` and listing the choices, each followed by its entry of
    ``meanings`` in parentheses when given."""
    for choice in choices:
        if _matches(value, choice):
            return choice
    meanings = [*meanings, *[""] * (len(choices) - len(meanings))]
    words = [repr(c) + (f" ({m})" if m else "") for c, m in zip(choices, meanings, strict=True)]
    listed = words[0] if len(words) == 1 else f"{', '.join(words[:-1])} or {words[-1]}"
    raise ValueError(f"Argument `{name}` must be {listed}; received {name}={value!r}.")


def get_activation(name: str, identifier: Any) -> Callable:
    """Resolve an activation like ``keras.activations.get``; unknown names raise ``ValueError``.

    ``None`` means linear, as in Keras.
    """
    from keras import activations  # here: the value checks above need no Keras

    try:
        return activations.get(identifier)
    except (ValueError, TypeError) as err:
        raise ValueError(
            f"Argument `{name}` must be the name of a Keras activation (e.g. 'tanh', "
            f"'sigmoid', 'relu'), a callable or None; received {name}={identifier!r}."
        ) from err


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

