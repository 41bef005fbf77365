"""Independent NumPy implementations of the cell equations, written from the textbook formulas,
and of the layers around them (masking and go_backwards as Keras documents them).

They share no code with lstmkit or Keras, so agreement with both is evidence, not tautology.
"""

from __future__ import annotations

import numpy as np


def sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-z))


ACTIVATIONS = {
    "tanh": np.tanh,
    "sigmoid": sigmoid,
    "relu": lambda z: np.maximum(z, 0.0),
    "linear": lambda z: z,
    None: lambda z: z,
    "hard_sigmoid": lambda z: np.clip(z / 6.0 + 0.5, 0.0, 1.0),
}


def rnn_step(x, h, kernel, recurrent_kernel, bias=None, activation="tanh"):
    """h_t = act(x W + h U + b)."""
    z = x @ kernel + h @ recurrent_kernel
    if bias is not None:
        z = z + bias
    return ACTIVATIONS[activation](z)


def lstm_step(x, h, c, kernel, recurrent_kernel, bias=None, activation="tanh",
              recurrent_activation="sigmoid"):
    """One LSTM step with Keras' gate order i, f, c, o; returns (h_t, c_t)."""
    u = h.shape[-1]
    act, rec = ACTIVATIONS[activation], ACTIVATIONS[recurrent_activation]
    z = x @ kernel + h @ recurrent_kernel
    if bias is not None:
        z = z + bias
    i, f, g, o = (z[:, k * u:(k + 1) * u] for k in range(4))
    c_new = rec(f) * c + rec(i) * act(g)
    h_new = rec(o) * act(c_new)
    return h_new, c_new


def run_rnn(x, weights, activation="tanh", h0=None):
    """Whole sequence (batch, time, features) -> all h, shape (batch, time, units)."""
    kernel, recurrent_kernel, *rest = weights
    bias = rest[0] if rest else None
    h = np.zeros((x.shape[0], kernel.shape[1])) if h0 is None else h0
    out = []
    for t in range(x.shape[1]):
        h = rnn_step(x[:, t], h, kernel, recurrent_kernel, bias, activation)
        out.append(h)
    return np.stack(out, axis=1)


def run_lstm(x, weights, activation="tanh", recurrent_activation="sigmoid", h0=None, c0=None):
    """Whole sequence -> (all h (batch, time, units), final c)."""
    kernel, recurrent_kernel, *rest = weights
    bias = rest[0] if rest else None
    u = recurrent_kernel.shape[0]
    h = np.zeros((x.shape[0], u)) if h0 is None else h0
    c = np.zeros((x.shape[0], u)) if c0 is None else c0
    out = []
    for t in range(x.shape[1]):
        h, c = lstm_step(x[:, t], h, c, kernel, recurrent_kernel, bias, activation,
                         recurrent_activation)
        out.append(h)
    return np.stack(out, axis=1), c


def _scan(x, step, states, mask=None, go_backwards=False):
    """Keras' recurrence over time around ``step(x_t, states) -> (output, states)``.

    ``go_backwards`` reads the steps (and the mask) last to first and returns the outputs in
    that reversed order. Where ``mask[:, t]`` is False a sample keeps its states and repeats its
    previous output (zeros before its first unmasked step), as Keras does by default
    (``zero_output_for_mask=False``). Returns (outputs (batch, time, units), final states).
    """
    steps = x.shape[1]
    order = range(steps - 1, -1, -1) if go_backwards else range(steps)
    output = np.zeros((x.shape[0], states[0].shape[-1]))
    outputs = []
    for t in order:
        new_output, new_states = step(x[:, t], states)
        if mask is None:
            output, states = new_output, new_states
        else:
            keep = mask[:, t][:, None].astype(bool)
            output = np.where(keep, new_output, output)
            states = [np.where(keep, new, old) for new, old in zip(new_states, states,
                                                                  strict=True)]
        outputs.append(output)
    return np.stack(outputs, axis=1), states


def rnn_layer(x, weights, activation="tanh", h0=None, mask=None, go_backwards=False):
    """keras.layers.SimpleRNN over (batch, time, features): (all outputs, final h)."""
    kernel, recurrent_kernel, *rest = weights
    bias = rest[0] if rest else None
    h = np.zeros((x.shape[0], kernel.shape[1])) if h0 is None else h0

    def step(x_t, states):
        h_new = rnn_step(x_t, states[0], kernel, recurrent_kernel, bias, activation)
        return h_new, [h_new]

    outputs, (h,) = _scan(x, step, [h], mask, go_backwards)
    return outputs, h


def lstm_layer(x, weights, activation="tanh", recurrent_activation="sigmoid", h0=None, c0=None,
               mask=None, go_backwards=False):
    """keras.layers.LSTM over (batch, time, features): (all outputs, final h, final c)."""
    kernel, recurrent_kernel, *rest = weights
    bias = rest[0] if rest else None
    u = recurrent_kernel.shape[0]
    h = np.zeros((x.shape[0], u)) if h0 is None else h0
    c = np.zeros((x.shape[0], u)) if c0 is None else c0

    def step(x_t, states):
        h_new, c_new = lstm_step(x_t, *states, kernel, recurrent_kernel, bias, activation,
                                 recurrent_activation)
        return h_new, [h_new, c_new]

    outputs, (h, c) = _scan(x, step, [h, c], mask, go_backwards)
    return outputs, h, c


def gru_step(x, h, kernel, recurrent_kernel, bias=None, activation="tanh",
             recurrent_activation="sigmoid", reset_after=True):
    """One GRU step with Keras' block order z, r, h; ``bias`` (2, 3u) with ``reset_after``
    (input row, recurrent row), (3u,) without."""
    u = h.shape[-1]
    act, rec = ACTIVATIONS[activation], ACTIVATIONS[recurrent_activation]
    w = [kernel[:, k * u:(k + 1) * u] for k in range(3)]
    v = [recurrent_kernel[:, k * u:(k + 1) * u] for k in range(3)]
    b = np.zeros((2, 3 * u)) if bias is None else np.reshape(bias, (-1, 3 * u))
    b_in = [b[0, k * u:(k + 1) * u] for k in range(3)]
    b_rec = [b[1, k * u:(k + 1) * u] if b.shape[0] == 2 else 0.0 for k in range(3)]
    z = rec(x @ w[0] + b_in[0] + h @ v[0] + b_rec[0])
    r = rec(x @ w[1] + b_in[1] + h @ v[1] + b_rec[1])
    if reset_after:
        candidate = act(x @ w[2] + b_in[2] + r * (h @ v[2] + b_rec[2]))
    else:
        candidate = act(x @ w[2] + b_in[2] + (r * h) @ v[2])
    return z * h + (1.0 - z) * candidate


def gru_layer(x, weights, activation="tanh", recurrent_activation="sigmoid", reset_after=True,
              h0=None, mask=None, go_backwards=False):
    """keras.layers.GRU over (batch, time, features): (all outputs, final h)."""
    kernel, recurrent_kernel, *rest = weights
    bias = rest[0] if rest else None
    h = np.zeros((x.shape[0], recurrent_kernel.shape[0])) if h0 is None else h0

    def step(x_t, states):
        h_new = gru_step(x_t, states[0], kernel, recurrent_kernel, bias, activation,
                         recurrent_activation, reset_after)
        return h_new, [h_new]

    outputs, (h,) = _scan(x, step, [h], mask, go_backwards)
    return outputs, h
