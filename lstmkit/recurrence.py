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
cell's, only its organisation differs. That is the *readable* path, and it covers every
configuration.

The *fused* path covers the common one (Keras' tanh and sigmoid, float32 or float64, masked or
not, first-order gradients) and trains faster than the readable path, most of all at small
batches (``lstmkit bench`` compares both with Keras):

- the step calls TensorFlow's activations directly instead of the cell's method (for the LSTM,
  one ``tanh`` for all four gates, see below); a mask only selects, per row, the new states or
  the previous ones, and the outputs are derived from the states after the loop;
- the backward pass through time is derived by hand (:func:`_lstm_backward`,
  :func:`_rnn_backward`) and attached with ``tf.custom_gradient``: one (batch, 4 * units) @
  (4 * units, units) product per step, the gradient of :math:`U` as *one* product over all
  steps after the loop, and the element-wise work fused by XLA (``jit_compile``). Autodiff of
  the loop would instead accumulate :math:`U`'s gradient step by step;
- the forward loop is compiled with XLA, and computes the four gates with *one* ``tanh`` over
  the whole (batch, 4 * units) pre-activation (:func:`_gate_activations`); it keeps each step's
  local derivatives for the backward pass only while a gradient tape is recording, else nothing
  but the outputs;
- in a ``tf.function`` on a CPU, the batch is cut into shards whose loops run side by side, one
  per core (:func:`_batch_shards`, :func:`_side_by_side`). The rows of a batch never interact
  in a recurrent layer, and XLA runs a compiled loop on one thread, so one loop over the whole
  batch leaves the other cores idle.

``tests/test_recurrence.py`` checks the hand-derived gradients against autodiff and finite
differences, and the two paths against each other.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from typing import Any

import tensorflow as tf
from keras import activations

from lstmkit import chunks
from lstmkit.cudnn import gpu_available
from lstmkit.derivatives import (
    autodiff_needed,
    forward_mode_in_graph,
    gradient_wanted,
    opaque,
    twice_differentiable,
)

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
    if mask is not None:
        mask = tf.transpose(tf.cast(mask, tf.bool))[:, :, None]  # (time, batch, 1)
        if go_backwards:
            mask = tf.reverse(mask, [0])

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
    """:func:`recurrence`'s loop unrolled in Python: one set of ops per step (needs a static
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


# -- the fused path -------------------------------------------------------------------------------
# For the standard cells (tanh and sigmoid, float32/float64, first-order gradients),
# lstmkit.LSTM and lstmkit.SimpleRNN run a leaner loop with a hand-derived backward pass, masked
# or not; everything else takes the readable path above. Both compute the same function
# (tests/test_recurrence.py).

_FUSED_DTYPES = (tf.float32, tf.float64)


def _standard_lstm(gates: Callable) -> bool:
    """Whether ``gates`` is the ``gate_update`` of a cell with Keras' tanh and sigmoid."""
    cell = getattr(gates, "__self__", None)
    return (
        getattr(cell, "activation", None) is activations.tanh
        and getattr(cell, "recurrent_activation", None) is activations.sigmoid
    )


def _fused_applies(inputs: Any, options: dict, differentiated: Sequence[Any] = ()) -> bool:
    """A float32/float64 computation (mixed precision takes the readable path) and first-order
    reverse-mode gradients at most (:func:`autodiff_needed`); masks ride on the fused path."""
    return tf.as_dtype(inputs.dtype) in _FUSED_DTYPES and not autodiff_needed(
        [inputs, *differentiated]
    )


def _outputs(h_seq: tf.Tensor | None, h: tf.Tensor) -> tf.Tensor:
    """(batch, time, units) outputs in processing order, or (batch, 1, units) of the last."""
    if h_seq is None:
        return h[:, None, :]
    return tf.transpose(h_seq, [1, 0, 2])


def _steps(sequence: tf.Tensor) -> int | tf.Tensor:
    """The length of a time-major sequence: a Python int when known, so shapes stay static."""
    return sequence.shape[0] if sequence.shape[0] is not None else tf.shape(sequence)[0]


def _while(steps: int | tf.Tensor, body: Callable, loop_vars: tuple) -> tuple:
    return tf.while_loop(
        lambda t, *_: t < steps,
        body,
        (tf.constant(0), *loop_vars),
        maximum_iterations=steps,
        parallel_iterations=32,
    )[1:]


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


