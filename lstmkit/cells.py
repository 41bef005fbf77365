r"""Recurrent cells written from scratch as Keras 3 layers.

A *cell* computes one time step: it maps the input at step :math:`t` and the state from step
:math:`t-1` to an output and a new state. A sequence layer (``keras.layers.RNN``,
``lstmkit.LSTM``) or a plain Python loop drives it over time.

Both cells here are drop-in equivalents of Keras' own: same constructor arguments and defaults,
same weight names, shapes and layout, same call signature ``call(inputs, states, training)`` and
return structure. So ``cell.set_weights(keras_cell.get_weights())`` makes them compute the same
thing, and ``keras.layers.RNN(cell)`` drives them like Keras' cells.

The maths is written with ``keras.ops`` only, so the cells are not tied to one backend.

Dropout follows Keras' protocol: a mask is drawn once per sequence and reused at every step,
only when ``training=True``. ``keras.layers.RNN`` resets the cached masks at each call for cells
that are ``DropoutRNNCell`` instances, so the cells inherit that (small, private) Keras mixin
through :mod:`lstmkit.internals` (which has a copy of it should Keras move it): the masks are
Keras' mechanism, not part of the cell's maths.
"""

from __future__ import annotations

from typing import Any

import keras
from keras import constraints, initializers, ops, regularizers

from lstmkit.internals import DropoutRNNCell
from lstmkit.validation import (
    check_states,
    check_step_input,
    get_activation,
    one_of,
    positive_int,
    rate,
)

__all__ = ["LSTMCell", "RNNCell"]


