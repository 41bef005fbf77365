"""lstmkit.LSTM and lstmkit.SimpleRNN on the workloads people run, against Keras' layers.

Beyond the happy path of tests/test_layers.py (unmasked float32, one shape, first-order
gradients): static shapes inside ``tf.function`` on every path, integer and boolean inputs,
higher-order and forward-mode derivatives, and no warnings of lstmkit's own making. Every check
compares with ``keras.layers.LSTM`` / ``keras.layers.SimpleRNN`` holding the same weights.
"""

import keras
import numpy as np
import pytest
import tensorflow as tf

import lstmkit

ATOL = 1e-5
BATCH, STEPS, FEATURES, UNITS = 4, 6, 3, 5
KINDS = {
    "lstm": (lstmkit.LSTM, keras.layers.LSTM),
    "simple_rnn": (lstmkit.SimpleRNN, keras.layers.SimpleRNN),
}


def inputs(seed=0, batch=BATCH, steps=STEPS):
    return np.random.default_rng(seed).normal(size=(batch, steps, FEATURES)).astype("float32")


def pair(kind, **options):
    """Keras' layer with random weights and lstmkit's with a copy, both built."""
    ours_cls, keras_cls = KINDS[kind]
    ref, ours = keras_cls(UNITS, **options), ours_cls(UNITS, **options)
    for layer in (ref, ours):
        layer.build((None, None, FEATURES))
    rng = np.random.default_rng(2)
    ref.set_weights([0.5 * rng.normal(size=w.shape).astype("float32") for w in ref.get_weights()])
    ours.set_weights(ref.get_weights())
    return ours, ref


# -- 1. static shapes ----------------------------------------------------------------------------
PATHS = {  # name: (layer options, call with a mask)
    "fused": ({}, False),
    "masked": ({}, True),
    "mixed_float16": ({"dtype": "mixed_float16"}, False),
    "relu": ({"activation": "relu"}, False),
    "go_backwards_masked": ({"go_backwards": True}, True),
    "unroll": ({"unroll": True}, True),
}


def _static_shapes(layer, input_shape, with_mask):
    spec = tf.TensorSpec(input_shape, tf.float32)

    def call(x):
        mask = tf.reduce_any(tf.not_equal(x, 0.0), axis=-1) if with_mask else None
        return layer(x, mask=mask)

    outputs = tf.function(call).get_concrete_function(spec).structured_outputs
    return [tuple(o.shape) for o in tf.nest.flatten(outputs)]


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("batch", [BATCH, None])
@pytest.mark.parametrize("return_state", [False, True])
def test_static_shapes_in_tf_function_are_keras(kind, path, batch, return_state):
    """Inside a tf.function every path keeps the static dimensions Keras keeps."""
    options, with_mask = PATHS[path]
    ours, ref = pair(kind, return_sequences=True, return_state=return_state, **options)
    shape = (batch, STEPS, FEATURES)
    expected = _static_shapes(ref, shape, with_mask)
    assert expected[0] == (batch, STEPS, UNITS)
    assert _static_shapes(ours, shape, with_mask) == expected


@pytest.mark.parametrize("batch_size", [4, 8])
def test_masking_then_time_distributed_predicts_keras_shapes_and_values(batch_size):
    """The issue's model: Masking -> LSTM(return_sequences) -> TimeDistributed(Dense)."""
    x = inputs(batch=16)
    x[:, 4:] = 0.0

    def model(layer_cls):
        return keras.Sequential([
            keras.Input((STEPS, FEATURES)),
            keras.layers.Masking(),
            layer_cls(UNITS, return_sequences=True),
            keras.layers.TimeDistributed(keras.layers.Dense(2)),
        ])

    ref, ours = model(keras.layers.LSTM), model(lstmkit.LSTM)
    ours.set_weights(ref.get_weights())
    expected = ref.predict(x, batch_size=batch_size, verbose=0)
    got = ours.predict(x, batch_size=batch_size, verbose=0)
    assert got.shape == expected.shape == (16, STEPS, 2)
    np.testing.assert_allclose(got, expected, atol=ATOL)


@pytest.mark.parametrize("kind", KINDS)
def test_stacked_under_an_unrolled_layer_trains_in_fit(kind):
    """A masked lstmkit layer feeding an ``unroll=True`` one needs its static time axis."""
    ours_cls, keras_cls = KINDS[kind]
    x = inputs(batch=8)
    x[:, 5:] = 0.0
    y = np.random.default_rng(3).normal(size=(8, 1)).astype("float32")

    def model(first, second):
        return keras.Sequential([
            keras.Input((STEPS, FEATURES)),
            keras.layers.Masking(),
            first(UNITS, return_sequences=True),
            second(UNITS, unroll=True),
            keras.layers.Dense(1),
        ])

    ref, ours = model(keras_cls, keras_cls), model(ours_cls, ours_cls)
    ours.set_weights(ref.get_weights())
    losses = []
    for m in (ref, ours):
        m.compile(optimizer=keras.optimizers.SGD(0.05), loss="mse")
        losses.append(m.fit(x, y, batch_size=4, epochs=2, verbose=0, shuffle=False).history)
    np.testing.assert_allclose(losses[1]["loss"], losses[0]["loss"], rtol=1e-5)


# -- 2. integer and boolean inputs ---------------------------------------------------------------
@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("dtype", ["int32", "int64", "uint8", "bool"])
@pytest.mark.parametrize("policy", ["float32", "float64", "mixed_float16"])
@pytest.mark.parametrize("compiled", [False, True])
def test_integer_and_boolean_inputs_are_cast_like_keras(kind, dtype, policy, compiled):
    x = np.random.default_rng(4).integers(0, 3, size=(BATCH, STEPS, FEATURES)).astype(dtype)
    ours, ref = pair(kind, return_sequences=True, dtype=policy)

    def call(layer):
        return tf.function(layer)(x) if compiled else layer(x)

    expected, got = call(ref), call(ours)
    assert got.dtype == expected.dtype
    atol = 1e-2 if policy == "mixed_float16" else ATOL
    np.testing.assert_allclose(np.asarray(got, "float64"), np.asarray(expected, "float64"),
                               atol=atol)