def _lstm_forward(
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
    and :math:`c_t` likewise. Called compiled, as :func:`_lstm_forward_compiled`.

    Args:
        projected: :math:`P` (time, batch, 4 * units).
        h0, c0: initial states (batch, units).
        u: :math:`U` (units, 4 * units).
        keep: which per-step values to stack over time, among ``"hs"`` (:math:`h_t`) and
            ``"factors"``, the local derivatives :func:`_lstm_backward` needs,
            :math:`[\gamma_t, a_t, f_t]` (batch, 6 * units).
        mask: None, or (time, batch, 1) booleans in processing order, False at masked steps.

    Returns:
        ``{"h": h_T, "c": c_T}`` and a (time, batch, ...) tensor for each name in ``keep``
        (``"hs"``: the states :math:`h_t`).
    """
    steps, batch, units = _steps(projected), projected.shape[1], u.shape[0]
    widths = {"hs": units, "factors": 6 * units}
    inputs_ta = tf.TensorArray(projected.dtype, size=steps).unstack(projected)
    kept = tuple(
        tf.TensorArray(projected.dtype, size=steps, element_shape=(batch, widths[name]))
        for name in keep
    )

    def body(t: tf.Tensor, h_prev: tf.Tensor, c_prev: tf.Tensor, *kept: tf.TensorArray) -> tuple:
        i, f, g, o = _gate_activations(inputs_ta.read(t) + tf.matmul(h_prev, u))
        c = f * c_prev + i * g
        tanh_c = tf.tanh(c)
        h = o * tanh_c

        def factors() -> tf.Tensor:  # gamma_t, a_t, f_t of _lstm_backward
            return tf.concat(
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


def _lstm_backward(
    dh_seq: tf.Tensor,
    dh_last: tf.Tensor,
    dc_last: tf.Tensor,
    u: tf.Tensor,
    factors: tf.Tensor,
    mask: tf.Tensor | None = None,
) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor]:
    r"""Backpropagation through time for :func:`_lstm_forward`; called compiled with XLA, as
    :func:`_lstm_backward_compiled`.

    With :math:`\bar h_t = \partial L / \partial h_t` (from the outputs and from step
    :math:`t+1`) and :math:`\bar c_t` likewise, going from :math:`t = T-1` down to 0:

    .. math::

        \bar c_t &\mathrel{+}= \bar h_t\, o_t (1 - \tanh^2 c_t) \\
        \bar z^i_t &= \bar c_t\, g_t\, i_t (1 - i_t), \quad
        \bar z^f_t = \bar c_t\, c_{t-1}\, f_t (1 - f_t), \\
        \bar z^g_t &= \bar c_t\, i_t (1 - g_t^2), \quad
        \bar z^o_t = \bar h_t \tanh(c_t)\, o_t (1 - o_t), \\
        \bar h_{t-1} &\mathrel{+}= \bar z_t U^\top, \quad \bar c_{t-1} = \bar c_t f_t

    and after the loop, one product over all steps (:func:`_recurrent_kernel_gradient`):
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
        gamma, a, f = tf.split(factors[t], [4 * units, units, units], axis=1)
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
_lstm_forward_compiled = chunks.compiled(_lstm_forward)
_lstm_backward_compiled = chunks.compiled(_lstm_backward)


def _lstm_forward_run(
    projected: tf.Tensor,
    h0: tf.Tensor,
    c0: tf.Tensor,
    u: tf.Tensor,
    keep: tuple[str, ...],
    mask: tf.Tensor | None,
) -> dict[str, tf.Tensor]:
    """:func:`_lstm_forward_compiled` over the whole sequence, or over chunks of steps when
    lengths change (:mod:`lstmkit.chunks`)."""
    if not chunks.applies(projected):
        return _lstm_forward_compiled(projected, h0, c0, u, keep, mask)
    units = u.shape[0]
    widths = {"hs": units, "factors": 6 * units}

    def run(sequences: list, chunk_mask: tf.Tensor, carry: tuple) -> tuple:
        out = _lstm_forward_compiled(sequences[0], *carry, u, keep, chunk_mask)
        return [out[name] for name in keep], (out["h"], out["c"])

    kept, (h, c) = chunks.over_chunks(run, [projected], mask, (h0, c0), [widths[n] for n in keep])
    return {"h": h, "c": c, **dict(zip(keep, kept, strict=True))}


def _lstm_backward_run(
    dh_seq: tf.Tensor,
    dh_last: tf.Tensor,
    dc_last: tf.Tensor,
    u: tf.Tensor,
    factors: tf.Tensor,
    mask: tf.Tensor | None,
) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor]:
    """:func:`_lstm_backward` over the whole sequence, or over chunks as the forward pass."""
    if not chunks.applies(factors):
        return _lstm_backward_compiled(dh_seq, dh_last, dc_last, u, factors, mask)

    def run(sequences: list, chunk_mask: tf.Tensor, carry: tuple) -> tuple:
        dz, dh, dc = _lstm_backward_compiled(sequences[0], *carry, u, sequences[1], chunk_mask)
        return [dz], (dh, dc)

    (dz_seq,), (dh0, dc0) = chunks.over_chunks(
        run, [dh_seq, factors], mask, (dh_last, dc_last), [u.shape[1]], reverse=True
    )
    return dz_seq, dh0, dc0


