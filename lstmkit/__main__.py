"""``python -m lstmkit ...`` is the ``lstmkit`` command (``lstmkit/__init__.py`` imports no
TensorFlow when Python imports it for this; see ``_run_as_command`` there)."""

import sys

from lstmkit_cli import main

sys.exit(main())
