"""Which derivatives are being taken, and how lstmkit's fused loops stay differentiable.

The fused loops (:mod:`lstmkit.fused_lstm`, :mod:`lstmkit.fused_rnn`) are compiled (XLA), with
a hand-derived backward pass attached by ``tf.custom_gradient``. That is exact and fast for what
``fit`` asks: one tape, first-order reverse mode. Other derivatives need more:

- a gradient of a gradient (nested tapes: gradient penalties, Hessian-vector products) and
  forward mode (``tf.autodiff.ForwardAccumulator``) recorded while the layer runs: the layer
  then takes its readable loop, which TensorFlow's autodiff differentiates to any order
  (:func:`autodiff_needed`); inside a ``tf.function``, forward mode cannot cross a
  ``tf.while_loop`` over TensorArrays, so that loop is unrolled (:func:`forward_mode_in_graph`);
- a ``tf.function`` traced without such tapes and differentiated twice (or in forward mode)
  from outside: TensorFlow differentiates the traced graph, hence the hand-derived backward
  pass itself. :func:`twice_differentiable` gives that backward pass autodiff's derivative of
  the same function written plainly, and :func:`opaque` keeps autodiff out of the compiled
  loops, whose TensorArrays cannot cross the XLA boundary.

TensorFlow has no public API for which tapes are recording; the private ones used here come
through :mod:`lstmkit.internals`. Without them (:data:`lstmkit.internals.TAPE_INTERNALS` False)
every derivative is assumed possible: :func:`autodiff_needed` is True whenever it is asked, so
the readable loop always runs (correct to any order, only slower), :func:`gradient_wanted` is
True, and :func:`forward_mode_in_graph` False (forward mode inside a ``tf.function`` then
raises TensorFlow's TypeError, as it does for ``keras.layers.LSTM``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import tensorflow as tf

from lstmkit import internals

__all__ = [
    "autodiff_needed",
    "forward_mode_in_graph",
    "gradient_wanted",
    "opaque",
    "twice_differentiable",
]


def forward_mode_in_graph(tensors: Sequence[Any]) -> bool:
    """Whether a ``tf.autodiff.ForwardAccumulator`` watches ``tensors`` while a graph is built.
    TensorFlow cannot push tangents through a ``tf.while_loop`` over TensorArrays in a graph
    (``keras.layers.LSTM`` raises a TypeError there), so
    :func:`lstmkit.loop.scan_steps` then unrolls."""
    return (
        internals.TAPE_INTERNALS
        and not tf.executing_eagerly()
        and internals.recording()
        and internals.forward_tangents(tensors)
    )


def autodiff_needed(tensors: Sequence[Any]) -> bool:
    """Whether a derivative the hand-written backward pass cannot give may be taken of
    ``tensors``: the gradient of a gradient (nested tapes: gradient penalties, Hessian-vector
    products) or a forward-mode one (``tf.autodiff.ForwardAccumulator``). The readable path
    then runs, and TensorFlow's autodiff differentiates it to any order, in either mode."""
    if not internals.TAPE_INTERNALS:  # which tapes record is unknown: assume the worst
        return True
    if not internals.recording():  # no tape and no accumulator: the common case
        return False
    tensors = [tf.convert_to_tensor(t) for t in tensors if t is not None]
    return internals.higher_order_tape(tensors) or internals.forward_tangents(tensors)


def gradient_wanted() -> bool:
    """Whether a gradient tape is recording (so the forward loop should keep what the backward
    pass needs). Either answer is *correct*: without saved values the backward pass recomputes
    them; the answer only chooses the faster way."""
    return internals.recording()


def opaque(compiled: Callable, tensors: Sequence[Any], *static: Any) -> Any:
    """``compiled(*tensors, *static)`` cut off from autodiff on both sides, so that TensorFlow
    never tries to differentiate a compiled loop (its TensorArrays cannot cross the XLA
    boundary); the custom gradients of the fused cores stand in for it. ``tensors`` may hold
    variables; ``static`` are Python values."""
    inputs = [tf.stop_gradient(t) for t in tensors]
    return tf.nest.map_structure(tf.stop_gradient, compiled(*inputs, *static))


def twice_differentiable(
    backward: Callable,
    reference: Callable,
    primals: Sequence[tf.Tensor],
    upstream: Sequence[tf.Tensor | None],
    outputs: Sequence[tf.Tensor],
) -> list[tf.Tensor]:
    r"""The gradient of a fused core: ``backward(*primals, *upstream)``, the hand-derived
    backward pass, whose own derivative (a gradient of a gradient, taken symbolically when a
    ``tf.function`` traced for first-order gradients is differentiated twice) is autodiff's of
    the vector-Jacobian product of ``reference``, the same function written plainly:

    .. math::

        \bar x = \bar y^\top \frac{\partial f}{\partial x}, \qquad
        \text{derivatives of } \bar x \text{ by autodiff of }
        \bar y^\top \frac{\partial f_\text{ref}}{\partial x}

    ``upstream`` Nones (outputs that do not reach the loss) become zeros like ``outputs``.
    """
    pairs = zip(upstream, outputs, strict=True)
    upstream = [tf.zeros_like(o) if g is None else g for g, o in pairs]
    # Tensors of the graph this gradient is built in (the primals may belong to the forward
    # graph), so that a derivative of it can capture them.
    args = [tf.identity(a) for a in (*primals, *upstream)]
    count = len(primals)

    @tf.custom_gradient
    def vjp(*args: tf.Tensor) -> tuple:
        values = [tf.stop_gradient(v) for v in backward(*args)]

        def second_order(*dvalues: tf.Tensor | None) -> list[tf.Tensor]:
            # Copies in the graph this derivative is built in, differentiated there.
            local = [tf.identity(a) for a in args]
            primals, upstream = local[:count], local[count:]
            # An absent cotangent is zero (to tapes and tf.gradients, None would mean ones).
            pairs = zip(dvalues, values, strict=True)
            dvalues = [tf.zeros_like(v) if d is None else d for d, v in pairs]
            if tf.executing_eagerly():
                with tf.GradientTape() as outer:
                    outer.watch(local)
                    with tf.GradientTape() as inner:
                        inner.watch(primals)
                        result = reference(*primals)
                    first = inner.gradient(result, primals, output_gradients=upstream)
                grads = outer.gradient(first, local, output_gradients=dvalues)
            else:  # symbolic gradients: they need no tape (a forward-mode one stops tapes)
                first = tf.gradients(reference(*primals), primals, grad_ys=upstream)
                grads = tf.gradients(first, local, grad_ys=dvalues)
            return [tf.zeros_like(a) if g is None else g for g, a in zip(grads, local, strict=True)]

        return values, second_order

    return list(vjp(*args))
