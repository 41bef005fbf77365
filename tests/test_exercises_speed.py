"""The exercise checkers of notebook 05, lstmkit.exercises.speed: each accepts a right answer and,
for every hint it gives, a wrong answer that makes that exact hint appear. A checker must never
raise because of the learner's code."""

from __future__ import annotations

import numpy as np
import pytest
from exercise_asserts import assert_hint, assert_pass

from lstmkit import exercises as ex


def _mask_ok(m):
    lengths = m.sum(axis=1)
    return (m == (np.arange(m.shape[1]) < lengths[:, None])).all(axis=1) & (lengths > 0)


def test_cudnn_mask_right_answer():
    assert_pass(ex.check_cudnn_mask(_mask_ok))
    assert_pass(ex.check_cudnn_mask(
        lambda m: np.array([r[0] and not np.any(np.diff(r.astype(int)) > 0) for r in m])))


@pytest.mark.parametrize(
    ("wrong", "fragment"),
    [
        (lambda m: (m == (np.arange(m.shape[1]) < m.sum(axis=1)[:, None])).all(axis=1),
         "fully masked"),
        (lambda m: m.any(axis=1), "must come first"),
        (lambda m: bool(_mask_ok(m).all()), "one answer per sample"),
        (lambda m: ~_mask_ok(m), "other way round"),
        (lambda m: m[:, 0], "wrong values"),
        (lambda m: None, "returned None"),
    ],
)
def test_cudnn_mask_hints(wrong, fragment):
    assert_hint(ex.check_cudnn_mask(wrong), fragment)


def test_cudnn_mask_agrees_with_lstmkit_cudnn():
    import keras

    from lstmkit import cudnn

    layer = keras.layers.LSTM(2)
    rng = np.random.default_rng(0)
    for _ in range(20):
        mask = rng.random((1, 5)) < 0.7
        assert bool(_mask_ok(mask)[0]) == (cudnn.cudnn_eligibility(layer, mask) == [])


def _flops_ok(b, t, d, u):
    return 2 * t * b * 4 * u * (d + u)


def test_lstm_flops_right_answer():
    assert_pass(ex.check_lstm_flops(_flops_ok))


@pytest.mark.parametrize(
    ("wrong", "fragment"),
    [
        (lambda b, t, d, u: t * b * 4 * u * (d + u), "2 B K N"),
        (lambda b, t, d, u: 2 * t * b * u * (d + u), "4 * units"),
        (lambda b, t, d, u: 2 * t * b * 4 * u * d, "recurrent product"),
        (lambda b, t, d, u: 2 * b * 4 * u * (d + u), "one step"),
        (lambda b, t, d, u: 3 * _flops_ok(b, t, d, u), "wrong values"),
    ],
)
def test_lstm_flops_hints(wrong, fragment):
    assert_hint(ex.check_lstm_flops(wrong), fragment)


_CONFIG_OK = {"units": 64, "return_sequences": True, "go_backwards": True, "dropout": 0.3}


def test_cudnn_config_right_answer():
    assert_pass(ex.check_cudnn_config(_CONFIG_OK, "post"))
    # regularisers and other options do not touch eligibility
    assert_pass(ex.check_cudnn_config({**_CONFIG_OK, "kernel_regularizer": "l2",
                                       "unit_forget_bias": False}, "post"))


def test_cudnn_config_pass_means_eligible():
    """Independent of the checker: Keras' own argument test and lstmkit.cudnn agree the layer
    keeps cuDNN."""
    import importlib

    import lstmkit
    from lstmkit.cudnn import cudnn_eligibility

    keras_rnn = importlib.import_module("keras.src.backend.tensorflow.rnn")
    layer = lstmkit.LSTM(**_CONFIG_OK)
    assert cudnn_eligibility(layer) == []
    assert keras_rnn._do_lstm_arguments_support_cudnn(
        layer.cell.activation, layer.cell.recurrent_activation, layer.unroll, layer.use_bias)


@pytest.mark.parametrize(
    ("config", "padding", "fragment"),
    [
        (None, None, "no answer yet"),
        ([64], "post", "should be a dict"),
        ({"units": 64, "colour": "red"}, "post", "raised"),
        ({**_CONFIG_OK, "units": 32}, "post", "64 units"),
        ({**_CONFIG_OK, "return_sequences": False}, "post", "return_sequences=True"),
        ({**_CONFIG_OK, "go_backwards": False}, "post", "go_backwards=True"),
        ({**_CONFIG_OK, "dropout": 0.0}, "post", "dropout rate of 0.3"),
        ({**_CONFIG_OK, "dropout": 0.0, "recurrent_dropout": 0.3}, "post",
         "cannot drop h_{t-1}"),
        ({**_CONFIG_OK, "implementation": 1}, "post", "one input mask per gate"),
        ({**_CONFIG_OK, "unroll": True}, "post", "keep unroll=False"),
        ({**_CONFIG_OK, "use_bias": False}, "post", "always adds biases"),
        ({**_CONFIG_OK, "activation": "relu"}, "post", "activation is relu"),
        ({**_CONFIG_OK, "recurrent_activation": "hard_sigmoid"}, "post", "sigmoid"),
        ({**_CONFIG_OK, "use_cudnn": False}, "post", "forbids the kernel"),
        (_CONFIG_OK, "pre", "not strictly right-padded"),
        (_CONFIG_OK, "left", "'pre' or 'post'"),
    ],
)
def test_cudnn_config_hints(config, padding, fragment):
    assert_hint(ex.check_cudnn_config(config, padding), fragment)
