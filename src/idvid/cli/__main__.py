"""``python -m idvid.cli``: the ``idvid`` command."""

import sys

from idvid.cli import run

sys.exit(run())
