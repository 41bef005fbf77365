"""The one door to Keras' and TensorFlow's private internals.

lstmkit uses a few names that Keras and TensorFlow do not publish. Each is imported here, and
only here, inside a ``try``, with a fallback, so that a release that moves or drops one costs
lstmkit speed (the plain cell-by-cell loop, or the readable loop), never ``import lstmkit``.
The other modules import these names from this module only.

========================================================  ===================================
Private name, and what lstmkit uses it for                Fallback when it is missing
========================================================  ===================================
``keras.src.layers.rnn.dropout_rnn_cell.DropoutRNNCell``  :class:`DropoutRNNCell` here: the
(:data:`DropoutRNNCell`): the cells' dropout-mask cache;  same cache drawn with
``keras.layers.RNN`` draws and resets the masks of its   ``keras.random.dropout``; lstmkit's
instances at every call.                                 layers draw and reset the masks
                                                         themselves
                                                         (:data:`KERAS_DROPOUT_RNN_CELL` is
                                                         False). A bare ``keras.layers.RNN``
                                                         around an lstmkit cell then keeps
                                                         its masks until
                                                         ``cell.reset_dropout_mask()``.
``keras.src.backend.lstm`` (:func:`cudnn_lstm`) and      None: no cuDNN path; the layer runs
``keras.src.backend.gru`` (:func:`cudnn_gru`): the       lstmkit's compiled loop
cuDNN kernels of ``lstmkit.LSTM`` and ``lstmkit.GRU``    (``use_cudnn=True`` raises, saying
on a GPU.                                                why).
``keras.src.backend.tensorflow.rnn``'s cuDNN checks      None: Keras' own answer is not
(:func:`keras_cudnn_arguments_ok`,                       available; nothing in lstmkit
:func:`keras_cudnn_mask_ok`,                             depends on them.
:func:`keras_cudnn_source`): what
``keras.layers.LSTM`` itself decides, to compare
:func:`lstmkit.cudnn.cudnn_eligibility` with
(notebook 05, tests).
``keras.layers.RNN.inner_loop``, called by                :data:`INNER_LOOP_HOOK` False (and
``RNN.call`` (:data:`INNER_LOOP_HOOK`): the layers        a RuntimeWarning once, at import):
override it to run cuDNN or the compiled loop.           Keras' own cell-by-cell loop runs.
``tensorflow.python.eager.record``,                       :data:`TAPE_INTERNALS` False: the
``...eager.forwardprop_util``,                           layers assume any derivative may be
``...ops.gradients_util`` (:func:`recording`,             taken and run the readable loop,
:func:`forward_tangents`, :func:`higher_order_tape`):     which TensorFlow's autodiff
which tapes and forward accumulators are recording       differentiates to any order (see
(:mod:`lstmkit.derivatives`).                            :mod:`lstmkit.derivatives`).
========================================================  ===================================

The backend's name is public: ``keras.config.backend()``.
"""

from __future__ import annotations

import importlib
import warnings
from collections.abc import Sequence
from typing import Any

import keras

__all__ = [
    "INNER_LOOP_HOOK",
    "KERAS_DROPOUT_RNN_CELL",
    "TAPE_INTERNALS",
    "DropoutRNNCell",
    "cudnn_gru",
    "cudnn_lstm",
    "forward_tangents",
    "higher_order_tape",
    "keras_cudnn_arguments_ok",
    "keras_cudnn_mask_ok",
    "keras_cudnn_source",
    "recording",
]


def _private(module: str, *names: str) -> Any:
    """``module`` itself (no ``names``) or its attribute ``names[0]``; None when missing."""
    try:
        found = importlib.import_module(module)
        return getattr(found, names[0]) if names else found
    except (ImportError, AttributeError):
        return None


# -- DropoutRNNCell ------------------------------------------------------------------------------
class _DropoutRNNCell:
    """Keras' dropout-mask cache for cells (its ``DropoutRNNCell``, same semantics): a mask
    drawn on first use, reused at every step until reset; ``dropout_mask_count`` masks (a
    list) when the cell sets it. Needs ``dropout``, ``recurrent_dropout``, ``seed_generator``."""

    def _create_dropout_mask(self, step_input: Any, dropout_rate: float) -> Any:
        count = getattr(self, "dropout_mask_count", None)
        ones = keras.ops.ones_like(step_input)
        if count is None:
            return keras.random.dropout(ones, rate=dropout_rate, seed=self.seed_generator)
        return [
            keras.random.dropout(ones, rate=dropout_rate, seed=self.seed_generator)
            for _ in range(count)
        ]

    def get_dropout_mask(self, step_input: Any) -> Any:
        if getattr(self, "_dropout_mask", None) is None and self.dropout > 0:
            self._dropout_mask = self._create_dropout_mask(step_input, self.dropout)
        return getattr(self, "_dropout_mask", None)

    def get_recurrent_dropout_mask(self, step_input: Any) -> Any:
        if getattr(self, "_recurrent_dropout_mask", None) is None and self.recurrent_dropout > 0:
            self._recurrent_dropout_mask = self._create_dropout_mask(
                step_input, self.recurrent_dropout
            )
        return getattr(self, "_recurrent_dropout_mask", None)

    def reset_dropout_mask(self) -> None:
        self._dropout_mask = None

    def reset_recurrent_dropout_mask(self) -> None:
        self._recurrent_dropout_mask = None


