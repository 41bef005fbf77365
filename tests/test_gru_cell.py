"""lstmkit.GRUCell against keras.layers.GRUCell and the NumPy reference."""

from __future__ import annotations

import inspect
import itertools

import keras
import numpy as np
import numpy_reference as ref
import pytest
import tensorflow as tf
from tiers import chosen, cover

import lstmkit

ATOL = 1e-5


def _pair(units: int, input_dim: int, **kwargs):
    """keras.layers.GRUCell and lstmkit.GRUCell, built, lstmkit's with Keras' random weights."""
    theirs, ours = keras.layers.GRUCell(units, **kwargs), lstmkit.GRUCell(units, **kwargs)
    theirs.build((None, input_dim))
    ours.build((None, input_dim))
    rng = np.random.default_rng(7)
    theirs.set_weights([rng.normal(size=w.shape).astype("float32") for w in theirs.get_weights()])
    ours.set_weights(theirs.get_weights())
    return theirs, ours


GRID = [
    (units, input_dim, batch, {"reset_after": reset_after})
    for units, input_dim, batch, reset_after in itertools.product(
        (1, 5), (1, 3), (1, 4), (True, False)
    )
]
for reset_after in (True, False):
    GRID += [
        (3, 2, 2, {"reset_after": reset_after, "activation": "relu"}),
        (3, 2, 2, {"reset_after": reset_after, "activation": None}),
        (3, 2, 2, {"reset_after": reset_after, "recurrent_activation": "hard_sigmoid"}),
        (3, 2, 2, {"reset_after": reset_after, "use_bias": False}),
        (3, 2, 2, {"reset_after": reset_after, "implementation": 1}),
        (3, 2, 2, {"reset_after": reset_after, "implementation": 1, "use_bias": False}),
    ]


def _grid_id(case) -> str:
    units, input_dim, batch, kwargs = case
    extra = ",".join(f"{k}={v}" for k, v in kwargs.items())
    return f"u{units}-d{input_dim}-b{batch}-{extra}"


def _numpy_kwargs(kwargs: dict) -> dict:
    return {
        "activation": kwargs.get("activation", "tanh"),
        "recurrent_activation": kwargs.get("recurrent_activation", "sigmoid"),
        "reset_after": kwargs["reset_after"],
    }


@pytest.mark.parametrize("case", cover(GRID, every=4), ids=_grid_id)
def test_single_step_matches_keras_and_numpy(case):
    units, input_dim, batch, kwargs = case
    theirs, ours = _pair(units, input_dim, **kwargs)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(batch, input_dim)).astype("float32")
    h = rng.normal(size=(batch, units)).astype("float32")
    k_out, (k_h,) = theirs(x, [h])
    o_out, (o_h,) = ours(x, [h])
    np.testing.assert_allclose(o_out, k_out, atol=ATOL)
    np.testing.assert_allclose(o_h, k_h, atol=ATOL)
    weights = [w.astype("float64") for w in ours.get_weights()]
    bias = weights[2] if len(weights) == 3 else None
    expected = ref.gru_step(x, h, weights[0], weights[1], bias, **_numpy_kwargs(kwargs))
    np.testing.assert_allclose(o_out, expected, atol=ATOL)


@pytest.mark.parametrize("case", cover(GRID, every=7), ids=_grid_id)
def test_sequence_outputs_states_and_gradients_match_keras(case):
    units, input_dim, batch, kwargs = case
    theirs, ours = _pair(units, input_dim, **kwargs)
    x = tf.constant(np.random.default_rng(1).normal(size=(batch, 6, input_dim)), tf.float32)

    def run(cell):
        layer = keras.layers.RNN(cell, return_sequences=True, return_state=True)
        with tf.GradientTape() as tape:
            tape.watch(x)
            outputs = layer(x)
            loss = sum(tf.reduce_sum(o * (i + 1.0) * tf.cos(o)) for i, o in enumerate(outputs))
        return outputs, tape.gradient(loss, [x, *cell.trainable_variables])

    (k_seq, k_h), k_grads = run(theirs)
    (o_seq, o_h), o_grads = run(ours)
    np.testing.assert_allclose(o_seq, k_seq, atol=ATOL)
    np.testing.assert_allclose(o_h, k_h, atol=ATOL)
    assert len(o_grads) == len(k_grads) == (3 if kwargs.get("use_bias", True) else 2) + 1
    for o, k in zip(o_grads, k_grads, strict=True):
        np.testing.assert_allclose(o, k, atol=10 * ATOL)
    weights = [w.astype("float64") for w in ours.get_weights()]
    expected, _ = ref.gru_layer(x.numpy().astype("float64"), weights, **_numpy_kwargs(kwargs))
    np.testing.assert_allclose(o_seq, expected, atol=ATOL)


