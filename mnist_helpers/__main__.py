"""``python -m mnist_helpers ...``: see ``mnist_helpers/cli.py``."""

import sys

from .cli import main

sys.exit(main())
