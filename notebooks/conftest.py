"""nbval settings for the course notebooks: stderr (TensorFlow's log lines, warnings) is not
compared; everything else a cell prints or returns is, after ci/nbval_sanitize.cfg."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def pytest_collectstart(collector):
    if collector.fspath and collector.fspath.ext == ".ipynb":
        collector.skip_compare += ("stderr",)