@pytest.mark.parametrize("reset_after, bias_shape", [(True, (2, 15)), (False, (15,))])
def test_weight_names_shapes_and_order_match_keras(reset_after, bias_shape):
    theirs, ours = _pair(5, 3, reset_after=reset_after)
    assert [w.name for w in ours.weights] == [w.name for w in theirs.weights]
    assert [w.name for w in ours.weights] == ["kernel", "recurrent_kernel", "bias"]
    assert [w.shape for w in ours.weights] == [w.shape for w in theirs.weights]
    assert [tuple(w.shape) for w in ours.weights] == [(3, 15), (5, 15), bias_shape]


def test_gate_order_is_z_r_h():
    """Only the z block of the bias set to +40: z = 1, so h_t = h_{t-1} whatever the input."""
    cell = lstmkit.GRUCell(2, reset_after=False)
    cell.build((None, 3))
    bias = np.zeros(6, "float32")
    bias[:2] = 40.0
    cell.bias.assign(bias)
    h = np.array([[0.3, -0.7]], "float32")
    out, _ = cell(np.ones((1, 3), "float32"), [h])
    np.testing.assert_allclose(out, h, atol=1e-6)


def test_constructor_signature_covers_keras():
    keras_params = inspect.signature(keras.layers.GRUCell.__init__).parameters
    ours_cell, keras_cell = lstmkit.GRUCell(3), keras.layers.GRUCell(3)
    for name, param in keras_params.items():
        if name in ("self", "kwargs"):
            continue
        ours_value, keras_value = getattr(ours_cell, name), getattr(keras_cell, name)
        if name.endswith(("initializer", "regularizer", "constraint", "activation")):
            ours_value = keras.saving.serialize_keras_object(ours_value)
            keras_value = keras.saving.serialize_keras_object(keras_value)
        assert ours_value == keras_value, name
        if param.default is not inspect.Parameter.empty:
            lstmkit.GRUCell(3, **{name: param.default})
    assert ours_cell.implementation == keras_cell.implementation == 2
    assert ours_cell.get_config().keys() >= keras_cell.get_config().keys()
    assert ours_cell.state_size == ours_cell.output_size == 3


def test_bare_state_like_keras():
    theirs, ours = _pair(3, 2)
    x, h = tf.ones((2, 2)), tf.zeros((2, 3))
    k_out, k_state = theirs(x, h)
    o_out, o_state = ours(x, h)
    assert not isinstance(o_state, list) and not isinstance(k_state, list)
    np.testing.assert_allclose(o_state, k_state, atol=ATOL)


def test_recurrent_dropout_selects_implementation_one_like_keras():
    assert lstmkit.GRUCell(3, recurrent_dropout=0.2).implementation == 1
    assert keras.layers.GRUCell(3, recurrent_dropout=0.2).implementation == 1


DROPOUT_CASES = [
    {"dropout": 0.4, "seed": 3},
    {"dropout": 0.4, "recurrent_dropout": 0.3, "seed": 3},
    {"recurrent_dropout": 0.5, "seed": 5, "reset_after": False},
    {"dropout": 0.3, "seed": 2, "implementation": 1, "reset_after": False},
]


@pytest.mark.parametrize("kwargs", chosen(DROPOUT_CASES, fast=DROPOUT_CASES[1::2]))
def test_dropout_masks_match_keras_for_a_seed(kwargs):
    """Same seed, same masks (Keras' DropoutRNNCell draws them), same training outputs."""
    theirs, ours = _pair(4, 3, **kwargs)
    x = np.random.default_rng(4).normal(size=(5, 6, 3)).astype("float32")
    k_out = keras.layers.RNN(theirs, return_sequences=True)(x, training=True)
    o_out = keras.layers.RNN(ours, return_sequences=True)(x, training=True)
    np.testing.assert_allclose(o_out, k_out, atol=ATOL)
    plain = keras.layers.RNN(ours, return_sequences=True)(x, training=False)
    assert not np.allclose(o_out, plain, atol=1e-3)  # dropout did something


