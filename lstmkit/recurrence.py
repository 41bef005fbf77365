r"""The compiled recurrence behind ``lstmkit.LSTM`` and ``lstmkit.SimpleRNN`` (TensorFlow).

A recurrent layer computes, for every step :math:`t`,

.. math::

    z_t = x_t W + b + h_{t-1} U

and feeds :math:`z_t` to the cell's non-linearities. Only the term :math:`h_{t-1} U` depends on
the previous step. So the input projection :math:`P_t = x_t W + b` of *all* steps is computed
first, as one large product of shape (time * batch, input_dim) @ (input_dim, gates * units),
and the loop that must stay sequential does one (batch, units) @ (units, gates * units) product
per step. Keras' generic loop instead computes :math:`x_t W` inside the loop, one small product
per step.

The loop is a ``tf.while_loop`` over ``tf.TensorArray``\ s: step :math:`t` *reads* its slice of
:math:`P` from a TensorArray and *writes* its output to another. Slicing a tensor inside the
loop instead (``P[t]``) would make the backward pass quadratic in the sequence length, because
the gradient of each slice is a zero-padded tensor as large as :math:`P`.

Masking follows ``keras.src.backend.tensorflow.rnn.rnn`` exactly: at a masked step the states
keep their previous values and the output repeats the previous *output* (zeros before the first
unmasked step), or is zero when ``zero_output_for_mask`` is True.

The functions take the cell's own non-linearities as arguments: the maths of a step is the
cell's, only its organisation differs.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import tensorflow as tf

__all__ = ["lstm", "project_inputs", "recurrence", "simple_rnn"]

Step = Callable[[tf.Tensor, tuple], tuple]


def project_inputs(
    inputs: Any, kernel: Any, bias: Any = None, dropout_mask: Any = None
) -> tf.Tensor:
    r"""Input projection of every step at once, time-major.

    .. math::

        P_t = (x_t \odot m) W + b

    Args:
        inputs: (batch, time, input_dim) tensor.
        kernel: :math:`W`, (input_dim, gates * units).
        bias: :math:`b`, (gates * units,) or None.
        dropout_mask: None; a (batch, input_dim) mask :math:`m` used at every step; or a list
            of ``gates`` such masks, one per column block of :math:`W` (LSTM
            ``implementation=1``, where each gate gets its own input dropout mask).

    Returns:
        :math:`P`, shape (time, batch, gates * units), in the dtype of ``inputs``.
    """
    x = tf.transpose(inputs, [1, 0, 2])  # (time, batch, input_dim)
    kernel = tf.cast(kernel, x.dtype)
    shape = tf.shape(x)

    def product(x: tf.Tensor, w: tf.Tensor) -> tf.Tensor:  # (time*batch, input_dim) @ w
        return tf.matmul(tf.reshape(x, [-1, shape[2]]), w)

    if isinstance(dropout_mask, (list, tuple)):
        blocks = tf.split(kernel, len(dropout_mask), axis=1)
        pairs = zip(dropout_mask, blocks, strict=True)
        projected = tf.concat([product(x * tf.cast(m, x.dtype), w) for m, w in pairs], axis=1)
    elif dropout_mask is not None:
        projected = product(x * tf.cast(dropout_mask, x.dtype), kernel)
    else:
        projected = product(x, kernel)
    if bias is not None:
        projected = projected + tf.cast(bias, x.dtype)
    return tf.reshape(projected, [shape[0], shape[1], tf.shape(kernel)[1]])


def recurrence(
    projected: tf.Tensor,
    initial_states: Sequence[Any],
    step: Step,
    *,
    mask: Any = None,
    go_backwards: bool = False,
    return_sequences: bool = True,
    zero_output_for_mask: bool = False,
) -> tuple[tf.Tensor, tf.Tensor, list]:
    r"""Run ``step`` over time in a ``tf.while_loop``; the output of a step is its first state.

    Args:
        projected: :math:`P`, (time, batch, features), from :func:`project_inputs`.
        initial_states: the states at :math:`t = 0`, each (batch, units).
        step: ``step(p_t, states) -> new_states`` (a tuple); ``new_states[0]`` is the output
            :math:`h_t`.
        mask: None or (batch, time), True where a step is real.
        go_backwards: Process the steps last to first; outputs come in processing order, as
            Keras returns them.
        return_sequences: Keep the output of every step (else only the last).
        zero_output_for_mask: Output zeros at masked steps instead of the previous output.

    Returns:
        ``(last_output, outputs, states)`` as ``keras.src.backend.rnn`` returns them:
        ``outputs`` is (batch, time, units), or (batch, 1, units) when not
        ``return_sequences``.
    """
    states = tuple(tf.convert_to_tensor(s, dtype=projected.dtype) for s in initial_states)
    if go_backwards:
        projected = tf.reverse(projected, [0])
    steps = tf.shape(projected)[0]
    inputs_ta = tf.TensorArray(projected.dtype, size=steps).unstack(projected)
    outputs_ta = tf.TensorArray(
        projected.dtype, size=steps if return_sequences else 1, element_shape=states[0].shape
    )
    masked = mask is not None
    if masked:
        mask = tf.transpose(tf.cast(mask, tf.bool))[:, :, None]  # (time, batch, 1)
        if go_backwards:
            mask = tf.reverse(mask, [0])
        mask_ta = tf.TensorArray(tf.bool, size=steps).unstack(mask)

    def body(t: tf.Tensor, outputs_ta: tf.TensorArray, previous: tf.Tensor, *states: tf.Tensor):
        new_states = tuple(step(inputs_ta.read(t), states))
        output = new_states[0]
        if masked:
            keep = mask_ta.read(t)
            pairs = zip(new_states, states, strict=True)
            new_states = tuple(tf.where(keep, new, old) for new, old in pairs)
            fill = tf.zeros_like(output) if zero_output_for_mask else previous
            output = tf.where(keep, output, fill)
        outputs_ta = outputs_ta.write(t if return_sequences else 0, output)
        return (t + 1, outputs_ta, output, *new_states)

    final = tf.while_loop(
        lambda t, *_: t < steps,
        body,
        (tf.constant(0), outputs_ta, tf.zeros_like(states[0]), *states),
        maximum_iterations=steps,
        parallel_iterations=32,
        swap_memory=True,
    )
    last_output, final_states = final[2], list(final[3:])
    if return_sequences:
        outputs = tf.transpose(final[1].stack(), [1, 0, 2])
    else:
        outputs = last_output[:, None, :]
    return last_output, outputs, final_states


def lstm(
    inputs: Any,
    initial_state: Sequence[Any],
    kernel: Any,
    recurrent_kernel: Any,
    bias: Any,
    gates: Callable[[Any, Any, Any, Any, Any], tuple],
    *,
    dropout_mask: Any = None,
    **options: Any,
) -> tuple[tf.Tensor, tf.Tensor, list]:
    r"""An LSTM over a whole sequence: :func:`project_inputs`, then :func:`recurrence` with

    .. math::

        (z_i, z_f, z_g, z_o) = P_t + h_{t-1} U, \qquad (h_t, c_t) = \mathrm{gates}(z_i, z_f,
        z_g, z_o, c_{t-1})

    Args:
        inputs: (batch, time, input_dim).
        initial_state: ``[h0, c0]``, each (batch, units).
        kernel, recurrent_kernel, bias: the cell's weights in Keras' layout (gate blocks
            i, f, c, o); ``bias`` may be None.
        gates: the cell's gate maths, ``gates(z_i, z_f, z_g, z_o, c_prev) -> (h, c)``.
        dropout_mask: input dropout mask(s), see :func:`project_inputs`.
        **options: ``mask``, ``go_backwards``, ``return_sequences``, ``zero_output_for_mask``
            of :func:`recurrence`.

    Returns:
        ``(last_output, outputs, [h, c])``.
    """
    projected = project_inputs(inputs, kernel, bias, dropout_mask)
    u = tf.cast(recurrent_kernel, projected.dtype)

    def step(p_t: tf.Tensor, states: tuple) -> tuple:
        h, c = states
        z_i, z_f, z_g, z_o = tf.split(p_t + tf.matmul(h, u), 4, axis=-1)
        return gates(z_i, z_f, z_g, z_o, c)

    return recurrence(projected, initial_state, step, **options)


def simple_rnn(
    inputs: Any,
    initial_state: Sequence[Any],
    kernel: Any,
    recurrent_kernel: Any,
    bias: Any,
    activation: Callable[[Any], Any],
    *,
    dropout_mask: Any = None,
    **options: Any,
) -> tuple[tf.Tensor, tf.Tensor, list]:
    r"""A simple RNN over a whole sequence: :math:`h_t = \phi(P_t + h_{t-1} U)`.

    Arguments as in :func:`lstm`, with ``initial_state = [h0]`` and the cell's ``activation``
    :math:`\phi`. Returns ``(last_output, outputs, [h])``.
    """
    projected = project_inputs(inputs, kernel, bias, dropout_mask)
    u = tf.cast(recurrent_kernel, projected.dtype)

    def step(p_t: tf.Tensor, states: tuple) -> tuple:
        return (activation(p_t + tf.matmul(states[0], u)),)

    return recurrence(projected, initial_state, step, **options)
