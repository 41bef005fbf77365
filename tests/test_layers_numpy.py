"""lstmkit.LSTM and lstmkit.SimpleRNN in float64 against the plain NumPy layers of
tests/numpy_reference.py, to 1e-12: all outputs, final h and final c, over return_sequences,
go_backwards, masks (right padding, holes), initial states and use_bias; eagerly and inside
tf.function, each time through the fused loop (lstmkit.recurrence's _fused_*_core is spied on).

The reference shares no code with lstmkit or Keras, so this is the most independent check the
fused path (its forward recurrence, masking and state handling) has.
"""

import numpy as np
import numpy_reference as ref
import pytest
import tensorflow as tf
from tiers import cover

import lstmkit
from lstmkit import recurrence

BATCH, STEPS, FEATURES, UNITS = 4, 6, 3, 5
ATOL = 1e-12

MASKS = {
    None: None,
    # right padding: lengths 6, 4, 1, 3
    "padded": np.arange(STEPS)[None, :] < np.array([[6], [4], [1], [3]]),
    # holes anywhere, the first step of one sample and the last of another masked
    "holes": np.array([[1, 0, 1, 1, 0, 1],
                       [0, 0, 1, 1, 1, 1],
                       [1, 1, 1, 0, 1, 0],
                       [1, 1, 0, 0, 0, 1]], dtype=bool),
}

# (return_sequences, go_backwards, mask, initial_state, use_bias)
CONFIGS = [
    (True, False, None, False, True),
    (False, False, None, False, True),
    (True, True, None, True, True),
    (False, True, None, False, False),
    (True, False, "padded", False, True),
    (False, False, "padded", True, True),
    (True, True, "padded", True, False),
    (True, False, "holes", True, True),
    (False, True, "holes", False, True),
    (True, True, "holes", True, True),
]


def spy(monkeypatch, name):
    calls = []
    original = getattr(recurrence, name)
    monkeypatch.setattr(recurrence, name, lambda *a: calls.append(a) or original(*a))
    return calls


def _inputs(n_states, initial_state, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(BATCH, STEPS, FEATURES))
    states = [0.5 * rng.normal(size=(BATCH, UNITS)) for _ in range(n_states)]
    return x, states if initial_state else None


def _run(layer, x, mask, states, graph):
    """The layer's [output, h(, c)] as NumPy arrays, called eagerly or in a tf.function."""
    kwargs = {}
    if mask is not None:
        kwargs["mask"] = tf.constant(mask)
    if states is not None:
        kwargs["initial_state"] = [tf.constant(s) for s in states]

    def call(inputs):
        return layer(inputs, **kwargs)

    out = (tf.function(call) if graph else call)(tf.constant(x))
    return [np.asarray(o) for o in out]


def _build(layer, x, seed=1):
    layer(tf.constant(x[:, :1]))
    rng = np.random.default_rng(seed)
    weights = [0.5 * rng.normal(size=w.shape) for w in layer.get_weights()]
    layer.set_weights(weights)
    assert all(w.dtype == tf.float64 for w in layer.weights)
    return weights


def _last_or_all(outputs, return_sequences):
    # the output at the last step read: with a mask, each sample's last unmasked output
    return outputs if return_sequences else outputs[:, -1]


def _check(actual, expected, graph):
    assert len(actual) == len(expected)
    for k, (a, b) in enumerate(zip(actual, expected, strict=True)):
        assert a.dtype == np.float64
        np.testing.assert_allclose(a, b, atol=ATOL, rtol=0,
                                   err_msg=f"[output, h, c][{k}], graph={graph}")


@pytest.mark.parametrize(("return_sequences", "go_backwards", "mask", "initial_state",
                          "use_bias"), cover(CONFIGS, every=6, spread=True))
def test_lstm_float64_equals_numpy(monkeypatch, return_sequences, go_backwards, mask,
                                   initial_state, use_bias):
    calls = spy(monkeypatch, "_fused_lstm_core")
    x, states = _inputs(2, initial_state)
    layer = lstmkit.LSTM(UNITS, return_sequences=return_sequences, return_state=True,
                         go_backwards=go_backwards, use_bias=use_bias, dtype="float64")
    weights = _build(layer, x)
    h0, c0 = states if states is not None else (None, None)
    outputs, h, c = ref.lstm_layer(x, weights, h0=h0, c0=c0, mask=MASKS[mask],
                                   go_backwards=go_backwards)
    for graph in (False, True):
        calls.clear()
        actual = _run(layer, x, MASKS[mask], states, graph)
        assert calls, f"the fused LSTM loop did not run (graph={graph})"
        _check(actual, [_last_or_all(outputs, return_sequences), h, c], graph)


@pytest.mark.parametrize(("return_sequences", "go_backwards", "mask", "initial_state",
                          "use_bias"), cover(CONFIGS, every=6, spread=True))
def test_simple_rnn_float64_equals_numpy(monkeypatch, return_sequences, go_backwards,
                                         mask, initial_state, use_bias):
    calls = spy(monkeypatch, "_fused_rnn_core")
    x, states = _inputs(1, initial_state)
    layer = lstmkit.SimpleRNN(UNITS, return_sequences=return_sequences, return_state=True,
                              go_backwards=go_backwards, use_bias=use_bias, dtype="float64")
    weights = _build(layer, x)
    outputs, h = ref.rnn_layer(x, weights, h0=None if states is None else states[0],
                               mask=MASKS[mask], go_backwards=go_backwards)
    for graph in (False, True):
        calls.clear()
        actual = _run(layer, x, MASKS[mask], states, graph)
        assert calls, f"the fused SimpleRNN loop did not run (graph={graph})"
        _check(actual, [_last_or_all(outputs, return_sequences), h], graph)


def test_reference_layers_follow_keras_masking():
    """The NumPy layer semantics the tests above rely on, on a hand-worked case: a masked step
    keeps the states and repeats the previous output (zeros before the first unmasked step),
    and go_backwards reads the mask reversed too."""
    x = np.array([[[1.0], [2.0], [3.0]]])
    weights = [np.array([[1.0]]), np.array([[0.0]]), np.array([0.0])]  # h_t = x_t
    mask = np.array([[False, True, False]])
    outputs, h = ref.rnn_layer(x, weights, activation="linear", h0=np.array([[9.0]]), mask=mask)
    np.testing.assert_array_equal(outputs[0, :, 0], [0.0, 2.0, 2.0])
    np.testing.assert_array_equal(h, [[2.0]])
    outputs, h = ref.rnn_layer(x, weights, activation="linear", mask=np.array([[True, True,
                                                                                 False]]),
                               go_backwards=True)
    np.testing.assert_array_equal(outputs[0, :, 0], [0.0, 2.0, 1.0])
    np.testing.assert_array_equal(h, [[1.0]])
