r"""``lstmkit.GRU``: the GRU sequence layer built on :class:`lstmkit.GRUCell`, equivalent to
``keras.layers.GRU``.

It is the sequence layer of :mod:`lstmkit.layers` (the same base: call-time checks, the choice
of loop, properties, config) around a GRU cell, driven like ``lstmkit.LSTM``: cuDNN on a GPU
when eligible (:func:`lstmkit.cudnn.cudnn_eligibility`), else lstmkit's compiled loop
(:func:`lstmkit.recurrence.gru`; fused with a hand-derived backward pass for Keras' default
GRU, :mod:`lstmkit.fused_gru`), else Keras' cell-by-cell loop (recurrent dropout in training,
``unroll=True``).
"""

from __future__ import annotations

from typing import Any

import keras

from lstmkit import internals, recurrence
from lstmkit.gru_cell import GRUCell
from lstmkit.layers import _from_cell, _SequenceLayer
from lstmkit.validation import one_of

__all__ = ["GRU"]


@keras.saving.register_keras_serializable(package="lstmkit")
class GRU(_SequenceLayer):
    r"""Gated recurrent unit over a sequence, equivalent to ``keras.layers.GRU``.

    Each step is :class:`lstmkit.GRUCell`'s:

    .. math::

        (z, r) = \sigma(x_t W_{z,r} + b_{z,r} + h_{t-1} U_{z,r} + \beta_{z,r}), \quad
        \tilde h = \phi(x_t W_h + b_h + r \odot (h_{t-1} U_h + \beta_h)), \quad
        h_t = z \odot h_{t-1} + (1 - z) \odot \tilde h

    (with ``reset_after=False``: :math:`\tilde h = \phi(x_t W_h + b_h + (r \odot h_{t-1}) U_h)`).

    On TensorFlow with a visible GPU and an eligible configuration
    (:func:`lstmkit.cudnn.cudnn_eligibility` empty: tanh, sigmoid, ``reset_after=True``, ...)
    the cuDNN kernel runs the sequence; otherwise lstmkit's compiled loop
    (:func:`lstmkit.recurrence.gru`), or the cell step by step for recurrent dropout in
    training and ``unroll=True``.

    Args:
        units: Positive integer, the width of :math:`h`.
        activation: :math:`\phi` for the candidate. Defaults to `"tanh"`.
        recurrent_activation: :math:`\sigma` for the two gates. Defaults to `"sigmoid"`.
        use_bias: Whether to add the biases. Defaults to `True`.
        kernel_initializer: Initializer of :math:`W`. Defaults to `"glorot_uniform"`.
        recurrent_initializer: Initializer of :math:`U`. Defaults to `"orthogonal"`.
        bias_initializer: Initializer of the bias. Defaults to `"zeros"`.
        kernel_regularizer: Regularizer of :math:`W`. Defaults to `None`.
        recurrent_regularizer: Regularizer of :math:`U`. Defaults to `None`.
        bias_regularizer: Regularizer of the bias. Defaults to `None`.
        activity_regularizer: Regularizer of the layer's output. Defaults to `None`.
        kernel_constraint: Constraint on :math:`W`. Defaults to `None`.
        recurrent_constraint: Constraint on :math:`U`. Defaults to `None`.
        bias_constraint: Constraint on the bias. Defaults to `None`.
        dropout: Fraction in [0, 1] of input units dropped (training only). Defaults to `0.0`.
        recurrent_dropout: Fraction in [0, 1] of :math:`h_{t-1}` units dropped (training only;
            the cell-by-cell loop then runs). Defaults to `0.0`.
        seed: Seed for the dropout masks. Defaults to `None`.
        return_sequences: Return the output of every step (batch, time, units) instead of the
            last one (batch, units). Defaults to `False`.
        return_state: Also return the final state after the output. Defaults to `False`.
        go_backwards: Process the sequence backwards and return the reversed sequence.
            Defaults to `False`.
        stateful: Reuse the final state of each batch as the initial state of the next
            (requires a fixed batch size; ``reset_state()`` zeroes it). Defaults to `False`.
        unroll: Unroll the loop in Python (short sequences only; rules out cuDNN). Defaults to
            `False`.
        reset_after: Apply the reset gate after the recurrent product (Keras' and cuDNN's
            convention, with a (2, 3*units) bias) or before it. Defaults to `True`.
        use_cudnn: ``"auto"`` (use cuDNN when possible), True (use it or raise a ValueError
            listing why it cannot be used) or False (never). Defaults to `"auto"`.
        **kwargs: ``implementation`` (1 or 2, see :class:`lstmkit.GRUCell`; default 2),
            ``zero_output_for_mask`` (default False) and base layer arguments (name, dtype, ...).

    Call arguments:
        sequences: (batch, timesteps, features).
        initial_state: ``[h0]`` or ``h0``, (batch, units); zeros when None.
        mask: (batch, timesteps) booleans, False at steps to skip (the state is carried over).
        training: Whether dropout applies.

    Returns:
        The output :math:`h`, (batch, units) or with ``return_sequences`` (batch, timesteps,
        units); with ``return_state``, ``[output, h]``.

    Raises:
        ValueError: If an argument is out of range (as in :class:`lstmkit.GRUCell`;
            ``use_cudnn`` not "auto", True or False), a call's ``initial_state`` or ``mask``
            does not fit its sequences, or ``use_cudnn=True`` where cuDNN cannot run.

    Example:

    >>> x = np.random.default_rng(0).random((2, 5, 3)).astype("float32")
    >>> layer = lstmkit.GRU(4, return_state=True)
    >>> output, h = layer(x)
    >>> tuple(output.shape), bool(np.all(output == h))
    ((2, 4), True)
    >>> theirs = keras.layers.GRU(4, return_state=True)
    >>> _ = theirs(x)
    >>> theirs.set_weights(layer.get_weights())
    >>> bool(np.allclose(output, theirs(x)[0], atol=1e-6))
    True
    """

    recurrent_activation = _from_cell("recurrent_activation")
    reset_after = _from_cell("reset_after")
    implementation = _from_cell("implementation")
    _state_names = ("h",)
    _cudnn_function = staticmethod(internals.cudnn_gru)
    _cudnn_name = "GRU"

    def __init__(
        self,
        units: int,
        activation: Any = "tanh",
        recurrent_activation: Any = "sigmoid",
        use_bias: bool = True,
        kernel_initializer: Any = "glorot_uniform",
        recurrent_initializer: Any = "orthogonal",
        bias_initializer: Any = "zeros",
        kernel_regularizer: Any = None,
        recurrent_regularizer: Any = None,
        bias_regularizer: Any = None,
        activity_regularizer: Any = None,
        kernel_constraint: Any = None,
        recurrent_constraint: Any = None,
        bias_constraint: Any = None,
        dropout: float = 0.0,
        recurrent_dropout: float = 0.0,
        seed: int | None = None,
        return_sequences: bool = False,
        return_state: bool = False,
        go_backwards: bool = False,
        stateful: bool = False,
        unroll: bool = False,
        reset_after: bool = True,
        use_cudnn: Any = "auto",
        **kwargs: Any,
    ) -> None:
        one_of("use_cudnn", use_cudnn, ("auto", True, False))
        cell = GRUCell(
            units,
            activation=activation,
            recurrent_activation=recurrent_activation,
            use_bias=use_bias,
            kernel_initializer=kernel_initializer,
            recurrent_initializer=recurrent_initializer,
            bias_initializer=bias_initializer,
            kernel_regularizer=kernel_regularizer,
            recurrent_regularizer=recurrent_regularizer,
            bias_regularizer=bias_regularizer,
            kernel_constraint=kernel_constraint,
            recurrent_constraint=recurrent_constraint,
            bias_constraint=bias_constraint,
            dropout=dropout,
            recurrent_dropout=recurrent_dropout,
            reset_after=reset_after,
            seed=seed,
            implementation=kwargs.pop("implementation", 2),
            dtype=kwargs.get("dtype"),
            trainable=kwargs.get("trainable", True),
            name="gru_cell",
        )
        super().__init__(
            cell,
            return_sequences=return_sequences,
            return_state=return_state,
            go_backwards=go_backwards,
            stateful=stateful,
            unroll=unroll,
            activity_regularizer=activity_regularizer,
            **kwargs,
        )
        self.input_spec = keras.InputSpec(ndim=3)
        self.use_cudnn = use_cudnn
        if self._cudnn_eligible_here():
            self.supports_jit = False  # cuDNN ops do not compile with XLA (as in Keras)

    def inner_loop(
        self, sequences: Any, initial_state: list, mask: Any, training: bool = False
    ) -> tuple:
        """cuDNN when possible, else :func:`lstmkit.recurrence.gru`, else the cell by cell."""
        if keras.tree.is_nested(mask):
            mask = mask[0]
        if not keras.tree.is_nested(initial_state):
            initial_state = [initial_state]
        cudnn = self._cudnn_attempt(sequences, initial_state, mask, training)
        if cudnn is not None:
            return cudnn
        if not self.fast_path_applies(training):
            return super().inner_loop(sequences, initial_state, mask=mask, training=training)
        cell = self.cell
        return recurrence.gru(
            sequences,
            initial_state,
            cell.kernel,
            cell.recurrent_kernel,
            cell.biases(),
            cell.gate_update,
            dropout_mask=self._input_dropout_mask(sequences, training),
            options=self._loop_options(mask),
        )

    def _cudnn_loop(self, sequences: Any, initial_state: list, mask: Any, training: bool) -> tuple:
        """Keras' cuDNN GRU (:func:`lstmkit.internals.cudnn_gru`), with input dropout applied
        first, as Keras does."""
        dropout_mask = self._input_dropout_mask(sequences, training)
        if dropout_mask is not None:
            sequences = sequences * dropout_mask[:, None, :]
        cell = self.cell
        out = internals.cudnn_gru()(
            sequences,
            initial_state[0],
            mask,
            kernel=cell.kernel,
            recurrent_kernel=cell.recurrent_kernel,
            bias=cell.bias,
            activation=cell.activation,
            recurrent_activation=cell.recurrent_activation,
            return_sequences=self.return_sequences,
            go_backwards=self.go_backwards,
            unroll=self.unroll,
            reset_after=cell.reset_after,
        )
        self.supports_jit = False
        return out
