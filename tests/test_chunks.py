"""lstmkit.chunks: compiled loops over fixed-size chunks of steps when lengths change.

The chunked loops must compute what one loop over the whole sequence computes (any length,
masked or not), the layers must equal Keras' on batches of changing length, and the compiled
functions must only ever see chunks of ``CHUNK`` steps, whatever the length (so a new length
compiles nothing new).
"""

import keras
import numpy as np
import pytest
import tensorflow as tf

import lstmkit
from lstmkit import chunks, fused_lstm, fused_rnn

BATCH, FEATURES, UNITS = 3, 4, 5
LENGTHS = [1, 7, chunks.CHUNK, chunks.CHUNK + 1, 2 * chunks.CHUNK + 5]


def _random(shape, seed):
    return tf.constant(np.random.default_rng(seed).normal(size=shape).astype("float32"))


def _mask(steps, seed):
    mask = np.random.default_rng(seed).random((steps, BATCH, 1)) > 0.3
    mask[:, 0] = False  # a fully masked row
    return tf.constant(mask)


def test_applies_to_unknown_lengths_and_eager_calls_only():
    assert chunks.applies(tf.zeros((5, 2, 3)))  # eagerly
    answers = []
    trace = tf.function(lambda p: answers.append(chunks.applies(p)) or p)
    trace.get_concrete_function(tf.TensorSpec((5, None, 3)))
    trace.get_concrete_function(tf.TensorSpec((None, None, 3)))
    assert answers == [False, True]


@pytest.mark.slow
@pytest.mark.parametrize("steps", LENGTHS)
@pytest.mark.parametrize("masked", [False, True])
def test_chunked_lstm_loops_equal_one_loop(steps, masked):
    projected = _random((steps, BATCH, 4 * UNITS), 1)
    h0, c0 = _random((BATCH, UNITS), 2), _random((BATCH, UNITS), 3)
    u = _random((UNITS, 4 * UNITS), 4)
    mask = _mask(steps, 5) if masked else None
    saved = fused_lstm._LSTM_SAVED
    whole = fused_lstm._lstm_forward_compiled(projected, h0, c0, u, saved, mask)
    chunked = fused_lstm._lstm_forward_run(projected, h0, c0, u, saved, mask)  # eagerly: chunks
    for name in ("h", "c", *saved):
        np.testing.assert_allclose(chunked[name], whole[name], atol=1e-6, err_msg=name)
    dh_seq, dh, dc = _random((steps, BATCH, UNITS), 6), _random((BATCH, UNITS), 7), h0
    expected = fused_lstm.lstm_backward(dh_seq, dh, dc, u, whole["factors"], mask)
    got = fused_lstm._lstm_backward_run(dh_seq, dh, dc, u, whole["factors"], mask)
    for a, b in zip(got, expected, strict=True):
        np.testing.assert_allclose(a, b, atol=1e-5)


@pytest.mark.slow
def test_chunk_loops_are_one_graph_function_for_every_graph_and_equal_one_loop():
    """Graphs with an unknown number of steps (two traces, as fit's, and two batch shards in
    each) call one graph function, traced once, and it computes what one loop over the whole
    sequence computes; fixed lengths and eager calls do not use it."""
    forward = chunks.traced_once(fused_lstm._lstm_forward_run.__wrapped__)
    steps, saved = chunks.CHUNK + 3, fused_lstm._LSTM_SAVED
    projected = _random((steps, BATCH, 4 * UNITS), 1)
    h0, c0 = _random((BATCH, UNITS), 2), _random((BATCH, UNITS), 3)
    u = _random((UNITS, 4 * UNITS), 4)
    mask = _mask(steps, 5)

    def shards(p, m, h0, c0):
        return [forward(p[:, k::2], h0[k::2], c0[k::2], u, saved, m[:, k::2]) for k in (0, 1)]

    states = (tf.TensorSpec((None, UNITS)),) * 2
    specs = (tf.TensorSpec((None, None, 4 * UNITS)), tf.TensorSpec((None, None, 1), tf.bool))
    traces = [tf.function(shards, input_signature=(*specs, *states)) for _ in range(2)]
    whole = [fused_lstm._lstm_forward_compiled(projected[:, k::2], h0[k::2], c0[k::2], u, saved,
                                               mask[:, k::2]) for k in (0, 1)]
    for trace in traces:
        for got, expected in zip(trace(projected, mask, h0, c0), whole, strict=True):
            for name in ("h", "c", *saved):
                np.testing.assert_allclose(got[name], expected[name], atol=1e-6, err_msg=name)
    assert forward.graph_function.experimental_get_tracing_count() == 1
    fixed = (tf.TensorSpec((steps, None, 4 * UNITS)), tf.TensorSpec((steps, None, 1), tf.bool))
    tf.function(shards, input_signature=(*fixed, *states)).get_concrete_function()
    forward(projected, h0, c0, u, saved, mask)  # eagerly
    assert forward.graph_function.experimental_get_tracing_count() == 1


