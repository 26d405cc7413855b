"""``python -m examples.fanout``: the example end to end (see demo.py)."""

import sys

from examples.fanout.demo import main

sys.exit(main())
