"""lstmkit: recurrent cells and layers written from scratch as Keras 3 layers.

The package holds the finished code of the lstmkit course (``notebooks/``): the cells
``RNNCell``, ``LSTMCell`` and ``GRUCell`` are drop-in equivalents of
``keras.layers.SimpleRNNCell``, ``keras.layers.LSTMCell`` and ``keras.layers.GRUCell`` (same
arguments, defaults, weight layout and return structure), and the sequence layers
``SimpleRNN``, ``LSTM`` and ``GRU`` of ``keras.layers.SimpleRNN``, ``keras.layers.LSTM`` and
``keras.layers.GRU`` (same arguments, weights, outputs; a compiled loop, and cuDNN on a GPU).
Submodules: ``cudnn`` (when cuDNN applies), ``params`` (parameter counts), ``models``
(``stacked_lstm``), ``weights`` (PyTorch weight layout).

``import lstmkit`` imports the layers, which registers them with Keras' serialization: a
``.keras`` file holding lstmkit layers loads with ``keras.saving.load_model`` after
``import lstmkit``, without ``custom_objects``.
"""

from lstmkit import cudnn, models, params, weights
from lstmkit.cells import LSTMCell, RNNCell
from lstmkit.gru import GRU
from lstmkit.gru_cell import GRUCell
from lstmkit.layers import LSTM, SimpleRNN

__version__ = "0.1.0"

__all__ = [
    "GRU",
    "GRUCell",
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

