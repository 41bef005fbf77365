r"""``lstmkit.SimpleRNN`` and ``lstmkit.LSTM``: sequence layers built on lstmkit's cells.

Each layer is a ``keras.layers.RNN`` around one cell (``RNNCell`` / ``LSTMCell``) with the
constructor, defaults, properties, weights (names, shapes, order), config and outputs of Keras'
``keras.layers.SimpleRNN`` / ``keras.layers.LSTM``, so the two are interchangeable through
``get_weights``/``set_weights`` and both save to ``.keras`` files.

What differs is how the sequence is driven. ``keras.layers.RNN`` calls the cell once per time
step. These layers, on TensorFlow, instead

1. (LSTM only) hand the whole sequence to NVIDIA's cuDNN kernel when a GPU is visible and the
   configuration allows it (see :mod:`lstmkit.cudnn`), as ``keras.layers.LSTM`` does;
2. otherwise run :mod:`lstmkit.recurrence`: the input projection :math:`x_t W + b` of all steps
   in one matrix product, then a compiled ``tf.while_loop`` doing only
   :math:`h_{t-1} U` and the cell's non-linearities per step (on a CPU, one loop per core, each
   over a shard of the batch);
3. fall back to the cell-by-cell loop of ``keras.layers.RNN`` for what (2) does not cover:
   recurrent dropout while training, ``unroll=True``, and backends other than TensorFlow.

All three compute the same function (cuDNN up to its documented difference: zeros, not the
repeated last output, at padded steps of ``return_sequences`` outputs).

(1) and (2) hook into ``keras.layers.RNN`` by overriding its ``inner_loop``; a Keras release
without that hook leaves only (3) (:data:`lstmkit.internals.INNER_LOOP_HOOK`), one without its
cuDNN function (:func:`lstmkit.internals.cudnn_lstm`) rules (1) out.
"""

from __future__ import annotations

from typing import Any

import keras
import numpy as np
from keras import regularizers

from lstmkit import internals, recurrence
from lstmkit.cells import LSTMCell, RNNCell
from lstmkit.cudnn import cudnn_eligibility, gpu_available
from lstmkit.loop import LoopOptions
from lstmkit.validation import one_of

__all__ = ["LSTM", "SimpleRNN"]


def _from_cell(name: str) -> property:
    return property(lambda self: getattr(self.cell, name), doc=f"The cell's ``{name}``.")


def _shape(value: Any) -> tuple:
    return tuple(value.shape) if hasattr(value, "shape") else np.shape(value)