def _recurrent_kernel_gradient(h0: tf.Tensor, h_seq: tf.Tensor, dz_seq: tf.Tensor) -> tf.Tensor:
    r""":math:`\bar U = \sum_t h_{t-1}^\top \bar z_t`, one product over all steps.

    Outside the compiled backward loop on purpose: TensorFlow's own kernel is faster for this
    large product, and it can run alongside the gradient of the input projection."""
    h_prev = tf.concat([h0[None], h_seq[:-1]], axis=0)
    return tf.matmul(
        tf.reshape(h_prev, [-1, h0.shape[-1]]),
        tf.reshape(dz_seq, [-1, dz_seq.shape[-1]]),
        transpose_a=True,
    )


def _fused_lstm_core(return_sequences: bool, mask: tf.Tensor | None = None) -> Callable:
    """``core(P, h0, c0, U)``: :func:`_lstm_forward` with :func:`_lstm_backward` as its
    gradient. Returns ``(h_seq, h_T, c_T)``, or ``(h_T, c_T)`` without ``return_sequences``;
    ``h_seq`` holds the states :math:`h_t` (time-major). ``mask``: see :func:`_lstm_forward`."""

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
            return [dz_seq, dh0, dc0, _recurrent_kernel_gradient(h0, saved["hs"], dz_seq)]

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


def _rnn_step(p_t: tf.Tensor, states: tuple, u: tf.Tensor) -> tuple:
    """The standard simple RNN step written plainly."""
    return (tf.tanh(p_t + tf.matmul(states[0], u)),)


def _reference_core(step: Callable, return_sequences: bool, mask: tf.Tensor | None) -> Callable:
    """``core(P, *states, U)`` of a fused path computed by :func:`recurrence` with ``step``:
    the same function and outputs (time-major state sequence ``h_seq`` first with
    ``return_sequences``), which TensorFlow's autodiff differentiates to any order."""

    def core(projected: tf.Tensor, *states_and_u: tf.Tensor) -> list[tf.Tensor]:
        *states, u = states_and_u
        batch_major = None if mask is None else tf.transpose(mask[:, :, 0])
        _, outputs, final = recurrence(
            projected, states, lambda p, s: step(p, s, u), mask=batch_major
        )
        if not return_sequences:
            return final
        h_seq = tf.transpose(outputs, [1, 0, 2])
        if mask is not None:  # outputs are zero before a row's first real step, states h0
            h_seq = tf.where(_seen(mask), h_seq, tf.convert_to_tensor(states[0])[None])
        return [h_seq, *final]

    return core


def _rnn_forward(
    projected: tf.Tensor,
    h0: tf.Tensor,
    u: tf.Tensor,
    keep_sequence: bool,
    mask: tf.Tensor | None = None,
) -> dict[str, tf.Tensor]:
    r""":math:`h_t = \tanh(P_t + h_{t-1} U)`, or :math:`h_{t-1}` at a masked step (``mask``
    as in :func:`_lstm_forward`); ``{"h": h_T}`` and, if asked, ``"hs"``."""
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


