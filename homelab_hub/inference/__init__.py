"""Inference visibility: what Ollama and llama-server hosts have loaded, and what it costs."""
