"""Nurture's models, one module per part (segments, suppression, email, sending...)."""
