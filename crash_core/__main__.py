"""``python -m crash_core``: see ``crash_core.cli``."""

from crash_core.cli import main

raise SystemExit(main())
