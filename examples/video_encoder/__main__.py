"""``python -m examples.video_encoder``: the example end to end (see demo.py); ``make run`` runs this."""

import sys

from examples.video_encoder.demo import main

sys.exit(main())