_KERAS_DROPOUT_RNN_CELL = _private("keras.src.layers.rnn.dropout_rnn_cell", "DropoutRNNCell")
#: Whether :data:`DropoutRNNCell` is Keras' own (so ``keras.layers.RNN`` manages its masks).
KERAS_DROPOUT_RNN_CELL: bool = isinstance(_KERAS_DROPOUT_RNN_CELL, type)
#: The mixin lstmkit's cells inherit: Keras' ``DropoutRNNCell``, else lstmkit's copy of it.
DropoutRNNCell: type = _KERAS_DROPOUT_RNN_CELL if KERAS_DROPOUT_RNN_CELL else _DropoutRNNCell


# -- cuDNN ---------------------------------------------------------------------------------------
_keras_backend = _private("keras.src.backend")


def cudnn_lstm() -> Any:
    """Keras' cuDNN LSTM (``keras.src.backend.lstm``, looked up at each call), or None."""
    function = getattr(_keras_backend, "lstm", None)
    return function if callable(function) else None


def cudnn_gru() -> Any:
    """Keras' cuDNN GRU (``keras.src.backend.gru``, looked up at each call), or None."""
    function = getattr(_keras_backend, "gru", None)
    return function if callable(function) else None


_keras_tf_rnn = _private("keras.src.backend.tensorflow.rnn")


def keras_cudnn_arguments_ok(
    activation: Any, recurrent_activation: Any, unroll: bool, use_bias: bool
) -> bool | None:
    """Keras' own test of the arguments ``keras.layers.LSTM`` hands to cuDNN
    (``_do_lstm_arguments_support_cudnn`` of its TensorFlow backend): tanh, sigmoid, no
    unroll, a bias.

    Args:
        activation: the cell's ``activation`` (a function, as ``layer.cell.activation``).
        recurrent_activation: the cell's ``recurrent_activation`` (a function).
        unroll: the layer's ``unroll``.
        use_bias: the layer's ``use_bias``.

    Returns:
        Keras' answer, or None when this Keras has no such test.
    """
    check = getattr(_keras_tf_rnn, "_do_lstm_arguments_support_cudnn", None)
    return bool(check(activation, recurrent_activation, unroll, use_bias)) if callable(
        check) else None


def keras_cudnn_mask_ok(mask: Any) -> bool | None:
    """Keras' own run-time test of a mask before cuDNN: strictly right-padded
    (``_is_sequence_right_padded``) and no row fully masked (``_has_fully_masked_sequence``).

    Args:
        mask: (batch, time) booleans, True at real steps.

    Returns:
        Keras' answer, or None when this Keras lacks either test.
    """
    right_padded = getattr(_keras_tf_rnn, "_is_sequence_right_padded", None)
    fully_masked = getattr(_keras_tf_rnn, "_has_fully_masked_sequence", None)
    if not (callable(right_padded) and callable(fully_masked)):
        return None
    return bool(right_padded(mask)) and not bool(fully_masked(mask))


def keras_cudnn_source() -> str | None:
    """The source of the module of Keras' TensorFlow backend that calls cuDNN for
    ``keras.layers.LSTM`` and ``GRU`` (to read what it does on a machine without a GPU), or
    None."""
    import inspect

    try:
        return inspect.getsource(_keras_tf_rnn) if _keras_tf_rnn is not None else None
    except (OSError, TypeError):
        return None


# -- the inner_loop hook -------------------------------------------------------------------------
def _has_inner_loop_hook() -> bool:
    """Whether ``keras.layers.RNN`` has ``inner_loop`` and its ``call`` looks it up."""
    rnn = keras.layers.RNN
    code = getattr(getattr(rnn, "call", None), "__code__", None)
    return callable(getattr(rnn, "inner_loop", None)) and "inner_loop" in getattr(
        code, "co_names", ()
    )


#: Whether ``keras.layers.RNN.call`` runs ``self.inner_loop`` (lstmkit's fast paths).
INNER_LOOP_HOOK: bool = _has_inner_loop_hook()
if not INNER_LOOP_HOOK:
    warnings.warn(
        f"keras {keras.__version__}: keras.layers.RNN.call no longer calls `inner_loop`, so "
        "lstmkit.LSTM and lstmkit.SimpleRNN run Keras' cell-by-cell loop (same results, "
        "without lstmkit's compiled loop or cuDNN); lstmkit.internals.INNER_LOOP_HOOK is False.",
        RuntimeWarning,
        stacklevel=2,
    )


# -- TensorFlow's tapes --------------------------------------------------------------------------
_could_possibly_record = _private("tensorflow.python.eager.record", "could_possibly_record")
_pack_tangents = _private("tensorflow.python.eager.forwardprop_util", "pack_tangents")
_gradients_util = _private("tensorflow.python.ops.gradients_util")
_tape_gradient_types = getattr(_gradients_util, "PossibleTapeGradientTypes", None)
_HIGHER_ORDER = getattr(_gradients_util, "POSSIBLE_GRADIENT_TYPES_HIGHER_ORDER", None)

#: Whether TensorFlow's tape internals are there (else :mod:`lstmkit.derivatives` assumes any
#: derivative may be taken, and the readable loop runs).
TAPE_INTERNALS: bool = (
    callable(_could_possibly_record)
    and callable(_pack_tangents)
    and callable(_tape_gradient_types)
    and _HIGHER_ORDER is not None
)


def recording() -> bool:
    """Whether any tape or forward accumulator may be recording (True when unknown)."""
    return _could_possibly_record() if TAPE_INTERNALS else True


def forward_tangents(tensors: Sequence[Any]) -> bool:
    """Whether a forward accumulator watches one of ``tensors`` (needs :data:`TAPE_INTERNALS`)."""
    return bool(_pack_tangents(list(tensors)).tangents)


def higher_order_tape(tensors: Sequence[Any]) -> bool:
    """Whether nested tapes watch ``tensors`` (needs :data:`TAPE_INTERNALS`)."""
    return _tape_gradient_types(list(tensors)) == _HIGHER_ORDER
