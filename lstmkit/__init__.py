"""lstmkit: recurrent cells and layers written from scratch as Keras 3 layers.

The package holds the finished code of the lstmkit course (``notebooks/``): the cells
``RNNCell`` and ``LSTMCell`` are drop-in equivalents of ``keras.layers.SimpleRNNCell`` and
``keras.layers.LSTMCell`` (same arguments, defaults, weight layout and return structure).
"""

from lstmkit.cells import LSTMCell, RNNCell

__version__ = "0.1.0"

__all__ = ["LSTMCell", "RNNCell", "__version__"]
