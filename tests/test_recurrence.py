"""lstmkit.recurrence: the fused path and its hand-derived backward pass.

- the custom gradient (``lstm_backward``, ``rnn_backward``) equals TensorFlow's autodiff of
  the same forward loop, and finite differences in float64;
- the fused path and the readable path compute the same outputs, states and gradients, over
  return_sequences x go_backwards x dropout masks;
- the gradient is right whether or not a tape was recording during the forward pass (the
  forward pass then keeps, or does not keep, what the backward pass needs);
- which path runs for which configuration.
"""

import itertools
import os

import keras
import numpy as np
import pytest
import tensorflow as tf
from tiers import diagonal

import lstmkit
from lstmkit import fused_lstm, fused_rnn, recurrence
from lstmkit.loop import LoopOptions, time_major_mask, transpose_mask

BATCH, STEPS, FEATURES, UNITS = 3, 5, 4, 6


def rng(seed):
    return np.random.default_rng(seed)


def random(shape, seed, dtype="float32", scale=1.0):
    return tf.constant((scale * rng(seed).normal(size=shape)).astype(dtype))


def lstm_weights(dtype="float32", units=UNITS, features=FEATURES):
    return (
        tf.Variable(random((features, 4 * units), 10, dtype, 0.5)),
        tf.Variable(random((units, 4 * units), 11, dtype, 0.5)),
        tf.Variable(random((4 * units,), 12, dtype, 0.5)),
    )


def rnn_weights(dtype="float32", units=UNITS, features=FEATURES):
    return (
        tf.Variable(random((features, units), 13, dtype, 0.5)),
        tf.Variable(random((units, units), 14, dtype, 0.5)),
        tf.Variable(random((units,), 15, dtype, 0.5)),
    )


def lstm_cell(units=UNITS, **options):
    cell = lstmkit.LSTMCell(units, **options)
    cell.build((None, FEATURES))
    return cell


def cosines(shape, dtype="float32"):
    return np.cos(np.arange(np.prod(shape))).reshape(shape).astype(dtype)


def run(fn, watched, dtype="float32", graph=False):
    """Flat outputs of ``fn()`` and the gradients of a fixed weighted sum of them; eagerly, or
    traced in a ``tf.function`` with ``graph`` (only there do batch shards run side by side)."""

    def outputs_and_gradients():
        with tf.GradientTape() as tape:
            tape.watch(watched)
            last, outputs, states = fn()
            outs = [last, outputs, *states]
            loss = sum(tf.reduce_sum(o * cosines(o.shape, dtype)) for o in outs)
        return outs, tape.gradient(loss, watched)

    outs, grads = (tf.function(outputs_and_gradients) if graph else outputs_and_gradients)()
    return [np.asarray(o) for o in outs], [np.asarray(g) for g in grads]


# Weight gradients are sums over batch and time of magnitude 10 to 30; in float32 a different
# summation order (shards, threads per process) moves them by a few ulps, more than 1e-5 absolute.
GRADIENT_RTOL = 1e-6


def assert_all_close(a, b, atol, what, rtol=0.0):
    """Each array of ``a`` equals the one of ``b`` to ``atol + rtol * |b|``, element by element."""
    assert len(a) == len(b)
    for k, (p, q) in enumerate(zip(a, b, strict=True)):
        np.testing.assert_allclose(p, q, atol=atol, rtol=rtol, err_msg=f"{what} #{k}")


# -- custom gradient against autodiff and finite differences -------------------------------------
def lstm_core_inputs(dtype, steps=STEPS, batch=BATCH, units=UNITS):
    return [
        random((steps, batch, 4 * units), 20, dtype),
        random((batch, units), 21, dtype),
        random((batch, units), 22, dtype),
        random((units, 4 * units), 23, dtype, 0.5),
    ]


def lstm_autodiff(projected, h0, c0, u):
    """The same forward loop, differentiated by TensorFlow (no custom gradient)."""
    run_ = fused_lstm.lstm_forward(projected, h0, c0, u, ("hs",))
    return run_["hs"], run_["h"], run_["c"]


