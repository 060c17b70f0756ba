"""Deciding about a sample: motion, the vision model, its verdict, the per-sample pipeline, activity."""
