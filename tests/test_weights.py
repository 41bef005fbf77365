"""lstmkit.weights against a NumPy implementation of PyTorch's documented equations.

torch.nn.LSTM (https://pytorch.org/docs/stable/generated/torch.nn.LSTM.html), with the rows of
weight_ih / weight_hh stacked as (W_i | W_f | W_g | W_o):

    i = sigmoid(W_ii x + b_ii + W_hi h + b_hi)     f = sigmoid(W_if x + b_if + W_hf h + b_hf)
    g = tanh(W_ig x + b_ig + W_hg h + b_hg)        o = sigmoid(W_io x + b_io + W_ho h + b_ho)
    c' = f * c + i * g                              h' = o * tanh(c')

torch.nn.RNN:  h' = tanh(x W_ih^T + b_ih + h W_hh^T + b_hh).
"""

import numpy as np
import pytest

import lstmkit
from lstmkit import weights as conversion

D, H, B, T = 4, 3, 2, 5


def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def torch_lstm(x, state, layer=0):
    """Outputs (batch, time, H) of nn.LSTM(batch_first=True) from its state dict."""
    w_ih, w_hh = state[f"weight_ih_l{layer}"], state[f"weight_hh_l{layer}"]
    b_ih = state.get(f"bias_ih_l{layer}", 0.0)
    b_hh = state.get(f"bias_hh_l{layer}", 0.0)
    hidden = w_hh.shape[1]
    h = c = np.zeros((x.shape[0], hidden))
    outputs = []
    for t in range(x.shape[1]):
        gates = x[:, t] @ w_ih.T + b_ih + h @ w_hh.T + b_hh
        i, f, g, o = (gates[:, k * hidden:(k + 1) * hidden] for k in range(4))
        c = sigmoid(f) * c + sigmoid(i) * np.tanh(g)
        h = sigmoid(o) * np.tanh(c)
        outputs.append(h)
    return np.stack(outputs, axis=1)


def torch_rnn(x, state, layer=0):
    """Outputs (batch, time, H) of nn.RNN(batch_first=True, nonlinearity='tanh')."""
    w_ih, w_hh = state[f"weight_ih_l{layer}"], state[f"weight_hh_l{layer}"]
    b_ih = state.get(f"bias_ih_l{layer}", 0.0)
    b_hh = state.get(f"bias_hh_l{layer}", 0.0)
    h = np.zeros((x.shape[0], w_hh.shape[1]))
    outputs = []
    for t in range(x.shape[1]):
        h = np.tanh(x[:, t] @ w_ih.T + b_ih + h @ w_hh.T + b_hh)
        outputs.append(h)
    return np.stack(outputs, axis=1)


CASES = {
    "lstm": (lstmkit.LSTM, 4, conversion.lstm_to_pytorch, conversion.lstm_from_pytorch,
             torch_lstm),
    "simple_rnn": (lstmkit.SimpleRNN, 1, conversion.simple_rnn_to_pytorch,
                   conversion.simple_rnn_from_pytorch, torch_rnn),
}


def random_layer(kind, use_bias=True):
    cls = CASES[kind][0]
    layer = cls(H, return_sequences=True, use_bias=use_bias)
    x = np.random.default_rng(0).normal(size=(B, T, D)).astype("float32")
    layer(x)
    rng = np.random.default_rng(1)
    layer.set_weights([rng.normal(size=w.shape).astype("float32") for w in layer.get_weights()])
    return layer, x


@pytest.mark.parametrize("kind", CASES)
@pytest.mark.parametrize("use_bias", [True, False])
def test_keras_to_pytorch_computes_the_same(kind, use_bias):
    layer, x = random_layer(kind, use_bias)
    _, gates, to_pytorch, _, torch_forward = CASES[kind]
    state = to_pytorch(layer.get_weights())
    assert state["weight_ih_l0"].shape == (gates * H, D)
    assert state["weight_hh_l0"].shape == (gates * H, H)
    assert ("bias_ih_l0" in state) is use_bias and ("bias_hh_l0" in state) is use_bias
    np.testing.assert_allclose(torch_forward(x, state), np.asarray(layer(x)), atol=1e-5)
    assert to_pytorch(layer).keys() == state.keys()  # the layer itself is accepted too


@pytest.mark.parametrize("kind", CASES)
def test_pytorch_to_keras_computes_the_same(kind):
    """Two non-zero PyTorch biases end up summed in Keras' one bias."""
    cls, gates, _, from_pytorch, torch_forward = CASES[kind]
    rng = np.random.default_rng(2)
    state = {
        "weight_ih_l1": rng.normal(size=(gates * H, D)).astype("float32"),
        "weight_hh_l1": rng.normal(size=(gates * H, H)).astype("float32"),
        "bias_ih_l1": rng.normal(size=gates * H).astype("float32"),
        "bias_hh_l1": rng.normal(size=gates * H).astype("float32"),
        "weight_ih_l0": np.zeros((gates * H, 7), "float32"),  # another layer: ignored
    }
    x = rng.normal(size=(B, T, D)).astype("float32")
    layer = cls(H, return_sequences=True)
    layer(x)
    layer.set_weights(from_pytorch(state, layer=1))
    np.testing.assert_allclose(np.asarray(layer(x)), torch_forward(x, state, layer=1), atol=1e-5)


