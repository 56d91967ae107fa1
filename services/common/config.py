"""Settings: one pydantic-settings class, environment prefix GAOXIN_, shared by every process.

Each service reads the fields it needs; keeping them in one class gives one table in the README and one place
where the defaults are chosen so that no two ports collide.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import urlsplit

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

# A TCP port a server can listen on. 0 ("any free port") is refused: `gaoxin up`, the services' addresses and the
# banner all need to know the port in advance.
Port = Annotated[int, Field(ge=1, le=65535)]
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
# What make_engine can open: SQLite (the embedded default) and PostgreSQL (read as postgresql+psycopg).
DATABASE_DRIVERS = ("sqlite", "sqlite+pysqlite", "postgresql", "postgresql+psycopg")
NATS_SCHEMES = ("nats", "tls")
# Settings where an empty value (`export X=`, an empty ConfigMap entry) means "unset": their default in
# development, refused in production. Never a silent fallback on something else.
EMPTY_MEANS_UNSET = (
    "indicators_database_url",
    "rewards_database_url",
    "talent_database_url",
    "gateway_database_url",
    "nats_url",
    "indicators_addr",
    "rewards_addr",
    "talent_addr",
    "talent_pseudonym_key",
)


def host_port(host: str, port: int) -> str:
    """`host:port` as gRPC and URLs write it: an IPv6 address in brackets."""
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="GAOXIN_", extra="ignore")

    environment: Literal["development", "production"] = "development"
    data_dir: Path = Field(Path(".data"), description="SQLite files and the embedded NATS store")
    log_level: str = "INFO"
    host: str = Field("127.0.0.1", description="interface the services bind to")

    gateway_port: Port = 8000
    indicators_grpc_port: Port = 50151
    rewards_grpc_port: Port = 50152
    talent_grpc_port: Port = 50153
    indicators_metrics_port: Port = 9151
    rewards_metrics_port: Port = 9152
    talent_metrics_port: Port = 9153

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
    embedded_nats_port: Port = 4333
    # Replicas of each JetStream stream the services declare: 1 for a single nats-server, 3 on a 3-node cluster.
    nats_stream_replicas: int = Field(1, ge=1, le=5)

    bootstrap_admin_key: SecretStr | None = None
    demo_data: bool = False
    grpc_deadline_seconds: float = Field(5.0, gt=0, description="deadline of every gRPC call the gateway makes")
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
    # 0 or less would make every relay poll in a busy loop.
    outbox_poll_seconds: float = Field(1.0, gt=0, description="how often a relay looks for rows it was not told about")
    # How long the gateway keeps serving after SIGTERM/SIGINT with /readyz answering 503, so that a load balancer
    # polling it stops sending traffic before the listener closes.
    shutdown_drain_seconds: float = Field(1.0, ge=0, le=60, description="gateway: ready 503 but serving after SIGTERM")
    # Key of the HMAC that turns applicant identifiers into pseudonyms (the talent service alone needs it, so only
    # its pods get the Secret). Changing it unlinks every later decision from the earlier ones about one person.
    talent_pseudonym_key: SecretStr | None = None

    @field_validator(*EMPTY_MEANS_UNSET, mode="before")
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        return None if isinstance(value, str) and value == "" else value

    @field_validator("log_level")
    @classmethod
    def _known_log_level(cls, level: str) -> str:
        if level.upper() not in LOG_LEVELS:
            raise ValueError(f"must be one of {', '.join(LOG_LEVELS)} (any case)")
        return level.upper()

    @field_validator("indicators_database_url", "rewards_database_url", "talent_database_url", "gateway_database_url")
    @classmethod
    def _supported_database(cls, url: str | None) -> str | None:
        if url is None:
            return None
        # Only the scheme is named in the message: the rest of the URL may hold a password.
        driver = url.split("://", 1)[0] if "://" in url else ""
        if driver not in DATABASE_DRIVERS:
            raise ValueError(
                f"unsupported database {driver or 'URL'!r}: use sqlite:///<file> or postgresql://<host>/<database>"
            )
        return url

    @field_validator("nats_url")
    @classmethod
    def _nats_url(cls, url: str | None) -> str | None:
        if url is None:
            return None
        parts = urlsplit(url)
        try:
            port_ok = parts.port is None or parts.port > 0
        except ValueError:
            port_ok = False
        if parts.scheme not in NATS_SCHEMES or not parts.hostname or not port_ok:
            raise ValueError("must be nats://<host>[:<port>] or tls://<host>[:<port>]")
        return url

    @field_validator("bootstrap_admin_key")
    @classmethod
    def _bootstrap_admin_key_long_enough(cls, key: SecretStr | None) -> SecretStr | None:
        # Checked here, not when the gateway starts: `gaoxin up` then refuses before it starts anything.
        if key is not None and len(key.get_secret_value()) < MIN_BOOTSTRAP_ADMIN_KEY_LENGTH:
            raise ValueError(f"must be at least {MIN_BOOTSTRAP_ADMIN_KEY_LENGTH} characters")
        return key

    @model_validator(mode="after")
    def _one_port_one_server(self) -> Settings:
        by_port: dict[int, list[str]] = {}
        for setting, port in self.listen_ports().items():
            by_port.setdefault(port, []).append(setting)
        clashes = [
            f"{', '.join(names[:-1])} and {names[-1]} are {'both' if len(names) == 2 else 'all'} {port}"
            for port, names in by_port.items()
            if len(names) > 1
        ]
        if clashes:
            raise ValueError(f"two servers cannot listen on one port: {'; '.join(clashes)}")
        return self

    @model_validator(mode="after")
    def _refuse_defaults_in_production(self) -> Settings:
        if self.environment == "production":
            missing = [
                f"GAOXIN_{name.upper()}_DATABASE_URL"
                for name in ALL_SERVICES
                if getattr(self, f"{name}_database_url") is None
            ]
            if self.nats_url is None:
                missing.append("GAOXIN_NATS_URL")
            if missing:
                raise ValueError(f"production needs explicit (non-empty) {', '.join(missing)}")
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

    def listen_ports(self) -> dict[str, int]:
        """Every port a server of the platform listens on, by its environment variable (the embedded nats-server's
        only when it is used)."""
        ports = {"GAOXIN_GATEWAY_PORT": self.gateway_port}
        for service in DOMAIN_SERVICES:
            ports[f"GAOXIN_{service.upper()}_GRPC_PORT"] = self.grpc_port(service)
            ports[f"GAOXIN_{service.upper()}_METRICS_PORT"] = self.metrics_port(service)
        if self.nats_url is None:
            ports["GAOXIN_EMBEDDED_NATS_PORT"] = self.embedded_nats_port
        return ports

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
        return addr or self.local_address(self.grpc_port(service))

    @property
    def local_host(self) -> str:
        """Where a client on this machine reaches a server bound to `host`: the loopback address for the wildcard
        addresses (0.0.0.0, ::), else that host (a server bound to 10.0.0.5 alone is not on 127.0.0.1)."""
        return {"0.0.0.0": "127.0.0.1", "::": "::1"}.get(self.host, self.host)

    def local_address(self, port: int) -> str:
        """`local_host:port`, as a client connects to it."""
        return host_port(self.local_host, port)


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
