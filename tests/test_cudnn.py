"""cuDNN eligibility: every condition on CPU, agreement with Keras' own checks, and how the
layer acts on it (use_cudnn 'auto' falls back silently, True raises listing every reason)."""

import importlib
import itertools

import keras
import numpy as np
import pytest
import tensorflow as tf
from keras.src import backend as keras_backend

import lstmkit
from lstmkit import layers as lstmkit_layers
from lstmkit.cudnn import cudnn_eligibility, gpu_available

UNITS = 3
keras_tf_rnn = importlib.import_module("keras.src.backend.tensorflow.rnn")


def hand_written_tanh(x):
    return keras.ops.tanh(x)


@pytest.mark.parametrize(
    ("options", "reason"),
    [
        ({"activation": "relu"}, "activation is relu, not tanh"),
        ({"activation": hand_written_tanh}, "activation is hand_written_tanh, not tanh"),
        ({"recurrent_activation": "hard_sigmoid"}, "recurrent_activation is hard_sigmoid"),
        ({"recurrent_dropout": 0.2}, "recurrent_dropout=0.2 (must be 0)"),
        ({"unroll": True}, "unroll=True"),
        ({"use_bias": False}, "use_bias=False"),
        ({"use_cudnn": False}, "use_cudnn=False"),
        ({"implementation": 1, "dropout": 0.1}, "implementation=1 with dropout=0.1"),
    ],
)
@pytest.mark.parametrize("layer_cls", [lstmkit.LSTM, keras.layers.LSTM])
def test_each_configuration_reason(layer_cls, options, reason):
    assert cudnn_eligibility(layer_cls(UNITS)) == []
    reasons = cudnn_eligibility(layer_cls(UNITS, **options))
    assert len(reasons) == 1 and reasons[0].startswith(reason)


def test_every_reason_is_listed():
    layer = lstmkit.LSTM(UNITS, activation="relu", use_bias=False, unroll=True)
    mask = np.array([[0, 1, 1], [0, 0, 0]], bool)
    reasons = cudnn_eligibility(layer, mask)
    assert len(reasons) == 5, reasons
    assert "sample(s) [0]" in reasons[3] and "sample(s) [1] are fully masked" in reasons[4]


@pytest.mark.parametrize(
    "layer",
    [lstmkit.SimpleRNN(UNITS), keras.layers.RNN(lstmkit.LSTMCell(UNITS)), keras.layers.Dense(2)],
    ids=["SimpleRNN", "RNN(LSTMCell)", "Dense"],
)
def test_only_lstm_layers_call_cudnn(layer):
    (reason,) = cudnn_eligibility(layer)
    assert "is not an LSTM or GRU sequence layer" in reason


@pytest.mark.parametrize(
    ("rows", "expected"),
    [
        ([[1, 1, 1], [1, 1, 0], [1, 0, 0]], []),
        ([[0, 1, 1], [1, 1, 1]], ["not strictly right-padded", "sample(s) [0]"]),  # left
        ([[1, 1, 1], [1, 0, 1]], ["not strictly right-padded", "sample(s) [1]"]),  # hole
        ([[1, 1, 1], [0, 0, 0]], ["sample(s) [1] are fully masked"]),
    ],
)
def test_mask_reasons(rows, expected):
    layer = lstmkit.LSTM(UNITS)
    for mask in (np.array(rows, bool), tf.constant(rows, tf.float32)):  # NumPy or eager tensor
        text = " | ".join(cudnn_eligibility(layer, mask))
        assert all(part in text for part in expected) and bool(text) == bool(expected)


@pytest.mark.slow
def test_mask_reasons_agree_with_keras_checks():
    """Keras' own run-time checks (keras.src.backend.tensorflow.rnn) on every 2x4 mask."""
    layer = lstmkit.LSTM(UNITS)
    for bits in itertools.product([0, 1], repeat=8):
        mask = np.array(bits, bool).reshape(2, 4)
        keras_ok = bool(keras_tf_rnn._is_sequence_right_padded(mask)) and not bool(
            keras_tf_rnn._has_fully_masked_sequence(mask)
        )
        assert (cudnn_eligibility(layer, mask) == []) == keras_ok, mask


@pytest.mark.parametrize(
    "options",
    [{}, {"activation": "relu"}, {"recurrent_activation": "hard_sigmoid"}, {"unroll": True},
     {"use_bias": False}, {"activation": hand_written_tanh}],
)
def test_configuration_agrees_with_keras_check(options):
    layer = lstmkit.LSTM(UNITS, **options)
    keras_ok = keras_tf_rnn._do_lstm_arguments_support_cudnn(
        layer.activation, layer.recurrent_activation, layer.unroll, layer.use_bias
    )
    assert (cudnn_eligibility(layer) == []) == bool(keras_ok)


@pytest.mark.parametrize("mask", [keras.Input((4,)), np.ones((2, 3, 1))])
def test_mask_must_be_concrete_and_2d(mask):
    with pytest.raises(ValueError, match="Argument `mask` of cudnn_eligibility"):
        cudnn_eligibility(lstmkit.LSTM(UNITS), mask)


def test_gpu_available_is_tensorflows_answer():
    assert gpu_available() is bool(tf.config.list_logical_devices("GPU"))


# -- the layer -------------------------------------------------------------------------------
X = np.random.default_rng(0).normal(size=(2, 4, 5)).astype("float32")


