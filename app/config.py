"""Settings from the environment (prefix ``DEVEX_``); the contract is documented in README."""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from datetime import timedelta
from enum import StrEnum
from functools import lru_cache
from typing import Any, Self
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, field_serializer, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.engine import make_url

# Values that mean "nobody chose a secret": refused in production.
PLACEHOLDER_SECRETS = frozenset({"", "change-me", "changeme", "secret", "dev", "local-dev-secret"})
LOCAL_SECRET = "local-dev-secret"  # noqa: S105 - the documented local-only default, refused in production


class Environment(StrEnum):
    LOCAL = "local"
    TEST = "test"
    PRODUCTION = "production"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="DEVEX_", extra="ignore")

    env: Environment = Environment.LOCAL
    # Secrets are SecretStr: a repr, a log line or a dump shows "**********"; the code that
    # needs one reads it with .get_secret_value() where it uses it. The database URL stays a
    # str (SQLAlchemy, Alembic and psycopg take it as text, and their own reprs hide its
    # password), kept out of the repr and dumped with its password hidden.
    database_url: str = Field(default="sqlite:///./var/devex.sqlite3", repr=False)
    secret_key: SecretStr = SecretStr(LOCAL_SECRET)
    base_url: str = "http://127.0.0.1:8000"
    timezone: str = "America/Toronto"

    github_oauth_url: str = "https://github.com"
    github_client_id: str = ""
    github_client_secret: SecretStr = SecretStr("")
    github_webhook_secret: SecretStr = SecretStr("")
    github_api_url: str = "https://api.github.com"
    github_token: SecretStr = SecretStr("")
    # The platform's GitHub App (README: "Connecting repositories"): its id, its private key
    # (PEM), the secret of its one webhook, and its slug (github.com/apps/<slug>). Empty id:
    # no app; repositories connect by the per-repository webhook fallback only.
    github_app_id: str = ""
    github_app_private_key: SecretStr = SecretStr("")
    github_app_webhook_secret: SecretStr = SecretStr("")
    github_app_slug: str = ""

    stripe_secret_key: SecretStr = SecretStr("")
    stripe_webhook_secret: SecretStr = SecretStr("")
    # The Connect endpoint's (README: "Production checklist"); empty: that endpoint refuses all.
    stripe_connect_webhook_secret: SecretStr = SecretStr("")
    stripe_api_base: str = ""
    # The platform's fee on each payout, in hundredths of a percent (250 = 2.5 %).
    platform_fee_basis_points: int = Field(default=0, ge=0, le=10_000)
    stripe_connect_country: str = "CA"

    # smtp://user:password@host:port: a secret as a whole, the password being part of it.
    smtp_url: SecretStr = SecretStr("")
    email_from: str = "Dev Exchange <no-reply@devex.example>"

    # Sessions: an absolute lifetime from sign-in and an idle lifetime from the last request.
    session_absolute_hours: float = Field(default=24 * 7, gt=0)
    session_idle_minutes: float = Field(default=120, gt=0)
    oauth_state_minutes: float = Field(default=10, gt=0)
    # Verified emails in these domains may create a team without an admin's approval.
    government_email_domains: list[str] = Field(
        default_factory=lambda: ["gc.ca", "canada.ca", "gov.bc.ca", "gouv.qc.ca", "ontario.ca"]
    )
    invitation_days: int = Field(default=7, gt=0)
    terms_version: str = "2026-11"
    eligibility_text: str = "I am legally entitled to work in Canada."
    api_token_max_days: int = Field(default=365, gt=0)
    # Proposals and evaluation.
    proposal_word_limit: int = Field(default=400, gt=0)
    contract_terms_version: str = "2026-11"
    min_complete_evaluations: int = Field(default=1, ge=1)
    award_acceptance_days: int = Field(default=5, gt=0)
    # Rate limits, in the `limits` library's notation ("N/minute", "N per hour").
    rate_limit_sign_in: str = "10/minute"
    rate_limit_form_posts: str = "30/minute"
    rate_limit_api_writes: str = "60/minute"
    rate_limit_storage: str = "memory://"
    # The reverse proxies in front of the app (addresses or networks, comma-separated): their
    # X-Forwarded-For and X-Forwarded-Proto are believed, from the right, up to the first
    # address that is not one of them. Empty: no proxy, the connecting address is the client.
    forwarded_allow_ips: str = ""
    # Web processes `devex serve` starts (its --workers option overrides this).
    web_workers: int = Field(default=1, ge=1)

    max_contract_cents: int = Field(default=999_900, gt=0)
    # Email subscriptions: the hour (UTC) after which each day's digest goes out (11:00 UTC is
    # early morning across Canada), and how many confirmation requests one address may be sent
    # in a day, so that the form cannot be used to flood someone's inbox.
    subscription_digest_hour_utc: int = Field(default=11, ge=0, le=23)
    subscription_confirmations_per_day: int = Field(default=3, ge=1)
    currency: str = Field(default="CAD", min_length=3, max_length=3)

    # Open data: the licence the files are published under, shown on the page and written into
    # each file and the catalogues; and who answers questions about them.
    opendata_licence_name: str = "Open Government Licence – Canada"  # noqa: RUF001 - its name
    opendata_licence_url: str = "https://open.canada.ca/en/open-government-licence-canada"
    opendata_publisher: str = "Dev Exchange"
    opendata_contact_email: str = "open-data@devex.example"
    # DCAT-US asks every dataset for United States federal budget codes (OMB A-11): a
    # programme outside the US federal government keeps these placeholders.
    opendata_bureau_code: str = Field(default="000:00", pattern=r"^[0-9]{3}:[0-9]{2}$")
    opendata_program_code: str = Field(default="000:000", pattern=r"^[0-9]{3}:[0-9]{3}$")

    # Local-only "sign in as a demo user"; refused outright in production.
    demo_sign_in: bool = False
    # The embedded (SQLite) setup runs scheduled jobs inside the web process.
    run_jobs_in_process: bool = False
    job_interval_seconds: float = Field(default=30.0, gt=0)
    # Between runs, how often the worker looks for new money-path work (a merge webhook).
    work_poll_seconds: float = Field(default=0.25, gt=0)
    # How often to ask GitHub about every opportunity in progress (catches lost webhooks).
    reconcile_interval_minutes: float = Field(default=15.0, gt=0)
    # After a verified merge, the payment waits this long before it is released; a revert, a
    # reopened pull request or a reopened issue in that window holds it for an administrator.
    # 0 pays at once (the pay-on-pull promise); an operator may choose a window.
    release_delay_seconds: int = Field(default=0, ge=0)
    # The webhook inboxes' own connection pool in each web process, and how long a delivery
    # waits for one of its connections before it is answered 503 (README: Webhooks).
    inbox_pool_size: int = Field(default=10, ge=1)
    inbox_wait_seconds: float = Field(default=60.0, gt=0)
    log_json: bool | None = None
    # The bearer token Prometheus sends to /metrics. Empty: /metrics is open off production and
    # does not exist in production (README: Monitoring).
    metrics_token: SecretStr = SecretStr("")

    @field_validator("currency")
    @classmethod
    def _upper_currency(cls, value: str) -> str:
        return value.upper()

    @field_validator("base_url")
    @classmethod
    def _no_trailing_slash(cls, value: str) -> str:
        """Links are built as base_url + "/path", whichever way the address was written."""
        return value.rstrip("/")

    @field_validator("government_email_domains")
    @classmethod
    def _lower_domains(cls, value: list[str]) -> list[str]:
        return [domain.strip().lower().lstrip("@.") for domain in value if domain.strip()]

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value

    @field_validator("forwarded_allow_ips")
    @classmethod
    def _proxies_are_addresses(cls, value: str) -> str:
        for entry in filter(None, (part.strip() for part in value.split(","))):
            if entry == "*":
                raise ValueError(
                    "DEVEX_FORWARDED_ALLOW_IPS cannot be '*': every client could then choose its "
                    "own address (the first X-Forwarded-For entry) and escape the rate limits; "
                    "list the addresses or networks of your proxies"
                )
            try:
                ipaddress.ip_network(entry, strict=False)
            except ValueError as exc:
                raise ValueError(
                    f"DEVEX_FORWARDED_ALLOW_IPS: {entry!r} is not an address or a network"
                ) from exc
        return value

    @model_validator(mode="after")
    def _production_is_safe(self) -> Self:
        if self.env is Environment.PRODUCTION:
            secret_key = self.secret_key.get_secret_value()
            if secret_key.strip().lower() in PLACEHOLDER_SECRETS or len(secret_key) < 32:
                raise ValueError(
                    "DEVEX_SECRET_KEY must be set to a random value of at least 32 characters "
                    "in production"
                )
            if self.demo_sign_in:
                raise ValueError("DEVEX_DEMO_SIGN_IN cannot be enabled in production")
            if not self.smtp_url.get_secret_value():
                raise ValueError("DEVEX_SMTP_URL must be set in production: email is not optional")
            if not (
                self.stripe_secret_key.get_secret_value()
                and self.stripe_webhook_secret.get_secret_value()
            ):
                raise ValueError(
                    "DEVEX_STRIPE_SECRET_KEY and DEVEX_STRIPE_WEBHOOK_SECRET must be set in "
                    "production: the simulated gateway moves no money"
                )
            if self.web_workers > 1 and self.rate_limit_storage.startswith("memory://"):
                raise ValueError(
                    "DEVEX_RATE_LIMIT_STORAGE must be a shared store (e.g. redis://…) with "
                    "several web workers: on memory:// each process counts on its own, which "
                    "multiplies every rate limit by the number of workers"
                )
        return self

    @field_serializer("database_url")
    def _hide_database_password(self, value: str) -> str:
        return make_url(value).render_as_string(hide_password=True)

    def model_copy(self, *, update: Mapping[str, Any] | None = None, deep: bool = False) -> Self:
        """A copy with changes is validated as new settings are (pydantic's own copy is not):
        a secret given as a plain string becomes a SecretStr, and no copy escapes the checks."""
        values = dict(super().model_copy(deep=deep))
        return self.model_validate({**values, **(update or {})})

    @property
    def is_production(self) -> bool:
        return self.env is Environment.PRODUCTION

    @property
    def github_app_configured(self) -> bool:
        """Teams connect repositories by installing the platform's GitHub App."""
        return bool(self.github_app_id and self.github_app_private_key.get_secret_value())

    @property
    def demo_sign_in_enabled(self) -> bool:
        return self.demo_sign_in and not self.is_production

    @property
    def payments_simulated(self) -> bool:
        """Without Stripe keys (never in production) payments go through a simulated gateway."""
        return not self.stripe_secret_key.get_secret_value()

    @property
    def merge_simulation_enabled(self) -> bool:
        """Local mode only: a button that plays a verified merge, to try pay-on-pull by hand."""
        return self.env is Environment.LOCAL

    @property
    def release_delay(self) -> timedelta:
        return timedelta(seconds=self.release_delay_seconds)

    @property
    def json_logs(self) -> bool:
        return self.is_production if self.log_json is None else self.log_json

    @property
    def secure_cookies(self) -> bool:
        """Secure cookies (and the __Host- prefix, which requires them) outside plain-http local."""
        return self.is_production or self.base_url.startswith("https://")

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
