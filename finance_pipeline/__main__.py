"""``python -m finance_pipeline``."""

import sys

from finance_pipeline.cli import main

sys.exit(main())
