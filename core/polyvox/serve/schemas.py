"""The request and response bodies of the OpenAI-compatible routes, as pydantic models: the
fields OpenAI defines, plus polyvox's optional extensions (engine, language, seed, params,
markup). Unknown fields are ignored, as OpenAI's clients add new ones over time."""

from __future__ import annotations

import json
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, field_validator, model_validator
from pydantic_core import PydanticCustomError

#: response_format -> (media type, encoder name).
FORMATS = {
    "mp3": "audio/mpeg",
    "opus": "audio/ogg",
    "aac": "audio/aac",
    "flac": "audio/flac",
    "wav": "audio/wav",
    "pcm": "audio/pcm",
}


class VoiceId(BaseModel):
    id: str = Field(min_length=1, max_length=200)


class SpeechRequest(BaseModel):
    model_config = ConfigDict(extra="ignore")

    model: str = Field(min_length=1, max_length=200)
    input: str
    voice: str | VoiceId = "alloy"
    response_format: Literal["mp3", "opus", "aac", "flac", "wav", "pcm"] = "mp3"
    speed: float = 1.0  # 0.25 to 4.0 (`_speed`)
    instructions: str | None = Field(default=None, max_length=4096)
    stream_format: Literal["audio", "sse"] = "audio"
    # polyvox extensions
    engine: str | None = Field(default=None, max_length=100)
    language: str | None = Field(default=None, max_length=35)
    seed: StrictInt | None = Field(default=None, ge=0, lt=2**32)  # not "5" or true
    params: dict[str, Any] = Field(default_factory=dict)
    markup: StrictBool = False  # true or false, not "yes"
    #: Answer JSON with base64 audio and word times (or, with stream_format "sse", word events).
    timestamps: StrictBool = False

    @model_validator(mode="before")
    @classmethod
    def _nulls(cls, data: Any) -> Any:
        """An optional field sent as null is a field left out: generated clients and proxies send
        every field, the unset ones as null (model and input are still required)."""
        if isinstance(data, dict):
            return {k: v for k, v in data.items() if v is not None or k in ("model", "input")}
        return data

    @field_validator("speed", mode="before")
    @classmethod
    def _speed(cls, value: Any) -> Any:
        """A number from 0.25 to 4.0: not a string or a boolean (which pydantic would read as
        one: "2" as 2, true as 1), not NaN or infinity."""
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.25 <= value <= 4.0:
            raise PydanticCustomError("speed", "a number from 0.25 to 4.0 is allowed (1.0 is normal speed), "
                                      "not {given}", {"given": json.dumps(value, default=repr)})
        return value

    @property
    def voice_name(self) -> str:
        return self.voice.id if isinstance(self.voice, VoiceId) else self.voice


class ModelCard(BaseModel):
    id: str
    object: Literal["model"] = "model"
    created: int = 0
    owned_by: str


class VoiceCard(BaseModel):
    id: str
    name: str
    engine: str | None
    languages: list[str]
    clones: bool
