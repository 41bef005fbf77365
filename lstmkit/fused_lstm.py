r"""The fused LSTM loop: the standard LSTM step (Keras' tanh and sigmoid, gate blocks i, f, c,
o) compiled with XLA, with a backward pass through time derived by hand and attached with
``tf.custom_gradient`` (:func:`_fused_lstm_core`).

- the forward loop computes the four gates with *one* ``tanh`` over the whole
  (batch, 4 * units) pre-activation (:func:`_gate_activations`) and keeps each step's local
  derivatives only while a gradient tape is recording;
- the backward loop (:func:`lstm_backward`) does one (batch, 4 * units) @ (4 * units, units)
  product per step, and the gradient of :math:`U` is *one* product over all steps after it;
- a mask only selects, per row, the new states or the previous ones;
- when lengths change, both run over chunks of steps (:mod:`lstmkit.chunks`).
"""

from __future__ import annotations

from collections.abc import Callable

import tensorflow as tf

from lstmkit import chunks
from lstmkit.derivatives import gradient_wanted, opaque, twice_differentiable
from lstmkit.fused import _kept_shape, _reference_core, _steps, _while, recurrent_kernel_gradient

__all__ = ["lstm_backward", "lstm_forward"]


def _gate_activations(z: tf.Tensor) -> list[tf.Tensor]:
    r"""``[i, f, g, o]`` from the pre-activation ``z`` (batch, 4 * units), blocks i, f, c, o,
    with one ``tanh`` over the whole width instead of three sigmoids and a tanh:

    .. math::

        \sigma(z) = \tfrac12 \big(1 + \tanh(z / 2)\big), \qquad
        a = s \odot \tanh(s \odot z) + (1 - s) \odot [1, 1, 0, 1]

    with :math:`s = 1/2` on the sigmoid blocks (i, f, o) and :math:`s = 1` on the candidate
    block. Exact in real arithmetic; one element-wise pass that XLA fuses (on the CPU, four
    block-wise activations of slices of ``z`` compiled about twice as slow).
    """
    units = z.shape[-1] // 4
    half = tf.fill([units], tf.constant(0.5, z.dtype))
    one = tf.ones([units], z.dtype)
    scale = tf.concat([half, half, one, half], axis=0)
    offset = tf.concat([half, half, tf.zeros([units], z.dtype), half], axis=0)
    return tf.split(scale * tf.tanh(scale * z) + offset, 4, axis=-1)


#: The blocks of the factors :func:`lstm_forward` keeps: gamma (four), a and f.
_FACTORS = 6


