"""``python -m nasperf.eval.cli``: the ``nasperf`` command."""

import sys

from . import main

sys.exit(main())
