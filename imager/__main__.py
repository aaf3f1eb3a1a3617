"""``python -m imager`` is the ``mirimager`` command."""

import sys

from imager.cli.main import main

sys.exit(main())
