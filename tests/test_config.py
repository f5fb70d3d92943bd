"""Configuration is checked when built, with messages that say how to fix it (R22)."""

from __future__ import annotations

import pytest
from pydantic import SecretStr

from cookieconsent import ConsentConfig
from cookieconsent.errors import ConfigurationError
from cookieconsent.policy.model import Policy
from tests.harness import SECRET


def test_defaults(policy: Policy) -> None:
    config = ConsentConfig(policy=policy, secret_keys=SECRET)
    assert config.cookie_name == "__Host-consent"
    assert (config.secure, config.max_age, config.same_site, config.domain) == (True, 15_552_000, "lax", None)
    assert config.signing_keys == [SECRET]
    assert SECRET not in repr(config)
    assert SECRET not in str(config)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"max_age": 34_560_001}, "at most 34560000 seconds"),
        ({"domain": "example.com"}, "a __Host- cookie cannot have a domain"),
        ({"secure": False, "cookie_name": "__Host-x"}, "needs secure=True"),
        ({"secret_keys": ["short"]}, "at least 16 characters"),
        ({"secret_keys": []}, "at least one secret key"),
        ({"prefix": "consent/"}, "must be a path"),
        ({"trusted_origins": ["https://a.example/path"]}, "no path"),
        ({"cookie_name": "session"}, "the policy declares a cookie named 'session'"),
        ({"colour": "blue"}, "colour"),
    ],
)
def test_bad_settings_are_refused_with_the_fix(policy: Policy, options: dict[str, object], message: str) -> None:
    kwargs: dict[str, object] = {"policy": policy, "secret_keys": [SECRET], **options}
    with pytest.raises(ConfigurationError, match=message):
        ConsentConfig(**kwargs)


def test_domain_allowed_without_the_host_prefix(policy: Policy) -> None:
    config = ConsentConfig(policy=policy, secret_keys=[SECRET], cookie_name="__Secure-consent", domain="example.com")
    assert config.domain == "example.com"


def test_plain_http_development(policy: Policy) -> None:
    config = ConsentConfig(policy=policy, secret_keys=[SecretStr(SECRET)], secure=False)
    assert config.cookie_name == "consent"


def test_from_env(policy: Policy, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COOKIECONSENT_SECRET_KEYS", f"{SECRET}-old, {SECRET}-new")
    monkeypatch.setenv("COOKIECONSENT_SECURE", "0")
    config = ConsentConfig.from_env(policy)
    assert config.signing_keys == [f"{SECRET}-old", f"{SECRET}-new"]
    assert config.secure is False
    monkeypatch.delenv("COOKIECONSENT_SECRET_KEYS")
    with pytest.raises(ConfigurationError, match="COOKIECONSENT_SECRET_KEYS"):
        ConsentConfig.from_env(policy)


def test_max_body_bounds(policy: Policy) -> None:
    with pytest.raises(ConfigurationError, match="max_body"):
        ConsentConfig(policy=policy, secret_keys=[SECRET], max_body=-1)
