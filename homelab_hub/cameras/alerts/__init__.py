"""Alerts: rows, images, clips, retention, cooldown and suppression."""
