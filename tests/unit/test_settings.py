"""The settings tree: environment, defaults and refusals."""

from __future__ import annotations

import pytest

from crmos.core.errors import ConfigError
from crmos.core.settings import Settings, load_settings, masked


def test_nested_settings_come_from_double_underscore_environment_variables(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CRMOS__INTAKE__MAX_BATCH_BYTES", "1234")
    monkeypatch.setenv("CRMOS__SERVER__PORT", "9000")
    settings = load_settings()
    assert (settings.intake.max_batch_bytes, settings.server.port) == (1234, 9000)


def test_the_embedded_store_lives_under_home_by_default() -> None:
    assert Settings(home="/srv/crm").store.url == "sqlite:////srv/crm/crmos.db"


def test_production_without_a_master_key_is_refused_with_the_fix() -> None:
    with pytest.raises(ConfigError) as caught:
        Settings(env="production").check()
    assert caught.value.setting == "security.master_key"
    assert "openssl rand -base64 32" in caught.value.message


def test_an_unsupported_store_url_names_the_supported_ones() -> None:
    with pytest.raises(ConfigError, match="sqlite:///PATH or postgresql://"):
        Settings(store={"url": "mysql://x"}).check()


def test_every_setting_has_a_description() -> None:
    def walk(model: type) -> list[str]:
        missing = []
        for name, info in model.model_fields.items():  # type: ignore[attr-defined]
            if not info.description:
                missing.append(name)
            if hasattr(info.annotation, "model_fields"):
                missing += walk(info.annotation)
        return missing

    assert walk(Settings) == []


def test_masking_hides_the_master_key() -> None:
    shown = masked(Settings(security={"master_key": "c2VjcmV0"}))
    assert shown["security"]["master_key"] == "***"