def rnn_core_inputs(dtype, steps=STEPS, batch=BATCH, units=UNITS):
    return [
        random((steps, batch, units), 24, dtype),
        random((batch, units), 25, dtype),
        random((units, units), 26, dtype, 0.5),
    ]


def rnn_autodiff(projected, h0, u):
    run_ = fused_rnn.rnn_forward(projected, h0, u, True)
    return run_["hs"], run_["h"]


CORES = {
    "lstm": (recurrence._fused_lstm_core, lstm_autodiff, lstm_core_inputs),
    "simple_rnn": (recurrence._fused_rnn_core, rnn_autodiff, rnn_core_inputs),
}


def weighted_sum(outputs, dtype):
    return sum(
        tf.reduce_sum(o * np.sin(1.0 + np.arange(np.prod(o.shape))).reshape(o.shape).astype(dtype))
        for o in outputs
    )


@pytest.mark.parametrize("kind", CORES)
@pytest.mark.parametrize("return_sequences", [True, False])
def test_custom_gradient_equals_autodiff(kind, return_sequences):
    make_core, autodiff, make_inputs = CORES[kind]
    inputs = make_inputs("float32")
    core = make_core(return_sequences)

    def grads(fn, drop_sequence):
        with tf.GradientTape() as tape:
            tape.watch(inputs)
            outputs = fn(*inputs)
            if drop_sequence:
                outputs = outputs[1:]
            loss = weighted_sum(outputs, "float32")
        return [np.asarray(g) for g in tape.gradient(loss, inputs)]

    ours = grads(core, False)
    reference = grads(autodiff, not return_sequences)
    assert_all_close(ours, reference, 1e-5, f"{kind} custom vs autodiff")


@pytest.mark.parametrize("kind", CORES)
@pytest.mark.parametrize("return_sequences", [True, False])
def test_static_shapes_survive_a_more_general_trace(kind, return_sequences):
    """The compiled loops may reuse a trace made for unknown batch sizes; the cores' outputs and
    gradients still carry every static dimension of their inputs."""
    make_core, _, make_inputs = CORES[kind]
    inputs = make_inputs("float32")
    core = make_core(return_sequences)

    def general(x):  # an unknown batch: P (time, None, width), states (None, units)
        return tf.TensorSpec([*x.shape[:-2], None, x.shape[-1]], x.dtype)

    specs = [*map(general, inputs[:-1]), tf.TensorSpec(inputs[-1].shape, inputs[-1].dtype)]
    tf.function(lambda *xs: core(*xs)).get_concrete_function(*specs)
    shapes = []

    @tf.function
    def specific(*xs):
        outputs = core(*xs)
        grads = tf.gradients(sum(tf.reduce_sum(o) for o in outputs), list(xs))
        shapes.extend(t.shape for t in (*outputs, *grads))
        return outputs

    specific.get_concrete_function(*inputs)
    assert shapes and all(shape.is_fully_defined() for shape in shapes), shapes


@pytest.mark.slow
@pytest.mark.parametrize("kind", CORES)
def test_custom_gradient_equals_finite_differences(kind):
    """float64, central differences: the whole Jacobian of every output w.r.t. every input."""
    make_core, _, make_inputs = CORES[kind]
    inputs = make_inputs("float64", steps=3, batch=2, units=3)
    core = make_core(True)
    for index in range(len(core(*inputs))):
        theoretical, numerical = tf.test.compute_gradient(
            lambda *xs, index=index: core(*xs)[index], inputs
        )
        for k, (a, b) in enumerate(zip(theoretical, numerical, strict=True)):
            np.testing.assert_allclose(a, b, atol=1e-6, err_msg=f"{kind} output {index} input {k}")