def lstm_forward(
    projected: tf.Tensor,
    h0: tf.Tensor,
    c0: tf.Tensor,
    u: tf.Tensor,
    keep: tuple[str, ...],
    mask: tf.Tensor | None = None,
) -> dict[str, tf.Tensor]:
    r"""The LSTM recurrence, gate blocks in Keras' order (i, f, g, o):

    .. math::

        i_t, f_t, o_t = \sigma(z^{i,f,o}_t), \quad g_t = \tanh(z^g_t), \quad
        z_t = P_t + h_{t-1} U, \quad c_t = f_t c_{t-1} + i_t g_t, \quad h_t = o_t \tanh(c_t)

    (the gates by :func:`_gate_activations`). With a mask :math:`m_t`, a masked step keeps
    the states: :math:`h_t = m_t \hat h_t + (1 - m_t) h_{t-1}` for the :math:`\hat h_t` above,
    and :math:`c_t` likewise. Called compiled with XLA
    (:func:`lstmkit.chunks.compiled`).

    Args:
        projected: :math:`P` (time, batch, 4 * units).
        h0, c0: initial states (batch, units).
        u: :math:`U` (units, 4 * units).
        keep: which per-step values to stack over time, among ``"hs"`` (:math:`h_t`) and
            ``"factors"``, the local derivatives :func:`lstm_backward` needs,
            :math:`[\gamma_t, a_t, f_t]` as six (batch, units) blocks, (batch, 6, units): the
            blocks side by side on a middle axis, which the compiled loop writes in one pass
            (joined along the last axis, as (batch, 6 * units), the forward loop is about 8 %
            slower at 64 rows).
        mask: None, or (time, batch, 1) booleans in processing order, False at masked steps.

    Returns:
        ``{"h": h_T, "c": c_T}`` and a (time, batch, ...) tensor for each name in ``keep``
        (``"hs"``: the states :math:`h_t`).
    """
    steps, batch, units = _steps(projected), projected.shape[1], u.shape[0]
    inputs_ta = tf.TensorArray(projected.dtype, size=steps).unstack(projected)
    kept = tuple(
        tf.TensorArray(
            projected.dtype, size=steps, element_shape=(batch, *_kept_shape(n, units, _FACTORS))
        )
        for n in keep
    )

    def body(t: tf.Tensor, h_prev: tf.Tensor, c_prev: tf.Tensor, *kept: tf.TensorArray) -> tuple:
        i, f, g, o = _gate_activations(inputs_ta.read(t) + tf.matmul(h_prev, u))
        c = f * c_prev + i * g
        tanh_c = tf.tanh(c)
        h = o * tanh_c

        def factors() -> tf.Tensor:  # gamma_t, a_t, f_t of lstm_backward
            return tf.stack(
                [
                    g * i * (1 - i),
                    c_prev * f * (1 - f),
                    i * (1 - g * g),
                    tanh_c * o * (1 - o),
                    o * (1 - tanh_c * tanh_c),
                    f,
                ],
                axis=1,
            )

        if mask is not None:  # a masked step keeps the states (its factors are not used)
            h, c = tf.where(mask[t], h, h_prev), tf.where(mask[t], c, c_prev)
        values = {"hs": lambda: h, "factors": factors}
        return (t + 1, h, c, *(ta.write(t, values[n]()) for ta, n in zip(kept, keep, strict=True)))

    h, c, *kept = _while(steps, body, (h0, c0, *kept))
    return {"h": h, "c": c, **{name: ta.stack() for name, ta in zip(keep, kept, strict=True)}}


