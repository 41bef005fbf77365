"""``python -m lstmkit_cli ...`` is the ``lstmkit`` command."""

import sys

from lstmkit_cli import main

sys.exit(main())
