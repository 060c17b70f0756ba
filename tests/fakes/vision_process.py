"""The stand-in vision model as a process of its own, for a camera worker in another network
namespace (its Ollama is on its own machine): ``python -m tests.fakes.vision_process PORT
[ANSWER]`` serves on 127.0.0.1:PORT until killed, answering ANSWER to every image (the image
look of `FakeOllamaVision` without one)."""

from __future__ import annotations

import sys
import time

from tests.fakes.ollama_vision import FakeOllamaVision


def main() -> None:
    port = int(sys.argv[1])
    server = FakeOllamaVision(port=port)
    if len(sys.argv) > 2:
        server.fixed = sys.argv[2]
    with server:
        print(f"serving {server.url}", flush=True)
        while True:
            time.sleep(3600)


if __name__ == "__main__":
    main()
