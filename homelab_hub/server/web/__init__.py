"""The browser side of the hub: pages, sign-in and the live camera streams."""
