"""lstmkit.RNNCell and lstmkit.LSTMCell against keras.layers.SimpleRNNCell / LSTMCell and NumPy."""

from __future__ import annotations

import itertools

import keras
import numpy as np
import numpy_reference as ref
import pytest
import tensorflow as tf
from hypothesis import given, settings
from hypothesis import strategies as st
from tiers import cover, diagonal

import lstmkit

ATOL = 1e-5


def _pair(kind: str, units: int, **kwargs):
    """A Keras cell and an lstmkit cell with the same arguments, built, sharing weights."""
    keras_cls = {"rnn": keras.layers.SimpleRNNCell, "lstm": keras.layers.LSTMCell}[kind]
    ours_cls = {"rnn": lstmkit.RNNCell, "lstm": lstmkit.LSTMCell}[kind]
    return keras_cls(units, **kwargs), ours_cls(units, **kwargs)


def _states(kind: str, batch: int, units: int, rng: np.random.Generator) -> list[np.ndarray]:
    count = 2 if kind == "lstm" else 1
    return [rng.normal(size=(batch, units)).astype("float32") for _ in range(count)]


def _copy_weights(keras_cell, ours, input_dim: int) -> None:
    keras_cell.build((None, input_dim))
    ours.build((None, input_dim))
    ours.set_weights(keras_cell.get_weights())


# A grid over the arguments that change the maths. Each entry: kind, units, input width, batch,
# and the constructor arguments.
GRID = []
for kind, units, input_dim, batch in itertools.product(
    ("rnn", "lstm"), (1, 5), (1, 3), (1, 4)
):
    GRID.append((kind, units, input_dim, batch, {}))
GRID += [
    ("rnn", 3, 2, 2, {"activation": "relu"}),
    ("rnn", 3, 2, 2, {"activation": None}),
    ("rnn", 3, 2, 2, {"use_bias": False}),
    ("rnn", 3, 2, 2, {"bias_initializer": "random_normal"}),
    ("lstm", 3, 2, 2, {"activation": "relu"}),
    ("lstm", 3, 2, 2, {"recurrent_activation": "hard_sigmoid"}),
    ("lstm", 3, 2, 2, {"activation": None, "recurrent_activation": "sigmoid"}),
    ("lstm", 3, 2, 2, {"use_bias": False}),
    ("lstm", 3, 2, 2, {"unit_forget_bias": False, "bias_initializer": "random_normal"}),
    ("lstm", 3, 2, 2, {"unit_forget_bias": True, "bias_initializer": "random_normal"}),
    ("lstm", 3, 2, 2, {"implementation": 1}),
    ("lstm", 3, 2, 2, {"implementation": 1, "use_bias": False}),
    ("lstm", 4, 3, 3, {"implementation": 2, "activation": "relu"}),
]


def _grid_id(case) -> str:
    kind, units, input_dim, batch, kwargs = case
    extra = ",".join(f"{k}={v}" for k, v in kwargs.items())
    return f"{kind}-u{units}-d{input_dim}-b{batch}" + (f"-{extra}" if extra else "")


@pytest.mark.parametrize("case", cover(GRID, every=2), ids=_grid_id)
def test_single_step_matches_keras_and_numpy(case):
    kind, units, input_dim, batch, kwargs = case
    rng = np.random.default_rng(0)
    keras_cell, ours = _pair(kind, units, **kwargs)
    _copy_weights(keras_cell, ours, input_dim)
    x = rng.normal(size=(batch, input_dim)).astype("float32")
    states = _states(kind, batch, units, rng)

    k_out, k_states = keras_cell(x, states)
    o_out, o_states = ours(x, states)
    np.testing.assert_allclose(o_out, k_out, atol=ATOL)
    for o_s, k_s in zip(o_states, k_states, strict=True):
        np.testing.assert_allclose(o_s, k_s, atol=ATOL)

    weights = [w.astype("float64") for w in ours.get_weights()]
    bias = weights[2] if len(weights) == 3 else None
    act = kwargs.get("activation", "tanh")
    if kind == "rnn":
        expected = ref.rnn_step(x, states[0], weights[0], weights[1], bias, act)
    else:
        rec = kwargs.get("recurrent_activation", "sigmoid")
        expected, expected_c = ref.lstm_step(x, *states, weights[0], weights[1], bias, act, rec)
        np.testing.assert_allclose(o_states[1], expected_c, atol=ATOL)
    np.testing.assert_allclose(o_out, expected, atol=ATOL)


