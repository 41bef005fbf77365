r"""Parameter counts of recurrent layers, from their shapes alone.

A SimpleRNN layer of :math:`u` units on inputs of width :math:`d` holds ``kernel``
:math:`W` (:math:`d \times u`), ``recurrent_kernel`` :math:`U` (:math:`u \times u`) and ``bias``
:math:`b` (:math:`u`):

.. math::

    N_\text{rnn} = u\,(d + u) + u

An LSTM holds the same three for each of its four gates (i, f, c, o), side by side:

.. math::

    N_\text{lstm} = 4\,\bigl(u\,(d + u) + u\bigr)

A GRU has three blocks (z, r, h) instead of four, and with ``reset_after=True`` (Keras'
default) a second bias row :math:`\beta` for the recurrent product:

.. math::

    N_\text{gru} = 3\,u\,(d + u) + 3u\,(1 + [\text{reset\_after}])

In a stack, the input width of each layer is the number of units of the one below. So
``Input((4, 8)) -> LSTM(3, return_sequences=True) -> LSTM(5)`` holds
:math:`4(3 \cdot 11 + 3) + 4(5 \cdot 8 + 5) = 144 + 180 = 324` parameters.
"""

from __future__ import annotations

from collections.abc import Sequence

from lstmkit.validation import positive_int

__all__ = ["gru_params", "lstm_params", "simple_rnn_params", "stacked_lstm_params"]


def simple_rnn_params(input_dim: int, units: int, use_bias: bool = True) -> int:
    r"""Parameters of a SimpleRNN layer: :math:`u(d + u) + u` (without the :math:`+u` if no bias).

    Args:
        input_dim: :math:`d`, the width of each input step (a positive integer).
        units: :math:`u`, the width of the state (a positive integer).
        use_bias: Whether the layer has a bias. Defaults to `True`.

    Returns:
        The number of scalar weights.

    Raises:
        ValueError: If ``input_dim`` or ``units`` is not a positive integer.

    Example:

    >>> lstmkit.params.simple_rnn_params(8, 3)  # 3 (8 + 3) + 3
    36
    >>> lstmkit.params.simple_rnn_params(8, 3, use_bias=False)
    33
    """
    d, u = positive_int("input_dim", input_dim), positive_int("units", units)
    return u * (d + u) + (u if use_bias else 0)


def lstm_params(input_dim: int, units: int, use_bias: bool = True) -> int:
    r"""Parameters of an LSTM layer: :math:`4\,(u(d + u) + u)` (without the :math:`+u` if no bias).

    Args:
        input_dim: :math:`d`, the width of each input step (a positive integer).
        units: :math:`u`, the width of :math:`h` and :math:`c` (a positive integer).
        use_bias: Whether the layer has biases. Defaults to `True`.

    Returns:
        The number of scalar weights.

    Raises:
        ValueError: If ``input_dim`` or ``units`` is not a positive integer.

    Example:

    >>> lstmkit.params.lstm_params(8, 3)  # 4 (3 (8 + 3) + 3)
    144
    >>> layer = lstmkit.LSTM(3)
    >>> layer.build((None, 4, 8))
    >>> layer.count_params()
    144
    """
    return 4 * simple_rnn_params(input_dim, units, use_bias)


def gru_params(
    input_dim: int, units: int, use_bias: bool = True, reset_after: bool = True
) -> int:
    r"""Parameters of a GRU layer: :math:`3u(d + u)`, plus :math:`6u` of biases with
    ``reset_after=True`` (two rows, input and recurrent) or :math:`3u` with ``reset_after=False``.

    Args:
        input_dim: :math:`d`, the width of each input step (a positive integer).
        units: :math:`u`, the width of :math:`h` (a positive integer).
        use_bias: Whether the layer has biases. Defaults to `True`.
        reset_after: Keras' ``reset_after`` (two bias rows when True). Defaults to `True`.

    Returns:
        The number of scalar weights.

    Raises:
        ValueError: If ``input_dim`` or ``units`` is not a positive integer.

    Example:

    >>> lstmkit.params.gru_params(8, 3)  # 3 * 3 (8 + 3) + 2 * 3 * 3
    117
    >>> lstmkit.params.gru_params(8, 3, reset_after=False)
    108
    >>> layer = lstmkit.GRU(3)
    >>> layer.build((None, 4, 8))
    >>> layer.count_params()
    117
    """
    d, u = positive_int("input_dim", input_dim), positive_int("units", units)
    return 3 * u * (d + u) + ((6 * u if reset_after else 3 * u) if use_bias else 0)


def stacked_lstm_params(input_dim: int, units: Sequence[int], use_bias: bool = True) -> list[int]:
    r"""Parameters of each layer of a stack of LSTMs; layer k reads the units of layer k-1.

    .. math::

        N_k = 4\,\bigl(u_k\,(u_{k-1} + u_k) + u_k\bigr), \qquad u_0 = d

    Args:
        input_dim: :math:`d`, the width of each input step of the bottom layer.
        units: :math:`u_1, \dots, u_K`, the units of each layer, bottom to top.
        use_bias: Whether the layers have biases. Defaults to `True`.

    Returns:
        One count per layer, bottom to top.

    Raises:
        ValueError: If ``input_dim`` or an entry of ``units`` is not a positive integer.

    Example:

    >>> lstmkit.params.stacked_lstm_params(8, [3, 5])
    [144, 180]
    """
    units = list(units)
    widths = [input_dim, *units[:-1]]
    return [lstm_params(d, u, use_bias) for d, u in zip(widths, units, strict=True)]
