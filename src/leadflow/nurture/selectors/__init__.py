"""Nurture's reads, one module per part (segments, suppression, sending...)."""
