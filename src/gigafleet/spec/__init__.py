"""User-facing schemas (pydantic, ``extra="forbid"``) and their YAML loading."""
