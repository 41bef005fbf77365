"""lstmkit.LSTM / SimpleRNN as drop-in Keras layers: constructor, properties, config, weights,
saving, Bidirectional, mixed precision, training, and tf.distribute.MirroredStrategy."""

import contextlib
import inspect
import itertools
import json
import os
import subprocess
import sys
import textwrap

import keras
import numpy as np
import pytest
from tiers import chosen

import lstmkit

PAIRS = {"lstm": (lstmkit.LSTM, keras.layers.LSTM), "simple_rnn": (lstmkit.SimpleRNN,
                                                                   keras.layers.SimpleRNN)}
X = np.random.default_rng(0).normal(size=(4, 6, 3)).astype("float32")


def random_weights(layer, seed=1):
    rng = np.random.default_rng(seed)
    return [0.5 * rng.normal(size=w.shape).astype("float32") for w in layer.get_weights()]


@pytest.mark.parametrize("kind", PAIRS)
def test_constructor_arguments_and_defaults_are_keras(kind):
    ours, theirs = (inspect.signature(cls.__init__).parameters for cls in PAIRS[kind])
    assert list(ours) == list(theirs)
    for name, parameter in theirs.items():
        assert ours[name].default == parameter.default, name


@pytest.mark.parametrize("kind", PAIRS)
def test_properties_and_config_are_keras(kind):
    options = {"units": 5, "activation": "relu", "use_bias": False, "dropout": 0.25,
               "recurrent_dropout": 0.5, "kernel_regularizer": "l2", "go_backwards": True,
               "return_sequences": True, "stateful": False, "unroll": True, "seed": 7}
    if kind == "lstm":
        options.update(recurrent_activation="hard_sigmoid", unit_forget_bias=False)
    ours, theirs = (cls(**options) for cls in PAIRS[kind])
    keras_properties = [
        name for name, value in vars(PAIRS[kind][1]).items() if isinstance(value, property)
    ]
    for name in keras_properties:
        a, b = getattr(ours, name), getattr(theirs, name)
        if hasattr(b, "get_config"):
            a, b = a.get_config(), b.get_config()
        assert a == b, name
    our_config, their_config = ours.get_config(), theirs.get_config()
    del our_config["name"], their_config["name"]
    assert {k: our_config[k] for k in their_config} == their_config
    clone = PAIRS[kind][0].from_config(ours.get_config())
    assert clone.get_config() == ours.get_config()
    assert clone.seed == 7  # kept, though Keras' SimpleRNN config drops it


def test_lstm_implementation_and_use_cudnn():
    layer = lstmkit.LSTM(3, implementation=1, use_cudnn=False)
    assert layer.implementation == layer.cell.implementation == 1
    assert lstmkit.LSTM.from_config(layer.get_config()).implementation == 1
    assert layer.use_cudnn is False
    assert lstmkit.LSTM(3, recurrent_dropout=0.1).implementation == 1  # as Keras forces it


@pytest.mark.parametrize("kind", PAIRS)
def test_weights_have_keras_names_shapes_and_order(kind):
    ours, theirs = (cls(5, name="rnn") for cls in PAIRS[kind])
    ours(X), theirs(X)
    assert [w.path for w in ours.weights] == [w.path for w in theirs.weights]
    assert [w.shape for w in ours.weights] == [w.shape for w in theirs.weights]
    theirs.set_weights(random_weights(theirs))
    ours.set_weights(theirs.get_weights())
    np.testing.assert_allclose(ours(X), theirs(X), atol=1e-6)
    theirs.set_weights(ours.get_weights())


@pytest.mark.parametrize("kind", PAIRS)
def test_regularization_losses_match_keras(kind):
    options = {"kernel_regularizer": "l2", "recurrent_regularizer": "l1",
               "bias_regularizer": "l2", "activity_regularizer": "l1"}
    ours, theirs = (cls(5, **options) for cls in PAIRS[kind])
    ours(X), theirs(X)
    theirs.set_weights(random_weights(theirs))
    ours.set_weights(theirs.get_weights())
    output, _ = ours(X), theirs(X)
    expected = [float(loss) for loss in theirs.losses]
    if kind == "simple_rnn":
        # keras.layers.SimpleRNN (3.15) accepts activity_regularizer but never applies it;
        # lstmkit applies it as documented (and as keras.layers.LSTM does).
        assert len(expected) == 3
        expected.append(float(keras.regularizers.L1()(output)) / len(X))
    np.testing.assert_allclose(sorted(map(float, ours.losses)), sorted(expected), rtol=1e-5)


