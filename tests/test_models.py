"""lstmkit.models.stacked_lstm: shapes, layer options, errors."""

import keras
import numpy as np
import pytest

import lstmkit
from lstmkit.models import stacked_lstm


def test_default_stack():
    model = stacked_lstm()
    assert [type(layer) for layer in model.layers] == [lstmkit.LSTM, lstmkit.LSTM]
    assert [layer.return_sequences for layer in model.layers] == [True, False]
    assert model.output_shape == (None, 5)
    assert model(np.zeros((2, 4, 8), "float32")).shape == (2, 5)


def test_last_layer_can_return_sequences_and_options_reach_every_layer():
    model = stacked_lstm([4, 4, 2], input_shape=(None, 3), return_sequences=True, dropout=0.1,
                         name="stack")
    assert model.name == "stack"
    assert model.output_shape == (None, None, 2)
    assert all(layer.dropout == 0.1 for layer in model.layers)
    assert model(np.zeros((2, 7, 3), "float32")).shape == (2, 7, 2)


def test_stateful_stack_needs_and_takes_a_batch_size():
    with pytest.raises(ValueError, match="batch size must be static"):
        stacked_lstm(stateful=True)
    model = stacked_lstm(stateful=True, batch_size=2)
    x = np.ones((2, 4, 8), "float32")
    first, second = model(x), model(x)
    assert not np.allclose(first, second)  # the states carried over
    for layer in model.layers:
        layer.reset_states()
    np.testing.assert_allclose(model(x), first, atol=1e-6)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [({"units": []}, "at least one layer"), ({"input_shape": (8,)}, "`input_shape` must be")],
)
def test_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        stacked_lstm(**kwargs)


@pytest.mark.slow
def test_trains():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(32, 4, 8)).astype("float32")
    y = x.sum(axis=(1, 2))[:, None] / 10
    model = keras.Sequential([stacked_lstm(), keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.Adam(0.05), loss="mse")
    history = model.fit(x, y, epochs=5, batch_size=8, verbose=0).history["loss"]
    assert history[-1] < history[0]


def test_stacked_gru_is_a_stack_of_lstmkit_grus():
    model = stacked_lstm((3, 5), input_shape=(4, 8), cell="gru", reset_after=False)
    layers = [layer for layer in model.layers if isinstance(layer, keras.layers.RNN)]
    assert [type(layer) for layer in layers] == [lstmkit.GRU, lstmkit.GRU]
    assert [layer.return_sequences for layer in layers] == [True, False]
    assert all(layer.reset_after is False for layer in layers)
    expected = lstmkit.params.gru_params(8, 3, reset_after=False)
    expected += lstmkit.params.gru_params(3, 5, reset_after=False)
    assert model.count_params() == expected
    with pytest.raises(ValueError, match="cell"):
        stacked_lstm((3,), cell="rnn")
