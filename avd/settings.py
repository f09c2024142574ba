"""Configuration loading shared by every service.

Each service describes its settings as a pydantic model (defaults shipped in
the model). :func:`load_settings` builds one from, in increasing priority:
the defaults, a JSON file, and environment variables
(``<PREFIX><FIELD>``, nested fields joined by ``__``, e.g.
``AVD_CLIENT_DATABASE_URL`` or ``AVD_MARKET_ENGINE__SIGNALS__COOLDOWN_BARS``).
Unknown keys and invalid values raise :class:`~avd.exceptions.ConfigError`
naming them.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, Field, ValidationError, model_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from avd.exceptions import ConfigError

S = TypeVar("S", bound=BaseSettings)


class ServiceSettings(BaseSettings):
    """Base of every service's settings: strict keys, env overrides."""

    model_config = SettingsConfigDict(extra="forbid", env_nested_delimiter="__", frozen=True)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Environment over file values over defaults; no dotenv, no secrets dir."""
        # environment first (highest priority), then what the file gave
        return (env_settings, init_settings)


def _describe(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors():
        where = ".".join(str(p) for p in err["loc"]) or "(root)"
        parts.append(f"{where}: {err['msg']}")
    return "; ".join(parts)


def load_settings(model: type[S], path: str | Path | None = None, **overrides: Any) -> S:
    """Build ``model`` from its defaults, an optional JSON file and the environment.

    Raises
    ------
    ConfigError
        If the file cannot be read or parsed, or a value does not validate.
    """
    data: dict[str, Any] = {}
    if path is not None:
        p = Path(path)
        try:
            data = json.loads(p.read_text(encoding="utf-8"))
        except OSError as exc:
            raise ConfigError(f"{p}: cannot read the configuration: {exc.strerror}") from None
        except json.JSONDecodeError as exc:
            raise ConfigError(f"{p}: not valid JSON: {exc}") from None
        if not isinstance(data, dict):
            raise ConfigError(f"{p}: the configuration must be a JSON object")
    data.update(overrides)
    try:
        return model(**data)
    except ValidationError as exc:
        origin = f"{path}: " if path is not None else ""
        raise ConfigError(f"{origin}{_describe(exc)}") from None


def dump_settings(settings: BaseModel) -> str:
    """The settings as JSON (secrets masked by their own types)."""
    return settings.model_dump_json(indent=2)


# -- the event bus between processes (issue 16: scaling out) ------------------------


class BusSettings(BaseModel):
    """The ``bus`` of every ``avd serve``: Redis Streams between the processes.

    Given as a URL alone (``"bus": "redis://host:6379/0"``, ``--bus``) or as
    an object with the options below. Without a bus the services share
    events in one process (the in-process hub) and the trade service takes
    the market service's ``/internal/feed`` WebSocket.
    """

    model_config = {"extra": "forbid", "frozen": True}

    url: str = Field(pattern=r"^rediss?://[^\s]+$")
    #: streams are capped near this many entries (``XADD MAXLEN ~``), about
    #: 350 bytes each: 100 000 is ~35 MB, ~30 minutes of 50 Binance 1m streams
    #: (an in-progress kline a second each) for a consumer to be down and catch up
    maxlen: int = Field(100_000, ge=100)
    #: entries a dead consumer left pending this long are claimed by another (XAUTOCLAIM)
    claim_idle_s: float = Field(30.0, gt=0)
    #: the consumer group (default: the service's name); processes sharing a
    #: group share the work, each group gets every event
    group: str | None = Field(None, pattern=r"^[A-Za-z0-9_.:-]{1,64}$")
    #: this process's name in its group (default: host and process id); a
    #: restart under the same name takes its pending entries back at once
    consumer: str | None = Field(None, pattern=r"^[A-Za-z0-9_.:-]{1,64}$")
    #: the streams' names start with this
    prefix: str = Field("avd:", pattern=r"^[A-Za-z0-9_.:-]{0,32}$")
    #: events buffered for Redis while it is unreachable (then backpressure)
    buffer: int = Field(100_000, ge=1)

    @model_validator(mode="before")
    @classmethod
    def _from_url(cls, value: Any) -> Any:
        return {"url": value} if isinstance(value, str) else value

    def __repr__(self) -> str:  # a password in the URL stays out of reprs and logs
        return f"BusSettings(url={redacted_url(self.url)!r})"

    __str__ = __repr__


def redacted_url(url: str) -> str:
    """``url`` without a password (``redis://:***@host``)."""
    head, sep, tail = url.partition("://")
    if "@" not in tail:
        return url
    creds, _, rest = tail.rpartition("@")
    user = creds.split(":", 1)[0]
    return f"{head}{sep}{user}:***@{rest}"
