"""Ready-made models built from lstmkit's layers."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import keras

from lstmkit.gru import GRU
from lstmkit.layers import LSTM
from lstmkit.validation import one_of

__all__ = ["stacked_lstm"]


def stacked_lstm(
    units: Sequence[int] = (3, 5),
    input_shape: tuple = (4, 8),
    return_sequences: bool = False,
    *,
    batch_size: int | None = None,
    name: str | None = None,
    cell: str = "lstm",
    **layer_kwargs: Any,
) -> keras.Sequential:
    """A ``keras.Sequential`` stack of ``lstmkit.LSTM`` (or ``lstmkit.GRU``) layers, one per
    entry of ``units``.

    Every layer but the last returns its whole sequence, since the next layer needs one input
    per time step; the last returns only its final output unless ``return_sequences``.

    Args:
        units: Units of each layer, bottom to top. Defaults to `(3, 5)`.
        input_shape: ``(timesteps, features)`` of one sample; ``timesteps`` may be None.
            Defaults to `(4, 8)`.
        return_sequences: Whether the last layer returns every step, (batch, time, units[-1]),
            instead of (batch, units[-1]). Defaults to `False`.
        batch_size: A fixed batch size (needed with ``stateful=True``). Defaults to `None`.
        name: Name of the model. Defaults to `None` (Keras picks one).
        cell: ``"lstm"`` (``lstmkit.LSTM`` layers) or ``"gru"`` (``lstmkit.GRU``). Defaults
            to `"lstm"`.
        **layer_kwargs: Passed to every layer (dropout, stateful, use_cudnn, ...).

    Returns:
        The model, built.

    Raises:
        ValueError: If ``units`` is empty, ``input_shape`` is not (timesteps, features) or
            ``cell`` is not "lstm" or "gru"; the layers raise for bad layer arguments.

    Example:

    >>> model = lstmkit.models.stacked_lstm((3, 5), input_shape=(4, 8))
    >>> model.count_params()  # 4 (3 (8 + 3) + 3) + 4 (5 (3 + 5) + 5)
    324
    >>> tuple(model(np.zeros((2, 4, 8), "float32")).shape)
    (2, 5)
    >>> lstmkit.models.stacked_lstm((3, 5), input_shape=(4, 8), cell="gru").count_params()
    267
    """
    layer_cls = {"lstm": LSTM, "gru": GRU}[one_of("cell", cell, ("lstm", "gru"))]
    units = list(units)
    if not units:
        raise ValueError("Argument `units` must list at least one layer size; received [].")
    if len(tuple(input_shape)) != 2:
        raise ValueError(
            "Argument `input_shape` must be (timesteps, features); "
            f"received input_shape={input_shape!r}."
        )
    layers = [
        layer_cls(size, return_sequences=return_sequences or k < len(units) - 1, **layer_kwargs)
        for k, size in enumerate(units)
    ]
    return keras.Sequential(
        [keras.Input(tuple(input_shape), batch_size=batch_size), *layers], name=name
    )
