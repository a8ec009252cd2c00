"""Duplicate finder: who in a workspace is one person written twice (issue 12)."""