@pytest.mark.parametrize("case", cover(GRID, every=5), ids=_grid_id)
def test_sequence_outputs_states_and_gradients_match_keras(case):
    kind, units, input_dim, batch, kwargs = case
    rng = np.random.default_rng(1)
    keras_cell, ours = _pair(kind, units, **kwargs)
    _copy_weights(keras_cell, ours, input_dim)
    x = tf.constant(rng.normal(size=(batch, 6, input_dim)).astype("float32"))
    keras_rnn = keras.layers.RNN(keras_cell, return_sequences=True, return_state=True)
    our_rnn = keras.layers.RNN(ours, return_sequences=True, return_state=True)

    def run(layer, cell):
        with tf.GradientTape() as tape:
            tape.watch(x)
            outputs = layer(x)
            # A loss that weighs every output and state differently, so no error can cancel out.
            loss = sum(tf.reduce_sum(o * (i + 1.0) * tf.cos(o)) for i, o in enumerate(outputs))
        grads = tape.gradient(loss, [x, *cell.trainable_variables])
        return outputs, grads

    k_outputs, k_grads = run(keras_rnn, keras_cell)
    o_outputs, o_grads = run(our_rnn, ours)
    assert len(o_outputs) == len(k_outputs) == (3 if kind == "lstm" else 2)
    for o, k in zip(o_outputs, k_outputs, strict=True):
        np.testing.assert_allclose(o, k, atol=ATOL)
    assert len(o_grads) == len(k_grads)
    for o, k in zip(o_grads, k_grads, strict=True):
        np.testing.assert_allclose(o, k, atol=ATOL)

    weights = [w.astype("float64") for w in ours.get_weights()]
    act = kwargs.get("activation", "tanh")
    if kind == "rnn":
        expected = ref.run_rnn(x.numpy(), weights, act)
    else:
        rec = kwargs.get("recurrent_activation", "sigmoid")
        expected, _ = ref.run_lstm(x.numpy(), weights, act, rec)
    np.testing.assert_allclose(o_outputs[0], expected, atol=ATOL)


@settings(max_examples=25, deadline=None)
@given(
    units=st.integers(1, 6),
    input_dim=st.integers(1, 5),
    batch=st.integers(1, 4),
    implementation=st.sampled_from([1, 2]),
    use_bias=st.booleans(),
    seed=st.integers(0, 2**16),
)
def test_lstm_step_matches_numpy_on_random_configurations(
    units, input_dim, batch, implementation, use_bias, seed
):
    rng = np.random.default_rng(seed)
    cell = lstmkit.LSTMCell(units, implementation=implementation, use_bias=use_bias,
                            bias_initializer="random_normal", unit_forget_bias=False)
    cell.build((None, input_dim))
    x = rng.normal(size=(batch, input_dim)).astype("float32")
    h, c = _states("lstm", batch, units, rng)
    out, (h_new, c_new) = cell(x, [h, c])
    weights = [w.astype("float64") for w in cell.get_weights()]
    expected_h, expected_c = ref.lstm_step(
        x, h, c, weights[0], weights[1], weights[2] if use_bias else None
    )
    np.testing.assert_allclose(out, expected_h, atol=ATOL)
    np.testing.assert_allclose(c_new, expected_c, atol=ATOL)


def test_weight_names_and_shapes_match_keras():
    for kind, gates in (("rnn", 1), ("lstm", 4)):
        keras_cell, ours = _pair(kind, 5)
        _copy_weights(keras_cell, ours, 3)
        assert [w.shape for w in ours.weights] == [w.shape for w in keras_cell.weights]
        assert [w.shape for w in ours.weights] == [(3, gates * 5), (5, gates * 5), (gates * 5,)]
        assert [w.name for w in ours.weights] == [w.name for w in keras_cell.weights]
        assert [w.name for w in ours.weights] == ["kernel", "recurrent_kernel", "bias"]


