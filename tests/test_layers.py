"""lstmkit.LSTM and lstmkit.SimpleRNN against keras.layers.LSTM and keras.layers.SimpleRNN.

After copying weights, outputs, final states and gradients (with respect to the inputs, the
initial states and every weight) must agree to 1e-5 over a grid of options; the compiled loop
(lstmkit.recurrence) must agree with the cell-by-cell loop it replaces; bad calls raise clear
ValueErrors.
"""

import itertools

import keras
import numpy as np
import pytest
import tensorflow as tf
from tiers import chosen, diagonal

import lstmkit
from lstmkit import recurrence

ATOL = 1e-5
BATCH, STEPS, FEATURES, UNITS = 3, 5, 4, 6
KINDS = {
    "lstm": (lstmkit.LSTM, keras.layers.LSTM, 2),
    "simple_rnn": (lstmkit.SimpleRNN, keras.layers.SimpleRNN, 1),
}
MASKS = {
    "none": None,
    "right_padded": np.arange(STEPS)[None, :] < np.array([[5], [3], [1]]),
    "left_padded": np.arange(STEPS)[None, :] >= np.array([[0], [2], [4]]),
    # holes, and a sample with no real step at all
    "random": np.array([[1, 0, 1, 1, 0], [0, 1, 1, 0, 1], [0, 0, 0, 0, 0]], bool),
}


def inputs(seed=0, batch=BATCH):
    return np.random.default_rng(seed).normal(size=(batch, STEPS, FEATURES)).astype("float32")


def initial_states(count, seed=1, batch=BATCH):
    rng = np.random.default_rng(seed)
    return [tf.constant(rng.normal(size=(batch, UNITS)).astype("float32")) for _ in range(count)]


def pair(kind, x, **options):
    """A Keras layer with random weights (bias included) and lstmkit's layer with a copy."""
    ours_cls, keras_cls, _ = KINDS[kind]
    ref, ours = keras_cls(UNITS, **options), ours_cls(UNITS, **options)
    ref(x[:, :1]), ours(x[:, :1])
    rng = np.random.default_rng(2)
    ref.set_weights([0.5 * rng.normal(size=w.shape).astype("float32") for w in ref.get_weights()])
    ours.set_weights(ref.get_weights())
    return ours, ref


def run(layer, x, mask=None, initial_state=None, training=False):
    """Flat outputs and the gradients of a fixed weighted sum of them."""
    x = tf.constant(x)
    watched = [x, *(initial_state or [])]
    with tf.GradientTape(persistent=True) as tape:
        tape.watch(watched)
        out = layer(x, mask=mask, initial_state=initial_state, training=training)
        outs = list(out) if isinstance(out, (list, tuple)) else [out]
        loss = sum(
            tf.reduce_sum(o * np.cos(np.arange(np.prod(o.shape))).reshape(o.shape)) for o in outs
        )
    grads = tape.gradient(loss, [*watched, *layer.trainable_weights])
    return out, [np.asarray(o) for o in outs], [np.asarray(g) for g in grads]


def assert_close(ours, ref, what):
    assert len(ours) == len(ref), what
    for index, (a, b) in enumerate(zip(ours, ref, strict=True)):
        assert a.shape == b.shape, (what, index)
        np.testing.assert_allclose(a, b, atol=ATOL, rtol=0, err_msg=f"{what} #{index}")


def parity_grid():
    """The grid kind x mask x go_backwards x unroll. The fast tier (``-m "not slow"``) keeps two
    opposite corners of it: no mask (LSTM, forwards, not unrolled) and the mask with holes and an
    empty row (SimpleRNN, backwards, unrolled), so each value of every axis but the padded masks
    runs (those run in the fast tier's stateful and dropout tests); ``make test`` runs all of it."""
    corners = list(itertools.product([False, True], repeat=2))
    kinds = list(KINDS)
    for index, mask_kind in enumerate(MASKS):
        for kind, go_backwards, unroll in itertools.product(KINDS, [False, True], [False, True]):
            fast = ((go_backwards, unroll) == corners[index % len(corners)]
                    and kind == kinds[index % len(kinds)] and mask_kind in ("none", "random"))
            yield pytest.param(kind, mask_kind, go_backwards, unroll,
                               marks=() if fast else pytest.mark.slow)


