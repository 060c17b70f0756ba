"""homelab-hub: the always-on hub that AI agents operate a home lab through."""

__version__ = "0.1.0"