@pytest.mark.parametrize("kind", CORES)
def test_gradient_without_a_tape_recomputes(kind):
    """``tf.gradients`` in a graph: no tape records the forward pass, so the forward loop keeps
    nothing and the backward pass recomputes it. Same gradients as with a tape."""
    make_core, _, make_inputs = CORES[kind]
    inputs = make_inputs("float32")
    core = make_core(True)

    @tf.function
    def graph_gradients(*xs):
        return tf.gradients(weighted_sum(core(*xs), "float32"), list(xs))

    with tf.GradientTape() as tape:
        tape.watch(inputs)
        loss = weighted_sum(core(*inputs), "float32")
    assert_all_close(
        [np.asarray(g) for g in graph_gradients(*inputs)],
        [np.asarray(g) for g in tape.gradient(loss, inputs)],
        1e-6,
        f"{kind} without tape",
    )


# -- fused path against readable path ------------------------------------------------------------
def readable_only(monkeypatch):
    monkeypatch.setattr(recurrence, "fused_path_applies", lambda *args: False)


def lstm_masks(kind):
    if kind == "none":
        return None
    masks = [random((BATCH, FEATURES), 30 + k) > 0 for k in range(4)]
    masks = [tf.cast(m, tf.float32) / 0.6 for m in masks]
    return masks[0] if kind == "one" else masks


@pytest.mark.parametrize(
    ("return_sequences", "go_backwards", "dropout"),
    diagonal([True, False], [False, True], ["none", "one", "per_gate"]),
)
def test_fused_lstm_equals_readable(monkeypatch, return_sequences, go_backwards, dropout):
    x = random((BATCH, STEPS, FEATURES), 1)
    h0, c0 = random((BATCH, UNITS), 2), random((BATCH, UNITS), 3)
    weights = lstm_weights()
    cell = lstm_cell()
    options = LoopOptions(return_sequences=return_sequences, go_backwards=go_backwards)

    def fn():
        return recurrence.lstm(x, [h0, c0], *weights, cell.gate_update,
                               dropout_mask=lstm_masks(dropout), options=options)

    watched = [x, h0, c0, *weights]
    fused = run(fn, watched)
    readable_only(monkeypatch)
    readable = run(fn, watched)
    assert_all_close(fused[0], readable[0], 1e-5, "outputs")
    assert_all_close(fused[1], readable[1], 1e-5, "gradients")


@pytest.mark.parametrize(
    ("return_sequences", "go_backwards", "dropout"),
    diagonal([True, False], [False, True], [False, True]),
)
def test_fused_simple_rnn_equals_readable(monkeypatch, return_sequences, go_backwards, dropout):
    x = random((BATCH, STEPS, FEATURES), 4)
    h0 = random((BATCH, UNITS), 5)
    weights = rnn_weights()
    mask = tf.cast(random((BATCH, FEATURES), 6) > 0, tf.float32) * 2.0 if dropout else None
    options = LoopOptions(return_sequences=return_sequences, go_backwards=go_backwards)

    def fn():
        return recurrence.simple_rnn(x, [h0], *weights, keras.activations.tanh,
                                     dropout_mask=mask, options=options)

    watched = [x, h0, *weights]
    fused = run(fn, watched)
    readable_only(monkeypatch)
    readable = run(fn, watched)
    assert_all_close(fused[0], readable[0], 1e-5, "outputs")
    assert_all_close(fused[1], readable[1], 1e-5, "gradients")


def test_fused_float64_equals_readable(monkeypatch):
    x = random((BATCH, STEPS, FEATURES), 7, "float64")
    h0, c0 = random((BATCH, UNITS), 8, "float64"), random((BATCH, UNITS), 9, "float64")
    weights = lstm_weights("float64")
    cell = lstm_cell(dtype="float64")

    def fn():
        return recurrence.lstm(x, [h0, c0], *weights, cell.gate_update)

    watched = [x, h0, c0, *weights]
    fused = run(fn, watched, "float64")
    readable_only(monkeypatch)
    readable = run(fn, watched, "float64")
    assert_all_close(fused[0], readable[0], 1e-12, "outputs")
    assert_all_close(fused[1], readable[1], 1e-11, "gradients")


