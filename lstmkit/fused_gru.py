r"""The fused GRU loop: Keras' default GRU step (tanh and sigmoid, ``reset_after=True``, blocks
z, r, h) compiled with XLA, with a backward pass through time derived by hand and attached with
``tf.custom_gradient`` (:func:`_fused_gru_core`); masks and changing lengths as in
:mod:`lstmkit.fused_lstm`.

The recurrent bias :math:`\beta` rides on the recurrent kernel as one more row,
:math:`\hat U = [U; \beta]` (units + 1, 3 * units), so that :math:`h_{t-1} U + \beta` is
:math:`[h_{t-1}, 1] \hat U` and the core has the signature of the other fused cores,
``core(P, h0, Û)``.
"""

from __future__ import annotations

from collections.abc import Callable

import tensorflow as tf

from lstmkit import chunks
from lstmkit.derivatives import gradient_wanted, opaque, twice_differentiable
from lstmkit.fused import _kept_shape, _reference_core, _steps, _while, recurrent_kernel_gradient

__all__ = ["gru_backward", "gru_forward"]


def _gru_step(p_t: tf.Tensor, states: tuple, packed: tf.Tensor) -> tuple:
    """The standard GRU step (``reset_after=True``) written plainly, :math:`\\hat U` packed."""
    h = states[0]
    m_z, m_r, m_h = tf.split(tf.matmul(h, packed[:-1]) + packed[-1], 3, axis=-1)
    p_z, p_r, p_h = tf.split(p_t, 3, axis=-1)
    z, r = tf.sigmoid(p_z + m_z), tf.sigmoid(p_r + m_r)
    return (z * h + (1 - z) * tf.tanh(p_h + r * m_h),)


#: The blocks of the factors :func:`gru_forward` keeps (see :func:`gru_backward`).
_FACTORS = 5


def gru_forward(
    projected: tf.Tensor,
    h0: tf.Tensor,
    packed: tf.Tensor,
    keep: tuple[str, ...],
    mask: tf.Tensor | None = None,
) -> dict[str, tf.Tensor]:
    r"""The GRU recurrence with the reset gate after the recurrent product:

    .. math::

        m_t = h_{t-1} U + \beta, \quad (z_t, r_t) = \sigma(P^{z,r}_t + m^{z,r}_t), \quad
        n_t = \tanh(P^h_t + r_t m^h_t), \quad h_t = n_t + z_t (h_{t-1} - n_t)

    (one product per gate block). A masked step keeps :math:`h_{t-1}`. Called compiled with XLA
    (:func:`lstmkit.chunks.compiled`).

    Args:
        projected: :math:`P` (time, batch, 3 * units), input bias included.
        h0: initial state (batch, units).
        packed: :math:`\hat U = [U; \beta]` (units + 1, 3 * units).
        keep: which per-step values to stack over time, among ``"hs"`` (:math:`h_t`) and
            ``"factors"``, the local derivatives :func:`gru_backward` needs, five (batch, units)
            blocks side by side on a middle axis, (batch, 5, units), as
            :func:`lstmkit.fused_lstm.lstm_forward` keeps its own.
        mask: None, or (time, batch, 1) booleans in processing order, False at masked steps.

    Returns:
        ``{"h": h_T}`` and a (time, batch, ...) tensor for each name in ``keep``.
    """
    steps, batch, units = _steps(projected), projected.shape[1], packed.shape[0] - 1
    # One product and one step input per gate block: XLA's CPU backend fuses each step's
    # element-wise maths into one kernel, and left scalar (not vectorised) when that kernel
    # reads column slices of a (batch, 3 * units) product or step input, which made the loop
    # about twice as slow at batch 256 (see the README's speed section).
    u_z, u_r, u_h = tf.split(packed[:-1], 3, axis=1)
    beta_z, beta_r, beta_h = tf.split(packed[-1], 3)
    blocks = tf.split(projected, 3, axis=2)
    # beta's z and r blocks only add to P: added once, outside the loop; its h block is inside
    # (the reset gate multiplies it).
    inputs_ta = [
        tf.TensorArray(projected.dtype, size=steps).unstack(block)
        for block in (blocks[0] + beta_z, blocks[1] + beta_r, blocks[2])
    ]
    kept = tuple(
        tf.TensorArray(
            projected.dtype, size=steps, element_shape=(batch, *_kept_shape(n, units, _FACTORS))
        )
        for n in keep
    )
    half = tf.constant(0.5, projected.dtype)

    def sigmoid(a: tf.Tensor) -> tf.Tensor:  # sigmoid(a) = (1 + tanh(a / 2)) / 2, fused by XLA
        return half + half * tf.tanh(half * a)

    def body(t: tf.Tensor, h_prev: tf.Tensor, *kept: tf.TensorArray) -> tuple:
        p_z, p_r, p_h = (ta.read(t) for ta in inputs_ta)
        z = sigmoid(p_z + tf.matmul(h_prev, u_z))
        r = sigmoid(p_r + tf.matmul(h_prev, u_r))
        m_h = tf.matmul(h_prev, u_h) + beta_h
        n = tf.tanh(p_h + r * m_h)
        h = n + z * (h_prev - n)

        def factors() -> tf.Tensor:  # the local derivatives of gru_backward
            return tf.stack(
                [(h_prev - n) * z * (1 - z), (1 - z) * (1 - n * n), m_h * r * (1 - r), r, z],
                axis=1,
            )

        if mask is not None:  # a masked step keeps the state (its factors are not used)
            h = tf.where(mask[t], h, h_prev)
        values = {"hs": lambda: h, "factors": factors}
        return (t + 1, h, *(ta.write(t, values[n]()) for ta, n in zip(kept, keep, strict=True)))

    h, *kept = _while(steps, body, (h0, *kept))
    return {"h": h, **{name: ta.stack() for name, ta in zip(keep, kept, strict=True)}}


