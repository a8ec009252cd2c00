"""Nurture's writes, one module per part (email: ``settings``, ``rendering``, ``transport``,
``sending``)."""