# -- dispatch ------------------------------------------------------------------------------------
def spy(monkeypatch, name):
    calls = []
    original = getattr(recurrence, name)
    monkeypatch.setattr(recurrence, name, lambda *a: calls.append(a) or original(*a))
    return calls


@pytest.mark.parametrize(
    ("cell_options", "mask", "dtype", "fused"),
    [
        ({}, None, "float32", True),
        ({}, None, "float64", True),
        ({"implementation": 1}, None, "float32", True),
        ({}, "mask", "float32", True),  # masks ride on the fused loop
        ({}, "mask", "float16", True),  # half precision: the fused loop in float32
        ({}, None, "float16", True),
        ({"activation": "relu"}, None, "float32", False),
        ({"recurrent_activation": "hard_sigmoid"}, None, "float32", False),
        ({"activation": lambda z: tf.tanh(z)}, None, "float32", False),  # not Keras' own tanh
    ],
)
def test_which_lstm_path_runs(monkeypatch, cell_options, mask, dtype, fused):
    calls = spy(monkeypatch, "_fused_lstm_core")
    cell = lstm_cell(dtype=dtype, **cell_options)
    x = random((BATCH, STEPS, FEATURES), 1, dtype)
    states = [tf.zeros((BATCH, UNITS), dtype)] * 2
    if mask is not None:
        mask = tf.constant(np.arange(STEPS)[None, :] < np.array([[5], [3], [1]]))
    last, outputs, _ = recurrence.lstm(
        x, states, cell.kernel, cell.recurrent_kernel, cell.bias, cell.gate_update,
        options=LoopOptions(mask=mask),
    )
    assert bool(calls) is fused
    assert outputs.shape == (BATCH, STEPS, UNITS) and last.dtype == tf.as_dtype(dtype)


@pytest.mark.parametrize(
    ("activation", "mask", "fused"),
    [
        (keras.activations.tanh, None, True),
        (keras.activations.relu, None, False),
        (keras.activations.tanh, "mask", True),
        (keras.activations.relu, "mask", False),
    ],
)
def test_which_simple_rnn_path_runs(monkeypatch, activation, mask, fused):
    calls = spy(monkeypatch, "_fused_rnn_core")
    x = random((BATCH, STEPS, FEATURES), 1)
    if mask is not None:
        mask = tf.ones((BATCH, STEPS), tf.bool)
    recurrence.simple_rnn(x, [tf.zeros((BATCH, UNITS))], *rnn_weights(), activation,
                          options=LoopOptions(mask=mask))
    assert bool(calls) is fused


def test_layers_take_the_fused_path_by_default(monkeypatch):
    lstm_calls = spy(monkeypatch, "_fused_lstm_core")
    rnn_calls = spy(monkeypatch, "_fused_rnn_core")
    x = random((BATCH, STEPS, FEATURES), 1)
    lstmkit.LSTM(UNITS)(x)
    lstmkit.SimpleRNN(UNITS)(x)
    assert lstm_calls and rnn_calls


def test_forward_keeps_only_what_is_needed():
    """Without a tape the LSTM forward loop stacks nothing (or only h); with one, everything
    the backward pass reads."""
    projected, h0, c0, u = lstm_core_inputs("float32")
    lean = fused_lstm.lstm_forward(projected, h0, c0, u, ())
    assert set(lean) == {"h", "c"}
    full = fused_lstm.lstm_forward(projected, h0, c0, u, fused_lstm._LSTM_SAVED)
    assert set(full) == {"h", "c", *fused_lstm._LSTM_SAVED}
    np.testing.assert_allclose(full["hs"][-1], lean["h"], atol=1e-6)
    assert full["factors"].shape == (STEPS, BATCH, 6, UNITS)