class _SequenceLayer(keras.layers.RNN):
    """What both layers share: call-time checks, the choice of loop, properties and config."""

    units = _from_cell("units")
    activation = _from_cell("activation")
    use_bias = _from_cell("use_bias")
    kernel_initializer = _from_cell("kernel_initializer")
    recurrent_initializer = _from_cell("recurrent_initializer")
    bias_initializer = _from_cell("bias_initializer")
    kernel_regularizer = _from_cell("kernel_regularizer")
    recurrent_regularizer = _from_cell("recurrent_regularizer")
    bias_regularizer = _from_cell("bias_regularizer")
    kernel_constraint = _from_cell("kernel_constraint")
    recurrent_constraint = _from_cell("recurrent_constraint")
    bias_constraint = _from_cell("bias_constraint")
    dropout = _from_cell("dropout")
    recurrent_dropout = _from_cell("recurrent_dropout")
    seed = _from_cell("seed")

    _state_names: tuple[str, ...] = ()

    # -- checks ------------------------------------------------------------------------------
    def _check_initial_state(self, batch: Any, state_shapes: list) -> None:
        """``initial_state`` must hold one (batch, units) tensor per state."""
        name, count = type(self).__name__, len(self._state_names)
        expected = f"[{', '.join(self._state_names)}]"
        if len(state_shapes) != count:
            raise ValueError(
                f"{name} expects `initial_state` to be a list of {count} tensor(s) {expected}, "
                f"each of shape (batch, {self.units}); received {len(state_shapes)}."
            )
        for index, shape in enumerate(state_shapes):
            if not (
                len(shape) == 2
                and shape[1] in (None, self.units)
                and (None in (batch, shape[0]) or shape[0] == batch)
            ):
                raise ValueError(
                    f"{name} expects `initial_state[{index}]` ({self._state_names[index]}) of "
                    f"shape ({batch if batch is not None else 'batch'}, {self.units}); "
                    f"received shape {tuple(shape)}."
                )

    def _check_mask(self, sequences_shape: tuple, mask: Any) -> None:
        """A mask must be (batch, timesteps), like the first two axes of the inputs."""
        shape = _shape(mask)
        expected = sequences_shape[:2]
        if len(shape) != 2 or any(
            None not in (got, want) and got != want
            for got, want in zip(shape, expected, strict=True)
        ):
            raise ValueError(
                f"{type(self).__name__} expects `mask` of shape (batch, timesteps) = "
                f"{tuple(expected)}, matching its inputs of shape {tuple(sequences_shape)}; "
                f"received a mask of shape {tuple(shape)}."
            )

    def compute_output_shape(self, sequences_shape: tuple, initial_state_shape: Any = None) -> Any:
        if initial_state_shape is not None:
            shapes = initial_state_shape
            if shapes and not isinstance(shapes[0], (list, tuple)):
                shapes = [shapes]  # one state given as a bare tensor
            self._check_initial_state(sequences_shape[0], [tuple(s) for s in shapes])
        return super().compute_output_shape(sequences_shape, initial_state_shape)

    def call(
        self, sequences: Any, initial_state: Any = None, mask: Any = None, training: bool = False
    ) -> Any:
        """Run the layer; see the class docstring for the arguments and what is returned."""
        if keras.tree.is_nested(mask):
            mask = mask[0]
        sequences_shape = _shape(sequences)
        if initial_state is not None:
            states = initial_state if keras.tree.is_nested(initial_state) else [initial_state]
            self._check_initial_state(sequences_shape[0], [_shape(s) for s in states])
        if mask is not None:
            self._check_mask(sequences_shape, mask)
        if not keras.backend.is_float_dtype(keras.backend.standardize_dtype(sequences.dtype)):
            # Integer and boolean sequences: Keras' cells promote them in their products; the
            # compiled loops and the dropout masks want the compute dtype, so cast them first.
            sequences = keras.ops.cast(sequences, self.compute_dtype)
        if internals.KERAS_DROPOUT_RNN_CELL:  # keras.layers.RNN draws and resets the masks
            return super().call(sequences, initial_state=initial_state, mask=mask,
                                training=training)
        # lstmkit's copy of DropoutRNNCell: draw the masks before the loop (as Keras does, in
        # its order) and reset them after it, which keras.layers.RNN only does for its own.
        cell = self.cell
        cell.get_dropout_mask(sequences[:, 0, :])
        batch = keras.ops.shape(sequences)[0]
        cell.get_recurrent_dropout_mask(keras.ops.zeros((batch, self.units), cell.compute_dtype))
        try:
            return super().call(sequences, initial_state=initial_state, mask=mask,
                                training=training)
        finally:
            cell.reset_dropout_mask()
            cell.reset_recurrent_dropout_mask()

    # -- loops -------------------------------------------------------------------------------
    def fast_path_applies(self, training: bool = False) -> bool:
        """Whether a call (with this ``training``) runs :mod:`lstmkit.recurrence`'s compiled loop
        (or, for an LSTM, cuDNN) instead of Keras' cell-by-cell loop: on TensorFlow, with
        Keras' ``inner_loop`` hook (:data:`lstmkit.internals.INNER_LOOP_HOOK`), not
        ``unroll``, and no recurrent dropout in training. Which compiled loop then runs:
        :func:`lstmkit.recurrence.fused_path_applies`."""
        return (
            internals.INNER_LOOP_HOOK
            and keras.config.backend() == "tensorflow"
            and not self.unroll
            and not (training and 0.0 < self.recurrent_dropout < 1.0)
        )

    def _input_dropout_mask(self, sequences: Any, training: bool) -> Any:
        """The cell's cached input dropout mask(s) when dropout applies, else None.

        ``keras.layers.RNN.call`` draws the masks before the loop; reusing the cell's cache
        makes every path of a call drop the same units.
        """
        if training and 0.0 < self.dropout < 1.0:
            return self.cell.get_dropout_mask(sequences[:, 0, :])
        return None

    def _loop_options(self, mask: Any) -> LoopOptions:
        """What :mod:`lstmkit.recurrence`'s loops need to know of this layer and call."""
        return LoopOptions(
            mask=mask,
            go_backwards=self.go_backwards,
            return_sequences=self.return_sequences,
            zero_output_for_mask=self.zero_output_for_mask,
        )

    # -- cuDNN (the layers that have ``use_cudnn``: LSTM, GRU) --------------------------------
    #: The cuDNN function of Keras' backend this layer calls (from :mod:`lstmkit.internals`),
    #: and the backend's name for it.
    _cudnn_function: Any = None
    _cudnn_name = ""

    @staticmethod
    def _on_gpu() -> bool:
        return keras.config.backend() == "tensorflow" and gpu_available()

    def _cudnn_eligible_here(self) -> bool:
        """Whether a call may run cuDNN: on a GPU, with Keras' cuDNN function, eligible."""
        return (
            self.use_cudnn in ("auto", True)
            and type(self)._cudnn_function() is not None
            and self._on_gpu()
            and not cudnn_eligibility(self)
        )

    def _cudnn_attempt(self, sequences: Any, initial_state: list, mask: Any, training: bool):
        """``self._cudnn_loop(...)``'s result when cuDNN can run, else None (``use_cudnn=True``:
        a ValueError listing every reason it cannot)."""
        if self.use_cudnn not in ("auto", True):
            return None
        # A symbolic mask cannot be inspected here; the kernel checks it at run time.
        reasons = cudnn_eligibility(self, mask if hasattr(mask, "numpy") else None)
        device = None if self._on_gpu() else "no GPU is visible to TensorFlow"
        if device is None and type(self)._cudnn_function() is None:
            name = self._cudnn_name
            device = (
                f"keras {keras.__version__} has no cuDNN {name} "
                f"(keras.src.backend.{name.lower()})"
            )
        if not reasons and device is None:
            try:
                return self._cudnn_loop(sequences, initial_state, mask, training)
            except NotImplementedError:
                device = "TensorFlow could not run the cuDNN kernel on this device"
        if self.use_cudnn is True:
            lines = "".join(f"\n  - {reason}" for reason in [*reasons, device] if reason)
            raise ValueError(
                f"use_cudnn=True, but layer '{self.name}' cannot use cuDNN:{lines}\n"
                "Pass use_cudnn='auto' to fall back to lstmkit's compiled loop."
            )
        return None

    # -- config ------------------------------------------------------------------------------
    def get_config(self) -> dict:
        config = super().get_config()
        del config["cell"]
        layer_keys = keras.layers.Layer.get_config(self.cell)
        cell_config = {k: v for k, v in self.cell.get_config().items() if k not in layer_keys}
        return {
            **config,
            **cell_config,
            "activity_regularizer": regularizers.serialize(self.activity_regularizer),
        }

    @classmethod
    def from_config(cls, config: dict) -> _SequenceLayer:
        return cls(**config)