def _rnn_backward(
    dh_seq: tf.Tensor,
    dh_last: tf.Tensor,
    u: tf.Tensor,
    h_seq: tf.Tensor,
    mask: tf.Tensor | None = None,
) -> tuple[tf.Tensor, tf.Tensor]:
    r"""Backpropagation through time for :func:`_rnn_forward`; called compiled with XLA, as
    :func:`_rnn_backward_compiled`.

    .. math::

        \bar z_t = \bar h_t (1 - h_t^2), \qquad \bar h_{t-1} \mathrel{+}= \bar z_t U^\top

    and :math:`\bar U` from :func:`_recurrent_kernel_gradient`. With a mask (as in
    :func:`_lstm_backward`), :math:`\bar z_t = m_t \bar h_t (1 - h_t^2)` and
    :math:`(1 - m_t) \bar h_t` goes on to step :math:`t-1`.

    Returns:
        :math:`(\bar P, \bar h_0)`, :math:`\bar P = [\bar z_t]_t`.
    """
    steps = _steps(h_seq)
    u_t = tf.transpose(u)
    dz_ta = tf.TensorArray(u.dtype, size=steps)

    def body(k: tf.Tensor, dh: tf.Tensor, dz_ta: tf.TensorArray) -> tuple:
        t = steps - 1 - k
        h, dh = h_seq[t], dh + dh_seq[t]
        if mask is None:
            dz = dh * (1 - h * h)
            return (k + 1, tf.matmul(dz, u_t), dz_ta.write(t, dz))
        m = tf.cast(mask[t], dh.dtype)
        dz = m * dh * (1 - h * h)
        return (k + 1, tf.matmul(dz, u_t) + (1 - m) * dh, dz_ta.write(t, dz))

    dh0, dz_ta = _while(steps, body, (dh_last, dz_ta))
    return dz_ta.stack(), dh0


_rnn_backward_compiled = chunks.compiled(_rnn_backward)


def _rnn_backward_run(
    dh_seq: tf.Tensor, dh_last: tf.Tensor, u: tf.Tensor, h_seq: tf.Tensor, mask: tf.Tensor | None
) -> tuple[tf.Tensor, tf.Tensor]:
    """:func:`_rnn_backward` over the whole sequence, or over chunks of steps when lengths
    change (:mod:`lstmkit.chunks`; the forward loop is not compiled)."""
    if not chunks.applies(h_seq):
        return _rnn_backward_compiled(dh_seq, dh_last, u, h_seq, mask)

    def run(sequences: list, chunk_mask: tf.Tensor, carry: tuple) -> tuple:
        dz, dh = _rnn_backward_compiled(sequences[0], *carry, u, sequences[1], chunk_mask)
        return [dz], (dh,)

    (dz_seq,), (dh0,) = chunks.over_chunks(
        run, [dh_seq, h_seq], mask, (dh_last,), [u.shape[1]], reverse=True
    )
    return dz_seq, dh0


def _fused_rnn_core(return_sequences: bool, mask: tf.Tensor | None = None) -> Callable:
    """``core(P, h0, U)``: :func:`_rnn_forward` with :func:`_rnn_backward` as its gradient.
    Returns ``(h_seq, h_T)``, or ``(h_T,)`` without ``return_sequences``; ``mask`` as in
    :func:`_lstm_forward`."""

    @tf.custom_gradient
    def core(projected: tf.Tensor, h0: tf.Tensor, u: tf.Tensor) -> tuple:
        wanted = gradient_wanted()
        run = opaque(_rnn_forward, (projected, h0, u), wanted or return_sequences, mask)
        outputs = (run["hs"], run["h"]) if return_sequences else (run["h"],)

        def backward(
            projected: tf.Tensor, h0: tf.Tensor, u: tf.Tensor, *upstream: tf.Tensor
        ) -> list[tf.Tensor]:
            h_seq = run["hs"] if wanted else _rnn_forward(projected, h0, u, True, mask)["hs"]
            dh_seq = upstream[0] if return_sequences else tf.zeros_like(h_seq)
            dz_seq, dh0 = _rnn_backward_run(dh_seq, upstream[-1], u, h_seq, mask)
            return [dz_seq, dh0, _recurrent_kernel_gradient(h0, h_seq, dz_seq)]

        def grad(*upstream: tf.Tensor | None) -> list[tf.Tensor]:
            reference = _reference_core(_rnn_step, return_sequences, mask)
            return twice_differentiable(backward, reference, (projected, h0, u), upstream, outputs)

        return outputs, grad

    return core


