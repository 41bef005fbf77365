"""lstmkit.internals, the one door to Keras' and TensorFlow's private names.

With today's Keras and TensorFlow every private name is found and used. Then each one is faked
missing, in a fresh Python process (so this one stays clean): ``import lstmkit`` still works,
and lstmkit.LSTM / lstmkit.SimpleRNN still equal keras.layers.LSTM / keras.layers.SimpleRNN,
dropout included, on the fallback path. Lastly: no other module of lstmkit imports a private
name, and the notebooks use only lstmkit's public names.
"""

import ast
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf

from lstmkit import derivatives, internals

ROOT = Path(__file__).resolve().parent.parent


# -- with today's Keras and TensorFlow -----------------------------------------------------------
def test_every_private_name_is_found():
    from keras.src import backend as keras_backend
    from keras.src.layers.rnn.dropout_rnn_cell import DropoutRNNCell

    assert internals.KERAS_DROPOUT_RNN_CELL and internals.DropoutRNNCell is DropoutRNNCell
    assert internals.cudnn_lstm() is keras_backend.lstm
    assert internals.INNER_LOOP_HOOK
    assert internals.TAPE_INTERNALS


def test_keras_cudnn_checks_are_keras_own():
    import importlib

    keras_tf_rnn = importlib.import_module("keras.src.backend.tensorflow.rnn")

    for activation, recurrent, unroll, bias in [("tanh", "sigmoid", False, True),
                                                ("relu", "sigmoid", False, True),
                                                ("tanh", "hard_sigmoid", False, True),
                                                ("tanh", "sigmoid", True, True),
                                                ("tanh", "sigmoid", False, False)]:
        layer = keras.layers.LSTM(3, activation=activation, recurrent_activation=recurrent,
                                  unroll=unroll, use_bias=bias)
        args = (layer.cell.activation, layer.cell.recurrent_activation, unroll, bias)
        expected = (activation, recurrent, unroll, bias) == ("tanh", "sigmoid", False, True)
        assert internals.keras_cudnn_arguments_ok(*args) is expected
        assert expected == bool(keras_tf_rnn._do_lstm_arguments_support_cudnn(*args))
    for mask, expected in [([[1, 1, 0], [1, 1, 1]], True), ([[0, 1, 1], [1, 1, 1]], False),
                           ([[1, 0, 1], [1, 1, 1]], False), ([[1, 0, 0], [0, 0, 0]], False)]:
        assert internals.keras_cudnn_mask_ok(np.array(mask, bool)) is expected
    assert "will fill zeros" in internals.keras_cudnn_source()


def test_keras_cudnn_checks_answer_none_when_missing(monkeypatch):
    monkeypatch.setattr(internals, "_keras_tf_rnn", None)
    assert internals.keras_cudnn_arguments_ok("tanh", "sigmoid", False, True) is None
    assert internals.keras_cudnn_mask_ok(np.ones((2, 3), bool)) is None
    assert internals.keras_cudnn_source() is None


def test_tape_answers():
    x = tf.constant([[1.0, 2.0]])
    assert not internals.recording() and not derivatives.autodiff_needed([x])
    with tf.GradientTape() as tape:
        tape.watch(x)
        assert internals.recording() and not derivatives.autodiff_needed([x])
        with tf.GradientTape() as inner:
            inner.watch(x)
            assert internals.higher_order_tape([x]) and derivatives.autodiff_needed([x])
    del tape, inner
    with tf.autodiff.ForwardAccumulator(x, tf.ones_like(x)):
        assert internals.forward_tangents([x]) and derivatives.autodiff_needed([x])


class _Keras(keras.layers.Layer, internals._KERAS_DROPOUT_RNN_CELL):
    def __init__(self, dropout, recurrent_dropout, count=None):
        super().__init__()
        self.dropout, self.recurrent_dropout = dropout, recurrent_dropout
        self.seed_generator = keras.random.SeedGenerator(5)
        if count:
            self.dropout_mask_count = count


class _Copy(internals._DropoutRNNCell, _Keras):
    """The same cell with lstmkit's copy of the mixin first in the method order."""