@keras.saving.register_keras_serializable(package="lstmkit")
class SimpleRNN(_SequenceLayer):
    r"""Fully-connected RNN over a sequence, equivalent to ``keras.layers.SimpleRNN``.

    For each step, :math:`h_t = \phi(x_t W + h_{t-1} U + b)` (see :class:`lstmkit.RNNCell`).

    Args:
        units: Positive integer, the width of :math:`h`.
        activation: Activation :math:`\phi`: a name, a callable, or None for linear.
            Defaults to `"tanh"`.
        use_bias: Whether to add :math:`b`. Defaults to `True`.
        kernel_initializer: Initializer of :math:`W`. Defaults to `"glorot_uniform"`.
        recurrent_initializer: Initializer of :math:`U`. Defaults to `"orthogonal"`.
        bias_initializer: Initializer of :math:`b`. Defaults to `"zeros"`.
        kernel_regularizer: Regularizer of :math:`W`. Defaults to `None`.
        recurrent_regularizer: Regularizer of :math:`U`. Defaults to `None`.
        bias_regularizer: Regularizer of :math:`b`. Defaults to `None`.
        activity_regularizer: Regularizer of the layer's output (keras.layers.SimpleRNN 3.15
            accepts this argument but ignores it; lstmkit applies it). Defaults to `None`.
        kernel_constraint: Constraint on :math:`W`. Defaults to `None`.
        recurrent_constraint: Constraint on :math:`U`. Defaults to `None`.
        bias_constraint: Constraint on :math:`b`. Defaults to `None`.
        dropout: Fraction in [0, 1] of input units dropped (training only). Defaults to `0.0`.
        recurrent_dropout: Fraction in [0, 1] of :math:`h_{t-1}` units dropped (training only;
            the cell-by-cell loop then runs). Defaults to `0.0`.
        return_sequences: Return the output of every step (batch, time, units) instead of the
            last one (batch, units). Defaults to `False`.
        return_state: Also return the final state(s) after the output. Defaults to `False`.
        go_backwards: Process the sequence backwards and return the reversed sequence.
            Defaults to `False`.
        stateful: Reuse the final states of each batch as the initial states of the next
            (requires a fixed batch size; ``reset_state()`` zeroes them). Defaults to `False`.
        unroll: Unroll the loop in Python (short sequences only). Defaults to `False`.
        seed: Seed for the dropout masks. Defaults to `None`.
        **kwargs: ``zero_output_for_mask`` (zeros, not the previous output, at masked steps of
            the returned sequence; default False) and base layer arguments (name, dtype, ...).

    Call arguments:
        sequences: (batch, timesteps, features).
        initial_state: ``[h0]`` or ``h0``, (batch, units); zeros when None.
        mask: (batch, timesteps) booleans, False at steps to skip (the state is carried over).
        training: Whether dropout applies.

    Returns:
        The output, (batch, units) or with ``return_sequences`` (batch, timesteps, units);
        with ``return_state``, ``[output, h]``.

    Raises:
        ValueError: If an argument is out of range (as in :class:`lstmkit.RNNCell`), or a
            call's ``initial_state`` or ``mask`` does not fit its sequences.

    Example:

    >>> x = np.random.default_rng(0).random((2, 5, 3)).astype("float32")
    >>> layer = lstmkit.SimpleRNN(4, return_sequences=True)
    >>> tuple(layer(x).shape)
    (2, 5, 4)
    >>> theirs = keras.layers.SimpleRNN(4, return_sequences=True)
    >>> _ = theirs(x)
    >>> theirs.set_weights(layer.get_weights())
    >>> bool(np.allclose(layer(x), theirs(x), atol=1e-6))
    True
    """

    _state_names = ("h",)

    def __init__(
        self,
        units: int,
        activation: Any = "tanh",
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
        return_sequences: bool = False,
        return_state: bool = False,
        go_backwards: bool = False,
        stateful: bool = False,
        unroll: bool = False,
        seed: int | None = None,
        **kwargs: Any,
    ) -> None:
        cell = RNNCell(
            units,
            activation=activation,
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
            seed=seed,
            dtype=kwargs.get("dtype"),
            trainable=kwargs.get("trainable", True),
            name="simple_rnn_cell",
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

    def inner_loop(
        self, sequences: Any, initial_state: list, mask: Any, training: bool = False
    ) -> tuple:
        """The compiled loop of :func:`lstmkit.recurrence.simple_rnn`, or the cell by cell."""
        if keras.tree.is_nested(mask):
            mask = mask[0]
        if not self.fast_path_applies(training):
            return super().inner_loop(sequences, initial_state, mask=mask, training=training)
        cell = self.cell
        return recurrence.simple_rnn(
            sequences,
            initial_state,
            cell.kernel,
            cell.recurrent_kernel,
            cell.bias,
            cell.activation,
            dropout_mask=self._input_dropout_mask(sequences, training),
            options=self._loop_options(mask),
        )


@keras.saving.register_keras_serializable(package="lstmkit")
class LSTM(_SequenceLayer):
    r"""Long short-term memory over a sequence, equivalent to ``keras.layers.LSTM``.

    Each step is :class:`lstmkit.LSTMCell`'s:

    .. math::

        (i, f, g, o) &= (\sigma, \sigma, \phi, \sigma)(x_t W + h_{t-1} U + b) \\
        c_t &= f \odot c_{t-1} + i \odot g, \qquad h_t = o \odot \phi(c_t)

    On TensorFlow with a visible GPU and an eligible configuration
    (:func:`lstmkit.cudnn.cudnn_eligibility` empty) the cuDNN kernel runs the sequence;
    otherwise lstmkit's compiled loop (:mod:`lstmkit.recurrence`), or the cell step by step for
    recurrent dropout in training and ``unroll=True``.

    Args:
        units: Positive integer, the width of :math:`h` and :math:`c`.
        activation: :math:`\phi` for the candidate and the output. Defaults to `"tanh"`.
        recurrent_activation: :math:`\sigma` for the three gates. Defaults to `"sigmoid"`.
        use_bias: Whether to add :math:`b`. Defaults to `True`.
        kernel_initializer: Initializer of :math:`W`. Defaults to `"glorot_uniform"`.
        recurrent_initializer: Initializer of :math:`U`. Defaults to `"orthogonal"`.
        bias_initializer: Initializer of :math:`b`. Defaults to `"zeros"`.
        unit_forget_bias: Start the forget block of the bias at 1 (see
            :class:`lstmkit.LSTMCell`). Defaults to `True`.
        kernel_regularizer: Regularizer of :math:`W`. Defaults to `None`.
        recurrent_regularizer: Regularizer of :math:`U`. Defaults to `None`.
        bias_regularizer: Regularizer of :math:`b`. Defaults to `None`.
        activity_regularizer: Regularizer of the layer's output. Defaults to `None`.
        kernel_constraint: Constraint on :math:`W`. Defaults to `None`.
        recurrent_constraint: Constraint on :math:`U`. Defaults to `None`.
        bias_constraint: Constraint on :math:`b`. Defaults to `None`.
        dropout: Fraction in [0, 1] of input units dropped (training only). Defaults to `0.0`.
        recurrent_dropout: Fraction in [0, 1] of :math:`h_{t-1}` units dropped (training only;
            the cell-by-cell loop then runs). Defaults to `0.0`.
        seed: Seed for the dropout masks. Defaults to `None`.
        return_sequences: Return the output of every step (batch, time, units) instead of the
            last one (batch, units). Defaults to `False`.
        return_state: Also return the final state(s) after the output. Defaults to `False`.
        go_backwards: Process the sequence backwards and return the reversed sequence.
            Defaults to `False`.
        stateful: Reuse the final states of each batch as the initial states of the next
            (requires a fixed batch size; ``reset_state()`` zeroes them). Defaults to `False`.
        unroll: Unroll the loop in Python (short sequences only; rules out cuDNN). Defaults to
            `False`.
        use_cudnn: ``"auto"`` (use cuDNN when possible), True (use it or raise a ValueError
            listing why it cannot be used) or False (never). Defaults to `"auto"`.
        **kwargs: ``implementation`` (1 or 2, see :class:`lstmkit.LSTMCell`; default 2),
            ``zero_output_for_mask`` (default False) and base layer arguments (name, dtype, ...).

    Call arguments:
        sequences: (batch, timesteps, features).
        initial_state: ``[h0, c0]``, each (batch, units); zeros when None.
        mask: (batch, timesteps) booleans, False at steps to skip (the states are carried
            over).
        training: Whether dropout applies.

    Returns:
        The output :math:`h`, (batch, units) or with ``return_sequences`` (batch, timesteps,
        units); with ``return_state``, ``[output, h, c]``.

    Raises:
        ValueError: If an argument is out of range (as in :class:`lstmkit.LSTMCell`;
            ``use_cudnn`` not "auto", True or False), a call's ``initial_state`` or ``mask``
            does not fit its sequences, or ``use_cudnn=True`` where cuDNN cannot run.

    Example:

    >>> x = np.random.default_rng(0).random((2, 5, 3)).astype("float32")
    >>> layer = lstmkit.LSTM(4, return_state=True)
    >>> output, h, c = layer(x)
    >>> tuple(output.shape), tuple(c.shape), bool(np.all(output == h))
    ((2, 4), (2, 4), True)
    >>> theirs = keras.layers.LSTM(4, return_state=True)
    >>> _ = theirs(x)
    >>> theirs.set_weights(layer.get_weights())
    >>> bool(np.allclose(output, theirs(x)[0], atol=1e-6))
    True
    """

    recurrent_activation = _from_cell("recurrent_activation")
    unit_forget_bias = _from_cell("unit_forget_bias")
    implementation = _from_cell("implementation")
    _state_names = ("h", "c")
    _cudnn_function = staticmethod(internals.cudnn_lstm)
    _cudnn_name = "LSTM"

    def __init__(
        self,
        units: int,
        activation: Any = "tanh",
        recurrent_activation: Any = "sigmoid",
        use_bias: bool = True,
        kernel_initializer: Any = "glorot_uniform",
        recurrent_initializer: Any = "orthogonal",
        bias_initializer: Any = "zeros",
        unit_forget_bias: bool = True,
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
        use_cudnn: Any = "auto",
        **kwargs: Any,
    ) -> None:
        one_of("use_cudnn", use_cudnn, ("auto", True, False))
        cell = LSTMCell(
            units,
            activation=activation,
            recurrent_activation=recurrent_activation,
            use_bias=use_bias,
            kernel_initializer=kernel_initializer,
            recurrent_initializer=recurrent_initializer,
            bias_initializer=bias_initializer,
            unit_forget_bias=unit_forget_bias,
            kernel_regularizer=kernel_regularizer,
            recurrent_regularizer=recurrent_regularizer,
            bias_regularizer=bias_regularizer,
            kernel_constraint=kernel_constraint,
            recurrent_constraint=recurrent_constraint,
            bias_constraint=bias_constraint,
            dropout=dropout,
            recurrent_dropout=recurrent_dropout,
            seed=seed,
            implementation=kwargs.pop("implementation", 2),
            dtype=kwargs.get("dtype"),
            trainable=kwargs.get("trainable", True),
            name="lstm_cell",
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
        """cuDNN when possible, else :func:`lstmkit.recurrence.lstm`, else the cell by cell."""
        if keras.tree.is_nested(mask):
            mask = mask[0]
        cudnn = self._cudnn_attempt(sequences, initial_state, mask, training)
        if cudnn is not None:
            return cudnn
        if not self.fast_path_applies(training):
            return super().inner_loop(sequences, initial_state, mask=mask, training=training)
        cell = self.cell
        return recurrence.lstm(
            sequences,
            initial_state,
            cell.kernel,
            cell.recurrent_kernel,
            cell.bias,
            cell.gate_update,
            dropout_mask=self._input_dropout_mask(sequences, training),
            options=self._loop_options(mask),
        )

    def _cudnn_loop(self, sequences: Any, initial_state: list, mask: Any, training: bool) -> tuple:
        """Keras' cuDNN LSTM (:func:`lstmkit.internals.cudnn_lstm`), with input dropout applied
        first, as Keras does."""
        dropout_mask = self._input_dropout_mask(sequences, training)
        if dropout_mask is not None:
            sequences = sequences * dropout_mask[:, None, :]
        cell = self.cell
        out = internals.cudnn_lstm()(
            sequences,
            initial_state[0],
            initial_state[1],
            mask,
            kernel=cell.kernel,
            recurrent_kernel=cell.recurrent_kernel,
            bias=cell.bias,
            activation=cell.activation,
            recurrent_activation=cell.recurrent_activation,
            return_sequences=self.return_sequences,
            go_backwards=self.go_backwards,
            unroll=self.unroll,
        )
        self.supports_jit = False
        return out
