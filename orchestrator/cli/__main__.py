"""`python -m orchestrator.cli ...`: the `ncsweep` command (the way a Ray job's entrypoint calls it)."""

import sys

from orchestrator.cli.parser import main

sys.exit(main())
