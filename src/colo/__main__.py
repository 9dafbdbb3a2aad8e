"""`python -m colo`: the same as the `colo` command."""

from colo.cli.main import main

raise SystemExit(main())
