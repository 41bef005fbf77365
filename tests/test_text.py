"""lstmkit.text: the corpus, the vocabulary, the stream layout of stateful training, temperature
sampling, the NumPy LSTM trace and the text features, each against an independent reference
(files read directly, windows cut by hand, NumPy maths, Keras' own LSTM, hand-labelled strings)."""

from __future__ import annotations

import os
from pathlib import Path

import keras
import numpy as np
import pytest

from lstmkit.text import (
    STDLIB_FILES,
    CharVocabulary,
    feature_correlations,
    generate_text,
    load_stdlib_text,
    sample_with_temperature,
    stream_batches,
    temperature_probabilities,
    text_features,
    trace_lstm,
)


def test_load_stdlib_text_reads_the_files_in_order():
    text, sizes = load_stdlib_text()
    root = Path(os.__file__).parent
    direct = [(root / name).read_text(encoding="utf-8") for name in STDLIB_FILES]
    assert text == "".join(direct)
    assert list(sizes) == list(STDLIB_FILES) == sorted(STDLIB_FILES)
    assert list(sizes.values()) == [len(d) for d in direct]
    small, sizes = load_stdlib_text(["this.py", "json/__init__.py"])
    assert small.endswith((root / "json" / "__init__.py").read_text(encoding="utf-8"))
    assert sum(sizes.values()) == len(small)


@pytest.mark.parametrize(("files", "message"), [
    ([], "non-empty list"), ("copy.py", "non-empty list"), (["no_such_module.py"], "not a file")])
def test_load_stdlib_text_refuses_bad_files(files, message):
    with pytest.raises(ValueError, match=message):
        load_stdlib_text(files)


def test_vocabulary_round_trip_and_errors():
    text = "def f(x):\n    return 'x'\n"
    vocab = CharVocabulary(text)
    assert vocab.chars == "".join(sorted(set(text))) and vocab.size == len(set(text))
    ids = vocab.encode(text)
    assert ids.dtype == np.int32 and vocab.decode(ids) == text
    assert [vocab.chars[i] for i in ids] == list(text)
    with pytest.raises(ValueError, match="outside the vocabulary: 'Z'"):
        vocab.encode("Zf")
    with pytest.raises(ValueError, match=r"\[0, "):
        vocab.decode([vocab.size])
    with pytest.raises(ValueError, match="`text`"):
        CharVocabulary("")


@pytest.mark.parametrize(("length", "batch", "steps"), [(13, 2, 3), (100, 4, 5), (1001, 8, 16),
                                                        (50, 1, 7), (33, 32, 1)])
def test_stream_batches_keep_each_row_one_contiguous_stream(length, batch, steps):
    stream = np.arange(length) * 10  # values tell positions apart
    x, y = stream_batches(stream, batch, steps)
    row = (length - 1) // batch
    windows = row // steps
    assert x.shape == y.shape == (windows * batch, steps)
    for k in range(windows):  # batch k = samples k*B .. k*B + B - 1, cut by hand
        for b in range(batch):
            start = b * row + k * steps
            assert np.array_equal(x[k * batch + b], stream[start:start + steps])
            assert np.array_equal(y[k * batch + b], stream[start + 1:start + steps + 1])
    # row b of batch k + 1 starts right after where row b of batch k ended
    for k in range(windows - 1):
        assert np.array_equal(x[(k + 1) * batch:(k + 2) * batch, 0],
                              x[k * batch:(k + 1) * batch, -1] + 10)
    assert len(np.unique(x)) == x.size  # no character is read twice


@pytest.mark.parametrize(("args", "message"), [
    ((np.arange(10), 0, 3), "batch_size"), ((np.arange(10), 2, -1), "steps"),
    ((np.arange(6), 2, 3), "too short"), ((np.zeros((4, 4)), 1, 1), "rank 1")])
def test_stream_batches_refuse_bad_arguments(args, message):
    with pytest.raises(ValueError, match=message):
        stream_batches(*args)


