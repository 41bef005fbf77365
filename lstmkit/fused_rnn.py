r"""The fused simple RNN loop: :math:`h_t = \tanh(P_t + h_{t-1} U)` compiled with XLA, with a
backward pass through time derived by hand (compiled too) and attached with ``tf.custom_gradient``
(:func:`_fused_rnn_core`); masks and changing lengths as in :mod:`lstmkit.fused_lstm`.
"""

from __future__ import annotations

from collections.abc import Callable

import tensorflow as tf

from lstmkit import chunks
from lstmkit.derivatives import gradient_wanted, opaque, twice_differentiable
from lstmkit.fused import _reference_core, _steps, _while, recurrent_kernel_gradient

__all__ = ["rnn_backward", "rnn_forward"]


def _rnn_step(p_t: tf.Tensor, states: tuple, u: tf.Tensor) -> tuple:
    """The standard simple RNN step written plainly."""
    return (tf.tanh(p_t + tf.matmul(states[0], u)),)


def rnn_forward(
    projected: tf.Tensor,
    h0: tf.Tensor,
    u: tf.Tensor,
    keep_sequence: bool,
    mask: tf.Tensor | None = None,
) -> dict[str, tf.Tensor]:
    r""":math:`h_t = \tanh(P_t + h_{t-1} U)`, or :math:`h_{t-1}` at a masked step (``mask``
    as in :func:`lstm_forward`); ``{"h": h_T}`` and, if asked, ``"hs"``. Called compiled with XLA
    (:func:`lstmkit.chunks.compiled`)."""
    steps = _steps(projected)
    inputs_ta = tf.TensorArray(projected.dtype, size=steps).unstack(projected)
    element_shape = (projected.shape[1], u.shape[0])
    kept = (
        (tf.TensorArray(projected.dtype, size=steps, element_shape=element_shape),)
        if keep_sequence
        else ()
    )

    def body(t: tf.Tensor, h_prev: tf.Tensor, *kept: tf.TensorArray) -> tuple:
        h = tf.tanh(inputs_ta.read(t) + tf.matmul(h_prev, u))
        if mask is not None:
            h = tf.where(mask[t], h, h_prev)
        return (t + 1, h, *(ta.write(t, h) for ta in kept))

    h, *kept = _while(steps, body, (h0, *kept))
    return {"h": h, **({"hs": kept[0].stack()} if keep_sequence else {})}


def rnn_backward(
    dh_seq: tf.Tensor | None,
    dh_last: tf.Tensor,
    u: tf.Tensor,
    h_seq: tf.Tensor,
    mask: tf.Tensor | None = None,
) -> tuple[tf.Tensor, tf.Tensor]:
    r"""Backpropagation through time for :func:`rnn_forward`; called compiled with XLA
    (:func:`lstmkit.chunks.compiled`).

    .. math::

        \bar z_t = \bar h_t (1 - h_t^2), \qquad \bar h_{t-1} \mathrel{+}= \bar z_t U^\top

    and :math:`\bar U` from :func:`recurrent_kernel_gradient`. ``dh_seq`` holds the gradients
    from the outputs :math:`h_t`, or is None when only the last one is an output (its gradient
    is then ``dh_last``), which spares the loop a sequence of zeros to build and read (the
    training step at batch 64 and 256 about 7 % faster; the LSTM's loop, measured likewise, was
    not faster without them, so it reads zeros). With a mask (as in
    :func:`lstm_backward`), :math:`\bar z_t = m_t \bar h_t (1 - h_t^2)` and
    :math:`(1 - m_t) \bar h_t` goes on to step :math:`t-1`.

    Returns:
        :math:`(\bar P, \bar h_0)`, :math:`\bar P = [\bar z_t]_t`.
    """
    steps = _steps(h_seq)
    u_t = tf.transpose(u)
    dz_ta = tf.TensorArray(u.dtype, size=steps)

    def body(k: tf.Tensor, dh: tf.Tensor, dz_ta: tf.TensorArray) -> tuple:
        t = steps - 1 - k
        h, dh = h_seq[t], dh if dh_seq is None else dh + dh_seq[t]
        if mask is None:
            dz = dh * (1 - h * h)
            return (k + 1, tf.matmul(dz, u_t), dz_ta.write(t, dz))
        m = tf.cast(mask[t], dh.dtype)
        dz = m * dh * (1 - h * h)
        return (k + 1, tf.matmul(dz, u_t) + (1 - m) * dh, dz_ta.write(t, dz))

    dh0, dz_ta = _while(steps, body, (dh_last, dz_ta))
    return dz_ta.stack(), dh0


