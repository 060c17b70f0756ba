"""Settings of the semantic memory engine."""

from pydantic import BaseModel, ConfigDict


class MemoryConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_default=True)
