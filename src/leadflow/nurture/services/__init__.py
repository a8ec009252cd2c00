"""Nurture's writes, one module per part (segments, suppression, sending...)."""
