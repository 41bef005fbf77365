"""lstmkit: recurrent cells and layers written from scratch as Keras 3 layers.

The package holds the finished code of the lstmkit course (``notebooks/``): the cells
``RNNCell`` and ``LSTMCell`` are drop-in equivalents of ``keras.layers.SimpleRNNCell`` and
``keras.layers.LSTMCell`` (same arguments, defaults, weight layout and return structure), and
the sequence layers ``SimpleRNN`` and ``LSTM`` of ``keras.layers.SimpleRNN`` and
``keras.layers.LSTM`` (same arguments, weights, outputs; a compiled loop, and cuDNN on a GPU).
Submodules: ``cudnn`` (when cuDNN applies), ``params`` (parameter counts), ``models``
(``stacked_lstm``), ``weights`` (PyTorch weight layout).

``import lstmkit`` imports the layers, which registers them with Keras' serialization: a
``.keras`` file holding lstmkit layers loads with ``keras.saving.load_model`` after
``import lstmkit``, without ``custom_objects``.
"""

import sys

__version__ = "0.1.0"

__all__ = [
    "LSTM",
    "LSTMCell",
    "RNNCell",
    "SimpleRNN",
    "__version__",
    "cudnn",
    "models",
    "params",
    "weights",
]


def _run_as_command() -> bool:
    """True while ``python -m lstmkit`` imports this package to find ``lstmkit/__main__.py``.

    That process is the command line (:mod:`lstmkit_cli`), which must answer ``--help`` without
    TensorFlow and imports what its command needs itself, so the package then imports its names
    on first use instead. Everywhere else (``import lstmkit`` in a program, a notebook, the
    command's own imports) the layers are imported, and registered with Keras, right here.
    """
    if sys.argv[:1] != ["-m"]:  # Python's argv while it looks for a -m module
        return False
    args = list(getattr(sys, "orig_argv", []))
    for index, arg in enumerate(args[1:], start=1):
        if arg == "-m":
            return args[index + 1:index + 2] == ["lstmkit"]
        if arg.startswith("-m"):
            return arg == "-mlstmkit"
    return False


if _run_as_command():
    import importlib

    _SUBMODULES = {"cudnn", "models", "params", "weights"}
    _NAMES = {"LSTMCell": "cells", "RNNCell": "cells", "LSTM": "layers", "SimpleRNN": "layers"}

    def __getattr__(name: str):  # PEP 562: only under python -m lstmkit
        if name in _SUBMODULES:
            return importlib.import_module(f"lstmkit.{name}")
        if name in _NAMES:
            return getattr(importlib.import_module(f"lstmkit.{_NAMES[name]}"), name)
        raise AttributeError(f"module 'lstmkit' has no attribute {name!r}")
else:
    from lstmkit import cudnn, models, params, weights
    from lstmkit.cells import LSTMCell, RNNCell
    from lstmkit.layers import LSTM, SimpleRNN
