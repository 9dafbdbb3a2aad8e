"""The shared-state coordinator: one ledger per cluster that every scheduler reserves
through, checking conflicts per node, optimistically (as Omega does)."""