def test_dropout_masks_reused_when_driven_by_hand():
    cell = lstmkit.GRUCell(3, dropout=0.4, recurrent_dropout=0.3, seed=1)
    cell.build((None, 2))
    h = tf.zeros((5, 3))
    cell.reset_dropout_mask()
    cell.reset_recurrent_dropout_mask()
    masks = []
    for x_t in tf.unstack(tf.random.normal((5, 4, 2)), axis=1):
        h, _ = cell(x_t, [h], training=True)
        masks.append((cell.get_dropout_mask(x_t), cell.get_recurrent_dropout_mask(h)))
    assert all(m is masks[0][0] and r is masks[0][1] for m, r in masks)
    assert len(masks[0][0]) == 3  # one mask per block


@pytest.mark.slow
@pytest.mark.parametrize("reset_after", [True, False])
def test_model_saves_and_loads_without_custom_objects(reset_after, tmp_path):
    cell = lstmkit.GRUCell(4, reset_after=reset_after, implementation=1,
                           recurrent_activation="hard_sigmoid", bias_initializer="ones")
    inputs = keras.Input((5, 3))
    outputs = keras.layers.Dense(2)(keras.layers.RNN(cell, return_sequences=True)(inputs))
    model = keras.Model(inputs, outputs)
    path = tmp_path / "model.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    x = np.random.default_rng(5).normal(size=(2, 5, 3)).astype("float32")
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))
    loaded_cell = loaded.layers[1].cell
    assert type(loaded_cell) is lstmkit.GRUCell
    assert loaded_cell.get_config() == cell.get_config()


def test_config_round_trip_keeps_every_argument():
    cell = lstmkit.GRUCell(
        3, activation="relu", recurrent_activation="hard_sigmoid", use_bias=False,
        kernel_initializer="he_normal", kernel_regularizer="l2", recurrent_constraint="non_neg",
        dropout=0.25, recurrent_dropout=0.5, reset_after=False, seed=9,
    )
    clone = lstmkit.GRUCell.from_config(cell.get_config())
    assert clone.get_config() == cell.get_config()
    assert clone.implementation == 1 and clone.reset_after is False and clone.seed == 9
    # Keras' cell reads lstmkit's config (the extra `implementation` is one of its kwargs).
    keras_clone = keras.layers.GRUCell.from_config(cell.get_config())
    assert keras_clone.reset_after is False and keras_clone.dropout == 0.25


@pytest.mark.parametrize(
    "kwargs, words",
    [
        ({"units": 0}, ["units", "positive integer", "0"]),
        ({"units": 2.5}, ["units", "2.5"]),
        ({"units": 3, "dropout": 1.5}, ["dropout", "[0, 1]", "1.5"]),
        ({"units": 3, "recurrent_dropout": -0.1}, ["recurrent_dropout", "-0.1"]),
        ({"units": 3, "activation": "tanhh"}, ["activation", "tanhh"]),
        ({"units": 3, "recurrent_activation": "nope"}, ["recurrent_activation", "nope"]),
        ({"units": 3, "implementation": 3}, ["implementation", "3"]),
        ({"units": 3, "reset_after": "yes"}, ["reset_after", "True", "'yes'"]),
    ],
)
def test_bad_constructor_arguments(kwargs, words):
    with pytest.raises(ValueError) as err:
        lstmkit.GRUCell(**kwargs)
    for word in words:
        assert word in str(err.value)


@pytest.mark.parametrize(
    "inputs, states, words",
    [
        ((2, 5, 4), [(2, 3)], ["rank 2", "(2, 5, 4)"]),
        ((2, 6), [(2, 3)], ["width 4", "(2, 6)"]),
        ((2, 4), [(2, 3), (2, 3)], ["1 tensor", "received 2"]),
        ((2, 4), [(2, 5)], ["states[0]", "(2, 5)"]),
        ((2, 4), [(7, 3)], ["states[0]", "(7, 3)"]),
    ],
)
def test_bad_call_arguments_name_what_was_expected(inputs, states, words):
    cell = lstmkit.GRUCell(3)
    cell.build((None, 4))
    with pytest.raises(ValueError) as err:
        cell(tf.zeros(inputs), [tf.zeros(s) for s in states])
    for word in words:
        assert word in str(err.value)


def test_unknown_feature_width_at_build():
    with pytest.raises(ValueError, match="last dimension"):
        lstmkit.GRUCell(3).build((None, None))