@pytest.mark.parametrize("count", [None, 4])
def test_the_copy_of_dropout_rnn_cell_draws_keras_masks(count):
    step = tf.ones((3, 5))
    assert _Copy.get_dropout_mask is internals._DropoutRNNCell.get_dropout_mask
    drawn = []
    for cell in (_Keras(0.4, 0.3, count), _Copy(0.4, 0.3, count)):
        masks = [cell.get_dropout_mask(step), cell.get_recurrent_dropout_mask(step[:, :2])]
        assert cell.get_dropout_mask(step) is masks[0]  # cached until reset
        assert cell.get_recurrent_dropout_mask(step) is masks[1]
        cell.reset_dropout_mask()
        cell.reset_recurrent_dropout_mask()
        masks.append(cell.get_dropout_mask(step))
        drawn.append([np.asarray(m) for m in keras.tree.flatten(masks)])
    for ours, theirs in zip(*drawn, strict=True):
        np.testing.assert_array_equal(ours, theirs)
    off = _Copy(0.0, 0.0)
    assert off.get_dropout_mask(step) is None and off.get_recurrent_dropout_mask(step) is None


# -- each private name faked missing, in a fresh process --------------------------------------
FAKES = {
    "DropoutRNNCell": "sys.modules['keras.src.layers.rnn.dropout_rnn_cell'] = None",
    # (Keras itself imports from keras.src.backend lazily: the module cannot go, its lstm can.)
    "backend.lstm": "import keras.src.backend as keras_backend\ndel keras_backend.lstm",
    # A Keras whose RNN.call runs a renamed hook: lstmkit's inner_loop is never called.
    "inner_loop": """
rnn = keras.layers.RNN
rnn.renamed_loop = rnn.inner_loop
del rnn.inner_loop
code = rnn.call.__code__
names = tuple("renamed_loop" if n == "inner_loop" else n for n in code.co_names)
rnn.call = types.FunctionType(code.replace(co_names=names), rnn.call.__globals__, "call",
                              rnn.call.__defaults__, rnn.call.__closure__)
""",
    "record": "sys.modules['tensorflow.python.eager.record'] = None",
    "forwardprop_util": "sys.modules['tensorflow.python.eager.forwardprop_util'] = None",
    "gradients_util": "sys.modules['tensorflow.python.ops.gradients_util'] = None",
}

WORKER = r"""
import sys, types, warnings
import keras
import numpy as np
import tensorflow as tf

FAKE = {fake}
{setup}
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    import lstmkit
    from lstmkit import derivatives, internals, layers, recurrence

flags = {{
    "KERAS_DROPOUT_RNN_CELL": internals.KERAS_DROPOUT_RNN_CELL,
    "cudnn_lstm": internals.cudnn_lstm() is not None,
    "INNER_LOOP_HOOK": internals.INNER_LOOP_HOOK,
    "TAPE_INTERNALS": internals.TAPE_INTERNALS,
}}
x = tf.constant(np.random.default_rng(0).normal(size=(3, 5, 4)).astype("float32"))
mask = np.array([[1, 1, 1, 1, 1], [1, 1, 1, 0, 0], [0, 1, 1, 0, 1]], bool)


def outputs(layer, training):
    # Two eager calls (fresh dropout masks each), one in a tf.function, and gradients.
    with tf.GradientTape() as tape:
        tape.watch(x)
        first = layer(x, mask=mask, training=training)
        loss = tf.reduce_sum(first * np.cos(np.arange(first.shape[-1])))
    grads = tape.gradient(loss, [x, *layer.trainable_weights])
    second = layer(x, training=training)
    graph = tf.function(lambda x: layer(x, training=training))(x)
    return [np.asarray(t) for t in (first, second, graph, *grads)]


REF = {{keras.layers.LSTM: {{"use_cudnn": False}}}} if FAKE == "backend.lstm" else {{}}
options = [{{}}, {{"dropout": 0.3}}, {{"dropout": 0.3, "recurrent_dropout": 0.4}}]
for ours_cls, keras_cls in [(lstmkit.LSTM, keras.layers.LSTM),
                            (lstmkit.SimpleRNN, keras.layers.SimpleRNN)]:
    for option in options:
        ours = ours_cls(6, return_sequences=True, seed=7, **option)
        # Keras' LSTM reaches for backend.lstm unless use_cudnn=False
        ref = keras_cls(6, return_sequences=True, seed=7, **option, **REF.get(keras_cls, {{}}))
        ours.build(x.shape), ref.build(x.shape)
        rng = np.random.default_rng(2)
        ref.set_weights([0.5 * rng.normal(size=w.shape).astype("float32")
                         for w in ref.get_weights()])
        ours.set_weights(ref.get_weights())
        for training in (False, True):
            for a, b in zip(outputs(ours, training), outputs(ref, training), strict=True):
                np.testing.assert_allclose(a, b, atol=1e-5, err_msg=f"{{ours_cls}} {{option}}")
        assert ours.fast_path_applies() == internals.INNER_LOOP_HOOK

if FAKE == "backend.lstm":  # on a (faked) GPU: no cuDNN; 'auto' runs the compiled loop
    layers.gpu_available = lambda: True
    ref = keras.layers.LSTM(6, use_cudnn=False)
    ours = lstmkit.LSTM(6)
    ref.build(x.shape), ours.build(x.shape)
    ours.set_weights(ref.get_weights())
    np.testing.assert_allclose(ours(x), ref(x), atol=1e-5)
    try:
        lstmkit.LSTM(6, use_cudnn=True)(x)
        raise AssertionError("use_cudnn=True did not raise")
    except ValueError as err:
        assert "has no cuDNN LSTM" in str(err), err
if not internals.TAPE_INTERNALS:  # every derivative assumed possible: the readable loop
    assert derivatives.autodiff_needed([x]) and not recurrence.fused_path_applies(x)
    assert derivatives.gradient_wanted() and not derivatives.forward_mode_in_graph([x])
print(json.dumps({{"flags": flags, "warnings": [str(w.message) for w in caught]}}))
""".replace("import sys,", "import json, sys,")


