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
