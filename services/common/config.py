"""Settings: one pydantic-settings class, environment prefix GAOXIN_, shared by every process.

Each service reads the fields it needs; keeping them in one class gives one table in the README and one place
where the defaults are chosen so that no two ports collide.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# Used when GAOXIN_TALENT_PSEUDONYM_KEY is unset, outside production only (see Settings.pseudonym_key).
DEVELOPMENT_PSEUDONYM_KEY = "development-only-talent-pseudonym-key-do-not-use"
MIN_PSEUDONYM_KEY_LENGTH = 32
# An operator-chosen admin key is stored as one unsalted SHA-256 (services/gateway/domain/keys.py): it must be long
# enough that guessing it is hopeless.
MIN_BOOTSTRAP_ADMIN_KEY_LENGTH = 24

ServiceName = Literal["indicators", "rewards", "talent", "gateway"]
DOMAIN_SERVICES: tuple[ServiceName, ...] = ("indicators", "rewards", "talent")
ALL_SERVICES: tuple[ServiceName, ...] = (*DOMAIN_SERVICES, "gateway")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="GAOXIN_", extra="ignore")

    environment: Literal["development", "production"] = "development"
    data_dir: Path = Field(Path(".data"), description="SQLite files and the embedded NATS store")
    log_level: str = "INFO"
    host: str = Field("127.0.0.1", description="interface the services bind to")

    gateway_port: int = 8000
    indicators_grpc_port: int = 50151
    rewards_grpc_port: int = 50152
    talent_grpc_port: int = 50153
    indicators_metrics_port: int = 9151
    rewards_metrics_port: int = 9152
    talent_metrics_port: int = 9153

    # Where the gateway and the services find each other (host:port); default: host and port above.
    indicators_addr: str | None = None
    rewards_addr: str | None = None
    talent_addr: str | None = None

    # Per-service database URLs; default: a SQLite file per service under data_dir.
    indicators_database_url: str | None = None
    rewards_database_url: str | None = None
    talent_database_url: str | None = None
    gateway_database_url: str | None = None

    nats_url: str | None = Field(None, description="external NATS; unset: the embedded nats-server")
    embedded_nats_port: int = 4333
    # Replicas of each JetStream stream the services declare: 1 for a single nats-server, 3 on a 3-node cluster.
    nats_stream_replicas: int = Field(1, ge=1, le=5)

    bootstrap_admin_key: SecretStr | None = None
    demo_data: bool = False
    grpc_deadline_seconds: float = 5.0
    rate_limit_per_minute: int = Field(6000, ge=1, description="default quota of an API key per minute")
    max_body_bytes: int = Field(64 * 1024 * 1024, ge=1024, description="larger request bodies get 413")
    webhooks_allow_private_targets: bool = Field(
        False, description="let webhooks target loopback, link-local and private addresses (tests, labs)"
    )
    # With the defaults a delivery is retried for 26.7 to 53.4 hours before it is `failed` (a portal's maintenance
    # day): delays 5 s doubling, capped at 6 h (domain/webhooks.py RETRY_CAP_SECONDS), each jittered in [c/2, c].
    webhook_retry_base_seconds: float = Field(5.0, gt=0, description="first retry delay; doubles per attempt")
    webhook_max_attempts: int = Field(21, ge=1, description="attempts before a delivery is failed")
    webhook_timeout_seconds: float = Field(10.0, gt=0)
    outbox_poll_seconds: float = 1.0
    # How long the gateway keeps serving after SIGTERM/SIGINT with /readyz answering 503, so that a load balancer
    # polling it stops sending traffic before the listener closes.
    shutdown_drain_seconds: float = Field(1.0, ge=0, le=60, description="gateway: ready 503 but serving after SIGTERM")
    # Key of the HMAC that turns applicant identifiers into pseudonyms (the talent service alone needs it, so only
    # its pods get the Secret). Changing it unlinks every later decision from the earlier ones about one person.
    talent_pseudonym_key: SecretStr | None = None

    @field_validator("bootstrap_admin_key")
    @classmethod
    def _bootstrap_admin_key_long_enough(cls, key: SecretStr | None) -> SecretStr | None:
        # Checked here, not when the gateway starts: `gaoxin up` then refuses before it starts anything.
        if key is not None and len(key.get_secret_value()) < MIN_BOOTSTRAP_ADMIN_KEY_LENGTH:
            raise ValueError(f"must be at least {MIN_BOOTSTRAP_ADMIN_KEY_LENGTH} characters")
        return key

    @model_validator(mode="after")
    def _refuse_defaults_in_production(self) -> Settings:
        if self.environment == "production":
            missing = [
                name
                for name in ("indicators", "rewards", "talent", "gateway")
                if getattr(self, f"{name}_database_url") is None
            ]
            if missing or self.nats_url is None:
                raise ValueError(
                    "production needs explicit GAOXIN_<SERVICE>_DATABASE_URL for "
                    f"{missing or 'every service'} and GAOXIN_NATS_URL"
                )
            if self.talent_pseudonym_key is not None:
                _check_pseudonym_key(self.talent_pseudonym_key.get_secret_value())
        return self

    def pseudonym_key(self) -> bytes:
        """The talent service's HMAC key: the configured one; outside production, a development key if none is set.

        Checked when the talent service starts, not in every process, so that the others need not hold it.
        """
        if self.talent_pseudonym_key is not None:
            return self.talent_pseudonym_key.get_secret_value().encode()
        if self.environment == "production":
            _check_pseudonym_key("")
        return DEVELOPMENT_PSEUDONYM_KEY.encode()

    @property
    def resolved_nats_url(self) -> str:
        return self.nats_url or f"nats://127.0.0.1:{self.embedded_nats_port}"

    def database_url(self, service: ServiceName) -> str:
        url: str | None = getattr(self, f"{service}_database_url")
        return url or f"sqlite:///{(self.data_dir / f'{service}.db').resolve()}"

    def grpc_port(self, service: ServiceName) -> int:
        port: int = getattr(self, f"{service}_grpc_port")
        return port

    def metrics_port(self, service: ServiceName) -> int:
        port: int = getattr(self, f"{service}_metrics_port")
        return port

    def grpc_addr(self, service: ServiceName) -> str:
        addr: str | None = getattr(self, f"{service}_addr")
        return addr or f"127.0.0.1:{self.grpc_port(service)}"


def describe_settings_error(exc: ValidationError) -> str:
    """One line naming each refused setting by its environment variable, without the value (it may be a secret)."""
    problems = []
    for error in exc.errors(include_url=False, include_input=False):
        message = str(error["msg"]).removeprefix("Value error, ")
        field = ".".join(str(part) for part in error["loc"])
        problems.append(f"GAOXIN_{field.upper()}: {message}" if field else message)
    return "invalid settings: " + "; ".join(problems)


def _check_pseudonym_key(key: str) -> None:
    if key == DEVELOPMENT_PSEUDONYM_KEY or len(key) < MIN_PSEUDONYM_KEY_LENGTH:
        raise ValueError(
            f"production needs its own GAOXIN_TALENT_PSEUDONYM_KEY of at least {MIN_PSEUDONYM_KEY_LENGTH} characters "
            "(e.g. `python -c 'import secrets; print(secrets.token_urlsafe(48))'`)"
        )
