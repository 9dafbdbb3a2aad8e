"""The `colo` command line."""
