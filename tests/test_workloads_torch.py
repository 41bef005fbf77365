"""The PyTorch peers of the workload matrix: ``torch.nn.LSTM`` and ``torch.nn.GRU`` holding a
Keras layer's weights compute its output, and their gradients come back in Keras' layout equal
to Keras' own (computed here with ``tf.GradientTape``). Skipped only when PyTorch is missing."""

from __future__ import annotations

import doctest
import sys

import keras
import numpy as np
import pytest
import tensorflow as tf
from tiers import cover

from lstmkit import workloads_torch

torch = pytest.importorskip("torch")

ATOL = 1e-5
LAYERS = {"lstm": keras.layers.LSTM, "gru": keras.layers.GRU}


def _keras(family, batch=3, steps=5, features=4, units=6, seed=0):
    """A built Keras layer with non-zero biases, the inputs, and its output and gradients."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((batch, steps, features), dtype=np.float32)
    w = rng.standard_normal((batch, units), dtype=np.float32)
    layer = LAYERS[family](units)
    layer(x)
    # biases away from their zero initialisation, so that a misplaced bias gradient shows
    layer.set_weights([v + 0.3 * rng.standard_normal(v.shape).astype(np.float32)
                       for v in layer.get_weights()])
    with tf.GradientTape() as tape:
        out = layer(x)
        loss = tf.reduce_sum(out * w)
    grads = [np.asarray(g) for g in tape.gradient(loss, layer.trainable_variables)]
    return layer, x, w, np.asarray(out), grads


@pytest.mark.parametrize("family", cover(["gru", "lstm"], every=2))  # the LSTM: slow tier
def test_peer_computes_the_keras_function_and_gradients(family):
    layer, x, w, out, grads = _keras(family)
    forward, train = workloads_torch.torch_functions(torch, family, x, w, layer.get_weights())
    assert np.max(np.abs(forward() - out)) <= ATOL
    peer = train()
    assert [g.shape for g in peer] == [g.shape for g in grads]
    if family == "gru":  # reset_after=True: the bias is (2, 3*units), one row per PyTorch bias
        assert peer[2].shape == (2, 3 * layer.units)
    for ours, theirs in zip(peer, grads, strict=True):
        assert np.max(np.abs(ours - theirs)) <= ATOL


#: (family, index of the weight changed): the GRU's (2, 3*units) bias in the fast tier.
WRONG = [("gru", 2), ("gru", 0), ("gru", 1), ("lstm", 0), ("lstm", 1), ("lstm", 2)]


@pytest.mark.parametrize("family, index", cover(WRONG, every=len(WRONG), spread=True))
def test_a_wrong_weight_is_caught(family, index):
    """The comparison can fail: one weight changed before the copy moves output or gradients."""
    layer, x, w, out, grads = _keras(family)
    wrong = layer.get_weights()
    wrong[index] = wrong[index] + 0.1
    forward, train = workloads_torch.torch_functions(torch, family, x, w, wrong)
    diff = max(np.max(np.abs(forward() - out)),
               *(np.max(np.abs(p - g)) for p, g in zip(train(), grads, strict=True)))
    assert diff > 100 * ATOL


def test_load_torch_without_torch(monkeypatch):
    monkeypatch.setitem(sys.modules, "torch", None)  # `import torch` raises ImportError
    assert workloads_torch.load_torch() is None


def test_the_docstring_example_runs():
    finder = doctest.DocTestFinder()
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
    for test in finder.find(workloads_torch.torch_functions, globs={}):
        runner.run(test)
    assert runner.summarize(verbose=False).failed == 0
    assert runner.summarize(verbose=False).attempted > 0
