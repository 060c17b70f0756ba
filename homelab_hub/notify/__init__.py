"""Notifications: Apprise for people, MQTT (with Home Assistant discovery) for the house."""
