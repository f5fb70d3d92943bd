"""The signed consent cookie, and the small cookie-header helpers the engine needs.

The consent cookie holds only a random consent id, the decisions (a bit per category), the policy
fingerprint they were made under, the decision time (the signature's timestamp) and a Global Privacy
Control flag. It is signed with itsdangerous (HMAC-SHA256, its own salt, a list of keys for rotation).
Reading never raises: a forged, malformed, expired or stale cookie reads as ``None``, "not decided".
"""

from __future__ import annotations

import enum
import hashlib
import secrets
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from itsdangerous import BadData, URLSafeTimedSerializer

__all__ = [
    "DEVICE_COOKIE",
    "DEVICE_COOKIE_AGE",
    "ConsentCodec",
    "Decision",
    "GpcFlag",
    "RequestCookies",
    "device_cookie_name",
    "expire_cookie",
    "format_cookie",
    "new_consent_id",
    "read_cookies",
    "set_cookie_name",
]

SALT = "cookieconsent.consent.v1"
#: The base name of the cookie holding the recorder's random device identifier (see
#: :func:`device_cookie_name`).
DEVICE_COOKIE = "ccdid"
#: Seconds the device identifier cookie lives (its ``Max-Age``; the cookie tables list it).
DEVICE_COOKIE_AGE = 365 * 24 * 3600
SCHEMA = 1
EXPIRED = "Thu, 01 Jan 1970 00:00:00 GMT"


class GpcFlag(enum.IntEnum):
    """How Global Privacy Control shaped a decision."""

    NONE = 0
    #: A GPC signal refused the GPC categories of this consent id; later requests keep them refused.
    OPTED_OUT = 1
    #: The visitor granted a GPC category while sending GPC, after being shown the conflict.
    OVERRIDDEN = 2


@dataclass(frozen=True, slots=True)
class Decision:
    """A visitor's stored decision.

    Args:
        consent_id: Random id of this visitor's consent (links the proof-of-consent records).
        granted: The optional categories granted; every other optional category is refused.
        revision: The policy fingerprint the decision was made under.
        decided_at: When the decision was made (Unix seconds, from the signature).
        gpc: How Global Privacy Control shaped it.
    """

    consent_id: str
    granted: frozenset[str]
    revision: str
    decided_at: float
    gpc: GpcFlag = GpcFlag.NONE


def new_consent_id() -> str:
    """A fresh random consent id (96 bits, URL-safe)."""
    return secrets.token_urlsafe(12)


class ConsentCodec:
    """Signs and reads consent cookie values.

    Decisions are encoded as a bit mask over the categories sorted by id, which the policy
    fingerprint pins: a cookie made under another fingerprint is never decoded into categories.

    Args:
        secret_keys: Oldest first; the last one signs, all verify.
        categories: The policy's optional category ids.
        revision: The policy fingerprint.
        max_age: Seconds a decision stays valid.
    """

    def __init__(self, secret_keys: Sequence[str], categories: Iterable[str], revision: str, max_age: int) -> None:
        self._serializer = URLSafeTimedSerializer(
            list(secret_keys),
            salt=SALT,
            signer_kwargs={"key_derivation": "hmac", "digest_method": hashlib.sha256},
        )
        self._order = tuple(sorted(categories))
        self._revision = revision
        self._max_age = max_age
        # A signed value maps to the same decision every time: verify each distinct value once.
        self._verify_cached = lru_cache(maxsize=4096)(self._verify_uncached)

    def dumps(self, decision: Decision) -> str:
        """Sign ``decision`` into a cookie value (its time is the signing time)."""
        mask = sum(1 << i for i, cat in enumerate(self._order) if cat in decision.granted)
        payload = [SCHEMA, decision.consent_id, decision.revision, mask, int(decision.gpc)]
        value: str = self._serializer.dumps(payload)
        return value

    def loads(self, value: str, now: float | None = None) -> Decision | None:
        """Read a cookie value; ``None`` unless it is genuine, current and made under this policy."""
        decision = self.verify(value)
        if decision is None:
            return None
        age = (time.time() if now is None else now) - decision.decided_at
        # A clock that moved backwards makes the age negative: that is not a reason to forget.
        if age > self._max_age:
            return None
        return decision

    def verify(self, value: str) -> Decision | None:
        """The decision a signed value holds, whatever its age (:meth:`loads` checks the age).

        Genuine values are far shorter than 1024 characters; longer ones are refused before the
        cache, which then only ever holds short keys.
        """
        if len(value) > 1024:
            return None
        return self._verify_cached(value)

    def _verify_uncached(self, value: str) -> Decision | None:
        try:
            payload, signed_at = self._serializer.loads(value, return_timestamp=True)
        except (BadData, ValueError, TypeError, OverflowError):
            return None
        return self._decode(payload, signed_at.timestamp())

    def _decode(self, payload: Any, signed_at: float) -> Decision | None:
        if not (isinstance(payload, list) and len(payload) == 5 and payload[0] == SCHEMA):
            return None
        _, consent_id, revision, mask, gpc = payload
        if not (isinstance(consent_id, str) and 8 <= len(consent_id) <= 64 and consent_id.isascii()):
            return None
        if revision != self._revision:
            return None
        if not (isinstance(mask, int) and not isinstance(mask, bool) and 0 <= mask < (1 << len(self._order))):
            return None
        if not (isinstance(gpc, int) and not isinstance(gpc, bool) and gpc in GpcFlag._value2member_map_):
            return None
        granted = frozenset(cat for i, cat in enumerate(self._order) if mask >> i & 1)
        return Decision(consent_id, granted, revision, signed_at, GpcFlag(gpc))