def test_weights_transfer_both_ways():
    keras_cell, ours = _pair("lstm", 4)
    keras_cell.build((None, 3))
    ours.build((None, 3))
    rng = np.random.default_rng(2)
    ours.set_weights([rng.normal(size=w.shape).astype("float32") for w in ours.get_weights()])
    keras_cell.set_weights(ours.get_weights())
    x = rng.normal(size=(2, 3)).astype("float32")
    states = _states("lstm", 2, 4, rng)
    np.testing.assert_allclose(ours(x, states)[0], keras_cell(x, states)[0], atol=ATOL)


def test_constructor_signature_covers_keras():
    import inspect

    for keras_cls, ours_cls in ((keras.layers.SimpleRNNCell, lstmkit.RNNCell),
                                (keras.layers.LSTMCell, lstmkit.LSTMCell)):
        keras_params = inspect.signature(keras_cls.__init__).parameters
        ours_cell = ours_cls(3)
        keras_cell = keras_cls(3)
        for name, param in keras_params.items():
            if name in ("self", "kwargs"):
                continue
            # Every Keras argument is accepted with the same default value; initializers,
            # regularizers, constraints and activations are objects without value equality, so
            # their serialized configs are compared.
            ours_value, keras_value = getattr(ours_cell, name), getattr(keras_cell, name)
            if name.endswith(("initializer", "regularizer", "constraint", "activation")):
                ours_value = keras.saving.serialize_keras_object(ours_value)
                keras_value = keras.saving.serialize_keras_object(keras_value)
            assert ours_value == keras_value, name
            if param.default is not inspect.Parameter.empty:
                ours_cls(3, **{name: param.default})
        assert ours_cell.get_config().keys() >= keras_cell.get_config().keys()


def test_state_and_output_sizes():
    assert lstmkit.LSTMCell(7).state_size == [7, 7]
    assert lstmkit.LSTMCell(7).output_size == 7
    assert lstmkit.RNNCell(7).state_size == 7
    assert lstmkit.RNNCell(7).output_size == 7


def test_output_is_the_new_h_state():
    cell = lstmkit.LSTMCell(3)
    x = tf.ones((2, 4))
    out, (h, c) = cell(x, [tf.zeros((2, 3)), tf.zeros((2, 3))])
    assert out is h
    assert c is not h


def test_rnn_cell_accepts_bare_state_like_keras():
    keras_cell, ours = _pair("rnn", 3)
    _copy_weights(keras_cell, ours, 2)
    x, h = tf.ones((2, 2)), tf.zeros((2, 3))
    k_out, k_state = keras_cell(x, h)
    o_out, o_state = ours(x, h)
    assert not isinstance(o_state, list) and not isinstance(k_state, list)
    np.testing.assert_allclose(o_state, k_state, atol=ATOL)


# -- initialisation -----------------------------------------------------------------------------
def test_unit_forget_bias_sets_forget_slice_to_one():
    cell = lstmkit.LSTMCell(5)
    cell.build((None, 3))
    bias = cell.bias.numpy()
    np.testing.assert_array_equal(bias[5:10], np.ones(5))
    np.testing.assert_array_equal(np.delete(bias, np.s_[5:10]), np.zeros(15))

    plain = lstmkit.LSTMCell(5, unit_forget_bias=False)
    plain.build((None, 3))
    np.testing.assert_array_equal(plain.bias.numpy(), np.zeros(20))


@pytest.mark.parametrize("cell_class", [keras.layers.LSTMCell, lstmkit.LSTMCell],
                         ids=["keras", "lstmkit"])
def test_unit_forget_bias_keeps_bias_initializer_for_the_other_blocks(cell_class):
    """Keras' docstring says unit_forget_bias "add[s] 1" to the forget bias and "will also force
    bias_initializer='zeros'"; Keras' code does neither: the forget block is exactly 1 and the
    i, c, o blocks come from bias_initializer. lstmkit does what the code does."""
    cell = cell_class(4, bias_initializer=keras.initializers.Constant(0.5))
    cell.build((None, 3))
    blocks = np.split(keras.ops.convert_to_numpy(cell.bias), 4)  # i, f, c, o
    np.testing.assert_array_equal(blocks[1], np.ones(4))  # set to 1, not 0.5 + 1
    for k in (0, 2, 3):
        np.testing.assert_array_equal(blocks[k], np.full(4, 0.5))  # not forced to zeros


