"""Ready-made models built from lstmkit's layers."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import keras

from lstmkit.layers import LSTM

__all__ = ["stacked_lstm"]


def stacked_lstm(
    units: Sequence[int] = (3, 5),
    input_shape: tuple = (4, 8),
    return_sequences: bool = False,
    *,
    batch_size: int | None = None,
    name: str | None = None,
    **layer_kwargs: Any,
) -> keras.Sequential:
    """A ``keras.Sequential`` stack of ``lstmkit.LSTM`` layers, one per entry of ``units``.

    Every layer but the last returns its whole sequence, since the next layer needs one input
    per time step; the last returns only its final output unless ``return_sequences``.

    Args:
        units: Units of each layer, bottom to top, e.g. ``(3, 5)``.
        input_shape: ``(timesteps, features)`` of one sample; ``timesteps`` may be None.
        return_sequences: Whether the last layer returns every step, (batch, time, units[-1]),
            instead of (batch, units[-1]).
        batch_size: A fixed batch size (needed with ``stateful=True``).
        name: Name of the model.
        **layer_kwargs: Passed to every ``lstmkit.LSTM`` (dropout, stateful, use_cudnn, ...).

    Returns:
        The model, built: ``stacked_lstm().count_params() == 144 + 180``.
    """
    units = list(units)
    if not units:
        raise ValueError("Argument `units` must list at least one layer size; received [].")
    if len(tuple(input_shape)) != 2:
        raise ValueError(
            "Argument `input_shape` must be (timesteps, features); "
            f"received input_shape={input_shape!r}."
        )
    layers = [
        LSTM(size, return_sequences=return_sequences or k < len(units) - 1, **layer_kwargs)
        for k, size in enumerate(units)
    ]
    return keras.Sequential(
        [keras.Input(tuple(input_shape), batch_size=batch_size), *layers], name=name
    )
