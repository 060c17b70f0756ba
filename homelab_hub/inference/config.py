"""Settings of the inference hosts (Ollama, llama.cpp)."""

from pydantic import BaseModel, ConfigDict


class InferenceConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_default=True)
