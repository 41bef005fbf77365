r"""The readable recurrence: the input projection of all steps, then a ``tf.while_loop``.

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

:func:`scan_steps` takes the cell's own step as an argument: the maths of a step is the cell's,
only its organisation differs. It covers every configuration, and TensorFlow's autodiff
differentiates it to any order; :mod:`lstmkit.recurrence` runs the faster fused loops where
they apply.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import tensorflow as tf

from lstmkit.derivatives import forward_mode_in_graph

__all__ = ["LoopOptions", "project_inputs", "scan_steps", "time_major_mask", "transpose_mask"]

#: ``step(p_t, states) -> new_states``: one step of a cell, from its input projection ``p_t``
#: (batch, features) and the previous states to the new states; ``new_states[0]`` is the output.
Step = Callable[[tf.Tensor, tuple], tuple]


@dataclass(frozen=True, eq=False)  # eq=False: ``mask`` is a tensor, compared by identity
class LoopOptions:
    """How a layer drives its loop: what travels from ``lstmkit.SimpleRNN``/``LSTM`` to the loops.

    Args:
        mask: None or (batch, time), True where a step is real.
        go_backwards: Process the steps last to first; outputs come in processing order, as
            Keras returns them.
        return_sequences: Keep the output of every step (else only the last).
        zero_output_for_mask: Output zeros at masked steps instead of the previous output.
    """

    mask: Any = None
    go_backwards: bool = False
    return_sequences: bool = True
    zero_output_for_mask: bool = False


def transpose_mask(mask: Any) -> tf.Tensor:
    """A 2-D mask transposed, as booleans.

    Transposed as float32: TensorFlow's oneDNN transpose logs an ERROR line ("oneDNN supports
    DT_BOOL only on platforms with AVX-512", on any CPU) the first time it meets booleans, then
    runs its usual kernel; float32 it transposes without a word."""
    return tf.not_equal(tf.transpose(tf.cast(mask, tf.float32)), 0)


def time_major_mask(mask: Any, go_backwards: bool = False) -> tf.Tensor:
    """A (batch, time) mask as (time, batch, 1) booleans in processing order (reversed in time
    for ``go_backwards``)."""
    steps_mask = transpose_mask(mask)[:, :, None]
    return tf.reverse(steps_mask, [0]) if go_backwards else steps_mask


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
    if bias is not None:  # bias_add: its gradient is BiasAddGrad, faster than a sum over rows
        projected = tf.nn.bias_add(projected, tf.cast(bias, x.dtype))
    return tf.reshape(projected, [shape[0], shape[1], tf.shape(kernel)[1]])


def scan_steps(
    projected: tf.Tensor,
    initial_states: Sequence[Any],
    step: Step,
    *,
    options: LoopOptions = LoopOptions(),  # noqa: B008 - frozen, so one shared default is safe
) -> tuple[tf.Tensor, tf.Tensor, list]:
    r"""Run ``step`` over the time steps in a ``tf.while_loop``, collecting its outputs (a scan);
    the output of a step is its first state.

    Args:
        projected: :math:`P`, (time, batch, features), from :func:`project_inputs`.
        initial_states: the states at :math:`t = 0`, each (batch, units).
        step: ``step(p_t, states) -> new_states`` (a tuple); ``new_states[0]`` is the output
            :math:`h_t`.
        options: the mask, direction and outputs wanted (:class:`LoopOptions`; default: no
            mask, forwards, every step's output).

    Returns:
        ``(last_output, outputs, states)`` as ``keras.src.backend.rnn`` returns them:
        ``outputs`` is (batch, time, units), or (batch, 1, units) when not
        ``return_sequences``.
    """
    mask, go_backwards = options.mask, options.go_backwards
    return_sequences, zero_output_for_mask = options.return_sequences, options.zero_output_for_mask
    states = tuple(tf.convert_to_tensor(s, dtype=projected.dtype) for s in initial_states)
    if go_backwards:
        projected = tf.reverse(projected, [0])
    if mask is not None:
        mask = time_major_mask(mask, go_backwards)

    def advance(p_t: tf.Tensor, keep: tf.Tensor | None, previous: tf.Tensor, states: tuple):
        """One step: ``(output, new_states)``, masked as Keras masks."""
        new_states = tuple(step(p_t, states))
        output = new_states[0]
        if keep is not None:
            pairs = zip(new_states, states, strict=True)
            new_states = tuple(tf.where(keep, new, old) for new, old in pairs)
            fill = tf.zeros_like(output) if zero_output_for_mask else previous
            output = tf.where(keep, output, fill)
        return output, new_states

    if forward_mode_in_graph([projected, *states]):
        return _unrolled(advance, projected, states, mask, return_sequences)
    steps = tf.shape(projected)[0]
    inputs_ta = tf.TensorArray(projected.dtype, size=steps).unstack(projected)
    outputs_ta = tf.TensorArray(
        projected.dtype, size=steps if return_sequences else 1, element_shape=states[0].shape
    )
    mask_ta = None if mask is None else tf.TensorArray(tf.bool, size=steps).unstack(mask)

    def body(t: tf.Tensor, outputs_ta: tf.TensorArray, previous: tf.Tensor, *states: tf.Tensor):
        keep = None if mask_ta is None else mask_ta.read(t)
        output, new_states = advance(inputs_ta.read(t), keep, previous, states)
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
        # The loop's TensorArray forgets the number of steps; keep every static dimension.
        outputs.set_shape([projected.shape[1], projected.shape[0], states[0].shape[-1]])
    else:
        outputs = last_output[:, None, :]
    return last_output, outputs, final_states


def _unrolled(
    advance: Callable, projected: tf.Tensor, states: tuple, mask: Any, return_sequences: bool
) -> tuple[tf.Tensor, tf.Tensor, list]:
    """:func:`scan_steps`' loop unrolled in Python: one set of ops per step (needs a static
    number of steps)."""
    steps = projected.shape[0]
    if steps is None:
        raise ValueError(
            "Forward-mode derivatives (tf.autodiff.ForwardAccumulator) of a recurrent layer "
            "inside a tf.function need a fixed number of timesteps; received inputs whose "
            "time axis is unknown. Give the inputs a static time dimension, or compute the "
            "derivative eagerly or in reverse mode (tf.GradientTape)."
        )
    output, outputs = tf.zeros_like(states[0]), []
    for t in range(steps):
        keep = None if mask is None else mask[t]
        output, states = advance(projected[t], keep, output, states)
        outputs.append(output)
    sequence = tf.stack(outputs, axis=1) if return_sequences else output[:, None, :]
    return output, sequence, list(states)
