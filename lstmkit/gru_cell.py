r"""The gated recurrent unit (GRU) cell written from scratch, equivalent to
``keras.layers.GRUCell``.

It shares the weight arguments, dropout masks (Keras' ``DropoutRNNCell`` protocol, through
:mod:`lstmkit.internals`), input checks and config of :mod:`lstmkit.cells`; what is its own is
the maths (:meth:`GRUCell.gate_update`) and the two layouts of its bias (``reset_after``).
"""

from __future__ import annotations

from typing import Any

import keras
from keras import ops

from lstmkit.cells import _RecurrentCell
from lstmkit.validation import check_states, check_step_input, get_activation, one_of

__all__ = ["GRUCell"]


@keras.saving.register_keras_serializable(package="lstmkit")
class GRUCell(_RecurrentCell):
    r"""The gated recurrent unit (Cho et al., 2014), equivalent to ``keras.layers.GRUCell``.

    With :math:`\sigma` = ``recurrent_activation`` (sigmoid), :math:`\phi` = ``activation``
    (tanh), and the three column blocks z (update gate), r (reset gate), h (candidate) of
    ``kernel`` :math:`W` (input_dim, 3*units) and ``recurrent_kernel`` :math:`U`
    (units, 3*units), in Keras' order:

    .. math::

        z_t &= \sigma(x_t W_z + b_z + h_{t-1} U_z + \beta_z)   &\text{update gate}\\
        r_t &= \sigma(x_t W_r + b_r + h_{t-1} U_r + \beta_r)   &\text{reset gate}\\
        \tilde h_t &= \phi\big(x_t W_h + b_h + r_t \odot (h_{t-1} U_h + \beta_h)\big)
            &\text{candidate, reset\_after=True}\\
        \tilde h_t &= \phi\big(x_t W_h + b_h + (r_t \odot h_{t-1}) U_h\big)
            &\text{candidate, reset\_after=False}\\
        h_t &= z_t \odot h_{t-1} + (1 - z_t) \odot \tilde h_t  &\text{interpolation}

    With ``reset_after=True`` (Keras' and cuDNN's default) the reset gate multiplies the
    recurrent product, so :math:`h_{t-1} U` is one product for all three blocks, and ``bias``
    is (2, 3*units): row 0 the input bias :math:`b`, row 1 the recurrent bias :math:`\beta`.
    With ``reset_after=False`` (the original GRU) there is no :math:`\beta`: ``bias`` is
    (3*units,).

    Args:
        units: Positive integer, the width of :math:`h`.
        activation: :math:`\phi` for the candidate (a name, a callable, or None for linear).
            Defaults to `"tanh"`.
        recurrent_activation: :math:`\sigma` for the two gates. Defaults to `"sigmoid"`.
        use_bias: Whether to add the biases. Defaults to `True`.
        kernel_initializer: Initializer of :math:`W`. Defaults to `"glorot_uniform"`.
        recurrent_initializer: Initializer of :math:`U`. Defaults to `"orthogonal"`.
        bias_initializer: Initializer of the bias. Defaults to `"zeros"`.
        kernel_regularizer: Regularizer of :math:`W`. Defaults to `None`.
        recurrent_regularizer: Regularizer of :math:`U`. Defaults to `None`.
        bias_regularizer: Regularizer of the bias. Defaults to `None`.
        kernel_constraint: Constraint on :math:`W`. Defaults to `None`.
        recurrent_constraint: Constraint on :math:`U`. Defaults to `None`.
        bias_constraint: Constraint on the bias. Defaults to `None`.
        dropout: Fraction in [0, 1] of input units dropped (training only). Defaults to `0.0`.
        recurrent_dropout: Fraction in [0, 1] of :math:`h_{t-1}` units dropped (training
            only). As in Keras, a non-zero value selects ``implementation=1``. Defaults to
            `0.0`.
        reset_after: Apply the reset gate after the recurrent product (True) or before it
            (False). Defaults to `True`.
        seed: Seed for the dropout masks. Defaults to `None`.
        implementation: 2: one product ``x @ kernel`` and one ``h @ recurrent_kernel`` split
            into blocks; 1: one product per block (and, with dropout, one mask per block).
            Defaults to `2`.
        **kwargs: Base layer arguments (``name``, ``dtype``, ``trainable``, ...).

    Call arguments:
        inputs: (batch, input_dim) tensor, the input at one step.
        states: ``[h_prev]`` (a list of one (batch, units) tensor) or the tensor itself.
        training: Whether dropout applies.

    Returns:
        ``(h, [h])`` (or ``(h, h)`` when ``states`` was a bare tensor), as Keras does.

    Raises:
        ValueError: If an argument is out of range (``units`` not a positive integer, a
            dropout rate outside [0, 1], an unknown activation, ``implementation`` not 1 or
            2, ``reset_after`` not a bool), or a call's ``inputs`` or ``states`` have the
            wrong shape.

    Example:

    >>> cell = lstmkit.GRUCell(4)
    >>> h, (h_again,) = cell(np.ones((2, 3), "float32"), [np.zeros((2, 4), "float32")])
    >>> tuple(h.shape), cell.state_size, h is h_again
    ((2, 4), 4, True)
    >>> [tuple(w.shape) for w in cell.get_weights()]  # kernel, recurrent_kernel, bias
    [(3, 12), (4, 12), (2, 12)]
    >>> keras_cell = keras.layers.GRUCell(4)
    >>> _ = keras_cell(np.ones((2, 3), "float32"), [np.zeros((2, 4), "float32")])
    >>> keras_cell.set_weights(cell.get_weights())  # same weights, same layout
    >>> expected, _ = keras_cell(np.ones((2, 3), "float32"), [np.zeros((2, 4), "float32")])
    >>> bool(np.allclose(h, expected, atol=1e-6))
    True
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
        kernel_regularizer: Any = None,
        recurrent_regularizer: Any = None,
        bias_regularizer: Any = None,
        kernel_constraint: Any = None,
        recurrent_constraint: Any = None,
        bias_constraint: Any = None,
        dropout: float = 0.0,
        recurrent_dropout: float = 0.0,
        reset_after: bool = True,
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
        self.reset_after = one_of(
            "reset_after",
            reset_after,
            (True, False),
            ("reset gate after the recurrent product", "before it"),
        )
        self.implementation = one_of(
            "implementation",
            implementation,
            (1, 2),
            ("one product per block", "one fused product"),
        )
        if self.recurrent_dropout != 0.0:
            self.implementation = 1  # as Keras: recurrent dropout needs one product per block
        if self.implementation == 1:
            self.dropout_mask_count = 3  # DropoutRNNCell then draws one mask per block
        self.state_size = self.units
        self.output_size = self.units

    def build(self, input_shape: tuple) -> None:
        self._add_weights(
            input_shape,
            gates=3,
            bias_initializer=self.bias_initializer,
            bias_rows=2 if self.reset_after else 0,
        )

    def biases(self) -> tuple[Any, Any]:
        r"""``(input_bias, recurrent_bias)``: :math:`b` (3*units,) and :math:`\beta`
        (3*units,), the rows of ``bias`` with ``reset_after=True``; :math:`\beta` is None with
        ``reset_after=False``, and both are None without ``use_bias``.

        Example:

        >>> cell = lstmkit.GRUCell(2)
        >>> cell.build((None, 3))
        >>> [tuple(b.shape) for b in cell.biases()]
        [(6,), (6,)]
        """
        if not self.use_bias:
            return None, None
        if not self.reset_after:
            return self.bias, None
        input_bias, recurrent_bias = ops.unstack(self.bias)  # one read of the variable
        return input_bias, recurrent_bias

    def call(self, inputs: Any, states: Any, training: bool = False) -> tuple[Any, Any]:
        nested = isinstance(states, (list, tuple))
        check_step_input(inputs, self.input_dim, "GRUCell")
        (h_prev,) = check_states(states, self.units, 1, inputs.shape[0], "GRUCell")
        mask, rec_mask = self._dropout_masks(inputs, h_prev, training)
        input_bias, _ = self.biases()

        if self.implementation == 2:
            x = inputs if mask is None else inputs * mask
            projected = ops.matmul(x, self.kernel)
            if input_bias is not None:
                projected = ops.add(projected, input_bias)  # a bias_add, as in RNNCell
            x_z, x_r, x_h = ops.split(projected, 3, axis=-1)
            recurrent_inputs = None
        else:
            kernels = ops.split(self.kernel, 3, axis=1)
            input_biases = ops.split(input_bias, 3) if input_bias is not None else [None] * 3
            x_z, x_r, x_h = (
                ops.matmul(inputs if mask is None else inputs * mask[k], kernels[k])
                + (0.0 if input_biases[k] is None else input_biases[k])
                for k in range(3)
            )
            recurrent_inputs = (
                None if rec_mask is None else tuple(h_prev * rec_mask[k] for k in range(3))
            )

        h = self.gate_update(x_z, x_r, x_h, h_prev, recurrent_inputs)
        return h, ([h] if nested else h)

    def gate_update(
        self, x_z: Any, x_r: Any, x_h: Any, h_prev: Any, recurrent_inputs: Any = None
    ) -> Any:
        r"""The gates and the interpolation, from the input projections :math:`x_t W_k + b_k`.

        .. math::

            h_t = z_t \odot h_{t-1} + (1 - z_t) \odot \tilde h_t

        with :math:`z_t`, :math:`r_t` and :math:`\tilde h_t` as in the class docstring: this
        computes the recurrent products :math:`h_{t-1} U` and everything after them. ``call``
        computes the input projections one step at a time; ``lstmkit.GRU``'s compiled loop
        computes them for all steps at once and calls this for the rest, so both share this
        one implementation.

        Args:
            x_z: Input projection of the update gate (bias included), (batch, units).
            x_r: Input projection of the reset gate, (batch, units).
            x_h: Input projection of the candidate, (batch, units).
            h_prev: The previous state :math:`h_{t-1}`, (batch, units).
            recurrent_inputs: None (every block reads :math:`h_{t-1}`, one product for the
                blocks), or three (batch, units) tensors that the z, r and h blocks multiply
                by :math:`U` instead (:math:`h_{t-1}` with recurrent dropout, one mask per
                block). Defaults to `None`.

        Returns:
            :math:`h_t`, (batch, units).

        Example:

        >>> cell = lstmkit.GRUCell(2, use_bias=False)
        >>> cell.build((None, 3))
        >>> zero, h_prev = np.zeros((1, 2), "float32"), np.ones((1, 2), "float32")
        >>> _ = cell.recurrent_kernel.assign(np.zeros((2, 6), "float32"))
        >>> # z = sigmoid(0) = 0.5, candidate tanh(0) = 0: h = 0.5 * h_prev
        >>> np.asarray(cell.gate_update(zero, zero, zero, h_prev)).tolist()
        [[0.5, 0.5]]
        """
        units = self.units
        u = ops.cast(self.recurrent_kernel, h_prev.dtype)
        _, recurrent_bias = self.biases()
        if recurrent_bias is not None:
            recurrent_bias = ops.cast(recurrent_bias, h_prev.dtype)
        if recurrent_inputs is None:
            h_z = h_r = h_h = h_prev
            # all of U, not a slice of its full width: each slice is an op per step, and its
            # gradient a zero-filled (units, 3 * units) tensor per step
            inner = ops.matmul(h_prev, u if self.reset_after else u[:, : 2 * units])
            if recurrent_bias is not None:
                inner = ops.add(inner, recurrent_bias)
            r_z, r_r = inner[:, :units], inner[:, units : 2 * units]
            r_h = inner[:, 2 * units :]
        else:
            h_z, h_r, h_h = recurrent_inputs
            blocks = [u[:, k * units : (k + 1) * units] for k in range(3)]
            r_z, r_r = ops.matmul(h_z, blocks[0]), ops.matmul(h_r, blocks[1])
            r_h = ops.matmul(h_h, blocks[2]) if self.reset_after else None
            if recurrent_bias is not None:
                r_z = r_z + recurrent_bias[:units]
                r_r = r_r + recurrent_bias[units : 2 * units]
                r_h = r_h + recurrent_bias[2 * units :]
        z = self.recurrent_activation(x_z + r_z)
        r = self.recurrent_activation(x_r + r_r)
        if self.reset_after:
            candidate = self.activation(x_h + r * r_h)
        else:
            candidate = self.activation(x_h + ops.matmul(r * h_h, u[:, 2 * units :]))
        return z * h_prev + (1 - z) * candidate

    def get_config(self) -> dict:
        config = {
            "recurrent_activation": keras.activations.serialize(self.recurrent_activation),
            "reset_after": self.reset_after,
            # Keras does not save `implementation`; lstmkit does, so a reload computes the same way.
            "implementation": self.implementation,
        }
        return {**super().get_config(), **config}
