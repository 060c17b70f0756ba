"""One typed client per external peer, shared by the engines (Ollama today)."""
