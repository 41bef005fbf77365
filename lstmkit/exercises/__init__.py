"""Self-checking exercises for the course notebooks.

Each exercise in a notebook has a stub cell where the learner writes a function and a cell that
calls a checker from this package. A checker runs the learner's function on a few random inputs,
compares it with a reference, and returns a :class:`CheckResult`: a pass, or a hint naming the
most likely mistake (wrong shape, wrong gate order, forgot the bias...). A checker never raises
for a wrong answer, so a notebook always runs top to bottom; in a notebook the result displays as
its one-line message.

The checking framework (:class:`CheckResult`, :class:`Mistake`, :func:`check_function`,
:func:`check_answer`) is in :mod:`~lstmkit.exercises.framework`; each notebook's checkers are in
their own module:

========  ===========================================  ====================================
notebook  module                                       checkers
========  ===========================================  ====================================
00        :mod:`~lstmkit.exercises.tour`               shapes a layer returns, weights
01        :mod:`~lstmkit.exercises.rnn_cell`           Elman outputs, bidirectional, Jacobian
02        :mod:`~lstmkit.exercises.lstm_cell`          peephole cell, forget bias, PyTorch
03        :mod:`~lstmkit.exercises.driving`            bidirectional by hand, masking, last
04        :mod:`~lstmkit.exercises.stacking`           a count, a budget, training curves
05        :mod:`~lstmkit.exercises.speed`              cuDNN's masks, FLOPs, a cuDNN config
06        :mod:`~lstmkit.exercises.real_data`          windows, standardisation
07        :mod:`~lstmkit.exercises.bptt`               one LSTM step backwards
08        :mod:`~lstmkit.exercises.gru_cell`           GRU biases, PyTorch weights, MGU
10        :mod:`~lstmkit.exercises.char_lm`            perplexity, temperature
========  ===========================================  ====================================

This package re-exports every public name of those modules, so notebooks write
``from lstmkit.exercises import check_bidirectional`` or ``ex.check_step_jacobian``. To add a
checker, put it in its notebook's module and that module's ``__all__``.
"""

from lstmkit.exercises import (
    bptt,
    char_lm,
    driving,
    framework,
    gru_cell,
    lstm_cell,
    real_data,
    rnn_cell,
    speed,
    stacking,
    tour,
)
from lstmkit.exercises.bptt import *  # noqa: F403
from lstmkit.exercises.char_lm import *  # noqa: F403
from lstmkit.exercises.driving import *  # noqa: F403
from lstmkit.exercises.framework import *  # noqa: F403
from lstmkit.exercises.framework import HINT as HINT
from lstmkit.exercises.framework import PASS as PASS
from lstmkit.exercises.framework import hint as hint
from lstmkit.exercises.framework import passed as passed
from lstmkit.exercises.gru_cell import *  # noqa: F403
from lstmkit.exercises.lstm_cell import *  # noqa: F403
from lstmkit.exercises.real_data import *  # noqa: F403
from lstmkit.exercises.rnn_cell import *  # noqa: F403
from lstmkit.exercises.speed import *  # noqa: F403
from lstmkit.exercises.stacking import *  # noqa: F403
from lstmkit.exercises.tour import *  # noqa: F403

# The framework first, then the notebooks in order.
_MODULES = (framework, tour, rnn_cell, lstm_cell, driving, stacking, speed, real_data, bptt,
            char_lm,
            gru_cell)

__all__ = [name for module in _MODULES for name in module.__all__]
