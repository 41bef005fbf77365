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

pytestmark = pytest.mark.slow  # about five minutes of workloads

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


# -- 3. higher-order and forward-mode derivatives ------------------------------------------------
DERIVATIVE_OPTIONS = {
    "last": {},
    "sequences": {"return_sequences": True},
    "backwards_states": {"go_backwards": True, "return_state": True},
}


def _outputs(layer, x):
    return tf.nest.flatten(layer(x))


def gradient_penalty(layer, x):
    """d/dW of ||d sum(y^2) / dx||^2 (as in WGAN-GP), for every weight W."""
    with tf.GradientTape() as outer:
        with tf.GradientTape() as inner:
            inner.watch(x)
            loss = sum(tf.reduce_sum(y * y) for y in _outputs(layer, x))
        penalty = tf.reduce_sum(tf.square(inner.gradient(loss, x)))
    return [penalty, *outer.gradient(penalty, layer.trainable_weights)]


def hessian_vector_product(layer, x):
    """H v for the Hessian of sum(y^2) in the weights, v = cos(index) per weight."""
    weights = layer.trainable_weights
    vectors = [tf.cos(tf.reshape(tf.range(tf.size(w), dtype=w.dtype), w.shape)) for w in weights]
    with tf.GradientTape() as outer:
        with tf.GradientTape() as inner:
            loss = sum(tf.reduce_sum(y * y) for y in _outputs(layer, x))
        grads = inner.gradient(loss, weights)
        dot = sum(tf.reduce_sum(g * v) for g, v in zip(grads, vectors, strict=True))
    return outer.gradient(dot, weights)


def jacobian_vector_product(layer, x):
    """Forward mode: the derivative of every output along the input direction cos(index)."""
    tangent = tf.cos(tf.reshape(tf.range(tf.size(x), dtype=x.dtype), tf.shape(x)))
    with tf.autodiff.ForwardAccumulator(x, tangent) as accumulator:
        outputs = _outputs(layer, x)
    return [accumulator.jvp(y) for y in outputs]


def forward_over_backward_hvp(layer, x):
    """H v of sum(y^2) in the inputs: a ForwardAccumulator around a GradientTape."""
    tangent = tf.sin(tf.reshape(tf.range(tf.size(x), dtype=x.dtype), tf.shape(x)))
    with tf.autodiff.ForwardAccumulator(x, tangent) as accumulator:
        with tf.GradientTape() as tape:
            tape.watch(x)
            loss = sum(tf.reduce_sum(y * y) for y in _outputs(layer, x))
        grad = tape.gradient(loss, x)
    return [accumulator.jvp(grad)]


DERIVATIVES = {
    "gradient_penalty": gradient_penalty,
    "hessian_vector_product": hessian_vector_product,
    "jacobian_vector_product": jacobian_vector_product,
    "forward_over_backward_hvp": forward_over_backward_hvp,
}


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("derivative", DERIVATIVES)
@pytest.mark.parametrize("options", DERIVATIVE_OPTIONS)
@pytest.mark.parametrize("compiled", [False, True])
def test_higher_order_and_forward_mode_derivatives_are_keras(kind, derivative, options, compiled):
    """The numbers Keras computes eagerly, eagerly and inside a tf.function (where
    keras.layers.LSTM itself cannot take forward-mode derivatives)."""
    x = tf.constant(inputs())
    ours, ref = pair(kind, **DERIVATIVE_OPTIONS[options])
    function = DERIVATIVES[derivative]
    expected = function(ref, x)
    ours_function = tf.function(function) if compiled else function
    got = ours_function(ours, x)
    assert len(got) == len(expected)
    for a, b in zip(got, expected, strict=True):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), atol=1e-4, rtol=1e-4)


class _TracedCall:
    """The layer's call in a tf.function, traced once with no tape recording; derivatives
    are then taken from outside, so TensorFlow differentiates the traced graph itself."""

    def __init__(self, layer, x):
        self.layer, self.trainable_weights = layer, layer.trainable_weights
        self.call = tf.function(layer)
        self.call(x)

    def __call__(self, x):
        return self.call(x)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("derivative", DERIVATIVES)
@pytest.mark.parametrize("options", ["last", "sequences"])
def test_derivatives_of_a_graph_traced_for_inference_are_keras(kind, derivative, options):
    x = tf.constant(inputs())
    ours, ref = pair(kind, **DERIVATIVE_OPTIONS[options])
    function = DERIVATIVES[derivative]
    expected = function(ref, x)
    got = function(_TracedCall(ours, x), x)
    for a, b in zip(got, expected, strict=True):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), atol=1e-4, rtol=1e-4)


@pytest.mark.parametrize("kind", KINDS)
def test_forward_mode_in_tf_function_with_unknown_length_is_a_clear_error(kind):
    ours, _ = pair(kind)
    function = tf.function(jacobian_vector_product).get_concrete_function
    spec = tf.TensorSpec((BATCH, None, FEATURES), tf.float32)
    with pytest.raises(ValueError, match="Forward-mode derivatives .* fixed number of timesteps"):
        function(ours, spec)