@pytest.mark.parametrize(("kind", "mask_kind", "go_backwards", "unroll"), parity_grid())
def test_parity_grid(kind, mask_kind, go_backwards, unroll):
    """Outputs, states and gradients over return_sequences x return_state x initial_state."""
    x, mask = inputs(), MASKS[mask_kind]
    for return_sequences, return_state, with_state in itertools.product([False, True], repeat=3):
        what = f"{return_sequences=} {return_state=} {with_state=}"
        ours, ref = pair(
            kind,
            x,
            return_sequences=return_sequences,
            return_state=return_state,
            go_backwards=go_backwards,
            unroll=unroll,
        )
        init = initial_states(KINDS[kind][2]) if with_state else None
        our_out, our_values, our_grads = run(ours, x, mask, init)
        ref_out, ref_values, ref_grads = run(ref, x, mask, init)
        assert type(our_out) is type(ref_out), what
        assert_close(our_values, ref_values, "outputs " + what)
        assert_close(our_grads, ref_grads, "gradients " + what)


@pytest.mark.parametrize(("kind", "mask_kind", "go_backwards"),
                         diagonal(KINDS, ["none", "left_padded"], [False, True]))
def test_stateful_across_batches(kind, mask_kind, go_backwards):
    """Two consecutive batches carry the states over; reset_states() zeroes them."""
    x1, x2, mask = inputs(0), inputs(1), MASKS[mask_kind]
    ours, ref = pair(kind, x1, stateful=True, return_state=True, go_backwards=go_backwards)
    ours.reset_states(), ref.reset_states()
    for x in (x1, x2):
        _, our_values, our_grads = run(ours, x, mask)
        _, ref_values, ref_grads = run(ref, x, mask)
        assert_close(our_values, ref_values, "outputs")
        assert_close(our_grads, ref_grads, "gradients")
        assert_close([np.asarray(s) for s in ours.states], [np.asarray(s) for s in ref.states],
                     "stored states")
    ours.reset_state()
    assert all(not np.asarray(s).any() for s in ours.states)
    fresh, _ = pair(kind, x1, return_state=True, go_backwards=go_backwards)
    assert_close(run(ours, x1, mask)[1], run(fresh, x1, mask)[1], "after reset")


@pytest.mark.parametrize(
    ("kind", "options"),
    chosen(
        [("simple_rnn", {}), ("lstm", {"implementation": 2}), ("lstm", {"implementation": 1})],
        fast=[("simple_rnn", {}), ("lstm", {"implementation": 2})],
        spread=True,
    ),
)
def test_dropout_in_inference_mode_is_off(kind, options):
    x, mask = inputs(), MASKS["right_padded"]
    ours, ref = pair(kind, x, dropout=0.3, recurrent_dropout=0.4, return_sequences=True,
                     **options)
    _, our_values, our_grads = run(ours, x, mask, training=False)
    _, ref_values, ref_grads = run(ref, x, mask, training=False)
    assert_close(our_values, ref_values, "outputs")
    assert_close(our_grads, ref_grads, "gradients")


def _dropout_cases():
    """case x mask; the fast tier keeps the LSTM's per-gate input masks (no mask) and the
    backwards LSTM with zeroed masked outputs (mask with holes)."""
    cases = {"simple_rnn": ("simple_rnn", {}), "lstm": ("lstm", {}),
             "implementation1": ("lstm", {"implementation": 1}),  # one input mask per gate
             "backwards_zero": ("lstm", {"go_backwards": True, "zero_output_for_mask": True})}
    fast = {("implementation1", "none"), ("backwards_zero", "random")}
    return [pytest.param(case, mask_kind, id=f"{name}-{mask_kind}",
                         marks=() if (name, mask_kind) in fast else pytest.mark.slow)
            for name, case in cases.items() for mask_kind in ("none", "random")]