def lstm_backward(
    dh_seq: tf.Tensor,
    dh_last: tf.Tensor,
    dc_last: tf.Tensor,
    u: tf.Tensor,
    factors: tf.Tensor,
    mask: tf.Tensor | None = None,
) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor]:
    r"""Backpropagation through time for :func:`lstm_forward`; called compiled with XLA
    (:func:`lstmkit.chunks.compiled`).

    With :math:`\bar h_t = \partial L / \partial h_t` (from the outputs and from step
    :math:`t+1`) and :math:`\bar c_t` likewise, going from :math:`t = T-1` down to 0:

    .. math::

        \bar c_t &\mathrel{+}= \bar h_t\, o_t (1 - \tanh^2 c_t) \\
        \bar z^i_t &= \bar c_t\, g_t\, i_t (1 - i_t), \quad
        \bar z^f_t = \bar c_t\, c_{t-1}\, f_t (1 - f_t), \\
        \bar z^g_t &= \bar c_t\, i_t (1 - g_t^2), \quad
        \bar z^o_t = \bar h_t \tanh(c_t)\, o_t (1 - o_t), \\
        \bar h_{t-1} &\mathrel{+}= \bar z_t U^\top, \quad \bar c_{t-1} = \bar c_t f_t

    and after the loop, one product over all steps (:func:`recurrent_kernel_gradient`):
    :math:`\bar U = \sum_t h_{t-1}^\top \bar z_t`. :math:`\bar z_t` is also the gradient of
    :math:`P_t`, from which autodiff gets those of :math:`W`, :math:`b` and the inputs.

    Only :math:`\bar h` and :math:`\bar c` are sequential. The factors that multiply them are
    local to step :math:`t`, so the forward loop stores them (``factors``):
    :math:`\gamma_t = [g_t i_t (1 - i_t),\ c_{t-1} f_t (1 - f_t),\ i_t (1 - g_t^2),\
    \tanh(c_t) o_t (1 - o_t)]`, :math:`a_t = o_t (1 - \tanh^2 c_t)` and :math:`f_t`. The loop
    is then :math:`\bar c_t = \bar c + \bar h_t a_t`,
    :math:`\bar z_t = [\bar c_t, \bar c_t, \bar c_t, \bar h_t] \odot \gamma_t`, the product and
    :math:`\bar c_t f_t`. Nothing here is differentiated again, so reading step :math:`t` by
    indexing is fine.

    With a mask, a masked step passes :math:`\bar h_t` and :math:`\bar c_t` on to step
    :math:`t-1` unchanged and its cell sees none: with :math:`m_t \in \{0, 1\}`, the cell's
    gradients are :math:`m_t \bar h_t` and :math:`m_t \bar c_t`, and :math:`(1 - m_t) \bar h_t`,
    :math:`(1 - m_t) \bar c_t` are added to those of step :math:`t-1`.

    Returns:
        :math:`(\bar P, \bar h_0, \bar c_0)`, :math:`\bar P = [\bar z_t]_t`.
    """
    steps, units = _steps(factors), u.shape[0]
    u_t = tf.transpose(u)
    dz_ta = tf.TensorArray(u.dtype, size=steps)

    def body(k: tf.Tensor, dh: tf.Tensor, dc: tf.Tensor, dz_ta: tf.TensorArray) -> tuple:
        t = steps - 1 - k
        factors_t = factors[t]  # (batch, 6, units)
        gamma = tf.reshape(factors_t[:, :4], [-1, 4 * units])
        a, f = factors_t[:, 4], factors_t[:, 5]
        dh = dh + dh_seq[t]
        if mask is None:
            dc = dc + dh * a
            dz = tf.concat([dc, dc, dc, dh], axis=1) * gamma
            return (k + 1, tf.matmul(dz, u_t), dc * f, dz_ta.write(t, dz))
        m = tf.cast(mask[t], dh.dtype)
        dh_cell = m * dh
        dc_cell = m * dc + dh_cell * a
        dz = tf.concat([dc_cell, dc_cell, dc_cell, dh_cell], axis=1) * gamma
        dh_prev = tf.matmul(dz, u_t) + (1 - m) * dh
        return (k + 1, dh_prev, dc_cell * f + (1 - m) * dc, dz_ta.write(t, dz))

    dh0, dc0, dz_ta = _while(steps, body, (dh_last, dc_last, dz_ta))
    return dz_ta.stack(), dh0, dc0


_LSTM_SAVED = ("hs", "factors")
_lstm_forward_compiled = chunks.compiled(lstm_forward)
_lstm_backward_compiled = chunks.compiled(lstm_backward)


@chunks.traced_once
def _lstm_forward_run(
    projected: tf.Tensor,
    h0: tf.Tensor,
    c0: tf.Tensor,
    u: tf.Tensor,
    keep: tuple[str, ...],
    mask: tf.Tensor | None,
) -> dict[str, tf.Tensor]:
    """:func:`_lstm_forward_compiled` over the whole sequence, or over chunks of steps when
    lengths change (:mod:`lstmkit.chunks`), with every static dimension the inputs give (a
    compiled function may reuse a trace made for less specific shapes)."""
    steps, batch, units = projected.shape[0], projected.shape[1], u.shape[0]
    if chunks.applies(projected):

        def run(sequences: list, chunk_mask: tf.Tensor, carry: tuple) -> tuple:
            out = _lstm_forward_compiled(sequences[0], *carry, u, keep, chunk_mask)
            return [out[name] for name in keep], (out["h"], out["c"])

        shapes = [_kept_shape(n, units, _FACTORS) for n in keep]
        kept, (h, c) = chunks.over_chunks(run, [projected], mask, (h0, c0), shapes)
        out = {"h": h, "c": c, **dict(zip(keep, kept, strict=True))}
    else:
        out = _lstm_forward_compiled(projected, h0, c0, u, keep, mask)
    out["h"].set_shape(h0.shape)
    out["c"].set_shape(c0.shape)
    for name in keep:
        out[name].set_shape((steps, batch, *_kept_shape(name, units, _FACTORS)))
    return out


