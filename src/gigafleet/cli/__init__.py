"""Command-line faces."""
