"""``python -m bot.understanding build [DIR]``: train and write the classifier artifact."""

import sys

from bot.understanding.semantic import main

sys.exit(main())
