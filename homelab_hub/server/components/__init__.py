"""Wiring of each engine into Services (one module per engine)."""
