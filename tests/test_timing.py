"""lstmkit.timing: what a round times, and in which order."""

import time

from lstmkit import timing


def _runner(name: str, calls: list, slow_first: bool = False) -> timing.Runner:
    def make(mode: str):
        def call():
            calls.append((name, mode))
            if slow_first and calls.count((name, mode)) == 1:
                time.sleep(0.2)  # the untimed call: not in the times

        return call

    config = timing.Config(name, "lstm", lambda units: None)
    return timing.Runner(config, make("forward"), make("train"))


def test_each_timed_call_follows_an_untimed_call_of_the_same_function():
    calls: list = []
    runner = _runner("a", calls, slow_first=True)
    timing.time_once(runner)
    assert calls == [("a", "forward")] * 2 + [("a", "train")] * 2
    assert [len(runner.times[m]) for m in ("forward", "train")] == [1, 1]
    assert runner.times["forward"][0] < 0.1  # the slow first call is not what was timed


def test_rounds_time_every_runner_once_in_a_rotated_order():
    calls: list = []
    runners = [_runner(name, calls) for name in "abc"]
    order = [r.config.name for r in timing.interleaved(runners, rounds=3, eager_rounds=1)]
    assert order == list("abc" "bca" "cab")