@pytest.mark.slow
@pytest.mark.parametrize("steps", LENGTHS)
def test_chunked_rnn_backward_equals_one_loop(steps):
    projected, u = _random((steps, BATCH, UNITS), 1), _random((UNITS, UNITS), 2)
    h_seq = fused_rnn.rnn_forward(projected, _random((BATCH, UNITS), 3), u, True)["hs"]
    dh_seq, dh = _random((steps, BATCH, UNITS), 4), _random((BATCH, UNITS), 5)
    mask = _mask(steps, 6)
    expected = fused_rnn.rnn_backward(dh_seq, dh, u, h_seq, mask)
    got = fused_rnn._rnn_backward_run(h_seq, dh_seq, dh, u, mask)
    for a, b in zip(got, expected, strict=True):
        np.testing.assert_allclose(a, b, atol=1e-5)
    expected = fused_rnn.rnn_backward(tf.zeros_like(dh_seq), dh, u, h_seq, mask)
    for got in (fused_rnn._rnn_backward_run(h_seq, None, dh, u, mask),
                fused_rnn.rnn_backward(None, dh, u, h_seq, mask)):
        for a, b in zip(got, expected, strict=True):
            np.testing.assert_allclose(a, b, atol=1e-5)


@pytest.mark.slow
@pytest.mark.parametrize(("ours_cls", "keras_cls"), [(lstmkit.LSTM, keras.layers.LSTM),
                                                     (lstmkit.SimpleRNN, keras.layers.SimpleRNN)])
def test_changing_lengths_equal_keras_and_compile_only_chunks(ours_cls, keras_cls, monkeypatch):
    """One tf.function traced for any length (as fit traces batches of changing length): every
    length equals Keras (outputs and gradients), and the compiled loops only ever see CHUNK
    steps."""
    seen = []
    for module, name in [(fused_lstm, "_lstm_forward_run"), (fused_lstm, "_lstm_backward_run"),
                         (fused_rnn, "_rnn_forward_run"), (fused_rnn, "_rnn_backward_run")]:
        # fresh graph functions, so that they are traced (with the spies) in this test
        monkeypatch.setattr(module, name, chunks.traced_once(getattr(module, name).__wrapped__))
    compiled = [(fused_lstm, "_lstm_forward_compiled"), (fused_lstm, "_lstm_backward_compiled"),
                (fused_rnn, "_rnn_forward_compiled"), (fused_rnn, "_rnn_backward_compiled")]
    for module, name in compiled:
        original = getattr(module, name)

        def spy(*args, original=original):
            seen.append(args[0].shape[0])
            return original(*args)

        monkeypatch.setattr(module, name, spy)
    ours, ref = ours_cls(UNITS, return_sequences=True), keras_cls(UNITS, return_sequences=True)
    for layer in (ours, ref):
        layer.build((None, None, FEATURES))
    ref.set_weights([0.5 * w for w in ref.get_weights()])
    ours.set_weights(ref.get_weights())

    def step(layer, x, mask):
        with tf.GradientTape() as tape:
            tape.watch(x)
            y = layer(x, mask=mask)
            loss = tf.reduce_sum(y * tf.cos(y))
        return y, tape.gradient(loss, [x, *layer.trainable_weights])

    spec = (tf.TensorSpec((None, None, FEATURES)), tf.TensorSpec((None, None), tf.bool))
    compiled = tf.function(lambda x, m: step(ours, x, m), input_signature=spec)
    for steps in (9, 23, 40):
        x = _random((BATCH, steps, FEATURES), steps)
        mask = tf.constant(np.arange(steps)[None, :] < np.array([[steps], [steps - 3], [2]]))
        got, expected = compiled(x, mask), step(ref, x, mask)
        for a, b in zip(tf.nest.flatten(got), tf.nest.flatten(expected), strict=True):
            # float32 tolerance relative to the largest value (weight gradients reach ~15)
            atol = 1e-5 * max(1.0, float(np.abs(b).max()))
            np.testing.assert_allclose(np.asarray(a), np.asarray(b), atol=atol)
    assert seen and set(seen) == {chunks.CHUNK}
