"""Faces that render results: self-contained HTML reports (plotly, works offline)."""
