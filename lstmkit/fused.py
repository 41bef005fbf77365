"""What the fused loops of :mod:`lstmkit.fused_lstm` and :mod:`lstmkit.fused_rnn` share: loop
helpers, the gradient of the recurrent kernel, and the plain reference each fused core is
differentiated as beyond first order (:func:`lstmkit.derivatives.twice_differentiable`).
"""

from __future__ import annotations

from collections.abc import Callable

import tensorflow as tf

from lstmkit.loop import LoopOptions, scan_steps, transpose_mask

__all__ = ["recurrent_kernel_gradient"]


def _steps(sequence: tf.Tensor) -> int | tf.Tensor:
    """The length of a time-major sequence: a Python int when known, so shapes stay static."""
    return sequence.shape[0] if sequence.shape[0] is not None else tf.shape(sequence)[0]


def _kept_shape(name: str, units: int, blocks: int) -> tuple[int, ...]:
    """The shape of one step of a sequence a fused forward loop keeps, without the batch:
    (units,) for the states ``"hs"``; (blocks, units) for ``"factors"``, the local derivatives
    of its backward loop, each a (batch, units) block, side by side on a middle axis (written in
    one pass by the compiled loop; joined along the last axis instead, the LSTM's forward loop
    is about 8 % slower at 64 rows, the GRU's training step about 3 %)."""
    return (units,) if name == "hs" else (blocks, units)


def _while(steps: int | tf.Tensor, body: Callable, loop_vars: tuple) -> tuple:
    return tf.while_loop(
        lambda t, *_: t < steps,
        body,
        (tf.constant(0), *loop_vars),
        maximum_iterations=steps,
        parallel_iterations=32,
    )[1:]


def recurrent_kernel_gradient(h0: tf.Tensor, h_seq: tf.Tensor, dz_seq: tf.Tensor) -> tf.Tensor:
    r""":math:`\bar U = \sum_t h_{t-1}^\top \bar z_t`, one product over all steps.

    Outside the compiled backward loop on purpose: TensorFlow's own kernel is faster for this
    large product, and it can run alongside the gradient of the input projection."""
    h_prev = tf.concat([h0[None], h_seq[:-1]], axis=0)
    return tf.matmul(
        tf.reshape(h_prev, [-1, h0.shape[-1]]),
        tf.reshape(dz_seq, [-1, dz_seq.shape[-1]]),
        transpose_a=True,
    )


def _reference_core(step: Callable, return_sequences: bool, mask: tf.Tensor | None) -> Callable:
    """``core(P, *states, U)`` of a fused path computed by :func:`scan_steps` with ``step``:
    the same function and outputs (time-major state sequence ``h_seq`` first with
    ``return_sequences``), which TensorFlow's autodiff differentiates to any order."""

    def core(projected: tf.Tensor, *states_and_u: tf.Tensor) -> list[tf.Tensor]:
        *states, u = states_and_u
        batch_major = None if mask is None else transpose_mask(mask[:, :, 0])
        _, outputs, final = scan_steps(
            projected, states, lambda p, s: step(p, s, u), options=LoopOptions(mask=batch_major)
        )
        if not return_sequences:
            return final
        h_seq = tf.transpose(outputs, [1, 0, 2])
        if mask is not None:  # outputs are zero before a row's first real step, states h0
            h_seq = tf.where(_seen(mask), h_seq, tf.convert_to_tensor(states[0])[None])
        return [h_seq, *final]

    return core


def _seen(steps_mask: tf.Tensor) -> tf.Tensor:
    """Whether a row has had a real step by step :math:`t` (time-major booleans)."""
    return tf.cumsum(tf.cast(steps_mask, tf.int32), axis=0) > 0
