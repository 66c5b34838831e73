"""`python -m audiolab ...`: see audiolab/cli.py."""

import sys

from audiolab.cli import main

sys.exit(main())