def test_recurrent_kernel_is_orthogonal_by_default():
    for cell in (lstmkit.LSTMCell(6), lstmkit.RNNCell(6)):
        cell.build((None, 3))
        u = cell.recurrent_kernel.numpy().astype("float64")
        # (units, gates*units) with orthonormal rows: U U^T = I.
        np.testing.assert_allclose(u @ u.T, np.eye(6), atol=1e-5)


# -- driving the cells --------------------------------------------------------------------------
@pytest.mark.parametrize("kind", ["rnn", "lstm"])
def test_python_loop_over_unstack_matches_keras_rnn(kind):
    cell = lstmkit.LSTMCell(4) if kind == "lstm" else lstmkit.RNNCell(4)
    x = tf.random.normal((3, 5, 2))
    layer = keras.layers.RNN(cell, return_sequences=True)
    expected = layer(x)
    states = [tf.zeros((3, 4)) for _ in range(2 if kind == "lstm" else 1)]
    outputs = []
    for x_t in tf.unstack(x, axis=1):
        out, states = cell(x_t, states)
        outputs.append(out)
    np.testing.assert_allclose(tf.stack(outputs, axis=1), expected, atol=ATOL)


RNN_OPTIONS = [
    {"return_sequences": True},
    {"return_state": True},
    {"go_backwards": True, "return_sequences": True},
    {"return_sequences": True, "return_state": True, "go_backwards": True},
]


def _rnn_id(value) -> str:
    return "-".join(value) if isinstance(value, dict) else value


@pytest.mark.parametrize(("kind", "options", "masking"),
                         diagonal(["rnn", "lstm"], RNN_OPTIONS, ["nomask", "mask"], ids=_rnn_id))
def test_inside_keras_rnn_options_and_masking(kind, options, masking):
    keras_cell, ours = _pair(kind, 3)
    _copy_weights(keras_cell, ours, 2)
    x = np.random.default_rng(3).normal(size=(4, 6, 2)).astype("float32")
    mask = None
    if masking == "mask":
        mask = np.ones((4, 6), dtype=bool)
        mask[0, 4:] = False  # right-padded
        mask[1, :2] = False  # left-padded
        mask[2, [1, 3]] = False  # holes
    k = keras.layers.RNN(keras_cell, **options)(x, mask=mask)
    o = keras.layers.RNN(ours, **options)(x, mask=mask)
    for a, b in zip(tf.nest.flatten(o), tf.nest.flatten(k), strict=True):
        np.testing.assert_allclose(a, b, atol=ATOL)


@pytest.mark.parametrize("kind", ["rnn", "lstm"])
def test_stateful_inside_keras_rnn(kind):
    keras_cell, ours = _pair(kind, 3)
    _copy_weights(keras_cell, ours, 2)
    k_layer = keras.layers.RNN(keras_cell, stateful=True)
    o_layer = keras.layers.RNN(ours, stateful=True)
    rng = np.random.default_rng(4)
    batches = [rng.normal(size=(2, 4, 2)).astype("float32") for _ in range(2)]
    k_first, o_first = k_layer(batches[0]), o_layer(batches[0])
    k_second, o_second = k_layer(batches[1]), o_layer(batches[1])
    np.testing.assert_allclose(o_first, k_first, atol=ATOL)
    np.testing.assert_allclose(o_second, k_second, atol=ATOL)
    # The second batch really continued from the first: a fresh layer gives something else.
    assert not np.allclose(o_second, keras.layers.RNN(ours)(batches[1]), atol=1e-3)
    o_layer.reset_states()
    np.testing.assert_allclose(o_layer(batches[1]), keras.layers.RNN(ours)(batches[1]), atol=ATOL)


# -- dropout ------------------------------------------------------------------------------------
def _probe_cell(dropout=0.0, recurrent_dropout=0.0, seed=0):
    """An RNNCell whose output at each step is exactly the masked input (W = I, U = 0, linear)."""
    cell = lstmkit.RNNCell(4, activation=None, use_bias=False, dropout=dropout,
                           recurrent_dropout=recurrent_dropout, seed=seed)
    cell.build((None, 4))
    cell.set_weights([np.eye(4, dtype="float32"), np.zeros((4, 4), dtype="float32")])
    return cell


