"""Semantic memory: self-contained facts per agent, found by meaning and by exact token."""
