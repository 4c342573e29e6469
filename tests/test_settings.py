"""Production refuses unsafe settings, and the demo sign-in cannot exist there."""

from __future__ import annotations

from pathlib import Path

import pytest
import uvicorn
from click.testing import CliRunner
from fastapi.testclient import TestClient
from pydantic import ValidationError

from app.cli import cli
from app.config import Environment, Settings
from app.main import create_app

GOOD_SECRET = "a-production-secret-of-more-than-32-characters!"


@pytest.mark.parametrize("secret", ["", "change-me", "local-dev-secret", "short"])
def test_production_refuses_a_missing_or_placeholder_secret(secret: str) -> None:
    with pytest.raises(ValidationError, match="SECRET_KEY"):
        Settings(env=Environment.PRODUCTION, secret_key=secret)


def test_production_refuses_the_demo_sign_in() -> None:
    with pytest.raises(ValidationError, match="DEMO_SIGN_IN"):
        Settings(
            env=Environment.PRODUCTION,
            secret_key=GOOD_SECRET,
            demo_sign_in=True,
            smtp_url="smtp://127.0.0.1:2525",
        )


def test_environment_variables_are_read_with_the_devex_prefix(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DEVEX_ENV", "production")
    monkeypatch.setenv("DEVEX_SECRET_KEY", "change-me")
    with pytest.raises(ValidationError):
        Settings()
    monkeypatch.setenv("DEVEX_SMTP_URL", "smtp://127.0.0.1:2525")
    monkeypatch.setenv("DEVEX_DEMO_SIGN_IN", "true")
    monkeypatch.setenv("DEVEX_SECRET_KEY", GOOD_SECRET)
    with pytest.raises(ValidationError, match="DEMO_SIGN_IN"):
        Settings()


def test_a_production_app_has_no_demo_sign_in_route(sqlite_url: str) -> None:
    settings = Settings(
        env=Environment.PRODUCTION,
        secret_key=GOOD_SECRET,
        database_url=sqlite_url,
        smtp_url="smtp://127.0.0.1:2525",
        stripe_secret_key="sk_test_x",
        stripe_webhook_secret="whsec_x",
    )
    with TestClient(create_app(settings)) as client:
        assert client.get("/demo-sign-in").status_code == 404
        assert client.post("/demo-sign-in", data={"user_id": "1"}).status_code in (403, 404)
        response = client.get("/healthz")
        assert "max-age" in response.headers["strict-transport-security"]


def test_production_refuses_the_simulated_payment_gateway() -> None:
    with pytest.raises(ValidationError, match="STRIPE_SECRET_KEY"):
        Settings(
            env=Environment.PRODUCTION, secret_key=GOOD_SECRET, smtp_url="smtp://127.0.0.1:2525"
        )


def test_unknown_time_zone_is_refused() -> None:
    with pytest.raises(ValidationError, match="time zone"):
        Settings(timezone="Mars/Olympus")


def test_every_setting_is_documented_in_the_readme() -> None:
    readme = (Path(__file__).parent.parent / "README.md").read_text()
    undocumented = [
        name for name in Settings.model_fields if f"`DEVEX_{name.upper()}`" not in readme
    ]
    assert undocumented == []


def test_the_sites_address_is_kept_without_a_trailing_slash() -> None:
    settings = Settings(base_url="https://devex.example/")
    assert settings.base_url == "https://devex.example"


# Issue 14, defect 9: rate limits must hold with several web processes, and behind proxies.
def _production(**overrides: object) -> Settings:
    values: dict[str, object] = {
        "env": Environment.PRODUCTION,
        "secret_key": GOOD_SECRET,
        "smtp_url": "smtp://127.0.0.1:2525",
        "stripe_secret_key": "sk_test_x",
        "stripe_webhook_secret": "whsec_x",
        **overrides,
    }
    return Settings.model_validate(values)


def test_production_refuses_several_web_workers_on_in_memory_rate_limits() -> None:
    with pytest.raises(ValidationError, match="RATE_LIMIT_STORAGE must be a shared store"):
        _production(web_workers=2)
    assert _production(web_workers=2, rate_limit_storage="redis://cache:6379").web_workers == 2
    assert _production(web_workers=1).rate_limit_storage == "memory://"


def test_devex_serve_refuses_to_start_several_workers_on_in_memory_rate_limits(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def started(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("a server was started")

    monkeypatch.setattr(uvicorn, "run", started)  # were the check missing, the test would serve
    environment = {
        "DEVEX_ENV": "production",
        "DEVEX_SECRET_KEY": GOOD_SECRET,
        "DEVEX_SMTP_URL": "smtp://127.0.0.1:2525",
        "DEVEX_STRIPE_SECRET_KEY": "sk_test_x",
        "DEVEX_STRIPE_WEBHOOK_SECRET": "whsec_x",
        "DEVEX_RATE_LIMIT_STORAGE": "memory://",
    }
    for arguments, extra in (
        (["serve", "--workers", "2"], {}),
        (["serve"], {"DEVEX_WEB_WORKERS": "3"}),
    ):
        result = CliRunner().invoke(cli, arguments, env={**environment, **extra})
        assert result.exit_code == 2
        assert "DEVEX_RATE_LIMIT_STORAGE must be a shared store" in result.output


@pytest.mark.parametrize("proxies", ["*", "10.0.0.2, *", "proxy.internal"])
def test_trusted_proxies_are_addresses_never_everyone(proxies: str) -> None:
    with pytest.raises(ValidationError, match="FORWARDED_ALLOW_IPS"):
        Settings(forwarded_allow_ips=proxies)
    assert Settings(forwarded_allow_ips="10.0.0.2, 172.16.0.0/12, ::1").forwarded_allow_ips
