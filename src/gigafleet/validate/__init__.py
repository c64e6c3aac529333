"""Validation against published measurements (``gigafleet validate ...``)."""