@pytest.mark.parametrize(("dtype", "atol"), [("float32", 1e-6), ("float64", 1e-14)])
def test_gate_activations_are_sigmoid_sigmoid_tanh_sigmoid(dtype, atol):
    """The fused path's one-tanh gates equal the block-wise activations (Keras' order i, f, c, o),
    also far into the tails."""
    units = 5
    z = np.random.default_rng(3).normal(scale=8.0, size=(7, 4 * units)).astype(dtype)
    z[0, :] = np.linspace(-40, 40, 4 * units)
    blocks = np.split(z, 4, axis=-1)
    expected = [tf.sigmoid(blocks[0]), tf.sigmoid(blocks[1]), tf.tanh(blocks[2]),
                tf.sigmoid(blocks[3])]
    got = fused_lstm._gate_activations(tf.constant(z))
    for name, a, b in zip("ifgo", got, expected, strict=True):
        np.testing.assert_allclose(a, b, atol=atol, rtol=0, err_msg=name)


# -- batch shards --------------------------------------------------------------------------------
@pytest.mark.parametrize("workers", [1, 2, 3, 5, 8, 16])
def test_batch_shards_cover_the_batch(workers):
    """A known batch: one loop, or as many shards as there are workers (at most 8), each of at
    least 4 rows, sizes differing by at most one row, together the whole batch."""
    for batch in [*range(0, 40), 64, 100, 256]:
        shards = recurrence.batch_shards(batch, workers)
        possible = min(workers, 8, batch // 4)
        if possible < 2:
            assert shards is None, batch
            continue
        assert len(shards) == possible, batch
        assert sum(shards) == batch and min(shards) >= 4 and max(shards) - min(shards) <= 1


@pytest.mark.parametrize(("workers", "expected"), [(1, None), (2, 2), (3, 3), (16, 8)])
def test_batch_shards_of_an_unknown_batch(workers, expected):
    """Only the number of shards is decided when tracing; their sizes come at run time."""
    assert recurrence.batch_shards(None, workers) == expected


def test_parallel_workers_is_tensorflows_inter_op_setting_or_the_cpus(monkeypatch):
    """A user's ``set_inter_op_parallelism_threads(n)`` wins; unset (0), the CPUs this process
    may run on."""
    threading = tf.config.threading
    monkeypatch.setattr(threading, "get_inter_op_parallelism_threads", lambda: 3)
    assert recurrence._parallel_workers() == 3
    monkeypatch.setattr(threading, "get_inter_op_parallelism_threads", lambda: 0)
    assert recurrence._parallel_workers() == len(os.sched_getaffinity(0)) >= 1


def sharded(monkeypatch, workers):
    """Pretend TensorFlow runs ``workers`` ops side by side; returns a list that gets one entry
    per fused loop traced."""
    monkeypatch.setattr(recurrence, "_parallel_workers", lambda: workers)
    monkeypatch.setattr(recurrence, "gpu_available", lambda: False)
    loops = []

    def counting(factory):
        def make_core(return_sequences, mask=None):
            core = factory(return_sequences, mask)
            return lambda *inputs: loops.append(inputs[0].shape) or core(*inputs)

        return make_core

    for name in ("_fused_lstm_core", "_fused_rnn_core"):
        monkeypatch.setattr(recurrence, name, counting(getattr(recurrence, name)))
    return loops


SHARD_BATCH = 13  # three workers: shards of 5, 4 and 4 rows


def shard_case(kind, return_sequences, go_backwards, dropout, batch=SHARD_BATCH):
    """``fn`` running ``recurrence.lstm`` or ``simple_rnn`` on a batch of ``batch`` rows, and
    the tensors to differentiate."""
    x = random((batch, STEPS, FEATURES), 40)
    states = [random((batch, UNITS), 41), random((batch, UNITS), 42)]
    options = LoopOptions(return_sequences=return_sequences, go_backwards=go_backwards)
    masks = [tf.cast(random((batch, FEATURES), 43 + k) > 0, tf.float32) / 0.6 for k in range(4)]
    mask = {"none": None, "one": masks[0], "per_gate": masks}[dropout]
    if kind == "lstm":
        weights, cell = lstm_weights(), lstm_cell()

        def fn():
            return recurrence.lstm(x, states, *weights, cell.gate_update, dropout_mask=mask,
                                   options=options)
    else:
        weights, states = rnn_weights(), states[:1]
        mask = mask[0] if isinstance(mask, list) else mask

        def fn():
            return recurrence.simple_rnn(x, states, *weights, keras.activations.tanh,
                                         dropout_mask=mask, options=options)

    return fn, [x, *states, *weights]


@pytest.mark.slow
@pytest.mark.parametrize(
    ("kind", "return_sequences", "go_backwards", "dropout"),
    [
        *itertools.product(["lstm"], [True, False], [False, True], ["none", "one", "per_gate"]),
        *itertools.product(["simple_rnn"], [True, False], [False, True], ["none", "one"]),
    ],
)
def test_shards_compute_what_one_loop_does(monkeypatch, kind, return_sequences, go_backwards,
                                           dropout):
    """Three shards of 5, 4 and 4 rows give the outputs, states and gradients of one loop."""
    fn, watched = shard_case(kind, return_sequences, go_backwards, dropout)
    loops = sharded(monkeypatch, 1)
    one_loop = run(fn, watched, graph=True)
    assert len(loops) == 1
    monkeypatch.setattr(recurrence, "_parallel_workers", lambda: 3)
    shards = run(fn, watched, graph=True)
    assert len(loops) == 1 + 3
    assert_all_close(shards[0], one_loop[0], 1e-6, "outputs")
    assert_all_close(shards[1], one_loop[1], 1e-5, "gradients", GRADIENT_RTOL)


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["lstm", "simple_rnn"])
@pytest.mark.parametrize("batch", [SHARD_BATCH, 2])
def test_shards_of_a_batch_known_only_at_run_time(monkeypatch, kind, batch):
    """``fit`` traces with an unknown batch size: three shards sized at run time, one of them
    empty when the batch has 2 rows. Same results as one eager loop."""
    fn, watched = shard_case(kind, True, False, "none", batch)
    expected = run(fn, watched)
    loops = sharded(monkeypatch, 3)
    x, *rest = watched
    gates = lstm_cell().gate_update

    @tf.function(input_signature=[tf.TensorSpec((None, STEPS, FEATURES))])
    def outputs_and_gradients(x):
        with tf.GradientTape() as tape:
            tape.watch([x, *rest])
            if kind == "lstm":
                h0, c0, kernel, recurrent_kernel, bias = rest
                last, outputs, states = recurrence.lstm(
                    x, [h0[: tf.shape(x)[0]], c0[: tf.shape(x)[0]]], kernel, recurrent_kernel,
                    bias, gates)
            else:
                h0, kernel, recurrent_kernel, bias = rest
                last, outputs, states = recurrence.simple_rnn(
                    x, [h0[: tf.shape(x)[0]]], kernel, recurrent_kernel, bias,
                    keras.activations.tanh)
            outs = [last, outputs, *states]
            loss = sum(tf.reduce_sum(o * cosines(e.shape))
                       for o, e in zip(outs, expected[0], strict=True))
        return outs, tape.gradient(loss, [x, *rest])

    outs, grads = outputs_and_gradients(x)
    assert len(loops) == 3
    assert_all_close([np.asarray(o) for o in outs], expected[0], 1e-6, "outputs")
    assert_all_close([np.asarray(g) for g in grads], expected[1], 1e-5, "gradients", GRADIENT_RTOL)


