"""Cameras: RTSP readers, the motion prefilter with zones, the vision verdict and alerts."""
