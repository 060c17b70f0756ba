"""Faithful stand-ins for protocol peers that cannot run here (Ollama, a vision model,
llama-server, notification receivers). Each speaks the real HTTP API over a real socket."""