@pytest.mark.parametrize("temperature", [0.25, 0.5, 1.0, 1.5, 3.0])
def test_temperature_probabilities_are_powers_of_the_softmax(temperature):
    rng = np.random.default_rng(1)
    p = rng.dirichlet(np.ones(7), size=5)
    want = p ** (1 / temperature) / (p ** (1 / temperature)).sum(axis=-1, keepdims=True)
    np.testing.assert_allclose(temperature_probabilities(np.log(p), temperature), want, rtol=1e-10)
    logits = rng.normal(size=(3, 7)) * 4 + 1000.0  # a shift changes nothing, and cannot overflow
    shifted = np.exp((logits - 1000.0) / temperature)
    np.testing.assert_allclose(temperature_probabilities(logits, temperature),
                               shifted / shifted.sum(axis=-1, keepdims=True), rtol=1e-10)


def test_temperature_zero_is_the_argmax_and_bad_temperatures_are_refused():
    logits = np.array([[0.1, 2.0, -1.0], [3.0, 3.0, 0.0]])
    assert temperature_probabilities(logits, 0).tolist() == [[0, 1, 0], [1, 0, 0]]
    assert sample_with_temperature(logits, 0.0, rng=3).tolist() == [1, 0]
    for bad in (-1.0, float("nan"), float("inf"), "warm"):
        with pytest.raises(ValueError, match="`temperature`"):
            temperature_probabilities(logits, bad)
    with pytest.raises(ValueError, match="`logits`"):
        temperature_probabilities(1.0)


@pytest.mark.parametrize("temperature", [0.5, 1.0, 2.0])
def test_sampling_frequencies_follow_the_tempered_probabilities(temperature):
    p = np.array([0.5, 0.25, 0.15, 0.1])
    n = 100_000
    draws = sample_with_temperature(np.tile(np.log(p), (n, 1)), temperature, rng=0)
    want = p ** (1 / temperature) / np.sum(p ** (1 / temperature))
    freq = np.bincount(draws, minlength=4) / n
    assert np.all(np.abs(freq - want) < 5 * np.sqrt(want * (1 - want) / n))  # 5 sigma
    again = sample_with_temperature(np.tile(np.log(p), (n, 1)), temperature, rng=0)
    assert np.array_equal(draws, again)


@pytest.mark.parametrize(("batch", "time", "features", "units"), [(1, 1, 1, 1), (2, 7, 3, 4),
                                                                  (3, 12, 5, 8)])
def test_trace_lstm_matches_keras_lstm(batch, time, features, units):
    keras.utils.set_random_seed(batch + units)
    layer = keras.layers.LSTM(units, return_sequences=True, return_state=True)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(batch, time, features)).astype("float32")
    h0, c0 = (rng.normal(size=(batch, units)).astype("float32") for _ in range(2))
    seq, h, c = (np.asarray(v) for v in layer(x, initial_state=[h0, c0]))
    layer.set_weights([w + rng.normal(size=w.shape).astype("float32") * 0.3  # a non-zero bias
                       for w in layer.get_weights()])
    seq, h, c = (np.asarray(v) for v in layer(x, initial_state=[h0, c0]))
    trace = trace_lstm(x, *layer.get_weights(), initial_state=[h0, c0])
    assert set(trace) == set("ifgoch")
    assert all(v.shape == (batch, time, units) for v in trace.values())
    np.testing.assert_allclose(trace["h"], seq, atol=1e-5)
    np.testing.assert_allclose(trace["h"][:, -1], h, atol=1e-5)
    np.testing.assert_allclose(trace["c"][:, -1], c, atol=1e-5)
    for gate in "ifo":
        assert np.all((trace[gate] > 0) & (trace[gate] < 1))


def test_trace_lstm_refuses_bad_shapes():
    w, u, b = np.zeros((3, 8)), np.zeros((2, 8)), np.zeros(8)
    with pytest.raises(ValueError, match="rank 3"):
        trace_lstm(np.zeros((4, 3)), w, u, b)
    with pytest.raises(ValueError, match="`kernel`"):
        trace_lstm(np.zeros((1, 4, 5)), w, u, b)
    with pytest.raises(ValueError, match="`initial_state`"):
        trace_lstm(np.zeros((1, 4, 3)), w, u, b, initial_state=[np.zeros((2, 2))] * 2)


