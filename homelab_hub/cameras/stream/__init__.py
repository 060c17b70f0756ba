"""Reading a camera: the stream reader, its worker, the manager of all cameras, live video and replays."""