@pytest.mark.parametrize(("case", "mask_kind"), _dropout_cases())
def test_fast_path_equals_cell_by_cell_with_dropout(case, mask_kind):
    """In training, with the same (cached) dropout mask, both loops give the same values."""
    kind, options = case
    x, mask = tf.constant(inputs()), MASKS[mask_kind]
    layer, _ = pair(kind, inputs(), dropout=0.5, return_sequences=True, **options)
    init = initial_states(KINDS[kind][2])
    layer.cell.get_dropout_mask(x[:, 0, :])  # drawn once, reused by both loops below
    results = []
    for loop in (layer.inner_loop, lambda *a, **k: keras.layers.RNN.inner_loop(layer, *a, **k)):
        with tf.GradientTape() as tape:
            tape.watch(x)
            last, outputs, states = loop(x, init, mask=mask, training=True)
            loss = tf.reduce_sum(outputs * np.cos(np.arange(outputs.shape[-1])))
            loss += tf.reduce_sum(last) + sum(tf.reduce_sum(s) for s in states)
        grads = tape.gradient(loss, [x, *layer.trainable_weights])
        results.append([np.asarray(t) for t in (last, outputs, *states, *grads)])
    layer.cell.reset_dropout_mask()
    assert_close(results[0], results[1], "fast vs cell-by-cell")
    assert not np.allclose(results[0][1], run(layer, inputs(), mask)[1][0])  # dropout did act


@pytest.mark.parametrize("kind", KINDS)
def test_which_loop_runs(kind, monkeypatch):
    """The compiled loop runs by default; unroll and training recurrent dropout skip it."""
    name = "lstm" if kind == "lstm" else "simple_rnn"
    calls = []
    original = getattr(recurrence, name)
    monkeypatch.setattr(recurrence, name, lambda *a, **k: calls.append(1) or original(*a, **k))
    x = inputs()
    cls = KINDS[kind][0]
    cases = [
        ({}, False, 1),
        ({"unroll": True}, False, 0),
        ({"recurrent_dropout": 0.3}, True, 0),
        ({"recurrent_dropout": 0.3}, False, 1),
        ({"dropout": 0.3}, True, 1),
    ]
    for options, training, expected in cases:
        calls.clear()
        cls(UNITS, **options)(x, training=training)
        assert len(calls) == expected, (options, training)


@pytest.mark.parametrize("shards", [1, 3])
def test_projection_is_one_product_and_loop_reads_tensor_arrays(monkeypatch, shards):
    """The recurrence graph: one MatMul over all steps outside the loop (one per batch shard),
    TensorArray reads inside (never a strided slice of a tensor, which makes the backward pass
    quadratic). The loop may sit in a called (XLA-compiled) function of the graph's library.
    A fixed number of steps: one loop over the whole sequence (tests/test_chunks.py checks the
    chunked loops of changing lengths)."""
    monkeypatch.setattr(recurrence, "_parallel_workers", lambda: shards)
    monkeypatch.setattr(recurrence, "gpu_available", lambda: False)
    layer = lstmkit.LSTM(UNITS, return_sequences=True)
    layer(inputs())
    graph = tf.function(lambda x: layer(x)).get_concrete_function(
        tf.TensorSpec((None, STEPS, FEATURES))
    ).graph
    outer_ops = [op.type for op in graph.get_operations()]
    assert outer_ops.count("MatMul") == shards  # x @ W for all steps at once
    library = graph.as_graph_def().library.function
    all_ops = set(outer_ops) | {node.op for f in library for node in f.node_def}
    assert {"While", "StatelessWhile"} & all_ops
    (body,) = [f for f in library if "body" in f.signature.name]
    body_ops = [node.op for node in body.node_def]
    assert "TensorListGetItem" in body_ops  # TensorArray.read
    assert "StridedSlice" not in body_ops
    assert body_ops.count("MatMul") == 1  # only h @ U per step