@pytest.mark.parametrize("kind", KINDS)
def test_first_order_gradients_still_take_the_fused_path(kind, monkeypatch):
    """One tape (fit's case) keeps the hand-derived backward pass."""
    from lstmkit import recurrence

    calls = []
    core = recurrence._fused_lstm_core if kind == "lstm" else recurrence._fused_rnn_core
    name = core.__name__
    monkeypatch.setattr(recurrence, name, lambda *a: calls.append(a) or core(*a))
    ours, ref = pair(kind)
    x = tf.constant(inputs())
    grads = []
    for layer in (ours, ref):
        with tf.GradientTape() as tape:
            loss = tf.reduce_sum(layer(x) ** 2)
        grads.append(tape.gradient(loss, layer.trainable_weights))
    assert calls
    for a, b in zip(*grads, strict=True):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), atol=ATOL)


# -- 4. masks on the fused loop ------------------------------------------------------------------
def _masks(batch, steps, seed=5):
    """Right-padded (lengths 50-100%), with holes, and with fully masked rows."""
    rng = np.random.default_rng(seed)
    lengths = rng.integers(steps // 2, steps + 1, size=batch)
    right = np.arange(steps)[None, :] < lengths[:, None]
    holes = rng.random((batch, steps)) > 0.3
    holes[::3] = False  # every third row fully masked
    return {"right_padded": right, "holes": holes}


def _training_step(layer, x, mask, initial_state, compiled):
    weights = np.cos(np.arange(10_000)).astype("float32")

    def step(x, mask):
        with tf.GradientTape() as tape:
            tape.watch([x, *(initial_state or [])])
            outs = tf.nest.flatten(layer(x, mask=mask, initial_state=initial_state))
            loss = sum(tf.reduce_sum(o * tf.reshape(weights[: o.shape.num_elements()], o.shape))
                       for o in outs)
        grads = tape.gradient(loss, [x, *(initial_state or []), *layer.trainable_weights])
        return outs, grads

    return (tf.function(step) if compiled else step)(tf.constant(x), tf.constant(mask))


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("mask_kind", ["right_padded", "holes"])
@pytest.mark.parametrize("batch", [3, 16])
@pytest.mark.parametrize(
    "options",
    [
        {"return_sequences": True},
        {"return_sequences": True, "go_backwards": True, "return_state": True},
        {"return_sequences": True, "zero_output_for_mask": True},
        {"return_state": True, "zero_output_for_mask": True},
        {"return_state": True, "with_state": True},
        {"return_sequences": True, "go_backwards": True, "with_state": True},
    ],
    ids=["seq", "backwards_states", "zero_output", "zero_output_last", "initial_state",
         "backwards_initial_state"],
)
def test_masked_training_step_equals_keras_on_the_fused_loop(
    kind, mask_kind, batch, options, monkeypatch
):
    """Masked outputs, states and gradients in a tf.function (batch 16: on batch shards) equal
    Keras' (states carried over masked steps, zero_output_for_mask), and the fused loop ran."""
    from lstmkit import recurrence

    options = dict(options)
    with_state = options.pop("with_state", False)
    core_name = "_fused_lstm_core" if kind == "lstm" else "_fused_rnn_core"
    core, calls = getattr(recurrence, core_name), []
    monkeypatch.setattr(recurrence, core_name, lambda *a: calls.append(a) or core(*a))
    x, mask = inputs(batch=batch, steps=8), _masks(batch, 8)[mask_kind]
    ours, ref = pair(kind, **options)
    rng = np.random.default_rng(6)
    count = 2 if kind == "lstm" else 1
    state = [tf.constant(rng.normal(size=(batch, UNITS)).astype("float32")) for _ in range(count)]
    state = state if with_state else None
    expected = _training_step(ref, x, mask, state, compiled=False)
    got = _training_step(ours, x, mask, state, compiled=True)
    assert calls and all(a[1] is not None for a in calls)  # the fused core, with a mask
    for a, b in zip(tf.nest.flatten(got), tf.nest.flatten(expected), strict=True):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), atol=ATOL)


# -- 6. no warnings of lstmkit's own making ------------------------------------------------------
def test_many_layers_and_shapes_eagerly_log_no_retracing_warning():
    """Keras' layers log nothing here; lstmkit's must not either (each shape is compiled once,
    as XLA needs, which is not the avoidable retracing TensorFlow warns about)."""
    import logging

    records = []
    handler = logging.Handler()
    handler.emit = records.append
    logger = tf.get_logger()
    logger.addHandler(handler)
    try:
        for k in range(7):
            x = inputs(seed=k, batch=2 + k, steps=5 + k)
            for cls in (lstmkit.LSTM, lstmkit.SimpleRNN):
                layer = cls(3 + k, return_sequences=bool(k % 2))
                with tf.GradientTape() as tape:
                    y = layer(x)
                tape.gradient(y, layer.trainable_weights)
                tf.function(layer)(x)
    finally:
        logger.removeHandler(handler)
    messages = [r.getMessage() for r in records if r.levelno >= logging.WARNING]
    assert not [m for m in messages if "retracing" in m], messages