_MIN_SHARD_ROWS = 4  # fewer rows per loop cost more in launches than they save
_MAX_SHARDS = 8


def _parallel_workers() -> int:
    """How many ops TensorFlow runs side by side: its inter-op setting, else the CPUs this
    process may use."""
    configured = tf.config.threading.get_inter_op_parallelism_threads()
    if configured:
        return configured
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def _batch_shards(batch: int | None, workers: int) -> list[int] | int | None:
    """How to cut a batch into shards whose loops run side by side.

    Args:
        batch: the static batch size, or None when it is only known at run time (``fit`` traces
            with an unknown batch size).
        workers: how many loops can run at once (:func:`_parallel_workers`).

    Returns:
        None for one loop over the whole batch; a list of row counts (a known batch: at most
        ``workers`` shards of at least ``_MIN_SHARD_ROWS`` rows, as even as possible); or, for an
        unknown batch, the number of shards, whose sizes :func:`_side_by_side` computes at run time
        (a shard may then be empty; it costs a launch, nothing else).
    """
    shards = min(workers, _MAX_SHARDS)
    if batch is None:
        return shards if shards > 1 else None
    shards = min(shards, batch // _MIN_SHARD_ROWS)
    if shards < 2:
        return None
    rows, extra = divmod(batch, shards)
    return [rows + (k < extra) for k in range(shards)]


def _side_by_side(
    run: Callable,
    inputs: tf.Tensor,
    initial_state: Sequence[Any],
    dropout_mask: Any,
    mask: Any = None,
) -> tuple:
    """``run(inputs, initial_state, dropout_mask, mask) -> (last_output, outputs, states)``, on
    shards of the batch that TensorFlow runs in parallel, the results joined along the batch.

    Only inside a ``tf.function`` on a CPU: eagerly, ops run one after another, and on a GPU
    each product is parallel already. Every shard computes exactly what its rows would in one
    loop (each row is its own recurrence), and the gradients of the weights add up over shards.
    On the 2-core machine of the README, two shards at batch 64 make the LSTM's forward pass
    about 1.6x and its training step about 1.4x faster than one loop.
    """
    shards = None
    if not tf.executing_eagerly() and not gpu_available():
        shards = _batch_shards(inputs.shape[0], _parallel_workers())
    if shards is None:
        return run(inputs, initial_state, dropout_mask, mask)
    if isinstance(shards, int):  # batch known at run time only
        batch = tf.shape(inputs)[0]
        sizes = batch // shards + tf.cast(tf.range(shards) < batch % shards, batch.dtype)
        count = shards
    else:
        sizes, count = shards, len(shards)

    def split(tensor: Any) -> list:
        return tf.split(tf.convert_to_tensor(tensor), sizes, num=count, axis=0)

    xs, states = split(inputs), [split(s) for s in initial_state]
    if isinstance(dropout_mask, (list, tuple)):  # one mask per gate
        masks = list(zip(*(split(m) for m in dropout_mask), strict=True))
    else:
        masks = [None] * count if dropout_mask is None else split(dropout_mask)
    steps_masks = [None] * count if mask is None else split(mask)
    results = [
        run(xs[k], [s[k] for s in states], masks[k], steps_masks[k]) for k in range(count)
    ]
    return tf.nest.map_structure(lambda *parts: tf.concat(parts, axis=0), *results)


def _time_major_states(
    projected: tf.Tensor, initial_state: Sequence[Any], go_backwards: bool
) -> tuple[tf.Tensor, list]:
    """``projected`` in processing order and the initial states in its dtype."""
    states = [tf.convert_to_tensor(s, dtype=projected.dtype) for s in initial_state]
    return (tf.reverse(projected, [0]) if go_backwards else projected), states


def _fused(
    make_core: Callable,
    inputs: tf.Tensor,
    initial_state: Sequence[Any],
    weights: tuple,
    dropout_mask: Any,
    options: dict,
) -> tuple[tf.Tensor, tf.Tensor, list]:
    """The fused path of :func:`lstm` and :func:`simple_rnn`: :func:`project_inputs`, then the
    core from ``make_core(return_sequences, mask)`` (``core(P, *states, U)`` returning
    ``(h_seq, *final_states)``, ``h_seq`` only with ``return_sequences``), on batch shards
    side by side (:func:`_side_by_side`). Returns ``(last_output, outputs, final_states)``.

    With a mask the cores carry the states over masked steps, and the outputs follow from the
    states as in Keras: a masked step outputs the previous output, which is the state
    :math:`h_t` once the row has had a real step and zero before; with
    ``zero_output_for_mask``, zero."""
    kernel, recurrent_kernel, bias = weights
    go_backwards = options.get("go_backwards", False)
    return_sequences = options.get("return_sequences", True)
    zero_output_for_mask = options.get("zero_output_for_mask", False)

    def run(inputs: tf.Tensor, initial_state: Sequence[Any], dropout_mask: Any, mask: Any):
        projected = project_inputs(inputs, kernel, bias, dropout_mask)
        projected, states = _time_major_states(projected, initial_state, go_backwards)
        steps_mask = None if mask is None else _time_major_mask(mask, go_backwards)
        core = make_core(return_sequences, steps_mask)
        outputs = core(projected, *states, tf.cast(recurrent_kernel, projected.dtype))
        final = list(outputs[-len(states):])
        h_seq, last = (outputs[0] if return_sequences else None), final[0]
        if steps_mask is not None:
            shown = steps_mask if zero_output_for_mask else _seen(steps_mask)
            last = tf.where(shown[-1], last, tf.zeros_like(last))
            if h_seq is not None:
                h_seq = tf.where(shown, h_seq, tf.zeros_like(h_seq))
        return last, _outputs(h_seq, last), final

    return _side_by_side(run, inputs, initial_state, dropout_mask, options.get("mask"))


def _time_major_mask(mask: Any, go_backwards: bool) -> tf.Tensor:
    """A (batch, time) mask as (time, batch, 1) booleans in processing order."""
    steps_mask = tf.transpose(tf.cast(mask, tf.bool))[:, :, None]
    return tf.reverse(steps_mask, [0]) if go_backwards else steps_mask


def _seen(steps_mask: tf.Tensor) -> tf.Tensor:
    """Whether a row has had a real step by step :math:`t` (time-major booleans)."""
    return tf.cumsum(tf.cast(steps_mask, tf.int32), axis=0) > 0


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
    r"""An LSTM over a whole sequence: :func:`project_inputs`, then a loop over

    .. math::

        (z_i, z_f, z_g, z_o) = P_t + h_{t-1} U, \qquad (h_t, c_t) = \mathrm{gates}(z_i, z_f,
        z_g, z_o, c_{t-1})

    The *fused* path runs when ``gates`` is the ``gate_update`` of a cell with Keras' tanh and
    sigmoid, the dtype is float32 or float64 and at most first-order reverse-mode gradients are
    taken (masked or not): :func:`_lstm_forward` with
    the hand-derived backward pass :func:`_lstm_backward`, in a ``tf.function`` on a CPU once
    per batch shard, side by side (:func:`_side_by_side`). Otherwise the readable path:
    :func:`recurrence` with a step that calls ``gates``. Both compute the same function.

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
    differentiated = [*initial_state, kernel, recurrent_kernel, bias]
    if _standard_lstm(gates) and _fused_applies(inputs, options, differentiated):
        weights = (kernel, recurrent_kernel, bias)
        return _fused(_fused_lstm_core, inputs, initial_state, weights, dropout_mask, options)

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
    :math:`\phi`. With Keras' tanh and float32/float64 (masked or not), the fused path runs
    (:func:`_rnn_forward`, :func:`_rnn_backward`, on batch shards as in :func:`lstm`).
    Returns ``(last_output, outputs, [h])``.
    """
    differentiated = [*initial_state, kernel, recurrent_kernel, bias]
    if activation is activations.tanh and _fused_applies(inputs, options, differentiated):
        weights = (kernel, recurrent_kernel, bias)
        return _fused(_fused_rnn_core, inputs, initial_state, weights, dropout_mask, options)

    projected = project_inputs(inputs, kernel, bias, dropout_mask)
    u = tf.cast(recurrent_kernel, projected.dtype)

    def step(p_t: tf.Tensor, states: tuple) -> tuple:
        return (activation(p_t + tf.matmul(states[0], u)),)

    return recurrence(projected, initial_state, step, **options)
