"""Settings refused before anything starts, in one line that names the setting and never shows its value."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from services.common.config import MIN_BOOTSTRAP_ADMIN_KEY_LENGTH, Settings, describe_settings_error


@pytest.mark.parametrize("key", ["", "x" * (MIN_BOOTSTRAP_ADMIN_KEY_LENGTH - 1)])
def test_a_short_bootstrap_admin_key_is_refused_in_one_line_naming_the_setting_not_the_value(key: str) -> None:
    with pytest.raises(ValidationError) as refused:
        Settings(bootstrap_admin_key=key)  # type: ignore[arg-type]
    message = describe_settings_error(refused.value)
    minimum = MIN_BOOTSTRAP_ADMIN_KEY_LENGTH
    assert message == f"invalid settings: GAOXIN_BOOTSTRAP_ADMIN_KEY: must be at least {minimum} characters"
    assert "\n" not in message


def test_a_bootstrap_admin_key_of_the_minimum_length_is_accepted() -> None:
    key = "k" * MIN_BOOTSTRAP_ADMIN_KEY_LENGTH
    settings = Settings(bootstrap_admin_key=key)  # type: ignore[arg-type]
    assert settings.bootstrap_admin_key is not None and settings.bootstrap_admin_key.get_secret_value() == key


def refusal(**values: object) -> str:
    with pytest.raises(ValidationError) as refused:
        Settings(**values)  # type: ignore[arg-type]
    message = describe_settings_error(refused.value)
    assert "\n" not in message
    return message


@pytest.mark.parametrize("port", [0, -1, 65536, 70000])
def test_a_port_outside_1_to_65535_is_refused_naming_the_setting(port: int) -> None:
    bound = "greater than or equal to 1" if port < 1 else "less than or equal to 65535"
    assert refusal(gateway_port=port) == f"invalid settings: GAOXIN_GATEWAY_PORT: Input should be {bound}"
    assert refusal(rewards_metrics_port=port).startswith("invalid settings: GAOXIN_REWARDS_METRICS_PORT: ")
    assert refusal(embedded_nats_port=port).startswith("invalid settings: GAOXIN_EMBEDDED_NATS_PORT: ")


def test_two_settings_with_one_port_are_refused_naming_both() -> None:
    assert refusal(embedded_nats_port=8000) == (
        "invalid settings: two servers cannot listen on one port: "
        "GAOXIN_GATEWAY_PORT and GAOXIN_EMBEDDED_NATS_PORT are both 8000"
    )
    assert refusal(indicators_metrics_port=9000, talent_grpc_port=9000, rewards_metrics_port=9000) == (
        "invalid settings: two servers cannot listen on one port: GAOXIN_INDICATORS_METRICS_PORT, "
        "GAOXIN_REWARDS_METRICS_PORT and GAOXIN_TALENT_GRPC_PORT are all 9000"
    )


def test_the_embedded_nats_port_may_be_anything_when_an_external_nats_is_used() -> None:
    settings = Settings(nats_url="nats://nats:4222", embedded_nats_port=8000)  # type: ignore[arg-type]
    assert "GAOXIN_EMBEDDED_NATS_PORT" not in settings.listen_ports()
    assert len(set(Settings().listen_ports().values())) == 8


@pytest.mark.parametrize("setting", ["outbox_poll_seconds", "grpc_deadline_seconds"])
@pytest.mark.parametrize("value", [0, -5])
def test_a_period_of_zero_or_less_is_refused(setting: str, value: float) -> None:
    assert refusal(**{setting: value}) == f"invalid settings: GAOXIN_{setting.upper()}: Input should be greater than 0"


def test_an_unknown_log_level_is_refused_and_a_known_one_is_taken_in_any_case() -> None:
    assert refusal(log_level="LOUD") == (
        "invalid settings: GAOXIN_LOG_LEVEL: must be one of DEBUG, INFO, WARNING, ERROR, CRITICAL (any case)"
    )
    assert Settings(log_level="debug").log_level == "DEBUG"


@pytest.mark.parametrize("url", ["mysql://user:s3cret@db/gx", "postgres://user:s3cret@db/gx", "db.sqlite", "x"])
def test_a_database_url_other_than_sqlite_or_postgresql_is_refused_without_showing_it(url: str) -> None:
    message = refusal(rewards_database_url=url)
    assert message.startswith("invalid settings: GAOXIN_REWARDS_DATABASE_URL: unsupported database ")
    assert message.endswith(": use sqlite:///<file> or postgresql://<host>/<database>")
    assert "s3cret" not in message
    for accepted in (
        "sqlite:///tmp/x.db",
        "postgresql://u:p@db/gx",
        "postgresql+psycopg://db/gx",
        "sqlite+pysqlite:///x.db",
    ):
        assert Settings(rewards_database_url=accepted).database_url("rewards") == accepted  # type: ignore[arg-type]


@pytest.mark.parametrize("url", ["http://nats:4222", "nats:4222", "nats://", "nats://host:notaport", "localhost"])
def test_a_nats_url_that_is_not_nats_or_tls_is_refused(url: str) -> None:
    assert refusal(nats_url=url) == (
        "invalid settings: GAOXIN_NATS_URL: must be nats://<host>[:<port>] or tls://<host>[:<port>]"
    )
    for accepted in ("nats://nats:4222", "tls://nats.example.org:4222", "nats://user:pass@127.0.0.1"):
        assert Settings(nats_url=accepted).resolved_nats_url == accepted  # type: ignore[arg-type]


PRODUCTION_URLS = {
    **{f"{s}_database_url": f"postgresql://db/gx_{s}" for s in ("indicators", "rewards", "talent", "gateway")},
    "nats_url": "nats://nats:4222",
}


@pytest.mark.parametrize("empty", sorted(PRODUCTION_URLS))
def test_production_refuses_an_empty_url_as_it_refuses_an_unset_one(empty: str) -> None:
    assert refusal(environment="production", **{**PRODUCTION_URLS, empty: ""}) == (
        f"invalid settings: production needs explicit (non-empty) GAOXIN_{empty.upper()}"
    )


def test_production_names_every_missing_url_in_plain_words() -> None:
    assert refusal(environment="production") == (
        "invalid settings: production needs explicit (non-empty) GAOXIN_INDICATORS_DATABASE_URL, "
        "GAOXIN_REWARDS_DATABASE_URL, GAOXIN_TALENT_DATABASE_URL, GAOXIN_GATEWAY_DATABASE_URL, GAOXIN_NATS_URL"
    )


def test_in_development_an_empty_url_or_key_means_its_default() -> None:
    empty = Settings(  # type: ignore[call-arg]
        data_dir="/srv/gx", rewards_database_url="", nats_url="", talent_addr="", talent_pseudonym_key=""
    )
    assert empty.database_url("rewards") == "sqlite:////srv/gx/rewards.db"
    assert empty.nats_url is None and empty.resolved_nats_url == "nats://127.0.0.1:4333"
    assert empty.grpc_addr("talent") == "127.0.0.1:50153"
    assert empty.pseudonym_key() == Settings().pseudonym_key()


def test_settings_are_refused_the_same_way_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GAOXIN_GATEWAY_PORT", "70000")
    monkeypatch.setenv("GAOXIN_GATEWAY_DATABASE_URL", "")
    assert refusal() == "invalid settings: GAOXIN_GATEWAY_PORT: Input should be less than or equal to 65535"
