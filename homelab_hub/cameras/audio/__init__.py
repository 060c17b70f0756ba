"""A camera's microphone: the audio sink, the speech gate, the speech model and the transcriber."""
