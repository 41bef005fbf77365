"""The fused GRU loop (lstmkit.fused_gru): its hand-derived backward pass against autodiff of the
same recurrence written plainly and against finite differences, with and without masks and
changing lengths; batch shards side by side on a CPU."""

import itertools

import keras
import numpy as np
import pytest
import tensorflow as tf
from tiers import cover

import lstmkit
from lstmkit import fused_gru, recurrence
from lstmkit.fused import _reference_core

STEPS, BATCH, UNITS = 7, 3, 4
MASK = np.array([[1, 1, 1], [0, 1, 1], [1, 0, 1], [1, 0, 0], [0, 1, 0], [1, 1, 0], [0, 1, 0]],
                bool)[:, :, None]  # (time, batch, 1): holes, a row that ends early


def _primals(dtype=tf.float32, seed=0):
    rng = np.random.default_rng(seed)
    return (
        tf.constant(rng.normal(size=(STEPS, BATCH, 3 * UNITS)), dtype),
        tf.constant(0.5 * rng.normal(size=(BATCH, UNITS)), dtype),
        tf.constant(0.5 * rng.normal(size=(UNITS + 1, 3 * UNITS)), dtype),
    )


def _loss(outputs):
    return sum(tf.reduce_sum(o * tf.cos(o) * (k + 1.0)) for k, o in enumerate(outputs))


def _gradients(core, primals, graph):
    def run(*primals):
        with tf.GradientTape() as tape:
            tape.watch(primals)
            outputs = core(*primals)
            loss = _loss(outputs)
        return outputs, tape.gradient(loss, primals)

    return (tf.function(run) if graph else run)(*primals)


@pytest.mark.parametrize(("return_sequences", "masked", "graph"),
                         cover(itertools.product([False, True], repeat=3), every=8,
                               spread=True))  # fast: the plain case; the GRU layer's tests
                                              # run the masked and compiled ones
def test_backward_pass_equals_autodiff_of_the_plain_loop(return_sequences, masked, graph):
    mask = tf.constant(MASK) if masked else None
    primals = _primals()
    fused = fused_gru._fused_gru_core(return_sequences, mask)
    plain = _reference_core(fused_gru._gru_step, return_sequences, mask)
    f_out, f_grads = _gradients(fused, primals, graph)
    p_out, p_grads = _gradients(plain, primals, graph)
    for a, b in zip([*f_out, *f_grads], [*p_out, *p_grads], strict=True):
        np.testing.assert_allclose(a, b, atol=1e-5)


@pytest.mark.slow
@pytest.mark.parametrize("return_sequences", [False, True])
@pytest.mark.parametrize("masked", [False, True])
def test_backward_pass_equals_finite_differences(return_sequences, masked):
    mask = tf.constant(MASK) if masked else None
    core = fused_gru._fused_gru_core(return_sequences, mask)
    primals = _primals(tf.float64, seed=1)
    loss = tf.function(lambda *p: _loss(core(*p)))  # compiled: hundreds of evaluations
    theoretical, numerical = tf.test.compute_gradient(loss, primals)
    for t, n in zip(theoretical, numerical, strict=True):
        np.testing.assert_allclose(t, n, atol=1e-6, rtol=1e-5)


@pytest.mark.slow  # the fast tier runs chunks too: every eager call does (chunks.applies)
@pytest.mark.parametrize("return_sequences", [False, True])
def test_forward_and_backward_over_chunks_equal_one_loop(return_sequences):
    """Eagerly the loops run over chunks of 16 steps (lstmkit.chunks); 40 steps cross two chunk
    boundaries, with padding in front. In a tf.function with a fixed length: one loop."""
    rng = np.random.default_rng(2)
    primals = (tf.constant(rng.normal(size=(40, BATCH, 3 * UNITS)), tf.float32),
               *_primals()[1:])
    core = fused_gru._fused_gru_core(return_sequences, None)
    eager_out, eager_grads = _gradients(core, primals, graph=False)
    graph_out, graph_grads = _gradients(core, primals, graph=True)
    for a, b in zip([*eager_out, *eager_grads], [*graph_out, *graph_grads], strict=True):
        np.testing.assert_allclose(a, b, atol=1e-5)


@pytest.mark.slow
def test_batch_shards_side_by_side_equal_keras(monkeypatch):
    """In a tf.function on a CPU with two workers the batch runs as two shards (two fused
    loops), and outputs and gradients are Keras'."""
    monkeypatch.setattr(recurrence, "_parallel_workers", lambda: 2)
    calls = []
    original = recurrence._fused_gru_core
    monkeypatch.setattr(recurrence, "_fused_gru_core",
                        lambda *a: calls.append(a) or original(*a))
    x = tf.constant(np.random.default_rng(3).normal(size=(16, 6, 5)), tf.float32)
    ours, theirs = lstmkit.GRU(UNITS, return_sequences=True), keras.layers.GRU(
        UNITS, return_sequences=True)
    ours(x), theirs(x)
    theirs.set_weights([0.5 * np.random.default_rng(4).normal(size=w.shape).astype("float32")
                        for w in theirs.get_weights()])
    ours.set_weights(theirs.get_weights())
    calls.clear()

    @tf.function
    def step(layer):
        with tf.GradientTape() as tape:
            loss = _loss([layer(x, training=True)])
        return loss, tape.gradient(loss, layer.trainable_weights)

    (our_loss, our_grads), (ref_loss, ref_grads) = step(ours), step(theirs)
    assert len(calls) == 2  # one fused loop per shard
    np.testing.assert_allclose(our_loss, ref_loss, rtol=1e-5)
    for a, b in zip(our_grads, ref_grads, strict=True):
        np.testing.assert_allclose(a, b, atol=1e-4)
