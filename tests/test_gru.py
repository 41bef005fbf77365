"""lstmkit.GRU against keras.layers.GRU (same weights): outputs, states and gradients over a
grid of options and masks, both reset_after; against the float64 NumPy reference; the loop that
runs; Bidirectional, stateful, dropout, config and bad calls."""

import inspect
import itertools

import keras
import numpy as np
import numpy_reference as ref
import pytest
import tensorflow as tf
from tiers import chosen, cover

import lstmkit
from lstmkit import recurrence

ATOL = 1e-5
BATCH, STEPS, FEATURES, UNITS = 3, 5, 4, 6
MASKS = {
    "none": None,
    "right_padded": np.arange(STEPS)[None, :] < np.array([[5], [3], [1]]),
    "left_padded": np.arange(STEPS)[None, :] >= np.array([[0], [2], [4]]),
    # holes, and a sample with no real step at all
    "random": np.array([[1, 0, 1, 1, 0], [0, 1, 1, 0, 1], [0, 0, 0, 0, 0]], bool),
}


def inputs(seed=0, batch=BATCH, dtype="float32"):
    return np.random.default_rng(seed).normal(size=(batch, STEPS, FEATURES)).astype(dtype)


def pair(x, **options):
    """keras.layers.GRU with random weights (both bias rows) and lstmkit.GRU with a copy."""
    theirs, ours = keras.layers.GRU(UNITS, **options), lstmkit.GRU(UNITS, **options)
    theirs(x[:, :1]), ours(x[:, :1])
    rng = np.random.default_rng(2)
    theirs.set_weights([0.5 * rng.normal(size=w.shape).astype(w.dtype)
                        for w in theirs.get_weights()])
    ours.set_weights(theirs.get_weights())
    return ours, theirs


def run(layer, x, mask=None, initial_state=None, training=False, graph=False):
    """Flat outputs and the gradients of a fixed weighted sum of them (inputs, initial state,
    every weight)."""
    x = tf.constant(x)
    watched = [x, *(initial_state or [])]

    def call(x):
        return layer(x, mask=mask, initial_state=initial_state, training=training)

    with tf.GradientTape() as tape:
        tape.watch(watched)
        out = (tf.function(call) if graph else call)(x)
        outs = list(out) if isinstance(out, (list, tuple)) else [out]
        loss = sum(
            tf.reduce_sum(o * np.cos(np.arange(np.prod(o.shape))).reshape(o.shape)) for o in outs
        )
    grads = tape.gradient(loss, [*watched, *layer.trainable_weights])
    return out, [np.asarray(o) for o in outs], [np.asarray(g) for g in grads]


def assert_close(ours, theirs, what, atol=ATOL):
    assert len(ours) == len(theirs), what
    for index, (a, b) in enumerate(zip(ours, theirs, strict=True)):
        assert a.shape == b.shape, (what, index)
        np.testing.assert_allclose(a, b, atol=atol, rtol=0, err_msg=f"{what} #{index}")


@pytest.mark.slow
@pytest.mark.parametrize("reset_after", [True, False])
@pytest.mark.parametrize("mask_kind", MASKS)
@pytest.mark.parametrize("go_backwards", [False, True])
@pytest.mark.parametrize("unroll", [False, True])
def test_parity_grid(reset_after, mask_kind, go_backwards, unroll):
    """Outputs, states and gradients over return_sequences x return_state x initial_state."""
    x, mask = inputs(), MASKS[mask_kind]
    for return_sequences, return_state, with_state in itertools.product([False, True], repeat=3):
        what = f"{return_sequences=} {return_state=} {with_state=}"
        ours, theirs = pair(x, return_sequences=return_sequences, return_state=return_state,
                            go_backwards=go_backwards, unroll=unroll, reset_after=reset_after)
        init = None
        if with_state:
            init = [tf.constant(np.random.default_rng(1).normal(size=(BATCH, UNITS)), tf.float32)]
        our_out, our_values, our_grads = run(ours, x, mask, init)
        ref_out, ref_values, ref_grads = run(theirs, x, mask, init)
        assert type(our_out) is type(ref_out), what
        assert_close(our_values, ref_values, "outputs " + what)
        assert_close(our_grads, ref_grads, "gradients " + what)


