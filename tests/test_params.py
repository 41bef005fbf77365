"""Parameter counts: the formulas against Keras' own count and what model.summary() prints."""

import re

import keras
import numpy as np
import pytest
from tiers import diagonal

import lstmkit
from lstmkit import params
from lstmkit.models import stacked_lstm


def summary_text(model):
    lines = []
    model.summary(print_fn=lambda line, *args, **kwargs: lines.append(line))
    return "\n".join(lines)


def total_in_summary(model):
    match = re.search(r"Total params:\s*([\d,]+)", summary_text(model))
    return int(match.group(1).replace(",", ""))


def test_course_example_two_layer_stack():
    """Input((4, 8)) -> LSTM(3, return_sequences=True) -> LSTM(5): 144 + 180 = 324."""
    model = keras.Sequential(
        [keras.Input((4, 8)), lstmkit.LSTM(3, return_sequences=True), lstmkit.LSTM(5)]
    )
    per_layer = [layer.count_params() for layer in model.layers]
    assert per_layer == [params.lstm_params(8, 3), params.lstm_params(3, 5)]
    assert params.stacked_lstm_params(8, [3, 5]) == per_layer
    assert params.lstm_params(8, 3) + params.lstm_params(3, 5) == model.count_params()
    assert total_in_summary(model) == model.count_params()
    text = summary_text(model)
    for count in per_layer:
        assert re.search(rf"\b{count}\b", text)
    assert stacked_lstm(units=[3, 5], input_shape=(4, 8)).count_params() == model.count_params()


@pytest.mark.parametrize(("input_dim", "units", "use_bias"),
                         diagonal([1, 8, 13], [1, 5, 32], [True, False]))
def test_formulas_match_keras(input_dim, units, use_bias):
    x = np.zeros((1, 2, input_dim), "float32")
    lstm = keras.layers.LSTM(units, use_bias=use_bias)
    rnn = keras.layers.SimpleRNN(units, use_bias=use_bias)
    lstm(x), rnn(x)
    assert params.lstm_params(input_dim, units, use_bias) == lstm.count_params()
    assert params.simple_rnn_params(input_dim, units, use_bias) == rnn.count_params()


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: params.lstm_params(0, 3), "`input_dim` must be a positive integer"),
        (lambda: params.lstm_params(8, 2.5), "`units` must be a positive integer"),
        (lambda: params.simple_rnn_params(True, 3), "received input_dim=True"),
    ],
)
def test_bad_arguments(call, match):
    with pytest.raises(ValueError, match=match):
        call()


@pytest.mark.parametrize("reset_after", [True, False])
@pytest.mark.parametrize("use_bias", [True, False])
@pytest.mark.parametrize(("input_dim", "units"), [(1, 1), (8, 3), (5, 16)])
def test_gru_params_is_keras_count_params(reset_after, use_bias, input_dim, units):
    layer = keras.layers.GRU(units, reset_after=reset_after, use_bias=use_bias)
    layer.build((None, 4, input_dim))
    assert params.gru_params(input_dim, units, use_bias, reset_after) == layer.count_params()


def test_gru_params_bad_arguments():
    with pytest.raises(ValueError, match="units"):
        params.gru_params(3, 0)
