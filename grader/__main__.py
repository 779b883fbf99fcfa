"""`python -m grader` is the same as the `grade` command."""

import sys

from .cli import main

sys.exit(main())