def test_simple_rnn_takes_a_bare_initial_state_tensor_like_keras():
    x, (h0,) = inputs(), initial_states(1)
    ours, ref = pair("simple_rnn", x)
    for layer in (ours, ref):
        np.testing.assert_allclose(layer(x, initial_state=h0), layer(x, initial_state=[h0]))
    np.testing.assert_allclose(ours(x, initial_state=h0), ref(x, initial_state=h0), atol=ATOL)


def test_shapes_the_course_relies_on():
    x = np.random.default_rng(0).normal(size=(32, 10, 8)).astype("float32")
    assert lstmkit.LSTM(4)(x).shape == (32, 4)
    seq, h, c = lstmkit.LSTM(4, return_sequences=True, return_state=True)(x)
    assert (seq.shape, h.shape, c.shape) == ((32, 10, 4), (32, 4), (32, 4))
    symbolic = keras.Input((4, 8))
    assert lstmkit.LSTM(3, return_sequences=True)(symbolic).shape == (None, 4, 3)
    states = lstmkit.LSTM(3, return_sequences=True, return_state=True)(symbolic)
    assert [t.shape for t in states] == [(None, 4, 3), (None, 3), (None, 3)]
    assert lstmkit.SimpleRNN(4)(x).shape == (32, 4)


# -- errors ----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("kind", "states", "match"),
    [
        ("lstm", [(BATCH, UNITS)], r"`initial_state` to be a list of 2 tensor\(s\) \[h, c\].*"
                                   r"received 1"),
        ("lstm", [(BATCH, UNITS)] * 3, "received 3"),
        ("lstm", [(BATCH, UNITS), (BATCH, UNITS + 1)],
         rf"`initial_state\[1\]` \(c\) of shape \({BATCH}, {UNITS}\); received shape "
         rf"\({BATCH}, {UNITS + 1}\)"),
        ("lstm", [(BATCH + 1, UNITS)] * 2, r"initial_state\[0\]"),
        ("simple_rnn", [(BATCH, UNITS)] * 2, r"list of 1 tensor\(s\) \[h\]"),
        ("simple_rnn", [(UNITS,)], r"received shape \(6,\)"),
    ],
)
def test_bad_initial_state(kind, states, match):
    layer = KINDS[kind][0](UNITS)
    init = [np.zeros(shape, "float32") for shape in states]
    with pytest.raises(ValueError, match=match):
        layer(inputs(), initial_state=init)


def test_bad_initial_state_on_symbolic_inputs():
    x, h = keras.Input((STEPS, FEATURES)), keras.Input((UNITS + 1,))
    with pytest.raises(ValueError, match=r"initial_state\[0\]"):
        lstmkit.LSTM(UNITS)(x, initial_state=[h, h])


@pytest.mark.parametrize("shape", [(BATCH, STEPS + 1), (BATCH + 1, STEPS), (BATCH, STEPS, 2)])
def test_mask_shape_mismatch(shape):
    with pytest.raises(ValueError, match=r"`mask` of shape \(batch, timesteps\) = \(3, 5\)"):
        lstmkit.LSTM(UNITS)(inputs(), mask=np.ones(shape, bool))


def test_stateful_needs_fixed_batch_size():
    with pytest.raises(ValueError, match="stateful=True.*batch size must be static"):
        lstmkit.LSTM(UNITS, stateful=True)(keras.Input((STEPS, FEATURES)))


@pytest.mark.parametrize("shape", [(BATCH, FEATURES), (BATCH, STEPS, FEATURES, 1)])
def test_input_rank_must_be_3(shape):
    with pytest.raises(ValueError, match=f"expected ndim=3, found ndim={len(shape)}"):
        lstmkit.LSTM(UNITS)(np.zeros(shape, "float32"))


@pytest.mark.parametrize("value", ["yes", 1, None])
def test_use_cudnn_must_be_auto_true_or_false(value):
    with pytest.raises(ValueError, match="`use_cudnn` must be 'auto', True or False"):
        lstmkit.LSTM(UNITS, use_cudnn=value)
