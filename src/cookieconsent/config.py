"""Configuration: the policy to enforce, the signing keys and the consent cookie's options.

::

    from cookieconsent import ConsentConfig, load_policy

    config = ConsentConfig(
        policy=load_policy("policy.toml"),
        secret_keys=["an-old-key-still-accepted", "the-current-key"],  # oldest first
    )

Every setting is checked when the config is built; a setting that cannot work raises
:class:`~cookieconsent.errors.ConfigurationError` with a sentence saying how to fix it.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator, model_validator

from cookieconsent.core.request import RequestView
from cookieconsent.errors import ConfigurationError
from cookieconsent.policy.model import _DOMAIN, Policy, load_policy

__all__ = ["MAX_COOKIE_AGE", "ConsentConfig"]

#: The longest lifetime browsers keep a cookie (RFC 6265bis: 400 days).
MAX_COOKIE_AGE = 34_560_000
#: Default lifetime of a decision: 180 days, for "accept" and "reject" alike.
DEFAULT_MAX_AGE = 180 * 24 * 3600
_MIN_KEY_LENGTH = 16
_PREFIX = re.compile(r"^/[A-Za-z0-9._~\-/]*[A-Za-z0-9._~\-]\Z")  # \Z: "$" would let a final newline through


class ConsentConfig(BaseModel):
    """Everything the middleware needs, fixed when the app starts.

    Attributes:
        policy: The policy to enforce (see :func:`cookieconsent.load_policy`).
        secret_keys: Keys that sign the consent cookie, oldest first; the last one signs, all of them
            verify. Rotate by appending a new key, then drop the oldest once its cookies have expired.
        secure: Send the cookie only over HTTPS (``Secure``) with the ``__Host-`` prefix. Turn off only
            for plain-HTTP development; the cookie name then loses its prefix.
        cookie_name: The consent cookie's name; defaults to ``__Host-consent`` (``consent`` when not
            ``secure``).
        max_age: Lifetime of a decision in seconds (default 180 days; at most 400 days).
        same_site: ``lax`` (default) or ``strict``.
        domain: Share the cookie with subdomains. Not allowed with the ``__Host-`` prefix.
        prefix: Where the endpoints live (default ``/_consent``).
        trusted_origins: Other origins allowed to post decisions (``https://www.example.com``).
        max_body: Largest request body the endpoints read, in bytes (default 16 KiB).
        events_per_minute: The most beacon events (``POST {prefix}/events``) one device may send per
            minute, counted in each process on its own; more get 429. 0 is no limit.
        locale_selector: A callable that picks the visitor's language from the request (return
            ``None`` to fall back to ``Accept-Language``).
        warn_undeclared: Log a warning, once per name, for cookies the policy does not declare.
        csp: Send a Content-Security-Policy built from the consent in force with every rewritten
            page: ``off`` (default), ``report-only`` (browsers report what it would block) or
            ``enforce`` (browsers block it). See :mod:`cookieconsent.core.csp`.
    """

    model_config = ConfigDict(frozen=True, extra="forbid", arbitrary_types_allowed=True)

    policy: Policy
    secret_keys: tuple[SecretStr, ...]
    secure: bool = True
    cookie_name: str = ""
    max_age: int = DEFAULT_MAX_AGE
    same_site: Literal["lax", "strict"] = "lax"
    domain: str | None = None
    prefix: str = "/_consent"
    trusted_origins: tuple[str, ...] = ()
    max_body: int = Field(default=16 * 1024, ge=1024, le=1024 * 1024)
    events_per_minute: int = Field(default=120, ge=0)
    locale_selector: Callable[[RequestView], str | None] | None = None
    warn_undeclared: bool = True
    csp: Literal["off", "report-only", "enforce"] = "off"

    def __init__(self, **data: Any) -> None:
        keys = data.get("secret_keys")
        if isinstance(keys, str | SecretStr):
            data["secret_keys"] = (keys,)
        try:
            super().__init__(**data)
        except ValidationError as exc:
            lines = []
            for err in exc.errors(include_url=False):
                where = ".".join(str(p) for p in err["loc"])
                msg = err["msg"].removeprefix("Value error, ")
                lines.append(f"{where}: {msg}" if where else msg)
            raise ConfigurationError("; ".join(lines)) from None

    @field_validator("secret_keys")
    @classmethod
    def _keys(cls, value: tuple[SecretStr, ...]) -> tuple[SecretStr, ...]:
        if not value:
            raise ValueError("give at least one secret key, e.g. secrets.token_urlsafe(32)")
        for key in value:
            if len(key.get_secret_value()) < _MIN_KEY_LENGTH:
                raise ValueError(
                    f"a secret key must be at least {_MIN_KEY_LENGTH} characters long; "
                    "generate one with: python -c 'import secrets; print(secrets.token_urlsafe(32))'"
                )
        return value

    @field_validator("max_age")
    @classmethod
    def _max_age(cls, value: int) -> int:
        if value > MAX_COOKIE_AGE:
            raise ValueError(f"max_age may be at most {MAX_COOKIE_AGE} seconds (400 days); browsers cap it there")
        if value < 60:
            raise ValueError("max_age must be at least 60 seconds")
        return value

    @field_validator("prefix")
    @classmethod
    def _prefix(cls, value: str) -> str:
        if not _PREFIX.match(value):
            raise ValueError(f"prefix {value!r} must be a path such as '/_consent' (no trailing slash)")
        return value

    @field_validator("domain")
    @classmethod
    def _domain(cls, value: str | None) -> str | None:
        if value is not None and not _DOMAIN.match(value):
            raise ValueError(
                f"domain {value!r} must be a host name such as 'example.com' (no scheme, port, path, spaces or ';')"
            )
        return value

    @field_validator("trusted_origins")
    @classmethod
    def _origins(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for origin in value:
            if not re.match(r"^https?://[^/\s]+\Z", origin):
                raise ValueError(f"trusted origin {origin!r} must look like 'https://www.example.com' (no path)")
        return tuple(o.lower() for o in value)

    @model_validator(mode="after")
    def _cookie(self) -> ConsentConfig:
        name = self.cookie_name or ("__Host-consent" if self.secure else "consent")
        object.__setattr__(self, "cookie_name", name)
        if not re.match(r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+\Z", name):
            raise ValueError(f"cookie_name {name!r} is not a valid cookie name")
        if name.startswith("__Host-"):
            if not self.secure:
                raise ValueError("a __Host- cookie needs secure=True; for plain-HTTP development use another name")
            if self.domain is not None:
                raise ValueError(
                    "a __Host- cookie cannot have a domain; drop 'domain' or choose a name without __Host-"
                )
        if name.startswith("__Secure-") and not self.secure:
            raise ValueError("a __Secure- cookie needs secure=True")
        rule = self.policy.cookie_rule(name)
        if rule is not None:
            if rule.name is None or rule.name == name:
                raise ValueError(f"the policy declares a cookie named {name!r}; the consent cookie needs its own name")
            raise ValueError(
                f"the policy's cookie {rule.label!r} also covers {name!r} (a declared name covers it with a __Host- "
                "or __Secure- prefix); the consent cookie needs its own name: rename one of them"
            )
        return self

    @classmethod
    def from_env(cls, policy: Policy | str | Path | None = None, **overrides: Any) -> ConsentConfig:
        """Build a config from ``COOKIECONSENT_*`` environment variables.

        Reads ``COOKIECONSENT_SECRET_KEYS`` (comma-separated, oldest first), ``COOKIECONSENT_POLICY``
        (a path, unless ``policy`` is given) and ``COOKIECONSENT_SECURE`` (``0`` to turn off).
        """
        env = os.environ
        if policy is None:
            path = env.get("COOKIECONSENT_POLICY")
            if not path:
                raise ConfigurationError("set COOKIECONSENT_POLICY to the path of your policy file")
            policy = path
        if not isinstance(policy, Policy):
            policy = load_policy(policy)
        keys = overrides.pop("secret_keys", None)
        if keys is None:
            raw = env.get("COOKIECONSENT_SECRET_KEYS", "")
            keys = [k.strip() for k in raw.split(",") if k.strip()]
            if not keys:
                raise ConfigurationError("set COOKIECONSENT_SECRET_KEYS to one or more comma-separated keys")
        if "secure" not in overrides and "COOKIECONSENT_SECURE" in env:
            overrides["secure"] = env["COOKIECONSENT_SECURE"].strip().lower() not in {
                "0",
                "false",
                "no",
                "off",
            }
        return cls(policy=policy, secret_keys=keys, **overrides)

    @property
    def signing_keys(self) -> Sequence[str]:
        """The secret keys as plain strings, oldest first (for the signer only)."""
        return [k.get_secret_value() for k in self.secret_keys]