@pytest.mark.slow  # about 3 s: Keras runs the growing text once per character
def test_generate_text_greedy_matches_a_keras_model_fed_its_own_output():
    vocab = CharVocabulary("abcdefg ():\n")
    keras.utils.set_random_seed(3)
    model = keras.Sequential([keras.Input((None,)), keras.layers.Embedding(vocab.size, 4),
                              keras.layers.LSTM(6, return_sequences=True),
                              keras.layers.Dense(vocab.size, activation="softmax")])
    rng = np.random.default_rng(0)
    model.set_weights([w + rng.normal(size=w.shape).astype("float32") for w in model.get_weights()])
    prompt, ids = "ab(c", list(vocab.encode("ab(c"))
    for _ in range(8):  # greedy decoding with Keras on the whole text so far
        probs = np.asarray(model(np.array([ids])))[0, -1]
        ids.append(int(np.argmax(probs)))
    want = vocab.decode(ids[len(prompt):])
    assert generate_text(model.get_weights(), vocab, prompt, 8, temperature=0) == want
    hot = generate_text(model.get_weights(), vocab, prompt, 40, temperature=1.5, seed=1)
    assert len(hot) == 40 and hot == generate_text(model.get_weights(), vocab, prompt, 40,
                                                   temperature=1.5, seed=1)
    with pytest.raises(ValueError, match="`prompt`"):
        generate_text(model.get_weights(), vocab, "", 3)
    with pytest.raises(ValueError, match="`weights`"):
        generate_text(model.get_weights()[:3], vocab, "a", 3)


def _marks(marks):
    """A feature from a hand-drawn label line: 1 under each character where it holds."""
    return [float(m) for m in marks]


@pytest.mark.parametrize(("text", "in_string", "in_comment"), [
    ("x = 'ab' + \"c\"\n",
     "000011100001100", "000000000000000"),
    ("s = 'it\\'s'  # 'no'\n",  # an escaped quote; quotes inside a comment
     "00001111110000000000", "00000000000001111110"),
    ('d = """a\n"b"\n""" + 1\n',  # a triple-quoted string goes over lines; its quotes alike
     "000011111111100000000", "000000000000000000000"),
    ("f('#', \"a\\\\\")\n",  # '#' in a string; an escaped backslash before the closing quote
     "00110001111000", "00000000000000"),
    ("'open\nx = 1\n",  # a one-line string ends with its line
     "111110000000", "000000000000"),
])
def test_strings_and_comments_by_hand(text, in_string, in_comment):
    features = text_features(text)
    assert features["in_string"].tolist() == _marks(in_string), text
    assert features["in_comment"].tolist() == _marks(in_comment), text


def test_brackets_indent_and_column_by_hand():
    text = "a = [(1,\n    {2: '('})]  # )\n  b\n"
    f = text_features(text)
    #          a = [(1,$    {2: '('})]  # )$  b$
    depth = _marks("000012222222233333332100000000000")  # none in the string or the comment
    indent = _marks("000000000123444444444444444401220")
    assert f["bracket_depth"].tolist() == depth
    assert f["indent"].tolist() == indent
    column = []
    for line in text.split("\n")[:-1]:
        column += [*range(1, len(line) + 1), 0]  # the newline itself: 0
    assert f["column"].tolist() == column
    assert text_features("")["column"].shape == (0,)
    with pytest.raises(ValueError, match="`text`"):
        text_features(b"bytes")


def test_feature_correlations_match_numpy_corrcoef():
    rng = np.random.default_rng(0)
    values = rng.normal(size=(200, 5))
    features = {"a": rng.normal(size=200), "b": values[:, 2] * 3 + rng.normal(size=200) * 0.1}
    values[:, 4] = 1.5  # a constant unit
    r = feature_correlations(values, features)
    for name, feature in features.items():
        for unit in range(4):
            assert r[name][unit] == pytest.approx(np.corrcoef(values[:, unit], feature)[0, 1],
                                                  abs=1e-12)
        assert r[name][4] == 0.0
    assert r["b"][2] > 0.99
    assert feature_correlations(values, {"flat": np.ones(200)})["flat"].tolist() == [0.0] * 5
    with pytest.raises(ValueError, match="'a' of shape"):
        feature_correlations(values, {"a": np.ones(3)})
    with pytest.raises(ValueError, match="rank 2"):
        feature_correlations(np.ones(3), features)