@pytest.mark.parametrize("kind", CASES)
def test_round_trip(kind):
    layer, _ = random_layer(kind)
    _, _, to_pytorch, from_pytorch, _ = CASES[kind]
    for before, after in zip(layer.get_weights(), from_pytorch(to_pytorch(layer, layer=2), 2),
                             strict=True):
        np.testing.assert_array_equal(before, after)


def test_bad_weights_raise_clear_errors():
    layer, _ = random_layer("lstm")
    kernel, recurrent_kernel, bias = layer.get_weights()
    with pytest.raises(ValueError, match=r"LSTM `recurrent_kernel` must have shape \(3, 12\)"):
        conversion.lstm_to_pytorch([kernel, recurrent_kernel[:, :3], bias])
    with pytest.raises(ValueError, match="received 1 arrays"):
        conversion.lstm_to_pytorch([kernel])
    with pytest.raises(ValueError, match=r"SimpleRNN `kernel` must have shape \(4, 3\)"):
        conversion.simple_rnn_to_pytorch([kernel, recurrent_kernel, bias])
    with pytest.raises(ValueError, match=r"missing \['weight_hh_l0'\]"):
        conversion.lstm_from_pytorch({"weight_ih_l0": kernel.T})
    with pytest.raises(ValueError, match="G=4"):
        conversion.lstm_from_pytorch({"weight_ih_l0": kernel.T[:3], "weight_hh_l0": np.eye(3)})


# -- GRU: against a real torch.nn.GRU ------------------------------------------------------------
def _torch_gru(units, features, bias):
    """A two-layer torch.nn.GRU with PyTorch's random initial weights."""
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    return torch, torch.nn.GRU(features, units, num_layers=2, bias=bias, batch_first=True)


@pytest.mark.parametrize("use_bias", [True, False])
def test_gru_keras_to_pytorch_computes_what_torch_computes(use_bias):
    x = np.random.default_rng(0).normal(size=(3, 6, 4)).astype("float32")
    layer = lstmkit.GRU(5, use_bias=use_bias, return_sequences=True,
                        bias_initializer="random_normal")
    layer(x)
    torch = pytest.importorskip("torch")
    state = conversion.gru_to_pytorch(layer)
    assert state.keys() == conversion.gru_to_pytorch(layer.get_weights()).keys()
    module = torch.nn.GRU(4, 5, bias=use_bias, batch_first=True)
    module.load_state_dict({k: torch.from_numpy(v) for k, v in state.items()})  # strict
    with torch.no_grad():
        expected, _ = module(torch.from_numpy(x))
    np.testing.assert_allclose(np.asarray(layer(x)), expected.numpy(), atol=1e-5)


def test_gru_pytorch_to_keras_computes_what_torch_computes():
    x = np.random.default_rng(1).normal(size=(2, 5, 4)).astype("float32")
    torch, module = _torch_gru(3, 4, True)
    with torch.no_grad():
        expected, _ = module(torch.from_numpy(x))
    state = {k: v.detach().numpy() for k, v in module.state_dict().items()}
    bottom, top = (lstmkit.GRU(3, return_sequences=True) for _ in range(2))
    bottom(x), top(np.zeros((2, 5, 3), "float32"))
    bottom.set_weights(conversion.gru_from_pytorch(state, layer=0))
    top.set_weights(conversion.gru_from_pytorch(state, layer=1))
    np.testing.assert_allclose(np.asarray(top(bottom(x))), expected.numpy(), atol=1e-5)
    # and back: the same state
    again = conversion.gru_to_pytorch(top, layer=1)
    for name, value in again.items():
        np.testing.assert_allclose(value, state[name], atol=0)


def test_gru_reset_before_has_no_pytorch_equivalent():
    layer = lstmkit.GRU(3, reset_after=False)
    layer(np.zeros((1, 2, 4), "float32"))
    with pytest.raises(ValueError, match="reset_after=False"):
        conversion.gru_to_pytorch(layer)
    with pytest.raises(ValueError, match=r"reset_after=True \(bias of shape \(2, 3\*units\)\)"):
        conversion.gru_to_pytorch(layer.get_weights())
    with pytest.raises(ValueError, match="weight_hh_l0"):
        conversion.gru_from_pytorch({"weight_ih_l0": np.ones((9, 4))})
