"""`python3 -m stackqual ...`: the `stackqual` command from a checkout that was not
installed (a node's own image), the same as the installed script."""

import sys

from .cli import main

sys.exit(main())
