"""Settings from env (bad values name the variable) and credentials that never print secrets."""

from __future__ import annotations

import pytest

from shared.config import DEFAULT_STATE, Credentials, Settings, credentials_from, get_settings, reset_settings
from shared.errors import ConfigError
from shared.runtime import FCCredentials, make_local_context


def test_defaults() -> None:
    s = Settings.from_env({})
    assert s.state == DEFAULT_STATE == "sqlite:////tmp/image-relay/ledger.db"
    assert (s.policy, s.endpoint, s.log_level) == (None, None, "INFO")
    assert (s.retry_base_seconds, s.retry_max_attempts) == (0.5, 6)


def test_all_values_read() -> None:
    s = Settings.from_env(
        {
            "IMAGE_RELAY_POLICY": "/etc/policy.yaml",
            "IMAGE_RELAY_STATE": "memory://",
            "IMAGE_RELAY_ENDPOINT": "http://127.0.0.1:8000/",
            "IMAGE_RELAY_LOG_LEVEL": "debug",
            "IMAGE_RELAY_RETRY_BASE_SECONDS": "0.01",
            "IMAGE_RELAY_RETRY_MAX_ATTEMPTS": "3",
            "UNRELATED": "ignored",
        }
    )
    assert s.policy == "/etc/policy.yaml" and s.state == "memory://"
    assert s.endpoint == "http://127.0.0.1:8000" and s.log_level == "DEBUG" and s.log_level_number == 10
    assert (s.retry_base_seconds, s.retry_max_attempts) == (0.01, 3)


@pytest.mark.parametrize(
    ("var", "value"),
    [
        ("IMAGE_RELAY_STATE", "sqlite://relative.db"),
        ("IMAGE_RELAY_STATE", "redis://host"),
        ("IMAGE_RELAY_STATE", "  "),
        ("IMAGE_RELAY_ENDPOINT", "127.0.0.1 8000"),
        ("IMAGE_RELAY_ENDPOINT", "ftp://127.0.0.1:21"),
        ("IMAGE_RELAY_LOG_LEVEL", "LOUD"),
        ("IMAGE_RELAY_RETRY_BASE_SECONDS", "fast"),
        ("IMAGE_RELAY_RETRY_BASE_SECONDS", "0"),
        ("IMAGE_RELAY_RETRY_MAX_ATTEMPTS", "many"),
        ("IMAGE_RELAY_RETRY_MAX_ATTEMPTS", "0"),
    ],
)
def test_bad_value_names_the_env_var(var: str, value: str) -> None:
    with pytest.raises(ConfigError) as err:
        Settings.from_env({var: value})
    assert err.value.field == var
    assert str(err.value).startswith(var)


def test_require_policy() -> None:
    with pytest.raises(ConfigError) as err:
        Settings.from_env({}).require_policy()
    assert err.value.field == "IMAGE_RELAY_POLICY"
    assert Settings.from_env({"IMAGE_RELAY_POLICY": "p.yaml"}).require_policy() == "p.yaml"


def test_get_settings_is_cached_until_reset(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IMAGE_RELAY_STATE", "memory://")
    reset_settings()
    first = get_settings()
    monkeypatch.setenv("IMAGE_RELAY_STATE", "/tmp/other.db")
    assert get_settings() is first
    reset_settings()
    assert get_settings().state == "/tmp/other.db"
    reset_settings()


def test_credentials_repr_and_str_hide_secret_and_token() -> None:
    creds = Credentials(access_key_id="LTAIexample", access_key_secret="very-secret-1", security_token="sts-tok-1")
    for text in (repr(creds), str(creds), f"{creds}", repr([creds])):
        assert "very-secret-1" not in text and "sts-tok-1" not in text
        assert "LTAIexample" in text
    with pytest.raises(Exception):  # noqa: B017 - frozen model: any mutation error will do
        creds.access_key_id = "x"  # type: ignore[misc]


def test_credentials_prefer_fc_context() -> None:
    ctx = make_local_context("f", credentials=FCCredentials("ctx-id", "ctx-secret", "ctx-token"))
    env = {"ALIBABA_CLOUD_ACCESS_KEY_ID": "env-id", "ALIBABA_CLOUD_ACCESS_KEY_SECRET": "env-secret"}
    creds = credentials_from(ctx, env)
    assert (creds.access_key_id, creds.access_key_secret, creds.security_token) == (
        "ctx-id", "ctx-secret", "ctx-token",
    )


def test_credentials_fall_back_to_env() -> None:
    env = {
        "ALIBABA_CLOUD_ACCESS_KEY_ID": "env-id",
        "ALIBABA_CLOUD_ACCESS_KEY_SECRET": "env-secret",
        "ALIBABA_CLOUD_SECURITY_TOKEN": "env-token",
    }
    creds = credentials_from(make_local_context("f"), env)
    assert (creds.access_key_id, creds.access_key_secret, creds.security_token) == (
        "env-id", "env-secret", "env-token",
    )
    assert credentials_from(None, {k: v for k, v in env.items() if "TOKEN" not in k}).security_token is None


@pytest.mark.parametrize(
    ("env", "field"),
    [
        ({}, "ALIBABA_CLOUD_ACCESS_KEY_ID"),
        ({"ALIBABA_CLOUD_ACCESS_KEY_ID": "id"}, "ALIBABA_CLOUD_ACCESS_KEY_SECRET"),
    ],
)
def test_missing_credentials_name_the_var(env: dict[str, str], field: str) -> None:
    with pytest.raises(ConfigError) as err:
        credentials_from(None, env)
    assert err.value.field == field


def test_a_relative_policy_path_is_resolved_against_fc_func_code_path(tmp_path, monkeypatch):
    # GIVEN the policy inside the unpacked code package and FC's FC_FUNC_CODE_PATH (issue #11)
    from shared.config import resolve_code_path
    from shared.wiring import policy_from, reset_wiring

    (tmp_path / "policy.yml").write_text("copy_rules: []\n")
    monkeypatch.setenv("FC_FUNC_CODE_PATH", str(tmp_path))
    monkeypatch.chdir("/")
    reset_wiring()
    # WHEN the template's relative IMAGE_RELAY_POLICY is read THEN it is found under the code path
    assert resolve_code_path("policy.yml") == str(tmp_path / "policy.yml")
    assert policy_from(Settings.from_env({"IMAGE_RELAY_POLICY": "policy.yml"})).copy_rules == []
    assert resolve_code_path("/abs/policy.yml") == "/abs/policy.yml"
    monkeypatch.delenv("FC_FUNC_CODE_PATH")
    assert resolve_code_path("policy.yml") == "policy.yml"
