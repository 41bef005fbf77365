"""``python -m lstmkit ...`` is the ``lstmkit`` command. Python imports the package (and so
TensorFlow) first; the console script ``lstmkit`` and ``python -m lstmkit_cli`` do not, which
makes their ``--help`` instant."""

import sys

from lstmkit_cli import main

sys.exit(main())
