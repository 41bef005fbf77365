r"""Compiled loops over fixed-size chunks of steps, so that a new sequence length costs no
compilation.

XLA compiles a function once per input shape. A loop compiled over the whole sequence is
therefore compiled again for every new number of steps: 0.3 to 0.5 s each on a CPU, which
``keras.layers.LSTM`` (no XLA) does not pay, and a first ``fit`` epoch over batches of changing
length pays it for every length. Run instead over chunks of :data:`CHUNK` steps, the same
compiled function serves every length: the sequence is padded in front, in processing order,
with masked steps up to a multiple of :data:`CHUNK`; a masked step keeps the states, so the
padding changes nothing, and the values it produces are cut off again. The cost is up to
``CHUNK - 1`` extra steps and one compiled call per chunk.

The functions that drive the chunks are cheap to run but not to trace: a ``fit`` traces its
training step twice, and a layer on a CPU runs one loop per batch shard, so the same loops would
be traced four times, each with its own copy in the graph. :func:`traced_once` makes them one
graph function, traced once per signature and called from every graph, and
:func:`compiled` traces without AutoGraph (the loops are explicit ``tf.while_loop`` calls):
together they halve the tracing of a first ``fit`` step over batches of changing length (its
XLA compilations remain: README, row g of the workload matrix).

:func:`applies` says when: when the number of steps is not known while the graph is traced (it
changes from call to call: ``fit`` over batches of different lengths traces with ``None``), and
eagerly (each call may bring a new length). A ``tf.function`` with a fixed number of steps keeps
one compiled loop over the whole sequence.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any

import tensorflow as tf

__all__ = ["CHUNK", "applies", "compiled", "over_chunks", "traced_once"]

#: Steps per compiled call. Small enough that the padding costs little (at most 15 steps),
#: large enough that the calls cost little.
CHUNK = 16


def compiled(function: Callable) -> Callable:
    """``function`` compiled with XLA (a ``tf.function`` with ``jit_compile=True``).

    XLA needs static shapes, so the function is traced (and compiled) once per input shape:
    layers of other sizes, other batch sizes, chunks or whole sequences. Those traces are
    needed, not the avoidable kind TensorFlow's retracing warning is about, so the warning is
    turned off for this function (``_omit_frequent_tracing_warning``, TensorFlow's own switch;
    an attribute that a release without it ignores). AutoGraph is off: the loops are written
    with ``tf.while_loop``, and converting them would cost more than tracing them.
    """
    return _graph_function(function, jit_compile=True)


def traced_once(function: Callable) -> Callable:
    """Decorator: ``function(sequence, *args)`` called as one graph function (a ``tf.function``,
    without XLA or AutoGraph) when ``sequence``'s number of steps is unknown in a graph (it then
    runs over chunks, see :func:`applies`), and directly otherwise.

    The graph function is traced once per signature, however many graphs call it, instead of
    once per call: the loop over chunks and its compiled call are traced once for both traces
    of a ``fit``'s training step and every batch shard. Eagerly ``function`` runs directly (a
    graph function would be traced again for each new length); with a fixed number of steps
    too, so the graphs of fixed-length sequences do not change.
    """
    graph_function = _graph_function(function)

    @functools.wraps(function)
    def call(sequence: tf.Tensor, *args: Any) -> Any:
        if sequence.shape[0] is None and not tf.executing_eagerly():
            return graph_function(sequence, *args)
        return function(sequence, *args)

    call.graph_function = graph_function
    return call


def _graph_function(function: Callable, jit_compile: bool = False) -> Callable:
    """``tf.function(function)`` without AutoGraph and without TensorFlow's retracing warning
    (see :func:`compiled`)."""
    graph_function = tf.function(function, jit_compile=jit_compile, autograph=False)
    graph_function._omit_frequent_tracing_warning = True
    return graph_function


def applies(projected: tf.Tensor) -> bool:
    """Whether a time-major sequence should run over chunks (see the module docstring)."""
    return projected.shape[0] is None or tf.executing_eagerly()


def _pad_front(tensor: tf.Tensor, pad: tf.Tensor, value: Any) -> tf.Tensor:
    shape = tf.concat([[pad], tf.shape(tensor)[1:]], axis=0)
    return tf.concat([tf.fill(shape, tf.constant(value, tensor.dtype)), tensor], axis=0)


def _flatten_chunks(stacked: tf.Tensor) -> tf.Tensor:
    """(chunks, CHUNK, ...) to (chunks * CHUNK, ...), keeping the static trailing dimensions."""
    dynamic = tf.shape(stacked)
    trailing = [d if d is not None else dynamic[k + 2] for k, d in enumerate(stacked.shape[2:])]
    return tf.reshape(stacked, [-1, *trailing])


def over_chunks(
    run: Callable[[list, tf.Tensor, tuple], tuple[list, tuple]],
    sequences: Sequence[tf.Tensor],
    mask: tf.Tensor | None,
    carry: tuple,
    widths: Sequence[int | tuple[int, ...]],
    *,
    reverse: bool = False,
) -> tuple[list[tf.Tensor], tuple]:
    """Drive ``run`` over chunks of :data:`CHUNK` steps of time-major ``sequences``.

    Args:
        run: ``run(chunk_sequences, chunk_mask, carry) -> (chunk_outputs, carry)``, one
            compiled call: ``chunk_sequences`` are the sequences' slices (CHUNK, batch, ...),
            ``chunk_mask`` (CHUNK, batch, 1) booleans, False at masked (or padding) steps, and
            each output is (CHUNK, batch, ...).
        sequences: time-major tensors with the same number of steps; padded with zeros. An entry
            may be None (an optional input of ``run``): ``run`` then gets None in its place.
        mask: None (every step real) or (time, batch, 1) booleans.
        carry: what passes from chunk to chunk (the states, or their gradients).
        widths: the trailing shape of each output of ``run`` after (CHUNK, batch): its last
            dimension, or a tuple of dimensions (its dtype is the sequences').
        reverse: Go from the last chunk to the first (backpropagation through time).

    Returns:
        ``(outputs, carry)``: each output joined over the chunks, without the padding, and the
        final carry.
    """
    first = next(s for s in sequences if s is not None)
    steps, batch = tf.shape(first)[0], tf.shape(first)[1]
    if mask is None:
        mask = tf.ones([steps, batch, 1], tf.bool)
    pad = (-steps) % CHUNK
    count = (steps + pad) // CHUNK

    def chunked_steps(s: tf.Tensor | None, value: Any) -> tf.Tensor | None:
        if s is None:
            return None
        s = _pad_front(s, pad, value)
        return tf.reshape(s, tf.concat([[count, CHUNK], tf.shape(s)[1:]], axis=0))

    chunked = [chunked_steps(s, 0) for s in sequences] + [chunked_steps(mask, False)]
    arrays = tuple(
        tf.TensorArray(first.dtype, size=count, element_shape=(CHUNK, first.shape[1], *trailing))
        for trailing in (w if isinstance(w, tuple) else (w,) for w in widths)
    )

    def body(k: tf.Tensor, carry: tuple, arrays: tuple) -> tuple:
        index = count - 1 - k if reverse else k
        chunk = [None if c is None else c[index] for c in chunked[:-1]]
        outputs, carry = run(chunk, chunked[-1][index], carry)
        arrays = tuple(a.write(index, o) for a, o in zip(arrays, outputs, strict=True))
        return k + 1, tuple(carry), arrays

    _, carry, arrays = tf.while_loop(
        lambda k, *_: k < count,
        body,
        (tf.constant(0), tuple(carry), arrays),
        maximum_iterations=count,
    )
    return [_flatten_chunks(a.stack())[pad:] for a in arrays], carry