def gru_backward(
    dh_seq: tf.Tensor | None,
    dh_last: tf.Tensor,
    packed: tf.Tensor,
    factors: tf.Tensor,
    mask: tf.Tensor | None = None,
) -> tuple[tf.Tensor, tf.Tensor]:
    r"""Backpropagation through time for :func:`gru_forward`; called compiled with XLA
    (:func:`lstmkit.chunks.compiled`).

    With :math:`\bar h_t = \partial L / \partial h_t` (from the outputs and from step
    :math:`t+1`), going from :math:`t = T-1` down to 0:

    .. math::

        \bar z^z_t &= \bar h_t\, (h_{t-1} - n_t)\, z_t (1 - z_t), \quad
        \bar z^h_t = \bar h_t\, (1 - z_t) (1 - n_t^2), \quad
        \bar z^r_t = \bar z^h_t\, m^h_t\, r_t (1 - r_t), \\
        \bar P_t &= [\bar z^z_t, \bar z^r_t, \bar z^h_t], \quad
        \bar m_t = [\bar z^z_t, \bar z^r_t, r_t \bar z^h_t], \quad
        \bar h_{t-1} \mathrel{+}= \bar h_t z_t + \bar m_t U^\top

    The five factors (:math:`(h_{t-1} - n_t) z_t (1 - z_t)`, :math:`(1 - z_t)(1 - n_t^2)`,
    :math:`m^h_t r_t (1 - r_t)`, :math:`r_t`, :math:`z_t`) are local to step :math:`t`, so the
    forward loop stores them. After the loop, :math:`\bar m` follows from :math:`\bar P` and
    :math:`r`, then :math:`\bar U = \sum_t h_{t-1}^\top \bar m_t` is one product
    (:func:`lstmkit.fused.recurrent_kernel_gradient`) and :math:`\bar\beta = \sum_t \bar m_t`.
    A masked step passes :math:`\bar h_t` on to step :math:`t-1` unchanged, as in
    :func:`lstmkit.fused_lstm.lstm_backward`; ``dh_seq`` may be None, as in
    :func:`lstmkit.fused_rnn.rnn_backward`.

    Returns:
        :math:`(\bar P, \bar h_0)`.
    """
    steps = _steps(factors)
    u_t = tf.transpose(packed[:-1])
    dp_ta = tf.TensorArray(packed.dtype, size=steps)

    def body(k: tf.Tensor, dh: tf.Tensor, dp_ta: tf.TensorArray) -> tuple:
        t = steps - 1 - k
        factors_t = factors[t]  # (batch, 5, units)
        a, b, c, r, z = (factors_t[:, block] for block in range(_FACTORS))
        if dh_seq is not None:
            dh = dh + dh_seq[t]
        dh_cell = dh if mask is None else tf.cast(mask[t], dh.dtype) * dh
        dz, dn = dh_cell * a, dh_cell * b
        dr = dn * c
        dh_prev = dh_cell * z + tf.matmul(tf.concat([dz, dr, dn * r], axis=1), u_t)
        if mask is not None:
            dh_prev = dh_prev + dh - dh_cell
        return (k + 1, dh_prev, dp_ta.write(t, tf.concat([dz, dr, dn], axis=1)))

    dh0, dp_ta = _while(steps, body, (dh_last, dp_ta))
    return dp_ta.stack(), dh0


_GRU_SAVED = ("hs", "factors")
_gru_forward_compiled = chunks.compiled(gru_forward)
_gru_backward_compiled = chunks.compiled(gru_backward)