#: The longest ``Cookie`` header whose reading is remembered: longer ones are read every time, so
#: that a flood of huge headers cannot fill memory through the cache.
CACHED_HEADER = 4096


class RequestCookies:
    """A request's ``Cookie`` header, read as browsers write it (RFC 6265 §4.2.1 and §5.4).

    Browsers join cookies with ``"; "`` and nothing else: a pair's value runs to the next ``;``, so a
    comma, a space or an ``=`` is part of the value (``x=1,__Host-consent=v`` is one cookie named
    ``x``). The name is what comes before the pair's first ``=``, with spaces and tabs trimmed; a pair
    without ``=`` is a nameless cookie. A value in double quotes loses them.

    Every reader of request cookies (the consent cookie, the device id, the cookies to expire, the
    names the application's state shows) goes through this one reading.
    """

    __slots__ = ("_values", "names")

    def __init__(self, header: str) -> None:
        values: dict[str, list[str]] = {}
        for pair in header.split(";"):
            name, sep, value = pair.partition("=")
            name = name.strip(" \t")
            if not sep or not name:
                continue
            value = value.strip(" \t")
            if len(value) >= 2 and value[0] == value[-1] == '"':
                value = value[1:-1]
            values.setdefault(name, []).append(value)
        self._values = values
        #: The names of the cookies, in order, each once.
        self.names: tuple[str, ...] = tuple(values)

    def values(self, name: str) -> list[str]:
        """Every value sent for ``name``, in order (several when cookies of other paths share it)."""
        return self._values.get(name, [])

    def get(self, name: str) -> str | None:
        """The value of ``name`` if the header carries exactly one cookie of that name, else ``None``.

        A name that only one cookie may hold (a ``__Host-`` cookie has one host and one path) sent
        twice means that someone planted the second: neither is trusted.
        """
        found = self._values.get(name)
        return found[0] if found is not None and len(found) == 1 else None

    def repeated(self, names: Iterable[str]) -> list[str]:
        """Those of ``names`` that the header carries more than once, or that it hides in a value.

        ``x=1,name=v`` is one cookie ``x`` to a browser, but a parser that also splits on commas (as
        RFC 2965 ones did) reads a cookie ``name`` in it. Nobody writes that by accident: a protected
        name after a comma counts as planted, as a second cookie of that name does.
        """
        return [name for name in names if len(self._values.get(name, ())) > 1 or self._hidden(name)]

    def _hidden(self, name: str) -> bool:
        """Whether ``name=`` follows a comma inside some cookie's value."""
        key = name + "="
        for values in self._values.values():
            for value in values:
                if key in value and any(part.strip(" \t").startswith(key) for part in value.split(",")[1:]):
                    return True
        return False


def read_cookies(header: str) -> RequestCookies:
    """The cookies of a ``Cookie`` header (see :class:`RequestCookies`).

    A visitor sends the same header again and again, so headers up to :data:`CACHED_HEADER`
    characters are read once each (the last 1024 are remembered); longer ones are read every time.
    """
    if len(header) > CACHED_HEADER:
        return RequestCookies(header)
    return _read_cached(header)


_read_cached = lru_cache(maxsize=1024)(RequestCookies)


def device_cookie_name(secure: bool) -> str:
    """The device identifier cookie's name: ``__Host-ccdid`` under ``secure``, else ``ccdid``."""
    return f"__Host-{DEVICE_COOKIE}" if secure else DEVICE_COOKIE


def set_cookie_name(header_value: str) -> str:
    r"""The cookie name a ``Set-Cookie`` header value sets (``""`` if it has none).

    Browsers trim only spaces and tabs from it (RFC 6265bis §5.6), not every character ``str.strip()``
    takes for whitespace: ``session\xa0=1`` sets a cookie named ``session\xa0``, not ``session``.
    """
    pair = header_value.split(";", 1)[0]
    name, sep, _ = pair.partition("=")
    return name.strip(" \t") if sep else ""


def format_cookie(
    name: str,
    value: str,
    *,
    max_age: int | None = None,
    path: str = "/",
    domain: str | None = None,
    secure: bool = True,
    http_only: bool = True,
    same_site: str | None = "Lax",
) -> str:
    """A ``Set-Cookie`` header value. Names, paths and domains must be validated by the caller."""
    parts = [f"{name}={value}", f"Path={path}"]
    if max_age is not None:
        parts.append(f"Max-Age={max_age}")
    if domain:
        parts.append(f"Domain={domain}")
    if secure:
        parts.append("Secure")
    if http_only:
        parts.append("HttpOnly")
    if same_site:
        parts.append(f"SameSite={same_site}")
    return "; ".join(parts)


def expire_cookie(name: str, *, path: str = "/", domain: str | None = None, secure: bool = False) -> str:
    """A ``Set-Cookie`` value that deletes a cookie (RFC 6265 §3.1: same Path and Domain).

    Prefixed cookies (``__Secure-``, ``__Host-``) are only accepted with ``Secure``, so it is added;
    a ``__Host-`` cookie only ever has ``Path=/`` and no ``Domain``, so those are used for it whatever
    the declaration says (a ``ccdid`` declaration with a domain still expires ``__Host-ccdid``).
    """
    secure = secure or name.startswith(("__Secure-", "__Host-"))
    if name.startswith("__Host-"):
        path, domain = "/", None
    parts = [f"{name}=", "Max-Age=0", f"Expires={EXPIRED}", f"Path={path}"]
    if domain:
        parts.append(f"Domain={domain}")
    if secure:
        parts.append("Secure")
    return "; ".join(parts)