def _tf_function_cases():
    """reset_after x options; the fast tier keeps the fused loop of Keras' defaults (the plain
    loop of ``reset_after=False`` meets Keras in the fast tier's stateful test)."""
    options = {"default": {}, "relu": {"activation": "relu"}, "no_bias": {"use_bias": False},
               "hard_sigmoid": {"recurrent_activation": "hard_sigmoid"},
               "implementation1": {"implementation": 1}}
    fast = {(True, "default")}
    return [pytest.param(reset_after, value, id=f"{name}-{reset_after}",
                         marks=() if (reset_after, name) in fast else pytest.mark.slow)
            for name, value in options.items() for reset_after in (True, False)]


@pytest.mark.parametrize(("reset_after", "options"), _tf_function_cases())
def test_parity_in_a_tf_function(reset_after, options):
    x, mask = inputs(3), MASKS["random"]
    ours, theirs = pair(x, return_sequences=True, return_state=True, reset_after=reset_after,
                        **options)
    _, our_values, our_grads = run(ours, x, mask, graph=True)
    _, ref_values, ref_grads = run(theirs, x, mask, graph=True)
    assert_close(our_values, ref_values, "outputs")
    assert_close(our_grads, ref_grads, "gradients")


@pytest.mark.parametrize(("reset_after", "go_backwards"),
                         chosen([(False, True), (True, False), (True, True), (False, False)],
                                fast=[(False, True)], spread=True))
def test_stateful_across_batches(reset_after, go_backwards):
    x1, x2, mask = inputs(0), inputs(1), MASKS["left_padded"]
    ours, theirs = pair(x1, stateful=True, return_state=True, go_backwards=go_backwards,
                        reset_after=reset_after)
    ours.reset_states(), theirs.reset_states()
    for x in (x1, x2):
        assert_close(run(ours, x, mask)[1], run(theirs, x, mask)[1], "outputs")
        assert_close([np.asarray(s) for s in ours.states],
                     [np.asarray(s) for s in theirs.states], "stored states")
    ours.reset_state()
    assert not np.asarray(ours.states[0]).any()


@pytest.mark.parametrize(("reset_after", "implementation"),  # fast: Keras' defaults
                         chosen([(True, 2), (True, 1), (False, 1), (False, 2)], fast=[(True, 2)],
                                spread=True))
def test_dropout_matches_keras_for_a_seed(reset_after, implementation):
    """Training with input dropout: the fast path drops the units Keras' loop drops.
    (keras.layers.GRU 3.15 with implementation=1 and dropout fails in its cuDNN attempt, even
    on a CPU, unless use_cudnn=False; lstmkit's GRU lists that as a reason and skips cuDNN.)"""
    x, mask = inputs(), MASKS["right_padded"]
    ours, theirs = pair(x, dropout=0.3, seed=4, return_sequences=True, reset_after=reset_after,
                        implementation=implementation, use_cudnn=implementation == 2 and "auto")
    _, our_values, our_grads = run(ours, x, mask, training=True)
    _, ref_values, ref_grads = run(theirs, x, mask, training=True)
    assert_close(our_values, ref_values, "outputs")
    assert_close(our_grads, ref_grads, "gradients")
    _, plain, _ = run(ours, x, mask, training=False)
    assert not np.allclose(plain[0], our_values[0], atol=1e-3)  # dropout did something


def test_recurrent_dropout_matches_keras_for_a_seed():
    x = inputs()
    ours, theirs = pair(x, dropout=0.2, recurrent_dropout=0.3, seed=6, return_sequences=True)
    _, our_values, our_grads = run(ours, x, training=True)
    _, ref_values, ref_grads = run(theirs, x, training=True)
    assert_close(our_values, ref_values, "outputs")
    assert_close(our_grads, ref_grads, "gradients")