_rnn_forward_compiled = chunks.compiled(rnn_forward)
_rnn_backward_compiled = chunks.compiled(rnn_backward)


@chunks.traced_once
def _rnn_forward_run(
    projected: tf.Tensor, h0: tf.Tensor, u: tf.Tensor, keep_sequence: bool, mask: tf.Tensor | None
) -> dict[str, tf.Tensor]:
    """:func:`_rnn_forward_compiled` over the whole sequence, or over chunks of steps when
    lengths change (:mod:`lstmkit.chunks`), with every static dimension the inputs give."""
    if chunks.applies(projected):

        def run(sequences: list, chunk_mask: tf.Tensor, carry: tuple) -> tuple:
            out = _rnn_forward_compiled(sequences[0], *carry, u, keep_sequence, chunk_mask)
            return ([out["hs"]] if keep_sequence else []), (out["h"],)

        widths = [u.shape[0]] if keep_sequence else []
        kept, (h,) = chunks.over_chunks(run, [projected], mask, (h0,), widths)
        out = {"h": h, **({"hs": kept[0]} if keep_sequence else {})}
    else:
        out = _rnn_forward_compiled(projected, h0, u, keep_sequence, mask)
    out["h"].set_shape(h0.shape)
    if keep_sequence:
        out["hs"].set_shape((*projected.shape[:2], u.shape[0]))
    return out


@chunks.traced_once
def _rnn_backward_run(
    h_seq: tf.Tensor, dh_seq: tf.Tensor | None, dh_last: tf.Tensor, u: tf.Tensor,
    mask: tf.Tensor | None,
) -> tuple[tf.Tensor, tf.Tensor]:
    """:func:`rnn_backward` over the whole sequence, or over chunks of steps when lengths
    change (:mod:`lstmkit.chunks`), as the forward pass, with every static
    dimension the inputs give (a compiled function may reuse a trace made for less specific
    shapes)."""
    if chunks.applies(h_seq):

        def run(sequences: list, chunk_mask: tf.Tensor, carry: tuple) -> tuple:
            dz, dh = _rnn_backward_compiled(sequences[0], *carry, u, sequences[1], chunk_mask)
            return [dz], (dh,)

        (dz_seq,), (dh0,) = chunks.over_chunks(
            run, [dh_seq, h_seq], mask, (dh_last,), [u.shape[1]], reverse=True
        )
    else:
        dz_seq, dh0 = _rnn_backward_compiled(dh_seq, dh_last, u, h_seq, mask)
    dz_seq.set_shape(h_seq.shape)
    dh0.set_shape(dh_last.shape)
    return dz_seq, dh0


def _fused_rnn_core(return_sequences: bool, mask: tf.Tensor | None = None) -> Callable:
    """``core(P, h0, U)``: :func:`rnn_forward` with :func:`rnn_backward` as its gradient.
    Returns ``(h_seq, h_T)``, or ``(h_T,)`` without ``return_sequences``; ``mask`` as in
    :func:`lstm_forward`."""

    @tf.custom_gradient
    def core(projected: tf.Tensor, h0: tf.Tensor, u: tf.Tensor) -> tuple:
        wanted = gradient_wanted()
        run = opaque(_rnn_forward_run, (projected, h0, u), wanted or return_sequences, mask)
        outputs = (run["hs"], run["h"]) if return_sequences else (run["h"],)

        def backward(
            projected: tf.Tensor, h0: tf.Tensor, u: tf.Tensor, *upstream: tf.Tensor
        ) -> list[tf.Tensor]:
            h_seq = run["hs"] if wanted else _rnn_forward_run(projected, h0, u, True, mask)["hs"]
            dh_seq = upstream[0] if return_sequences else None
            dz_seq, dh0 = _rnn_backward_run(h_seq, dh_seq, upstream[-1], u, mask)
            return [dz_seq, dh0, recurrent_kernel_gradient(h0, h_seq, dz_seq)]

        def grad(*upstream: tf.Tensor | None) -> list[tf.Tensor]:
            reference = _reference_core(_rnn_step, return_sequences, mask)
            return twice_differentiable(backward, reference, (projected, h0, u), upstream, outputs)

        return outputs, grad

    return core