@pytest.mark.slow
def test_save_and_load_without_custom_objects(tmp_path):
    inputs = keras.Input((6, 3))
    h = lstmkit.SimpleRNN(4, return_sequences=True, go_backwards=True)(inputs)
    h = lstmkit.LSTM(5, dropout=0.1, implementation=1)(h)
    model = keras.Model(inputs, keras.layers.Dense(1)(h))
    model.compile(optimizer="adam", loss="mse")
    model.fit(X, X[:, 0, :1], epochs=1, verbose=0)
    path = tmp_path / "model.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    assert [type(layer) for layer in loaded.layers] == [type(layer) for layer in model.layers]
    assert loaded.layers[1].go_backwards and loaded.layers[2].implementation == 1
    np.testing.assert_allclose(loaded.predict(X, verbose=0), model.predict(X, verbose=0),
                               atol=1e-6)


@pytest.mark.parametrize(("merge_mode", "return_state"),  # fast: a case that returns states
                         chosen(itertools.product(["concat", "sum"], [False, True]),
                                fast=[("sum", True)], spread=True))
def test_bidirectional_matches_keras(merge_mode, return_state):
    mask = np.arange(6)[None, :] < np.array([[6], [4], [2], [5]])
    ours, theirs = (
        keras.layers.Bidirectional(cls(5, return_sequences=True, return_state=return_state),
                                   merge_mode=merge_mode)
        for cls in PAIRS["lstm"]
    )
    ours(X), theirs(X)
    assert isinstance(ours.backward_layer, lstmkit.LSTM) and ours.backward_layer.go_backwards
    theirs.set_weights(random_weights(theirs))
    ours.set_weights(theirs.get_weights())
    our_out, their_out = ours(X, mask=mask), theirs(X, mask=mask)
    our_out = our_out if return_state else [our_out]
    their_out = their_out if return_state else [their_out]
    assert len(our_out) == len(their_out)
    for a, b in zip(our_out, their_out, strict=True):
        np.testing.assert_allclose(a, b, atol=1e-5)


@contextlib.contextmanager
def dtype_policy(name):
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(name)
    try:
        yield
    finally:
        keras.config.set_dtype_policy(previous)


@pytest.fixture
def mixed_float16():
    with dtype_policy("mixed_float16"):
        yield


@pytest.mark.parametrize("kind", PAIRS)
def test_mixed_precision(kind, mixed_float16):
    ours, theirs = (cls(5, return_sequences=True, return_state=True) for cls in PAIRS[kind])
    ours(X), theirs(X)
    assert ours.cell.kernel.dtype == "float32"  # variables stay float32
    theirs.set_weights(random_weights(theirs))
    ours.set_weights(theirs.get_weights())
    mask = np.arange(6)[None, :] < np.array([[6], [4], [2], [5]])
    for a, b in zip(ours(X, mask=mask), theirs(X, mask=mask), strict=True):
        assert a.dtype == b.dtype == "float16"
        np.testing.assert_allclose(np.asarray(a, "float32"), np.asarray(b, "float32"), atol=2e-3)


def test_mixed_precision_policy_restored():
    """Self-contained (it used to check something only when run after test_mixed_precision,
    and nothing when run alone): layers built and called under mixed_float16 leave the global
    policy to the caller, and the policy switch used above restores it, also on an error."""
    assert keras.config.dtype_policy().name == "float32"
    with pytest.raises(RuntimeError), dtype_policy("mixed_float16"):
        for cls in (lstmkit.LSTM, lstmkit.SimpleRNN):
            layer = cls(3)
            assert layer(X).dtype == "float16"
        assert keras.config.dtype_policy().name == "mixed_float16"
        raise RuntimeError("leave the block early")
    assert keras.config.dtype_policy().name == "float32"