@chunks.traced_once
def _lstm_backward_run(
    dh_seq: tf.Tensor,
    dh_last: tf.Tensor,
    dc_last: tf.Tensor,
    u: tf.Tensor,
    factors: tf.Tensor,
    mask: tf.Tensor | None,
) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor]:
    """:func:`lstm_backward` over the whole sequence, or over chunks as the forward pass;
    static shapes as in :func:`_lstm_forward_run`."""
    if chunks.applies(factors):

        def run(sequences: list, chunk_mask: tf.Tensor, carry: tuple) -> tuple:
            dz, dh, dc = _lstm_backward_compiled(
                sequences[0], *carry, u, sequences[1], chunk_mask
            )
            return [dz], (dh, dc)

        (dz_seq,), (dh0, dc0) = chunks.over_chunks(
            run, [dh_seq, factors], mask, (dh_last, dc_last), [u.shape[1]], reverse=True
        )
    else:
        dz_seq, dh0, dc0 = _lstm_backward_compiled(dh_seq, dh_last, dc_last, u, factors, mask)
    dz_seq.set_shape((*dh_seq.shape[:2], u.shape[1]))
    dh0.set_shape(dh_last.shape)
    dc0.set_shape(dc_last.shape)
    return dz_seq, dh0, dc0


def _fused_lstm_core(return_sequences: bool, mask: tf.Tensor | None = None) -> Callable:
    """``core(P, h0, c0, U)``: :func:`lstm_forward` with :func:`lstm_backward` as its
    gradient. Returns ``(h_seq, h_T, c_T)``, or ``(h_T, c_T)`` without ``return_sequences``;
    ``h_seq`` holds the states :math:`h_t` (time-major). ``mask``: see :func:`lstm_forward`."""

    @tf.custom_gradient
    def core(projected: tf.Tensor, h0: tf.Tensor, c0: tf.Tensor, u: tf.Tensor) -> tuple:
        wanted = gradient_wanted()
        keep = _LSTM_SAVED if wanted else ("hs",) if return_sequences else ()
        run = opaque(_lstm_forward_run, (projected, h0, c0, u), keep, mask)
        outputs = (run["h"], run["c"])
        if return_sequences:
            outputs = (run["hs"], *outputs)

        def backward(
            projected: tf.Tensor, h0: tf.Tensor, c0: tf.Tensor, u: tf.Tensor, *upstream: tf.Tensor
        ) -> list[tf.Tensor]:
            saved = run if wanted else _lstm_forward_run(projected, h0, c0, u, _LSTM_SAVED, mask)
            dh_seq = upstream[0] if return_sequences else tf.zeros_like(saved["hs"])
            dz_seq, dh0, dc0 = _lstm_backward_run(
                dh_seq, *upstream[-2:], u, saved["factors"], mask
            )
            return [dz_seq, dh0, dc0, recurrent_kernel_gradient(h0, saved["hs"], dz_seq)]

        def grad(*upstream: tf.Tensor | None) -> list[tf.Tensor]:
            primals = (projected, h0, c0, u)
            reference = _reference_core(_lstm_step, return_sequences, mask)
            return twice_differentiable(backward, reference, primals, upstream, outputs)

        return outputs, grad

    return core


def _lstm_step(p_t: tf.Tensor, states: tuple, u: tf.Tensor) -> tuple:
    """The standard LSTM step written plainly (what the fused loops compute)."""
    h, c = states
    z_i, z_f, z_g, z_o = tf.split(p_t + tf.matmul(h, u), 4, axis=-1)
    c = tf.sigmoid(z_f) * c + tf.sigmoid(z_i) * tf.tanh(z_g)
    return tf.sigmoid(z_o) * tf.tanh(c), c
