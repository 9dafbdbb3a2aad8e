"""Composition roots of the deployable processes (later issues)."""
