"""One settings tree: ``CRMOS__SECTION__KEY`` environment variables and an optional ``crmos.toml``.

Every field has a description, so ``crmos config show`` and the docs come from here. Only the
composition root (``crmos.bootstrap``) builds settings; nothing below reads the environment.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field, SecretStr, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from crmos.core.errors import ConfigError

DEFAULT_HOME = Path(".crmos")


class StoreSettings(BaseModel):
    """Where events, profiles and everything else are kept."""

    url: str = Field(
        default="",
        description="Database URL: sqlite:///PATH (embedded) or "
        "postgresql://USER:PASS@HOST:PORT/DB (scale-out). Empty: sqlite:///HOME/crmos.db.",
    )
    sqlite_synchronous: Literal["OFF", "NORMAL", "FULL"] = Field(
        default="NORMAL",
        description="SQLite PRAGMA synchronous. NORMAL in WAL mode survives a process crash "
        "(kill -9) without losing a committed event; FULL also survives power loss at the cost "
        "of an fsync per commit.",
    )
    pool_size: int = Field(default=5, ge=1, description="PostgreSQL connection pool size.")


class IntakeSettings(BaseModel):
    """The Segment-compatible event intake."""

    max_event_bytes: int = Field(
        default=32 * 1024, description="Largest accepted event, in bytes (Segment: 32 KB)."
    )
    max_batch_bytes: int = Field(
        default=500 * 1024,
        description="Largest accepted batch request, in bytes (Segment: 500 KB).",
    )
    group_commit_max_events: int = Field(
        default=5000,
        ge=1,
        description="Most events written in one transaction by the intake writer; requests "
        "arriving together share one commit.",
    )
    pii_properties: list[str] = Field(
        default=[
            "email",
            "phone",
            "name",
            "first_name",
            "last_name",
            "firstName",
            "lastName",
            "address",
            "street",
            "birthday",
            "ip",
            "cpf",
            "national_id",
            "passport",
        ],
        description="Property names encrypted with the subject's data key. All traits, "
        "context.traits and context.ip are always encrypted.",
    )


class SecuritySettings(BaseModel):
    """Keys and secrets."""

    master_key: SecretStr | None = Field(
        default=None,
        description="Base64 of 32 random bytes: the key that wraps every subject's data key. "
        "Unset in development: a key is generated once into HOME/master.key. Required in "
        "production.",
    )


class ServerSettings(BaseModel):
    """The HTTP server of ``crmos serve``."""

    host: str = Field(default="127.0.0.1", description="Interface to listen on.")
    port: int = Field(default=8000, description="TCP port to listen on.")


class Settings(BaseSettings):
    """The effective crmos configuration."""

    model_config = SettingsConfigDict(
        env_prefix="CRMOS__",
        env_nested_delimiter="__",
        extra="forbid",
    )

    env: Literal["development", "production"] = Field(
        default="development",
        description="production refuses default secrets and requires security.master_key.",
    )
    home: Path = Field(
        default=DEFAULT_HOME, description="Directory for the embedded store and local keys."
    )
    store: StoreSettings = Field(default_factory=StoreSettings, description="Storage.")
    intake: IntakeSettings = Field(default_factory=IntakeSettings, description="Event intake.")
    security: SecuritySettings = Field(default_factory=SecuritySettings, description="Secrets.")
    server: ServerSettings = Field(default_factory=ServerSettings, description="HTTP server.")

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Precedence: explicit arguments, then environment, then ``crmos.toml``."""
        toml_path = Path(os.environ.get("CRMOS_CONFIG", "crmos.toml"))
        return (init_settings, env_settings, TomlConfigSettingsSource(settings_cls, toml_path))

    @model_validator(mode="after")
    def _embedded_store_under_home(self) -> Settings:
        if not self.store.url:
            self.store.url = f"sqlite:///{self.home}/crmos.db"
        return self

    def check(self) -> Settings:
        """Refuse settings that cannot work here; return self for chaining."""
        if self.env == "production" and self.security.master_key is None:
            raise ConfigError(
                "security.master_key",
                "required when env=production; set CRMOS__SECURITY__MASTER_KEY to base64 of "
                "32 random bytes (e.g. `openssl rand -base64 32`)",
            )
        if not self.store.url.startswith(("sqlite:", "postgresql:", "postgresql+psycopg:")):
            raise ConfigError(
                "store.url",
                f"unsupported URL '{self.store.url}'; use sqlite:///PATH or postgresql://...",
            )
        return self


def load_settings(**overrides: Any) -> Settings:
    """Build and check the settings from the environment, ``crmos.toml`` and ``overrides``."""
    return Settings(**overrides).check()


def masked(settings: Settings) -> dict[str, Any]:
    """The settings as data, with every secret replaced by ``'***'``."""
    data = settings.model_dump(mode="json")
    if settings.security.master_key is not None:
        data["security"]["master_key"] = "***"
    data["store"]["url"] = _mask_url(settings.store.url)
    return data


def _mask_url(url: str) -> str:
    """Hide the password of a database URL."""
    if "@" not in url or "://" not in url:
        return url
    scheme, rest = url.split("://", 1)
    creds, host = rest.rsplit("@", 1)
    user = creds.split(":", 1)[0]
    return f"{scheme}://{user}:***@{host}" if ":" in creds else url