@pytest.mark.parametrize("merge_mode", chosen(["concat", "sum"], fast=["concat"]))
def test_bidirectional_matches_keras(merge_mode):
    x, mask = inputs(), MASKS["right_padded"]
    ours = keras.layers.Bidirectional(lstmkit.GRU(UNITS, return_sequences=True),
                                      merge_mode=merge_mode)
    theirs = keras.layers.Bidirectional(keras.layers.GRU(UNITS, return_sequences=True),
                                        merge_mode=merge_mode)
    ours(x), theirs(x)
    theirs.set_weights([0.5 * np.random.default_rng(3).normal(size=w.shape).astype("float32")
                        for w in theirs.get_weights()])
    ours.set_weights(theirs.get_weights())
    _, our_values, our_grads = run(ours, x, mask)
    _, ref_values, ref_grads = run(theirs, x, mask)
    assert_close(our_values, ref_values, "outputs")
    assert_close(our_grads, ref_grads, "gradients")


def spy(monkeypatch, name):
    calls = []
    original = getattr(recurrence, name)
    monkeypatch.setattr(recurrence, name,
                        lambda *a, **k: calls.append(a) or original(*a, **k))
    return calls


@pytest.mark.parametrize(
    ("options", "fused"),
    chosen(
        [
            ({}, True),
            ({"reset_after": False}, False),
            ({"activation": "relu"}, False),
            ({"recurrent_activation": "hard_sigmoid"}, False),
            ({"use_bias": False}, True),
        ],
        fast=[({}, True), ({"reset_after": False}, False),
              ({"recurrent_activation": "hard_sigmoid"}, False)],
        spread=True,
    ),
)
def test_which_loop_runs(monkeypatch, options, fused):
    """Keras' default GRU runs the fused loop; other configurations the readable loop; unroll
    and recurrent dropout in training Keras' cell by cell."""
    calls, loops = spy(monkeypatch, "_fused_gru_core"), spy(monkeypatch, "scan_steps")
    x = inputs()
    layer = lstmkit.GRU(UNITS, **options)
    layer(x)
    assert bool(calls) is fused and bool(loops) is not fused
    calls.clear(), loops.clear()
    lstmkit.GRU(UNITS, unroll=True, **options)(x)
    lstmkit.GRU(UNITS, recurrent_dropout=0.5, **options)(x, training=True)
    assert not calls and not loops
    assert lstmkit.GRU(UNITS).fast_path_applies()
    assert not lstmkit.GRU(UNITS, recurrent_dropout=0.5).fast_path_applies(training=True)


@pytest.mark.slow
@pytest.mark.parametrize("compiled", [False, True])
def test_gradient_of_a_gradient_is_keras(compiled):
    """A gradient penalty (nested tapes), eagerly and in a tf.function, agrees with Keras'."""
    x = tf.constant(inputs())
    ours, theirs = pair(inputs())

    def second_order(layer):
        with tf.GradientTape() as outer:
            outer.watch(x)
            with tf.GradientTape() as inner:
                inner.watch(x)
                loss = tf.reduce_sum(layer(x) ** 2)
            grad = inner.gradient(loss, x)
            penalty = tf.reduce_sum(grad ** 2)
        return outer.gradient(penalty, x)

    ours_function = tf.function(second_order) if compiled else second_order
    np.testing.assert_allclose(ours_function(ours), second_order(theirs), atol=1e-4)


# -- float64 against NumPy -----------------------------------------------------------------------
NUMPY_CASES = [
    # (return_sequences, go_backwards, mask, initial_state, use_bias, reset_after)
    (True, False, "none", False, True, True),
    (False, True, "none", True, True, True),
    (True, True, "right_padded", True, False, True),
    (True, False, "random", True, True, True),
    (False, True, "random", False, True, True),
    (True, False, "none", True, True, False),
    (True, True, "random", True, True, False),
    (False, False, "right_padded", False, False, False),
]


@pytest.mark.parametrize(("return_sequences", "go_backwards", "mask_kind", "with_state",
                          "use_bias", "reset_after"), cover(NUMPY_CASES, every=5, spread=True))