@chunks.traced_once
def _gru_forward_run(
    projected: tf.Tensor,
    h0: tf.Tensor,
    packed: tf.Tensor,
    keep: tuple[str, ...],
    mask: tf.Tensor | None,
) -> dict[str, tf.Tensor]:
    """:func:`_gru_forward_compiled` over the whole sequence, or over chunks of steps when
    lengths change (:mod:`lstmkit.chunks`), with every static dimension the inputs give."""
    steps, batch, units = projected.shape[0], projected.shape[1], packed.shape[0] - 1
    if chunks.applies(projected):

        def run(sequences: list, chunk_mask: tf.Tensor, carry: tuple) -> tuple:
            out = _gru_forward_compiled(sequences[0], *carry, packed, keep, chunk_mask)
            return [out[name] for name in keep], (out["h"],)

        shapes = [_kept_shape(n, units, _FACTORS) for n in keep]
        kept, (h,) = chunks.over_chunks(run, [projected], mask, (h0,), shapes)
        out = {"h": h, **dict(zip(keep, kept, strict=True))}
    else:
        out = _gru_forward_compiled(projected, h0, packed, keep, mask)
    out["h"].set_shape(h0.shape)
    for name in keep:
        out[name].set_shape((steps, batch, *_kept_shape(name, units, _FACTORS)))
    return out


@chunks.traced_once
def _gru_backward_run(
    factors: tf.Tensor,
    dh_seq: tf.Tensor | None,
    dh_last: tf.Tensor,
    packed: tf.Tensor,
    mask: tf.Tensor | None,
) -> tuple[tf.Tensor, tf.Tensor]:
    """:func:`gru_backward` over the whole sequence, or over chunks as the forward pass."""
    if chunks.applies(factors):

        def run(sequences: list, chunk_mask: tf.Tensor, carry: tuple) -> tuple:
            dp, dh = _gru_backward_compiled(sequences[0], *carry, packed, sequences[1],
                                            chunk_mask)
            return [dp], (dh,)

        (dp_seq,), (dh0,) = chunks.over_chunks(
            run, [dh_seq, factors], mask, (dh_last,), [packed.shape[1]], reverse=True
        )
    else:
        dp_seq, dh0 = _gru_backward_compiled(dh_seq, dh_last, packed, factors, mask)
    dp_seq.set_shape((*factors.shape[:2], packed.shape[1]))
    dh0.set_shape(dh_last.shape)
    return dp_seq, dh0


def _packed_gradient(
    h0: tf.Tensor, h_seq: tf.Tensor, dp_seq: tf.Tensor, factors: tf.Tensor
) -> tf.Tensor:
    r""":math:`\bar{\hat U} = [\sum_t h_{t-1}^\top \bar m_t;\ \sum_t \bar m_t]`, with
    :math:`\bar m_t = [\bar z^z_t, \bar z^r_t, r_t \bar z^h_t]` from :math:`\bar P_t`."""
    units = h0.shape[-1]
    r_seq = factors[:, :, 3]
    dm_seq = tf.concat([dp_seq[:, :, : 2 * units], dp_seq[:, :, 2 * units :] * r_seq], axis=2)
    du = recurrent_kernel_gradient(h0, h_seq, dm_seq)
    return tf.concat([du, tf.reduce_sum(dm_seq, axis=[0, 1])[None]], axis=0)


def _fused_gru_core(return_sequences: bool, mask: tf.Tensor | None = None) -> Callable:
    """``core(P, h0, Û)``: :func:`gru_forward` with :func:`gru_backward` as its gradient.
    Returns ``(h_seq, h_T)``, or ``(h_T,)`` without ``return_sequences``; ``mask`` as in
    :func:`gru_forward`."""

    @tf.custom_gradient
    def core(projected: tf.Tensor, h0: tf.Tensor, packed: tf.Tensor) -> tuple:
        wanted = gradient_wanted()
        keep = _GRU_SAVED if wanted else ("hs",) if return_sequences else ()
        run = opaque(_gru_forward_run, (projected, h0, packed), keep, mask)
        outputs = (run["hs"], run["h"]) if return_sequences else (run["h"],)

        def backward(
            projected: tf.Tensor, h0: tf.Tensor, packed: tf.Tensor, *upstream: tf.Tensor
        ) -> list[tf.Tensor]:
            saved = run if wanted else _gru_forward_run(projected, h0, packed, _GRU_SAVED, mask)
            dh_seq = upstream[0] if return_sequences else None
            dp_seq, dh0 = _gru_backward_run(saved["factors"], dh_seq, upstream[-1], packed, mask)
            return [dp_seq, dh0, _packed_gradient(h0, saved["hs"], dp_seq, saved["factors"])]

        def grad(*upstream: tf.Tensor | None) -> list[tf.Tensor]:
            primals = (projected, h0, packed)
            reference = _reference_core(_gru_step, return_sequences, mask)
            return twice_differentiable(backward, reference, primals, upstream, outputs)

        return outputs, grad

    return core
