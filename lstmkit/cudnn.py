"""When can an LSTM or GRU layer hand its work to NVIDIA's cuDNN kernel?

``keras.layers.LSTM`` and ``keras.layers.GRU`` (and ``lstmkit.LSTM``, ``lstmkit.GRU``) compute
the whole sequence with one fused cuDNN call when the configuration is one the kernel
implements; otherwise they run a generic loop. The kernel computes exactly one recurrence per
cell: the standard LSTM, or the GRU with its reset gate after the recurrent product
(``reset_after=True``), with tanh and sigmoid, biases, no recurrent dropout, driven by a
compiled loop, and sequences described by their *lengths* (so a mask must be a run of real
steps followed by padding).

:func:`cudnn_eligibility` lists, in words, every reason a layer's configuration (and,
optionally, a concrete mask) rules the kernel out. Whether a GPU is visible is a separate
question, answered by :func:`gpu_available`: a configuration is eligible or not wherever it
runs.
"""

from __future__ import annotations

from typing import Any

import keras
import numpy as np
import tensorflow as tf
from keras import activations, ops

__all__ = ["cudnn_eligibility", "gpu_available", "mask_reasons"]

# The very functions Keras' TensorFlow backend accepts (identity checks, as in
# keras.src.backend.tensorflow.rnn._do_lstm_arguments_support_cudnn).
_TANH = (activations.tanh, tf.tanh, ops.tanh)
_SIGMOID = (activations.sigmoid, tf.sigmoid, ops.sigmoid)


def _name(function: Any) -> str:
    return getattr(function, "__name__", repr(function))


def gpu_available() -> bool:
    """Whether TensorFlow sees at least one GPU (the device half of cuDNN eligibility).

    Returns:
        True when ``tf.config.list_logical_devices("GPU")`` lists a device.

    Example:

    >>> on_gpu = lstmkit.cudnn.gpu_available()  # False on a machine without a GPU
    >>> isinstance(on_gpu, bool)
    True
    """
    return bool(tf.config.list_logical_devices("GPU"))


def cudnn_eligibility(layer: Any, mask: Any = None) -> list[str]:
    """The reasons ``layer`` cannot use the cuDNN kernel; an empty list when it can.

    The layer must be an LSTM or GRU sequence layer (``lstmkit.LSTM``, ``lstmkit.GRU``,
    ``keras.layers.LSTM``, ``keras.layers.GRU``; ``keras.layers.RNN`` around a cell always
    runs the generic loop, and Keras has no cuDNN simple RNN), otherwise that is the only
    reason given. Then: ``use_cudnn`` not False,
    ``activation`` tanh and ``recurrent_activation`` sigmoid (the Keras/TensorFlow functions
    themselves: a hand-written tanh does not count), ``recurrent_dropout == 0``,
    not ``implementation=1`` together with ``dropout`` (one input mask per gate then),
    ``unroll=False``, ``use_bias=True``, for a GRU ``reset_after=True``; and a mask, if
    given, strictly right-padded (each row some True then only False) with no row entirely
    False.

    Whether a GPU is visible is not checked here: see :func:`gpu_available`.

    Args:
        layer: A layer, typically an LSTM sequence layer (lstmkit's or Keras').
        mask: None, or a concrete (batch, timesteps) boolean mask (NumPy array or eager
            tensor). A symbolic mask cannot be inspected; the layer then leaves the check to
            the kernel at run time, as Keras does. Defaults to `None` (no mask checked).

    Returns:
        Human-readable reasons, one per failed condition, in the order above.

    Raises:
        ValueError: if ``mask`` is symbolic or not of rank 2.

    Example:

    >>> from lstmkit.cudnn import cudnn_eligibility
    >>> cudnn_eligibility(lstmkit.LSTM(4))
    []
    >>> cudnn_eligibility(lstmkit.LSTM(4, activation="relu", use_bias=False))
    ['activation is relu, not tanh', 'use_bias=False']
    >>> cudnn_eligibility(lstmkit.LSTM(4), mask=np.array([[True, True], [False, True]]))
    ['mask is not strictly right-padded (real steps first, then padding) in sample(s) [1]']
    """
    is_cudnn_layer = isinstance(layer, (keras.layers.LSTM, keras.layers.GRU)) or (
        isinstance(layer, keras.layers.RNN) and hasattr(layer, "use_cudnn")
    )
    if not is_cudnn_layer:
        return [
            f"{type(layer).__name__} is not an LSTM or GRU sequence layer: only lstmkit.LSTM, "
            "lstmkit.GRU, keras.layers.LSTM and keras.layers.GRU call cuDNN "
            "(keras.layers.RNN always runs the generic loop)"
        ]
    cell = layer.cell
    reasons = ["use_cudnn=False"] if layer.use_cudnn is False else []
    if cell.activation not in _TANH:
        reasons.append(f"activation is {_name(cell.activation)}, not tanh")
    if cell.recurrent_activation not in _SIGMOID:
        reasons.append(f"recurrent_activation is {_name(cell.recurrent_activation)}, not sigmoid")
    if cell.recurrent_dropout:
        reasons.append(f"recurrent_dropout={cell.recurrent_dropout} (must be 0)")
    if cell.implementation == 1 and cell.dropout:
        reasons.append(
            f"implementation=1 with dropout={cell.dropout} (one input dropout mask per gate; "
            "cuDNN takes one)"
        )
    if layer.unroll:
        reasons.append("unroll=True (cuDNN runs its own compiled loop)")
    if not cell.use_bias:
        reasons.append("use_bias=False")
    if getattr(cell, "reset_after", True) is False:
        reasons.append("reset_after=False (cuDNN's GRU applies the reset gate after the product)")
    if mask is not None:
        reasons.extend(mask_reasons(mask))
    return reasons


def mask_reasons(mask: Any) -> list[str]:
    """Reasons a concrete (batch, timesteps) mask rules cuDNN out (the mask part of
    :func:`cudnn_eligibility`).

    Args:
        mask: a concrete (batch, timesteps) boolean mask (NumPy array or eager tensor).

    Returns:
        Human-readable reasons: not strictly right-padded, a row entirely False; empty when
        the mask suits cuDNN.

    Raises:
        ValueError: if ``mask`` is symbolic or not of rank 2.

    Example:

    >>> from lstmkit.cudnn import mask_reasons
    >>> mask_reasons(np.array([[True, True, False], [True, False, False]]))
    []
    >>> mask_reasons(np.array([[True, True, True], [False, False, False]]))
    ['sample(s) [1] are fully masked']
    """
    try:
        values = np.asarray(mask).astype(bool)
    except (NotImplementedError, TypeError, ValueError) as err:  # symbolic tensors
        raise ValueError(
            "Argument `mask` of cudnn_eligibility must be concrete (a NumPy array or an eager "
            f"tensor); received {type(mask).__name__} {mask!r}."
        ) from err
    if values.ndim != 2:
        raise ValueError(
            "Argument `mask` of cudnn_eligibility must have shape (batch, timesteps); received "
            f"shape {values.shape}."
        )
    reasons = []
    lengths = values.sum(axis=1)
    right_padded = np.arange(values.shape[1])[None, :] < lengths[:, None]
    bad_rows = np.flatnonzero((values != right_padded).any(axis=1))
    if bad_rows.size:
        reasons.append(
            "mask is not strictly right-padded (real steps first, then padding) in sample(s) "
            f"{bad_rows.tolist()}"
        )
    empty_rows = np.flatnonzero(lengths == 0)
    if empty_rows.size:
        reasons.append(f"sample(s) {empty_rows.tolist()} are fully masked")
    return reasons
