"""Nurture's reads, one module per part; each takes the workspace first."""