def test_dropout_mask_is_drawn_once_and_reused_at_every_step():
    cell = _probe_cell(dropout=0.5)
    out = keras.layers.RNN(cell, return_sequences=True)(tf.ones((8, 6, 4)), training=True)
    out = out.numpy()
    for t in range(1, 6):
        np.testing.assert_array_equal(out[:, t], out[:, 0])
    values = set(np.unique(out).tolist())
    assert values <= {0.0, 2.0} and values == {0.0, 2.0}  # kept units are scaled by 1/(1-rate)


def test_dropout_masks_are_fresh_for_each_sequence_and_seeded():
    cell = _probe_cell(dropout=0.5, seed=7)
    layer = keras.layers.RNN(cell)
    first = layer(tf.ones((16, 3, 4)), training=True).numpy()
    second = layer(tf.ones((16, 3, 4)), training=True).numpy()
    assert not np.array_equal(first, second)
    again = keras.layers.RNN(_probe_cell(dropout=0.5, seed=7))(tf.ones((16, 3, 4)), training=True)
    np.testing.assert_array_equal(again, first)


def test_lstm_dropout_masks_reused_when_driven_by_hand():
    cell = lstmkit.LSTMCell(3, dropout=0.4, recurrent_dropout=0.3, seed=1)
    x = tf.random.normal((5, 4, 2))
    states = [tf.zeros((5, 3))] * 2
    cell.reset_dropout_mask()
    cell.reset_recurrent_dropout_mask()
    masks = []
    for x_t in tf.unstack(x, axis=1):
        _, states = cell(x_t, states, training=True)
        masks.append((cell.get_dropout_mask(x_t), cell.get_recurrent_dropout_mask(states[0])))
    assert all(m is masks[0][0] and r is masks[0][1] for m, r in masks)
    assert len(masks[0][0]) == 4  # recurrent dropout selects implementation 1: one mask per gate


@pytest.mark.parametrize("kind", ["rnn", "lstm"])
def test_dropout_off_in_inference(kind):
    ours = (lstmkit.LSTMCell if kind == "lstm" else lstmkit.RNNCell)(
        3, dropout=0.5, recurrent_dropout=0.5, seed=3
    )
    plain = (lstmkit.LSTMCell if kind == "lstm" else lstmkit.RNNCell)(3)
    _copy_weights(ours, plain, 2)
    x = tf.random.normal((4, 5, 2))
    layer = keras.layers.RNN(ours)
    first, second = layer(x, training=False), layer(x)
    np.testing.assert_array_equal(first, second)
    np.testing.assert_allclose(first, keras.layers.RNN(plain)(x), atol=ATOL)
    assert not np.allclose(layer(x, training=True), first, atol=1e-4)


def test_implementation_one_and_two_agree():
    one, two = lstmkit.LSTMCell(4, implementation=1), lstmkit.LSTMCell(4, implementation=2)
    _copy_weights(one, two, 3)
    x = tf.random.normal((2, 5, 3))
    np.testing.assert_allclose(keras.layers.RNN(one)(x), keras.layers.RNN(two)(x), atol=ATOL)


def test_recurrent_dropout_selects_implementation_one_like_keras():
    assert lstmkit.LSTMCell(3, recurrent_dropout=0.2).implementation == 1
    assert keras.layers.LSTMCell(3, recurrent_dropout=0.2).implementation == 1