def test_float64_equals_numpy(monkeypatch, return_sequences, go_backwards, mask_kind, with_state,
                              use_bias, reset_after):
    calls = spy(monkeypatch, "_fused_gru_core")
    x, mask = inputs(dtype="float64"), MASKS[mask_kind]
    rng = np.random.default_rng(1)
    h0 = 0.5 * rng.normal(size=(BATCH, UNITS)) if with_state else None
    layer = lstmkit.GRU(UNITS, return_sequences=return_sequences, return_state=True,
                        go_backwards=go_backwards, use_bias=use_bias, reset_after=reset_after,
                        dtype="float64")
    layer(tf.constant(x[:, :1]))
    weights = [0.5 * rng.normal(size=w.shape) for w in layer.get_weights()]
    layer.set_weights(weights)
    outputs, h = ref.gru_layer(x, weights, reset_after=reset_after, h0=h0, mask=mask,
                               go_backwards=go_backwards)
    expected = [outputs if return_sequences else outputs[:, -1], h]
    kwargs = {"mask": None if mask is None else tf.constant(mask),
              "initial_state": None if h0 is None else [tf.constant(h0)]}
    for graph in (False, True):
        calls.clear()
        def call(v, kwargs=kwargs):
            return layer(v, **kwargs)

        actual = (tf.function(call) if graph else call)(tf.constant(x))
        assert bool(calls) is reset_after, f"fused loop ran: {bool(calls)} (graph={graph})"
        for a, b in zip(actual, expected, strict=True):
            assert a.dtype == tf.float64
            np.testing.assert_allclose(a, b, atol=1e-12, rtol=0)


# -- API -----------------------------------------------------------------------------------------
def test_constructor_signature_and_properties_cover_keras():
    keras_params = inspect.signature(keras.layers.GRU.__init__).parameters
    ours, theirs = lstmkit.GRU(3), keras.layers.GRU(3)
    for name, param in keras_params.items():
        if name in ("self", "kwargs"):
            continue
        assert name in inspect.signature(lstmkit.GRU.__init__).parameters, name
        assert inspect.signature(lstmkit.GRU.__init__).parameters[name].default == param.default
        if hasattr(theirs, name):
            ours_value, keras_value = getattr(ours, name), getattr(theirs, name)
            if name.endswith(("initializer", "regularizer", "constraint", "activation")):
                ours_value = keras.saving.serialize_keras_object(ours_value)
                keras_value = keras.saving.serialize_keras_object(keras_value)
            assert ours_value == keras_value, name
    assert lstmkit.GRU(3, implementation=1).implementation == 1
    assert ours.get_config().keys() >= theirs.get_config().keys()


@pytest.mark.parametrize("reset_after", [True, False])
def test_weights_match_keras(reset_after):
    ours, theirs = pair(inputs(), reset_after=reset_after)
    assert [w.path.split("/")[-1] for w in ours.weights] == ["kernel", "recurrent_kernel", "bias"]
    assert [w.shape for w in ours.weights] == [w.shape for w in theirs.weights]
    assert ours.count_params() == theirs.count_params()


@pytest.mark.slow
def test_saves_and_loads_without_custom_objects(tmp_path):
    layer = lstmkit.GRU(4, reset_after=False, return_sequences=True, dropout=0.1, seed=3)
    model = keras.Sequential([keras.Input((5, 3)), layer, keras.layers.Dense(2)])
    path = tmp_path / "model.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    x = inputs()[:, :, :3]
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))
    assert type(loaded.layers[0]) is lstmkit.GRU
    assert loaded.layers[0].get_config() == layer.get_config()
    clone = keras.layers.GRU.from_config(
        {k: v for k, v in layer.get_config().items() if k != "implementation"}
    )
    assert clone.reset_after is False and clone.return_sequences


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda layer, x: layer(x, initial_state=[tf.zeros((3, 5))]), r"initial_state\[0\]"),
        (lambda layer, x: layer(x, initial_state=[tf.zeros((3, 6))] * 2), "list of 1 tensor"),
        (lambda layer, x: layer(x, mask=np.ones((3, 4), bool)), "mask"),
        (lambda layer, x: layer(x[0]), "ndim"),
    ],
)
def test_bad_calls(call, match):
    with pytest.raises(ValueError, match=match):
        call(lstmkit.GRU(UNITS), inputs())


@pytest.mark.parametrize("value", ["yes", 1, None])
def test_use_cudnn_must_be_auto_true_or_false(value):
    with pytest.raises(ValueError, match="use_cudnn"):
        lstmkit.GRU(3, use_cudnn=value)