def run_faked(fake: str) -> dict:
    code = WORKER.format(fake=repr(fake), setup=FAKES[fake])
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])]), "TF_CPP_MIN_LOG_LEVEL": "2"}
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            env=env, cwd=ROOT, timeout=600)
    assert result.returncode == 0, result.stderr[-4000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


MISSING = {
    "DropoutRNNCell": "KERAS_DROPOUT_RNN_CELL",
    "backend.lstm": "cudnn_lstm",
    "inner_loop": "INNER_LOOP_HOOK",
    "record": "TAPE_INTERNALS",
    "forwardprop_util": "TAPE_INTERNALS",
    "gradients_util": "TAPE_INTERNALS",
}


@pytest.mark.slow
@pytest.mark.parametrize("fake", FAKES)
def test_lstmkit_works_without(fake):
    report = run_faked(fake)
    assert report["flags"] == {name: name != MISSING[fake] for name in report["flags"]}
    hook_warnings = [w for w in report["warnings"] if "inner_loop" in w]
    assert len(hook_warnings) == (fake == "inner_loop")


# -- nothing else reaches past the door ------------------------------------------------------
PRIVATE = re.compile(r"^(keras\.src|tensorflow\.python)(\.|$)")


def test_only_the_door_imports_private_names():
    offenders = []
    for path in [*(ROOT / "lstmkit").rglob("*.py"), *(ROOT / "lstmkit_cli").rglob("*.py")]:
        if path.name == "internals.py" and path.parent.name == "lstmkit":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module, *(f"{node.module}.{a.name}" for a in node.names)]
            elif (isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "import_module"
                  and node.args and isinstance(node.args[0], ast.Constant)):
                names = [str(node.args[0].value)]
            offenders += [f"{path.relative_to(ROOT)}:{node.lineno} {n}"
                          for n in names if PRIVATE.match(n)]
    assert offenders == []


LSTMKIT_MODULES = r"(?:lstmkit|recurrence|fused|fused_lstm|fused_rnn|cudnn|layers|loop|derivatives)"


def test_notebooks_use_public_lstmkit_names():
    """No private lstmkit name, and no Keras or TensorFlow internals (those only through
    lstmkit.internals), in the notebooks' code."""
    private = re.compile(rf"\b{LSTMKIT_MODULES}\._[a-z]\w*|\blayer\._fast_path_applies\b"
                         r"|\bkeras\.src\b|\btensorflow\.python\b")
    found = []
    for path in sorted((ROOT / "notebooks").glob("*.ipynb")):
        for cell in json.loads(path.read_text())["cells"]:
            if cell["cell_type"] == "code":
                found += [f"{path.name}: {m}" for m in private.findall("".join(cell["source"]))]
    assert found == []
