r"""Convert recurrent weights between Keras' layout and PyTorch's nn.LSTM, nn.GRU and nn.RNN.

Plain NumPy: no PyTorch needed. Pass PyTorch tensors as ``t.detach().cpu().numpy()`` (or
anything ``np.asarray`` accepts) and load the results with
``module.load_state_dict({k: torch.from_numpy(v) for k, v in d.items()}, strict=False)``.

Both libraries compute :math:`z = x W + h U + b` with the gate blocks in the same order
(i, f, g, o for the LSTM; Keras calls the candidate block "c"). They differ in two ways:

- PyTorch stores each matrix transposed: ``weight_ih_l0`` (G*H, D) is Keras' ``kernel``
  (D, G*H) transposed, ``weight_hh_l0`` (G*H, H) is ``recurrent_kernel`` (H, G*H) transposed;
- PyTorch has two biases, ``bias_ih_l0`` and ``bias_hh_l0``, that are only ever added:
  Keras' single ``bias`` is their sum (and converting back puts it all in ``bias_ih_l0``).

The GRU (``nn.GRU``) differs once more: PyTorch orders its blocks r, z, n where Keras orders
them z, r, h (the two gates swap), and it applies the reset gate to the recurrent product
*including* ``bias_hh``, :math:`n = \tanh(x W_n + b_{in} + r \odot (h U_n + b_{hn}))`: Keras'
``reset_after=True``, whose ``bias`` rows are ``bias_ih`` and ``bias_hh`` (they are not summed).
Keras' ``reset_after=False`` GRU has no PyTorch equivalent.

Here G = 4 for the LSTM, 3 for the GRU and 1 for the simple RNN, H = units, D = input width,
and ``l0`` is the layer index of a multi-layer PyTorch module.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

__all__ = [
    "gru_from_pytorch",
    "gru_to_pytorch",
    "lstm_from_pytorch",
    "lstm_to_pytorch",
    "simple_rnn_from_pytorch",
    "simple_rnn_to_pytorch",
]


def _keras_weights(weights: Any, gates: int, kind: str) -> list[np.ndarray]:
    if hasattr(weights, "get_weights"):
        weights = weights.get_weights()
    arrays = [np.asarray(w) for w in weights]
    if len(arrays) not in (2, 3):
        raise ValueError(
            f"{kind} weights must be [kernel, recurrent_kernel] or [kernel, recurrent_kernel, "
            f"bias] (as get_weights() returns them); received {len(arrays)} arrays."
        )
    kernel, recurrent_kernel, *bias = arrays
    units = recurrent_kernel.shape[0] if recurrent_kernel.ndim == 2 else -1
    expected = [(kernel.shape[0], gates * units), (units, gates * units), (gates * units,)]
    for name, array, shape in zip(
        ("kernel", "recurrent_kernel", "bias"), arrays, expected, strict=False
    ):
        if array.shape != shape:
            raise ValueError(
                f"{kind} `{name}` must have shape {shape} (units={units}, {gates} gate "
                f"block(s)); received shape {array.shape}."
            )
    return arrays


def _to_pytorch(weights: Any, gates: int, layer: int, kind: str) -> dict[str, np.ndarray]:
    kernel, recurrent_kernel, *bias = _keras_weights(weights, gates, kind)
    state = {
        f"weight_ih_l{layer}": np.ascontiguousarray(kernel.T),
        f"weight_hh_l{layer}": np.ascontiguousarray(recurrent_kernel.T),
    }
    if bias:
        state[f"bias_ih_l{layer}"] = bias[0].copy()
        state[f"bias_hh_l{layer}"] = np.zeros_like(bias[0])
    return state


def _from_pytorch(
    state: Mapping[str, Any], gates: int, layer: int, kind: str
) -> list[np.ndarray]:
    names = [f"weight_ih_l{layer}", f"weight_hh_l{layer}"]
    missing = [name for name in names if name not in state]
    if missing:
        raise ValueError(
            f"PyTorch {kind} state must contain {names} (and optionally the biases); missing "
            f"{missing}, received keys {sorted(state)}."
        )
    w_ih, w_hh = (np.asarray(state[name]) for name in names)
    hidden = w_hh.shape[-1]
    if w_ih.ndim != 2 or w_hh.shape != (gates * hidden, hidden) or w_ih.shape[0] != gates * hidden:
        raise ValueError(
            f"PyTorch {kind} weights must be weight_ih (G*H, D) and weight_hh (G*H, H) with "
            f"G={gates}; received {w_ih.shape} and {w_hh.shape}."
        )
    weights = [np.ascontiguousarray(w_ih.T), np.ascontiguousarray(w_hh.T)]
    bias_names = (f"bias_ih_l{layer}", f"bias_hh_l{layer}")
    biases = [np.asarray(state[name]) for name in bias_names if name in state]
    if biases:
        weights.append(np.sum(biases, axis=0).astype(w_ih.dtype))
    return weights


def lstm_to_pytorch(weights: Sequence[Any] | Any, layer: int = 0) -> dict[str, np.ndarray]:
    r"""Keras LSTM weights -> ``nn.LSTM`` state: ``weight_ih = kernel``:math:`^T`,
    ``weight_hh = recurrent_kernel``:math:`^T`, ``bias_ih = bias``, ``bias_hh = 0``.

    Args:
        weights: ``layer.get_weights()`` of an LSTM (lstmkit's or Keras'), or the layer.
        layer: Layer index in the PyTorch module (the ``l0`` suffix). Defaults to `0`.

    Returns:
        ``{"weight_ih_l0": (4H, D), "weight_hh_l0": (4H, H), "bias_ih_l0": (4H,),
        "bias_hh_l0": (4H,)}`` (no biases if the Keras layer has none).

    Raises:
        ValueError: If ``weights`` are not two or three arrays of an LSTM's shapes.

    Example:

    >>> from lstmkit.weights import lstm_to_pytorch
    >>> kernel, recurrent_kernel, bias = np.ones((3, 8)), np.ones((2, 8)), np.arange(8.0)
    >>> state = lstm_to_pytorch([kernel, recurrent_kernel, bias])
    >>> {name: value.shape for name, value in state.items()}
    {'weight_ih_l0': (8, 3), 'weight_hh_l0': (8, 2), 'bias_ih_l0': (8,), 'bias_hh_l0': (8,)}
    >>> state["bias_hh_l0"].tolist()
    [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0]
    """
    return _to_pytorch(weights, 4, layer, "LSTM")


def lstm_from_pytorch(state: Mapping[str, Any], layer: int = 0) -> list[np.ndarray]:
    r"""``nn.LSTM`` state -> Keras LSTM weights: ``kernel = weight_ih``:math:`^T`,
    ``recurrent_kernel = weight_hh``:math:`^T`, ``bias = bias_ih + bias_hh``.

    Args:
        state: ``module.state_dict()`` entries as arrays (other keys are ignored).
        layer: Which PyTorch layer to read (the ``l0`` suffix). Defaults to `0`.

    Returns:
        ``[kernel, recurrent_kernel, bias]`` for ``set_weights`` (no bias if the module has
        ``bias=False``; build the Keras layer with ``use_bias=False`` then).

    Raises:
        ValueError: If ``state`` lacks ``weight_ih_l{layer}`` or ``weight_hh_l{layer}``, or
            their shapes are not an LSTM's.

    Example:

    >>> from lstmkit.weights import lstm_from_pytorch
    >>> state = {"weight_ih_l0": np.ones((8, 3)), "weight_hh_l0": np.ones((8, 2)),
    ...          "bias_ih_l0": np.ones(8), "bias_hh_l0": np.ones(8)}
    >>> kernel, recurrent_kernel, bias = lstm_from_pytorch(state)
    >>> kernel.shape, recurrent_kernel.shape, bias.tolist()  # bias = bias_ih + bias_hh
    ((3, 8), (2, 8), [2.0, 2.0, 2.0, 2.0, 2.0, 2.0, 2.0, 2.0])
    """
    return _from_pytorch(state, 4, layer, "LSTM")


def simple_rnn_to_pytorch(weights: Sequence[Any] | Any, layer: int = 0) -> dict[str, np.ndarray]:
    r"""Keras SimpleRNN weights -> ``nn.RNN`` state: ``weight_ih = kernel``:math:`^T`,
    ``weight_hh = recurrent_kernel``:math:`^T`, ``bias_ih = bias``, ``bias_hh = 0`` (as
    :func:`lstm_to_pytorch`, with one gate block).

    Args:
        weights: ``layer.get_weights()`` of a SimpleRNN (lstmkit's or Keras'), or the layer.
        layer: Layer index in the PyTorch module (the ``l0`` suffix). Defaults to `0`.

    Returns:
        ``{"weight_ih_l0": (H, D), "weight_hh_l0": (H, H), "bias_ih_l0": (H,),
        "bias_hh_l0": (H,)}`` (no biases if the Keras layer has none).

    Raises:
        ValueError: If ``weights`` are not two or three arrays of a SimpleRNN's shapes.

    Example:

    >>> from lstmkit.weights import simple_rnn_to_pytorch
    >>> state = simple_rnn_to_pytorch([np.ones((3, 2)), np.eye(2)])  # no bias
    >>> sorted(state), state["weight_ih_l0"].shape
    (['weight_hh_l0', 'weight_ih_l0'], (2, 3))
    """
    return _to_pytorch(weights, 1, layer, "SimpleRNN")


def simple_rnn_from_pytorch(state: Mapping[str, Any], layer: int = 0) -> list[np.ndarray]:
    r"""``nn.RNN`` state -> Keras SimpleRNN weights: ``kernel = weight_ih``:math:`^T`,
    ``recurrent_kernel = weight_hh``:math:`^T`, ``bias = bias_ih + bias_hh`` (as
    :func:`lstm_from_pytorch`, with one gate block).

    Args:
        state: ``module.state_dict()`` entries as arrays (other keys are ignored).
        layer: Which PyTorch layer to read (the ``l0`` suffix). Defaults to `0`.

    Returns:
        ``[kernel, recurrent_kernel, bias]`` for ``set_weights`` (no bias if the module has
        ``bias=False``).

    Raises:
        ValueError: If ``state`` lacks ``weight_ih_l{layer}`` or ``weight_hh_l{layer}``, or
            their shapes are not a simple RNN's.

    Example:

    >>> from lstmkit.weights import simple_rnn_from_pytorch
    >>> state = {"weight_ih_l1": np.ones((2, 3)), "weight_hh_l1": np.eye(2)}
    >>> [w.shape for w in simple_rnn_from_pytorch(state, layer=1)]
    [(3, 2), (2, 2)]
    """
    return _from_pytorch(state, 1, layer, "SimpleRNN")


def _swap_gates(array: np.ndarray, axis: int) -> np.ndarray:
    """Swap the first two of three blocks along ``axis``: Keras' z, r, h <-> PyTorch's r, z, n
    (its own inverse)."""
    first, second, third = np.split(array, 3, axis=axis)
    return np.ascontiguousarray(np.concatenate([second, first, third], axis=axis))


def gru_to_pytorch(weights: Sequence[Any] | Any, layer: int = 0) -> dict[str, np.ndarray]:
    r"""Keras GRU weights (``reset_after=True``) -> ``nn.GRU`` state: ``weight_ih =
    kernel``:math:`^T` and ``weight_hh = recurrent_kernel``:math:`^T` with the z and r blocks
    swapped, ``bias_ih = bias[0]``, ``bias_hh = bias[1]`` (swapped likewise).

    Args:
        weights: ``layer.get_weights()`` of a GRU (lstmkit's or Keras'), or the layer. Arrays
            without a bias are taken to be of a ``reset_after=True`` layer.
        layer: Layer index in the PyTorch module (the ``l0`` suffix). Defaults to `0`.

    Returns:
        ``{"weight_ih_l0": (3H, D), "weight_hh_l0": (3H, H), "bias_ih_l0": (3H,),
        "bias_hh_l0": (3H,)}`` (no biases if the Keras layer has none).

    Raises:
        ValueError: If the layer has ``reset_after=False`` (its bias is (3H,)), which PyTorch
            cannot express, or the arrays are not a GRU's.

    Example:

    >>> from lstmkit.weights import gru_to_pytorch
    >>> bias = np.stack([np.arange(6.0), 10 + np.arange(6.0)])  # units 2: blocks z, r, h
    >>> state = gru_to_pytorch([np.ones((3, 6)), np.ones((2, 6)), bias])
    >>> state["weight_ih_l0"].shape, state["bias_ih_l0"].tolist()  # blocks r, z, n
    ((6, 3), [2.0, 3.0, 0.0, 1.0, 4.0, 5.0])
    """
    if getattr(weights, "reset_after", True) is False:
        raise ValueError(
            "gru_to_pytorch needs a GRU with reset_after=True: PyTorch's nn.GRU applies the "
            "reset gate after the recurrent product; received a layer with reset_after=False."
        )
    arrays = [np.asarray(w) for w in (
        weights.get_weights() if hasattr(weights, "get_weights") else weights)]
    if len(arrays) == 3 and arrays[2].ndim == 1:
        raise ValueError(
            "gru_to_pytorch needs a GRU with reset_after=True (bias of shape (2, 3*units)); "
            f"received a bias of shape {arrays[2].shape}, a reset_after=False GRU, which "
            "PyTorch's nn.GRU cannot express."
        )
    kernel, recurrent_kernel, *bias = arrays
    flat = [kernel, recurrent_kernel, *(b.reshape(-1) for b in bias)]
    if bias and bias[0].shape != (2, recurrent_kernel.shape[-1]):
        raise ValueError(
            f"GRU `bias` must have shape (2, {recurrent_kernel.shape[-1]}); received "
            f"{bias[0].shape}."
        )
    _keras_weights(flat[:2], 3, "GRU")
    state = {
        f"weight_ih_l{layer}": _swap_gates(kernel.T, 0),
        f"weight_hh_l{layer}": _swap_gates(recurrent_kernel.T, 0),
    }
    if bias:
        state[f"bias_ih_l{layer}"] = _swap_gates(bias[0][0], 0)
        state[f"bias_hh_l{layer}"] = _swap_gates(bias[0][1], 0)
    return state


def gru_from_pytorch(state: Mapping[str, Any], layer: int = 0) -> list[np.ndarray]:
    r"""``nn.GRU`` state -> Keras GRU weights (``reset_after=True``): ``kernel =
    weight_ih``:math:`^T`, ``recurrent_kernel = weight_hh``:math:`^T` with the r and z blocks
    swapped, ``bias = [bias_ih, bias_hh]`` (2, 3H), swapped likewise.

    Args:
        state: ``module.state_dict()`` entries as arrays (other keys are ignored).
        layer: Which PyTorch layer to read (the ``l0`` suffix). Defaults to `0`.

    Returns:
        ``[kernel, recurrent_kernel, bias]`` for ``set_weights`` of a GRU with
        ``reset_after=True`` (no bias if the module has ``bias=False``).

    Raises:
        ValueError: If ``state`` lacks ``weight_ih_l{layer}`` or ``weight_hh_l{layer}``, or
            their shapes are not a GRU's.

    Example:

    >>> from lstmkit.weights import gru_from_pytorch
    >>> state = {"weight_ih_l0": np.ones((6, 3)), "weight_hh_l0": np.ones((6, 2)),
    ...          "bias_ih_l0": np.arange(6.0), "bias_hh_l0": np.zeros(6)}
    >>> kernel, recurrent_kernel, bias = gru_from_pytorch(state)
    >>> kernel.shape, bias.shape, bias[0].tolist()  # blocks z, r, h
    ((3, 6), (2, 6), [2.0, 3.0, 0.0, 1.0, 4.0, 5.0])
    """
    w_ih, w_hh = _from_pytorch(
        {k: v for k, v in state.items() if k.startswith("weight_")}, 3, layer, "GRU"
    )
    weights = [_swap_gates(w_ih, 1), _swap_gates(w_hh, 1)]
    names = (f"bias_ih_l{layer}", f"bias_hh_l{layer}")
    if any(name in state for name in names):
        rows = [np.asarray(state[n]) if n in state else np.zeros(w_ih.shape[1]) for n in names]
        weights.append(np.stack([_swap_gates(r, 0) for r in rows]).astype(w_ih.dtype))
    return weights
