"""The self-healing watchdog: finds services that are alive but brain-dead and escalates
restart -> Claude Code -> human. `engine.Watchdog` is the entry point."""
