"""One hub, many machines: camera workers near the cameras, over an MQTT broker.

- `config`: the ``[broker]`` section (the hub's, and the worker's own) and the worker's settings.
- `wire`: the topic layout under one prefix and the framing of messages that carry images.
- `link`: one broker connection (paho-mqtt), reconnecting forever, with handlers per topic.
- `acl`: the broker's access rules (Mosquitto's acl_file and security lines) the README shows.
- `outbox`: the worker's alerts, kept in SQLite until the broker has acknowledged each.
- `node`: the ``homelab-hub worker`` process (cameras through the same `CameraManager`).
- `bridge`: the hub's side: workers' states, remote cameras' frames, alerts stored once.
"""