class _RecurrentCell(keras.layers.Layer, DropoutRNNCell):
    """What both cells share: weight arguments, dropout settings, input checks and config."""

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
        kernel_constraint: Any = None,
        recurrent_constraint: Any = None,
        bias_constraint: Any = None,
        dropout: float = 0.0,
        recurrent_dropout: float = 0.0,
        seed: int | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.units = positive_int("units", units)
        self.activation = get_activation("activation", activation)
        self.use_bias = bool(use_bias)
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.recurrent_initializer = initializers.get(recurrent_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.recurrent_regularizer = regularizers.get(recurrent_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.kernel_constraint = constraints.get(kernel_constraint)
        self.recurrent_constraint = constraints.get(recurrent_constraint)
        self.bias_constraint = constraints.get(bias_constraint)
        self.dropout = rate("dropout", dropout)
        self.recurrent_dropout = rate("recurrent_dropout", recurrent_dropout)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    # -- weights -----------------------------------------------------------------------------
    def _add_weights(
        self, input_shape: tuple, gates: int, bias_initializer: Any, bias_rows: int = 0
    ) -> None:
        """Create kernel (input_dim, gates*units), recurrent_kernel (units, gates*units), bias
        (gates*units,), or (bias_rows, gates*units) when ``bias_rows`` is given."""
        input_dim = input_shape[-1]
        if input_dim is None:
            raise ValueError(
                f"{type(self).__name__} needs the last dimension of its input (the feature "
                f"width) to be known when it is built; received input shape {tuple(input_shape)}."
            )
        self.input_dim = int(input_dim)
        self.kernel = self.add_weight(
            shape=(self.input_dim, gates * self.units),
            name="kernel",
            initializer=self.kernel_initializer,
            regularizer=self.kernel_regularizer,
            constraint=self.kernel_constraint,
        )
        self.recurrent_kernel = self.add_weight(
            shape=(self.units, gates * self.units),
            name="recurrent_kernel",
            initializer=self.recurrent_initializer,
            regularizer=self.recurrent_regularizer,
            constraint=self.recurrent_constraint,
        )
        self.bias = None
        if self.use_bias:
            width = gates * self.units
            self.bias = self.add_weight(
                shape=(bias_rows, width) if bias_rows else (width,),
                name="bias",
                initializer=bias_initializer,
                regularizer=self.bias_regularizer,
                constraint=self.bias_constraint,
            )

    def _dropout_masks(self, inputs: Any, h_prev: Any, training: bool) -> tuple[Any, Any]:
        """The cached input and recurrent dropout masks, or ``None`` where dropout is off."""
        mask = rec_mask = None
        if training and 0.0 < self.dropout < 1.0:
            mask = self.get_dropout_mask(inputs)
        if training and 0.0 < self.recurrent_dropout < 1.0:
            rec_mask = self.get_recurrent_dropout_mask(h_prev)
        return mask, rec_mask

    def get_initial_state(self, batch_size: Any = None) -> list:
        """Zero states, one (batch_size, units) tensor per entry of ``state_size``."""
        sizes = self.state_size if isinstance(self.state_size, list) else [self.state_size]
        return [ops.zeros((batch_size, size), dtype=self.compute_dtype) for size in sizes]

    def get_config(self) -> dict:
        config = {
            "units": self.units,
            "activation": keras.activations.serialize(self.activation),
            "use_bias": self.use_bias,
            "kernel_initializer": initializers.serialize(self.kernel_initializer),
            "recurrent_initializer": initializers.serialize(self.recurrent_initializer),
            "bias_initializer": initializers.serialize(self.bias_initializer),
            "kernel_regularizer": regularizers.serialize(self.kernel_regularizer),
            "recurrent_regularizer": regularizers.serialize(self.recurrent_regularizer),
            "bias_regularizer": regularizers.serialize(self.bias_regularizer),
            "kernel_constraint": constraints.serialize(self.kernel_constraint),
            "recurrent_constraint": constraints.serialize(self.recurrent_constraint),
            "bias_constraint": constraints.serialize(self.bias_constraint),
            "dropout": self.dropout,
            "recurrent_dropout": self.recurrent_dropout,
            "seed": self.seed,
        }
        return {**super().get_config(), **config}


@keras.saving.register_keras_serializable(package="lstmkit")
class RNNCell(_RecurrentCell):
    r"""The simple (Elman) recurrent cell, equivalent to ``keras.layers.SimpleRNNCell``.

    .. math::

        h_t = \phi(x_t W + h_{t-1} U + b)

    with :math:`W` = ``kernel`` (input_dim, units), :math:`U` = ``recurrent_kernel``
    (units, units), :math:`b` = ``bias`` (units,) and :math:`\phi` = ``activation`` (tanh).
    The output is :math:`h_t`, which is also the only state: ``state_size == units``.

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
        kernel_constraint: Constraint on :math:`W`. Defaults to `None`.
        recurrent_constraint: Constraint on :math:`U`. Defaults to `None`.
        bias_constraint: Constraint on :math:`b`. Defaults to `None`.
        dropout: Fraction in [0, 1] of input units dropped (training only). Defaults to `0.0`.
        recurrent_dropout: Fraction in [0, 1] of :math:`h_{t-1}` units dropped (training only).
            Defaults to `0.0`.
        seed: Seed for the dropout masks. Defaults to `None`.
        **kwargs: Base layer arguments (``name``, ``dtype``, ``trainable``, ...).

    Call arguments:
        inputs: (batch, input_dim) tensor, the input at one step.
        states: ``[h_prev]`` (a list of one (batch, units) tensor) or the tensor itself.
        training: Whether dropout applies.

    Returns:
        ``(h, [h])`` (or ``(h, h)`` when ``states`` was a bare tensor), as Keras does.

    Raises:
        ValueError: If an argument is out of range (``units`` not a positive integer, a
            dropout rate outside [0, 1], an unknown activation), or a call's ``inputs`` or
            ``states`` have the wrong shape.

    Example:

    >>> cell = lstmkit.RNNCell(4)
    >>> h, states = cell(np.ones((2, 3), "float32"), [np.zeros((2, 4), "float32")])
    >>> tuple(h.shape), len(states), cell.state_size
    ((2, 4), 1, 4)
    >>> keras_cell = keras.layers.SimpleRNNCell(4)
    >>> _ = keras_cell(np.ones((2, 3), "float32"), [np.zeros((2, 4), "float32")])
    >>> keras_cell.set_weights(cell.get_weights())  # same weights, same layout
    >>> expected, _ = keras_cell(np.ones((2, 3), "float32"), [np.zeros((2, 4), "float32")])
    >>> bool(np.allclose(h, expected))
    True
    """

    def __init__(self, units: int, **kwargs: Any) -> None:
        super().__init__(units, **kwargs)
        self.state_size = self.units
        self.output_size = self.units

    def build(self, input_shape: tuple) -> None:
        self._add_weights(input_shape, gates=1, bias_initializer=self.bias_initializer)

    def call(self, inputs: Any, states: Any, training: bool = False) -> tuple[Any, Any]:
        nested = isinstance(states, (list, tuple))
        check_step_input(inputs, self.input_dim, "RNNCell")
        (h_prev,) = check_states(states, self.units, 1, inputs.shape[0], "RNNCell")
        mask, rec_mask = self._dropout_masks(inputs, h_prev, training)
        if mask is not None:
            inputs = inputs * mask
        if rec_mask is not None:
            h_prev = h_prev * rec_mask
        z = ops.matmul(inputs, self.kernel)
        if self.use_bias:
            z = ops.add(z, self.bias)  # Keras' add: a bias_add, whose gradient is BiasAddGrad
        h = self.activation(z + ops.matmul(h_prev, self.recurrent_kernel))
        return h, ([h] if nested else h)


@keras.saving.register_keras_serializable(package="lstmkit")
class LSTMCell(_RecurrentCell):
    r"""The long short-term memory cell, equivalent to ``keras.layers.LSTMCell``.

    With :math:`\sigma` = ``recurrent_activation`` (sigmoid) and :math:`\phi` = ``activation``
    (tanh), for each gate :math:`k \in \{i, f, g, o\}`:

    .. math::

        i_t &= \sigma(x_t W_i + h_{t-1} U_i + b_i)   &\text{input gate}\\
        f_t &= \sigma(x_t W_f + h_{t-1} U_f + b_f)   &\text{forget gate}\\
        g_t &= \phi(x_t W_g + h_{t-1} U_g + b_g)     &\text{candidate}\\
        o_t &= \sigma(x_t W_o + h_{t-1} U_o + b_o)   &\text{output gate}\\
        c_t &= f_t \odot c_{t-1} + i_t \odot g_t     &\text{cell state (carry)}\\
        h_t &= o_t \odot \phi(c_t)                   &\text{hidden state (output)}

    The four gate matrices sit side by side in Keras' layout: ``kernel`` (input_dim, 4*units),
    ``recurrent_kernel`` (units, 4*units) and ``bias`` (4*units,), column blocks in the order
    i, f, c (candidate, :math:`g` above), o.

    Args:
        units: Positive integer, the width of :math:`h` and :math:`c`.
        activation: :math:`\phi` for the candidate and the output (a name, a callable, or
            None for linear). Defaults to `"tanh"`.
        recurrent_activation: :math:`\sigma` for the three gates. Defaults to `"sigmoid"`.
        use_bias: Whether to add the biases :math:`b`. Defaults to `True`.
        kernel_initializer: Initializer of :math:`W`. Defaults to `"glorot_uniform"`.
        recurrent_initializer: Initializer of :math:`U`. Defaults to `"orthogonal"`.
        bias_initializer: Initializer of :math:`b`. Defaults to `"zeros"`.
        unit_forget_bias: If True, the forget block of the bias starts at exactly 1
            (Jozefowicz et al., 2015) and the other blocks use ``bias_initializer``.
            Defaults to `True`.
        kernel_regularizer: Regularizer of :math:`W`. Defaults to `None`.
        recurrent_regularizer: Regularizer of :math:`U`. Defaults to `None`.
        bias_regularizer: Regularizer of :math:`b`. Defaults to `None`.
        kernel_constraint: Constraint on :math:`W`. Defaults to `None`.
        recurrent_constraint: Constraint on :math:`U`. Defaults to `None`.
        bias_constraint: Constraint on :math:`b`. Defaults to `None`.
        dropout: Fraction in [0, 1] of input units dropped (training only). Defaults to `0.0`.
        recurrent_dropout: Fraction in [0, 1] of :math:`h_{t-1}` units dropped (training
            only). As in Keras, a non-zero value selects ``implementation=1``. Defaults to
            `0.0`.
        seed: Seed for the dropout masks. Defaults to `None`.
        implementation: 2: one fused product ``x @ kernel + h @ recurrent_kernel`` split into
            four; 1: one product per gate (and, with dropout, one mask per gate). Defaults to
            `2`.
        **kwargs: Base layer arguments (``name``, ``dtype``, ``trainable``, ...).

    Call arguments:
        inputs: (batch, input_dim) tensor, the input at one step.
        states: ``[h_prev, c_prev]``, two (batch, units) tensors.
        training: Whether dropout applies.

    Returns:
        ``(h, [h, c])``: the output is the very tensor of the new h state.

    Raises:
        ValueError: If an argument is out of range (``units`` not a positive integer, a
            dropout rate outside [0, 1], an unknown activation, ``implementation`` not 1 or
            2), or a call's ``inputs`` or ``states`` have the wrong shape.

    Example:

    >>> cell = lstmkit.LSTMCell(4)
    >>> zeros = np.zeros((2, 4), "float32")
    >>> h, (h_again, c) = cell(np.ones((2, 3), "float32"), [zeros, zeros])
    >>> tuple(h.shape), tuple(c.shape), cell.state_size
    ((2, 4), (2, 4), [4, 4])
    >>> h is h_again
    True
    >>> [tuple(w.shape) for w in cell.get_weights()]  # kernel, recurrent_kernel, bias
    [(3, 16), (4, 16), (16,)]
    """

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
        kernel_constraint: Any = None,
        recurrent_constraint: Any = None,
        bias_constraint: Any = None,
        dropout: float = 0.0,
        recurrent_dropout: float = 0.0,
        seed: int | None = None,
        implementation: int = 2,
        **kwargs: Any,
    ) -> None:
        super().__init__(
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
            **kwargs,
        )
        self.recurrent_activation = get_activation("recurrent_activation", recurrent_activation)
        self.unit_forget_bias = bool(unit_forget_bias)
        self.implementation = one_of(
            "implementation",
            implementation,
            (1, 2),
            ("one product per gate", "one fused product"),
        )
        if self.recurrent_dropout != 0.0:
            self.implementation = 1  # as Keras: recurrent dropout needs one product per gate
        if self.implementation == 1:
            self.dropout_mask_count = 4  # DropoutRNNCell then draws one mask per gate
        self.state_size = [self.units, self.units]
        self.output_size = self.units

    def build(self, input_shape: tuple) -> None:
        bias_initializer = self.bias_initializer
        if self.use_bias and self.unit_forget_bias:
            base, units = self.bias_initializer, self.units

            def bias_initializer(shape, dtype=None):
                # i and the candidate/output blocks from the initializer; forget block = 1.
                return ops.concatenate(
                    [
                        base((units,), dtype=dtype),
                        ops.ones((units,), dtype=dtype),
                        base((2 * units,), dtype=dtype),
                    ]
                )

        self._add_weights(input_shape, gates=4, bias_initializer=bias_initializer)

    def call(self, inputs: Any, states: Any, training: bool = False) -> tuple[Any, list]:
        check_step_input(inputs, self.input_dim, "LSTMCell")
        h_prev, c_prev = check_states(states, self.units, 2, inputs.shape[0], "LSTMCell")
        mask, rec_mask = self._dropout_masks(inputs, h_prev, training)

        if self.implementation == 2:
            x = inputs if mask is None else inputs * mask
            h = h_prev if rec_mask is None else h_prev * rec_mask
            z = ops.matmul(x, self.kernel) + ops.matmul(h, self.recurrent_kernel)
            if self.use_bias:
                z = ops.add(z, self.bias)  # a bias_add, as in RNNCell
            z_i, z_f, z_g, z_o = ops.split(z, 4, axis=-1)
        else:
            kernels = ops.split(self.kernel, 4, axis=1)
            recurrent_kernels = ops.split(self.recurrent_kernel, 4, axis=1)
            biases = ops.split(self.bias, 4, axis=0) if self.use_bias else [None] * 4
            z_i, z_f, z_g, z_o = (
                ops.matmul(inputs if mask is None else inputs * mask[k], kernels[k])
                + (0.0 if biases[k] is None else biases[k])
                + ops.matmul(
                    h_prev if rec_mask is None else h_prev * rec_mask[k], recurrent_kernels[k]
                )
                for k in range(4)
            )

        h, c = self.gate_update(z_i, z_f, z_g, z_o, c_prev)
        return h, [h, c]

    def gate_update(self, z_i: Any, z_f: Any, z_g: Any, z_o: Any, c_prev: Any) -> tuple[Any, Any]:
        r"""The gates and the state update, from the four pre-activations :math:`z_k`.

        .. math::

            c_t = \sigma(z_f) \odot c_{t-1} + \sigma(z_i) \odot \phi(z_g), \qquad
            h_t = \sigma(z_o) \odot \phi(c_t)

        with :math:`z_k = x_t W_k + h_{t-1} U_k + b_k`. ``call`` computes the :math:`z_k` one
        step at a time; ``lstmkit.LSTM``'s compiled loop computes :math:`x_t W_k + b_k` for all
        steps at once and calls this for the rest, so both share this one implementation.

        Args:
            z_i: Pre-activation of the input gate, (batch, units).
            z_f: Pre-activation of the forget gate, (batch, units).
            z_g: Pre-activation of the candidate, (batch, units).
            z_o: Pre-activation of the output gate, (batch, units).
            c_prev: The previous carry :math:`c_{t-1}`, (batch, units).

        Returns:
            ``(h, c)``, each (batch, units).

        Example:

        >>> cell = lstmkit.LSTMCell(2)
        >>> z, c_prev = np.zeros((1, 2), "float32"), np.ones((1, 2), "float32")
        >>> h, c = cell.gate_update(z, z, z, z, c_prev)  # sigmoid(0) = 0.5, tanh(0) = 0
        >>> np.asarray(c).tolist()
        [[0.5, 0.5]]
        """
        i = self.recurrent_activation(z_i)
        f = self.recurrent_activation(z_f)
        g = self.activation(z_g)
        o = self.recurrent_activation(z_o)
        c = f * c_prev + i * g
        h = o * self.activation(c)
        return h, c

    def get_config(self) -> dict:
        config = {
            "recurrent_activation": keras.activations.serialize(self.recurrent_activation),
            "unit_forget_bias": self.unit_forget_bias,
            # Keras does not save `implementation`; lstmkit does, so a reload computes the same way.
            "implementation": self.implementation,
        }
        return {**super().get_config(), **config}