@pytest.mark.slow
def test_training_loss_curve_matches_keras():
    """Same initial weights and data (with right padding behind a Masking layer): the same
    losses epoch after epoch."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 6, 3)).astype("float32")
    y = np.tanh(x.sum(axis=(1, 2)))[:, None].astype("float32")
    x[::5, 4:] = 0.0
    histories, weights = [], None
    for rnn, lstm in [(keras.layers.SimpleRNN, keras.layers.LSTM),
                      (lstmkit.SimpleRNN, lstmkit.LSTM)]:
        model = keras.Sequential([
            keras.Input((6, 3)),
            keras.layers.Masking(0.0),
            rnn(8, return_sequences=True),
            lstm(6, return_sequences=True),
            lstm(4, go_backwards=True),
            keras.layers.Dense(1),
        ])
        weights = weights or random_weights(model, seed=3)
        model.set_weights(weights)
        model.compile(optimizer=keras.optimizers.Adam(0.01), loss="mse")
        history = model.fit(x, y, epochs=4, batch_size=16, shuffle=False, verbose=0)
        histories.append(history.history["loss"])
    np.testing.assert_allclose(histories[1], histories[0], rtol=1e-4)
    assert histories[1][-1] < histories[1][0]


@pytest.mark.slow
def test_xla_jit_compile_matches_keras():
    """The compiled loop compiles with XLA (Keras enables it only where every layer can)."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(16, 6, 3)).astype("float32")
    y = x.sum(axis=(1, 2))[:, None].astype("float32")
    results, weights = [], None
    for lstm in (keras.layers.LSTM, lstmkit.LSTM):
        model = keras.Sequential(
            [keras.Input((None, 3)), lstm(4, go_backwards=True), keras.layers.Dense(1)]
        )
        weights = weights or random_weights(model)
        model.set_weights(weights)
        model.compile(optimizer="sgd", loss="mse", jit_compile=True)
        losses = [model.train_on_batch(x, y) for _ in range(2)]
        results.append([*losses, *model.predict_on_batch(x).ravel()])
    np.testing.assert_allclose(results[1], results[0], rtol=1e-4, atol=1e-5)


MIRRORED_SCRIPT = textwrap.dedent(
    """
    import json, os
    os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
    import tensorflow as tf
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(
        cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
    import keras, numpy as np, lstmkit

    strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
    rng = np.random.default_rng(0)
    x = rng.normal(size=(32, 5, 3)).astype("float32")
    y = x.sum(axis=(1, 2))[:, None].astype("float32") / 5
    losses, weights = {}, None
    for name, rnn, lstm in [("keras", keras.layers.SimpleRNN, keras.layers.LSTM),
                            ("lstmkit", lstmkit.SimpleRNN, lstmkit.LSTM)]:
        with strategy.scope():
            model = keras.Sequential([keras.Input((5, 3)), rnn(4, return_sequences=True),
                                      lstm(4), keras.layers.Dense(1)])
            weights = weights or model.get_weights()
            model.set_weights(weights)
            model.compile(optimizer=keras.optimizers.SGD(0.05), loss="mse")
        history = model.fit(x, y, epochs=3, batch_size=16, shuffle=False, verbose=0)
        losses[name] = history.history["loss"]
    print(json.dumps({"replicas": strategy.num_replicas_in_sync, **losses}))
    """
)


@pytest.mark.slow  # subprocess
def test_mirrored_strategy_on_two_logical_cpus():
    """In a subprocess: logical devices must be configured before TensorFlow starts."""
    env = {**os.environ, "CUDA_VISIBLE_DEVICES": ""}
    result = subprocess.run(
        [sys.executable, "-c", MIRRORED_SCRIPT], capture_output=True, text=True, timeout=300,
        env=env,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["replicas"] == 2
    np.testing.assert_allclose(report["lstmkit"], report["keras"], rtol=1e-4)
    assert report["lstmkit"][-1] < report["lstmkit"][0]