@pytest.mark.slow
@pytest.mark.skipif(gpu_available(), reason="checks the CPU-only behaviour")
def test_auto_on_cpu_falls_back_silently_and_true_raises():
    ours, ref = lstmkit.LSTM(UNITS), keras.layers.LSTM(UNITS)
    ref(X)
    ours(X)
    ours.set_weights(ref.get_weights())
    np.testing.assert_allclose(ours(X), ref(X), atol=1e-6)
    assert ours.supports_jit  # jit stays possible: cuDNN is not in play
    with pytest.raises(ValueError, match=r"cannot use cuDNN:\n  - no GPU is visible") as info:
        lstmkit.LSTM(UNITS, use_cudnn=True)(X)
    assert "Pass use_cudnn='auto'" in str(info.value)


def test_true_lists_every_reason():
    layer = lstmkit.LSTM(UNITS, activation="relu", use_bias=False, use_cudnn=True)
    mask = np.array([[1, 0, 1, 1], [1, 1, 1, 1]], bool)
    with pytest.raises(ValueError) as info:
        layer(X, mask=mask)
    message = str(info.value)
    for reason in cudnn_eligibility(layer, mask):
        assert f"\n  - {reason}" in message


@pytest.fixture
def fake_gpu(monkeypatch):
    """Pretend a GPU is visible and record the calls that would reach cuDNN."""
    calls = []

    def fake_lstm(inputs, h0, c0, mask, return_sequences, **weights_and_options):
        calls.append({"inputs": np.asarray(inputs), "mask": mask})
        steps = inputs.shape[1] if return_sequences else 1
        return h0, tf.zeros((inputs.shape[0], steps, UNITS)), [h0, c0]

    monkeypatch.setattr(lstmkit_layers, "gpu_available", lambda: True)
    monkeypatch.setattr(keras_backend, "lstm", fake_lstm)
    return calls


def test_eligible_layer_hands_work_to_the_backend(fake_gpu):
    layer = lstmkit.LSTM(UNITS, dropout=0.5, return_sequences=True)
    assert not layer.supports_jit  # as keras.layers.LSTM on a GPU
    seen_mask = []
    original = layer.cell.get_dropout_mask
    layer.cell.get_dropout_mask = lambda x: seen_mask.append(original(x)) or seen_mask[-1]
    layer(X, training=True)
    (call,) = fake_gpu
    np.testing.assert_allclose(call["inputs"], X * np.asarray(seen_mask[-1])[:, None, :])
    layer(X, mask=np.array([[1, 1, 1, 0], [1, 1, 0, 0]], bool))  # right-padded: cuDNN
    assert len(fake_gpu) == 2


@pytest.mark.parametrize(
    ("options", "mask"),
    [
        ({"activation": "relu"}, None),
        ({"use_cudnn": False}, None),
        ({}, np.array([[0, 1, 1, 1], [1, 1, 1, 1]], bool)),  # left-padded: compiled loop
    ],
)
def test_ineligible_call_skips_the_backend(fake_gpu, options, mask):
    lstmkit.LSTM(UNITS, **options)(X, mask=mask)
    assert fake_gpu == []


def test_true_raises_when_the_backend_cannot_run_cudnn(monkeypatch):
    def not_implemented(*args, **kwargs):
        raise NotImplementedError

    monkeypatch.setattr(lstmkit_layers, "gpu_available", lambda: True)
    monkeypatch.setattr(keras_backend, "lstm", not_implemented)
    lstmkit.LSTM(UNITS)(X)  # 'auto' falls back
    with pytest.raises(ValueError, match="could not run the cuDNN kernel"):
        lstmkit.LSTM(UNITS, use_cudnn=True)(X)


# -- Bidirectional on a GPU ------------------------------------------------------------------
def test_keras_has_no_fused_bidirectional_lstm_on_tensorflow():
    """Keras 3.15's ``Bidirectional`` tries ``backend.bidirectional_lstm`` first (one cuDNN call
    for both directions) only for ``keras.layers.LSTM``; on the TensorFlow backend that call
    always raises NotImplementedError, so Keras runs one cuDNN call per direction. When a Keras
    release implements it for TensorFlow this test fails: lstmkit must then take part."""
    with pytest.raises(NotImplementedError):
        keras_backend.bidirectional_lstm(X, None, None, None, None)


@pytest.mark.parametrize("mask", [None, np.array([[1, 1, 1, 0], [1, 1, 0, 0]], bool)])
@pytest.mark.parametrize("return_sequences", [False, True])
def test_bidirectional_reaches_cudnn_as_keras_does(monkeypatch, mask, return_sequences):
    """On a (faked) GPU, ``Bidirectional(lstmkit.LSTM)`` makes the very backend calls that
    ``Bidirectional(keras.layers.LSTM)`` makes: one cuDNN call per direction, same inputs."""
    monkeypatch.setattr(lstmkit_layers, "gpu_available", lambda: True)

    def record(calls):
        def fake_lstm(inputs, h0, c0, mask, return_sequences, go_backwards, **weights):
            calls.append((np.asarray(inputs).tobytes(), None if mask is None
                          else np.asarray(mask).tobytes(), return_sequences, go_backwards))
            steps = inputs.shape[1] if return_sequences else 1
            return h0, tf.zeros((inputs.shape[0], steps, UNITS)), [h0, c0]
        return fake_lstm

    seen = {}
    for name, cls in (("keras", keras.layers.LSTM), ("lstmkit", lstmkit.LSTM)):
        seen[name] = []
        monkeypatch.setattr(keras_backend, "lstm", record(seen[name]))
        wrapper = keras.layers.Bidirectional(cls(UNITS, return_sequences=return_sequences))
        out = wrapper(X, mask=mask)
        assert out.shape == ((2, 4, 2 * UNITS) if return_sequences else (2, 2 * UNITS))
    assert [call[-1] for call in seen["keras"]] == [False, True]  # forward, then backward
    assert seen["lstmkit"] == seen["keras"]
