r"""The compiled recurrence behind ``lstmkit.LSTM`` and ``lstmkit.SimpleRNN`` (TensorFlow):
which loop runs, on how many batch shards.

:func:`lstm` and :func:`simple_rnn` run the *readable* loop of :mod:`lstmkit.loop`
(:func:`scan_steps`, any configuration) or, for the common one (Keras' tanh and sigmoid,
any float dtype — half precision computed in float32 —, masked or not, first-order
gradients), the *fused* loops of
:mod:`lstmkit.fused_lstm` and :mod:`lstmkit.fused_rnn`: compiled with XLA, with backward passes
derived by hand, faster than the readable loop most of all at small batches (``lstmkit bench``
compares both with Keras). Both compute the same function.

In a ``tf.function`` on a CPU, the batch is cut into shards whose loops run side by side, one
per core (:func:`batch_shards`, :func:`_side_by_side`). The rows of a batch never interact in
a recurrent layer, and XLA runs a compiled loop on one thread, so one loop over the whole batch
leaves the other cores idle.

``tests/test_recurrence.py`` checks the hand-derived gradients against autodiff and finite
differences, and the two paths against each other.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from typing import Any

import tensorflow as tf
from keras import activations

from lstmkit.cudnn import gpu_available
from lstmkit.derivatives import autodiff_needed
from lstmkit.fused import _seen
from lstmkit.fused_gru import _fused_gru_core
from lstmkit.fused_lstm import _fused_lstm_core
from lstmkit.fused_rnn import _fused_rnn_core
from lstmkit.loop import LoopOptions, project_inputs, scan_steps, time_major_mask

__all__ = [
    "GateUpdate",
    "LoopOptions",
    "batch_shards",
    "fused_path_applies",
    "gru",
    "lstm",
    "project_inputs",
    "scan_steps",
    "simple_rnn",
    "standard_gru",
    "standard_lstm",
]

#: An LSTM cell's gate maths, ``gate_update(z_i, z_f, z_g, z_o, c_prev) -> (h, c)``: from the
#: four pre-activations (each (batch, units)) and the previous carry to the new output and carry.
#: :meth:`lstmkit.LSTMCell.gate_update` is one.
GateUpdate = Callable[[Any, Any, Any, Any, Any], tuple[Any, Any]]


_FUSED_DTYPES = (tf.float32, tf.float64)
# Half-precision computations (``mixed_float16``, ``mixed_bfloat16``) run the fused loop in
# float32 and return their results in the half type: on a CPU, half-precision arithmetic is
# emulated and slower than float32, and the float32 loop is at least as accurate.
_WIDENED_DTYPES = (tf.float16, tf.bfloat16)


def standard_lstm(gate_update: GateUpdate) -> bool:
    """Whether ``gate_update`` is the bound ``gate_update`` of a cell with Keras' tanh and
    sigmoid: the LSTM the fused loop implements (the first condition of :func:`lstm`'s fused
    path).

    Args:
        gate_update: an LSTM cell's gate maths (see :data:`GateUpdate`).

    Returns:
        True for :meth:`lstmkit.LSTMCell.gate_update` of a cell with Keras' tanh and sigmoid.
    """
    cell = getattr(gate_update, "__self__", None)
    return (
        getattr(cell, "activation", None) is activations.tanh
        and getattr(cell, "recurrent_activation", None) is activations.sigmoid
    )


def standard_gru(gate_update: Callable[..., Any]) -> bool:
    """Whether ``gate_update`` is the bound ``gate_update`` of a GRU cell with Keras' tanh and
    sigmoid and ``reset_after=True``: the GRU the fused loop implements (the first condition
    of :func:`gru`'s fused path).

    Args:
        gate_update: a GRU cell's ``gate_update``.

    Returns:
        True for :meth:`lstmkit.GRUCell.gate_update` of such a cell.
    """
    cell = getattr(gate_update, "__self__", None)
    return standard_lstm(gate_update) and getattr(cell, "reset_after", False) is True


def fused_path_applies(
    inputs: Any, options: LoopOptions | None = None, differentiated: Sequence[Any] = ()
) -> bool:
    """Whether a call of :func:`lstm` (with a :func:`standard_lstm`) or :func:`simple_rnn`
    (with Keras' tanh) on ``inputs`` takes the fused path: a floating-point dtype, and at most
    first-order reverse-mode gradients (see :func:`lstmkit.derivatives.autodiff_needed`).

    Args:
        inputs: the (batch, time, features) inputs.
        options: the loop options; they do not decide (masks ride on the fused path too).
        differentiated: the states and weights whose derivatives may be taken.

    Returns:
        True when the fused path runs.
    """
    return tf.as_dtype(inputs.dtype) in (*_FUSED_DTYPES, *_WIDENED_DTYPES) and not (
        autodiff_needed([inputs, *differentiated])
    )


def _widened(fused: Callable) -> Callable:
    """``fused(inputs, initial_state, weights, dropout_mask, options)`` computed in float32
    when ``inputs`` is half precision, its results cast back to the inputs' dtype (the casts
    are differentiable, so the gradients follow); other dtypes unchanged."""

    def run(inputs: tf.Tensor, initial_state: Sequence[Any], weights: tuple, dropout_mask: Any,
            options: LoopOptions) -> tuple:
        dtype = tf.as_dtype(inputs.dtype)
        if dtype not in _WIDENED_DTYPES:
            return fused(inputs, initial_state, weights, dropout_mask, options)
        wide = [tf.cast(s, tf.float32) for s in initial_state]
        result = fused(tf.cast(inputs, tf.float32), wide, weights, dropout_mask, options)
        return tf.nest.map_structure(lambda t: tf.cast(t, dtype), result)

    return run


def _outputs(h_seq: tf.Tensor | None, h: tf.Tensor) -> tf.Tensor:
    """(batch, time, units) outputs in processing order, or (batch, 1, units) of the last."""
    if h_seq is None:
        return h[:, None, :]
    return tf.transpose(h_seq, [1, 0, 2])


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


def batch_shards(batch: int | None, workers: int) -> list[int] | int | None:
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
        shards = batch_shards(inputs.shape[0], _parallel_workers())
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
    options: LoopOptions,
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
    go_backwards = options.go_backwards
    return_sequences = options.return_sequences
    zero_output_for_mask = options.zero_output_for_mask

    def run(inputs: tf.Tensor, initial_state: Sequence[Any], dropout_mask: Any, mask: Any):
        projected = project_inputs(inputs, kernel, bias, dropout_mask)
        projected, states = _time_major_states(projected, initial_state, go_backwards)
        steps_mask = None if mask is None else time_major_mask(mask, go_backwards)
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

    return _side_by_side(run, inputs, initial_state, dropout_mask, options.mask)


def lstm(
    inputs: Any,
    initial_state: Sequence[Any],
    kernel: Any,
    recurrent_kernel: Any,
    bias: Any,
    gate_update: GateUpdate,
    *,
    dropout_mask: Any = None,
    options: LoopOptions = LoopOptions(),  # noqa: B008 - frozen, so one shared default is safe
) -> tuple[tf.Tensor, tf.Tensor, list]:
    r"""An LSTM over a whole sequence: :func:`project_inputs`, then a loop over

    .. math::

        (z_i, z_f, z_g, z_o) = P_t + h_{t-1} U, \qquad (h_t, c_t) = \mathrm{gate\_update}(z_i,
        z_f, z_g, z_o, c_{t-1})

    The *fused* path runs when ``gate_update`` is the ``gate_update`` of a cell with Keras' tanh and
    sigmoid, the dtype is a float (float16 and bfloat16 computed in float32, see
    :func:`_widened`) and at most first-order reverse-mode gradients are
    taken (masked or not): the compiled loop of :mod:`lstmkit.fused_lstm` with its hand-derived
    backward pass, in a ``tf.function`` on a CPU once per batch shard, side by side
    (:func:`_side_by_side`). Otherwise the readable path:
    :func:`scan_steps` with a step that calls ``gate_update``. Both compute the same function.

    Args:
        inputs: (batch, time, input_dim).
        initial_state: ``[h0, c0]``, each (batch, units).
        kernel, recurrent_kernel, bias: the cell's weights in Keras' layout (gate blocks
            i, f, c, o); ``bias`` may be None.
        gate_update: the cell's gate maths, ``gate_update(z_i, z_f, z_g, z_o, c_prev) -> (h, c)``
            (:data:`GateUpdate`; typically ``cell.gate_update`` of an ``lstmkit.LSTMCell``).
        dropout_mask: input dropout mask(s), see :func:`project_inputs`.
        options: mask, direction and outputs (:class:`LoopOptions`; the layers build it).

    Returns:
        ``(last_output, outputs, [h, c])``.
    """
    differentiated = [*initial_state, kernel, recurrent_kernel, bias]
    if standard_lstm(gate_update) and fused_path_applies(inputs, options, differentiated):
        weights = (kernel, recurrent_kernel, bias)
        fused = _widened(lambda *args: _fused(_fused_lstm_core, *args))
        return fused(inputs, initial_state, weights, dropout_mask, options)

    projected = project_inputs(inputs, kernel, bias, dropout_mask)
    u = tf.cast(recurrent_kernel, projected.dtype)

    def step(p_t: tf.Tensor, states: tuple) -> tuple:
        h, c = states
        z_i, z_f, z_g, z_o = tf.split(p_t + tf.matmul(h, u), 4, axis=-1)
        return gate_update(z_i, z_f, z_g, z_o, c)

    return scan_steps(projected, initial_state, step, options=options)


def simple_rnn(
    inputs: Any,
    initial_state: Sequence[Any],
    kernel: Any,
    recurrent_kernel: Any,
    bias: Any,
    activation: Callable[[Any], Any],
    *,
    dropout_mask: Any = None,
    options: LoopOptions = LoopOptions(),  # noqa: B008 - frozen, so one shared default is safe
) -> tuple[tf.Tensor, tf.Tensor, list]:
    r"""A simple RNN over a whole sequence: :math:`h_t = \phi(P_t + h_{t-1} U)`.

    Arguments as in :func:`lstm`, with ``initial_state = [h0]`` and the cell's ``activation``
    :math:`\phi`. With Keras' tanh and a float dtype (masked or not), the fused path runs
    (:mod:`lstmkit.fused_rnn`, on batch shards as in :func:`lstm`).
    Returns ``(last_output, outputs, [h])``.
    """
    differentiated = [*initial_state, kernel, recurrent_kernel, bias]
    if activation is activations.tanh and fused_path_applies(inputs, options, differentiated):
        weights = (kernel, recurrent_kernel, bias)
        fused = _widened(lambda *args: _fused(_fused_rnn_core, *args))
        return fused(inputs, initial_state, weights, dropout_mask, options)

    projected = project_inputs(inputs, kernel, bias, dropout_mask)
    u = tf.cast(recurrent_kernel, projected.dtype)

    def step(p_t: tf.Tensor, states: tuple) -> tuple:
        return (activation(p_t + tf.matmul(states[0], u)),)

    return scan_steps(projected, initial_state, step, options=options)


def gru(
    inputs: Any,
    initial_state: Sequence[Any],
    kernel: Any,
    recurrent_kernel: Any,
    biases: tuple[Any, Any],
    gate_update: Callable[..., Any],
    *,
    dropout_mask: Any = None,
    options: LoopOptions = LoopOptions(),  # noqa: B008 - frozen, so one shared default is safe
) -> tuple[tf.Tensor, tf.Tensor, list]:
    r"""A GRU over a whole sequence: :func:`project_inputs` (:math:`P_t = x_t W + b`, all
    steps at once), then a loop over :math:`h_t = \mathrm{gate\_update}(P^z_t, P^r_t, P^h_t,
    h_{t-1})`, which does the recurrent products (:meth:`lstmkit.GRUCell.gate_update`).

    The *fused* path (:mod:`lstmkit.fused_gru`) runs when ``gate_update`` is that of a cell
    with Keras' tanh and sigmoid and ``reset_after=True`` (:func:`standard_gru`), under the
    conditions of :func:`fused_path_applies`, on batch shards as in :func:`lstm`; otherwise
    :func:`scan_steps` with a step that calls ``gate_update``. Both compute the same function.

    Args:
        inputs: (batch, time, input_dim).
        initial_state: ``[h0]``, (batch, units).
        kernel, recurrent_kernel: the cell's weights in Keras' layout (blocks z, r, h).
        biases: ``(input_bias, recurrent_bias)`` (:meth:`lstmkit.GRUCell.biases`; either may
            be None).
        gate_update: the cell's ``gate_update(x_z, x_r, x_h, h_prev) -> h``.
        dropout_mask: input dropout mask(s), see :func:`project_inputs`.
        options: mask, direction and outputs (:class:`LoopOptions`).

    Returns:
        ``(last_output, outputs, [h])``.
    """
    input_bias, recurrent_bias = biases
    differentiated = [*initial_state, kernel, recurrent_kernel, input_bias, recurrent_bias]
    if standard_gru(gate_update) and fused_path_applies(inputs, options, differentiated):
        if recurrent_bias is None:
            recurrent_bias = tf.zeros(tf.shape(recurrent_kernel)[1:], recurrent_kernel.dtype)
        # The recurrent bias rides on the recurrent kernel as its last row (lstmkit.fused_gru).
        packed = tf.concat([recurrent_kernel, recurrent_bias[None]], axis=0)
        weights = (kernel, packed, input_bias)
        fused = _widened(lambda *args: _fused(_fused_gru_core, *args))
        return fused(inputs, initial_state, weights, dropout_mask, options)

    projected = project_inputs(inputs, kernel, input_bias, dropout_mask)

    def step(p_t: tf.Tensor, states: tuple) -> tuple:
        return (gate_update(*tf.split(p_t, 3, axis=-1), states[0]),)

    return scan_steps(projected, initial_state, step, options=options)