# -- serialization ------------------------------------------------------------------------------
@pytest.mark.parametrize("kind", ["rnn", "lstm"])
def test_model_saves_and_loads_without_custom_objects(kind, tmp_path):
    cell = (lstmkit.LSTMCell(4, implementation=1, recurrent_activation="hard_sigmoid")
            if kind == "lstm" else lstmkit.RNNCell(4, activation="relu"))
    inputs = keras.Input((5, 3))
    outputs = keras.layers.Dense(2)(keras.layers.RNN(cell, return_sequences=True)(inputs))
    model = keras.Model(inputs, outputs)
    path = tmp_path / "model.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    x = np.random.default_rng(5).normal(size=(2, 5, 3)).astype("float32")
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))
    for a, b in zip(loaded.get_weights(), model.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
    loaded_cell = loaded.layers[1].cell
    assert type(loaded_cell) is type(cell)
    assert loaded_cell.get_config() == cell.get_config()


def test_config_round_trip_keeps_every_argument():
    cell = lstmkit.LSTMCell(
        3, activation="relu", recurrent_activation="hard_sigmoid", use_bias=False,
        kernel_initializer="he_normal", unit_forget_bias=False, kernel_regularizer="l2",
        recurrent_constraint="non_neg", dropout=0.25, recurrent_dropout=0.5, seed=9,
    )
    clone = lstmkit.LSTMCell.from_config(cell.get_config())
    assert clone.get_config() == cell.get_config()
    assert clone.implementation == 1 and clone.seed == 9 and clone.dropout == 0.25


def test_regularizers_and_constraints_are_applied():
    cell = lstmkit.LSTMCell(3, kernel_regularizer=keras.regularizers.L2(0.1),
                            recurrent_constraint=keras.constraints.NonNeg())
    layer = keras.layers.RNN(cell)
    layer(tf.ones((1, 2, 2)))
    assert len(layer.losses) == 1
    expected = 0.1 * np.sum(cell.kernel.numpy() ** 2)
    np.testing.assert_allclose(layer.losses[0], expected, rtol=1e-5)
    assert cell.recurrent_kernel.constraint is not None
    clipped = cell.recurrent_kernel.constraint(cell.recurrent_kernel.value)
    assert np.all(clipped.numpy() >= 0)


# -- bad input ----------------------------------------------------------------------------------
@pytest.mark.parametrize("cls", [lstmkit.RNNCell, lstmkit.LSTMCell])
@pytest.mark.parametrize(
    "kwargs, words",
    [
        ({"units": 0}, ["units", "positive integer", "0"]),
        ({"units": -2}, ["units", "-2"]),
        ({"units": 2.5}, ["units", "2.5"]),
        ({"units": 3, "dropout": 1.5}, ["dropout", "[0, 1]", "1.5"]),
        ({"units": 3, "recurrent_dropout": -0.1}, ["recurrent_dropout", "-0.1"]),
        ({"units": 3, "activation": "tanhh"}, ["activation", "tanhh"]),
    ],
)
def test_bad_constructor_arguments(cls, kwargs, words):
    with pytest.raises(ValueError) as err:
        cls(**kwargs)
    for word in words:
        assert word in str(err.value)


def test_bad_lstm_only_arguments():
    with pytest.raises(ValueError, match="recurrent_activation.*nope"):
        lstmkit.LSTMCell(3, recurrent_activation="nope")
    with pytest.raises(ValueError, match="implementation.*3"):
        lstmkit.LSTMCell(3, implementation=3)


@pytest.mark.parametrize(
    "inputs, states, words",
    [
        ((2, 5, 4), [(2, 3), (2, 3)], ["rank 2", "(2, 5, 4)"]),
        ((2, 6), [(2, 3), (2, 3)], ["width 4", "(2, 6)"]),
        ((2, 4), [(2, 3)], ["2 tensor", "received 1"]),
        ((2, 4), [(2, 3), (2, 3), (2, 3)], ["received 3"]),
        ((2, 4), [(2, 3), (2, 5)], ["states[1]", "(2, 5)"]),
        ((2, 4), [(7, 3), (2, 3)], ["states[0]", "(7, 3)"]),
    ],
)
def test_bad_call_arguments_name_what_was_expected(inputs, states, words):
    cell = lstmkit.LSTMCell(3)
    cell.build((None, 4))
    with pytest.raises(ValueError) as err:
        cell(tf.zeros(inputs), [tf.zeros(s) for s in states])
    for word in words:
        assert word in str(err.value)


def test_rnn_cell_bad_state_shape():
    cell = lstmkit.RNNCell(3)
    cell.build((None, 4))
    with pytest.raises(ValueError, match=r"states\[0\].*\(2, 4\)"):
        cell(tf.zeros((2, 4)), [tf.zeros((2, 4))])


def test_unknown_feature_width_at_build():
    with pytest.raises(ValueError, match="last dimension"):
        lstmkit.LSTMCell(3).build((None, None))
