"""What every domain's API schemas share."""

from __future__ import annotations

from pydantic import ConfigDict
from typing_extensions import Unpack


def described(description: str, **config: Unpack[ConfigDict]) -> ConfigDict:
    """A schema's configuration, with the description OpenAPI publishes for it.

    Not the class's docstring: the image's web process runs with ``-OO`` (README, "Memory"),
    which strips docstrings, and the API documentation would lose them.
    """
    return ConfigDict(json_schema_extra={"description": description}, **config)