@pytest.mark.slow
def test_no_shards_eagerly_or_on_a_gpu(monkeypatch):
    """Eagerly, ops run one after another; on a GPU each product is parallel already."""
    fn, watched = shard_case("lstm", True, False, "none")
    loops = sharded(monkeypatch, 3)
    run(fn, watched)
    assert len(loops) == 1
    monkeypatch.setattr(recurrence, "gpu_available", lambda: True)
    run(fn, watched, graph=True)
    assert len(loops) == 2


@pytest.mark.parametrize(("layer", "return_sequences"), [
    ("LSTM", False),
    pytest.param("SimpleRNN", True, marks=pytest.mark.slow),
    pytest.param("LSTM", True, marks=pytest.mark.slow),
    pytest.param("SimpleRNN", False, marks=pytest.mark.slow),
])
def test_sharded_layers_equal_keras_in_a_training_step(monkeypatch, layer, return_sequences):
    """lstmkit's layers, with shards, against Keras' with the same weights: outputs and the
    gradients of every weight and of the inputs, in a ``tf.function`` as ``fit`` runs them."""
    loops = sharded(monkeypatch, 4)
    x = tf.Variable(random((17, STEPS, FEATURES), 50))
    ours = getattr(lstmkit, layer)(UNITS, return_sequences=return_sequences)
    theirs = getattr(keras.layers, layer)(UNITS, return_sequences=return_sequences)
    ours.build(x.shape)
    theirs.build(x.shape)
    theirs.set_weights([w + 0.1 * random(w.shape, 51) for w in ours.get_weights()])
    ours.set_weights(theirs.get_weights())

    def step(layer):
        @tf.function
        def train():
            with tf.GradientTape() as tape:
                y = layer(x, training=True)
                loss = tf.reduce_sum(y * cosines(y.shape))
            return y, tape.gradient(loss, [x, *layer.trainable_variables])

        y, grads = train()
        return [np.asarray(y)], [np.asarray(g) for g in grads]

    got, expected = step(ours), step(theirs)
    assert len(loops) == 4
    assert_all_close(got[0], expected[0], 1e-5, "outputs")
    assert_all_close(got[1], expected[1], 1e-5, "gradients", GRADIENT_RTOL)


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
def test_half_precision_runs_the_float32_loop(dtype):
    """A half-precision sequence (``mixed_float16``, ``mixed_bfloat16``) gets the float32 fused
    loop's results, rounded to its dtype, and gradients in its dtype."""
    cell = lstm_cell()
    x = random((BATCH, STEPS, FEATURES), 1)
    states = [tf.zeros((BATCH, UNITS))] * 2
    args = (cell.kernel, cell.recurrent_kernel, cell.bias, cell.gate_update)
    half = tf.cast(x, dtype)
    with tf.GradientTape() as tape:
        tape.watch(half)
        last, outputs, (h, c) = recurrence.lstm(half, [tf.cast(s, dtype) for s in states], *args)
    wide = recurrence.lstm(tf.cast(half, tf.float32), states, *args)
    for got, want in zip((last, outputs, h, c), (wide[0], wide[1], *wide[2]), strict=True):
        assert got.dtype == tf.as_dtype(dtype)
        np.testing.assert_array_equal(got.numpy(), tf.cast(want, dtype).numpy())
    assert tape.gradient(outputs, half).dtype == tf.as_dtype(dtype)


@pytest.mark.parametrize("go_backwards", [False, True])
def test_time_major_mask_is_the_transposed_mask_in_processing_order(go_backwards):
    """Booleans in, booleans out (transposed as float32, where oneDNN says nothing)."""
    mask = np.random.default_rng(3).random((5, 7)) > 0.4
    mask[0] = False
    got = time_major_mask(tf.constant(mask), go_backwards)
    expected = mask.T[::-1] if go_backwards else mask.T
    assert got.dtype == tf.bool and got.shape == (7, 5, 1)
    np.testing.assert_array_equal(got.numpy()[:, :, 0], expected)
    as_integers = tf.constant(mask.astype(np.int32) * np.where(mask, -2, 1))  # nonzero: True
    np.testing.assert_array_equal(transpose_mask(as_integers).numpy(), mask.T)
