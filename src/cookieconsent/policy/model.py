"""The privacy policy as data.

A :class:`Policy` says who the controller is, which consent categories exist, which cookies the site
sets and in which category, which device and log data may be recorded under which category, and the
notice items Taiwan's PDPA (Art. 8) asks for. Load one from TOML with :func:`load_policy`; every
problem is reported at once, each with the field it concerns and how to fix it::

    from cookieconsent.policy.model import load_policy

    policy = load_policy("policy.toml")
    policy.allows_cookie_in("_ga")        # -> "analytics"

The :attr:`Policy.fingerprint` changes when something consent depends on changes (a category, a
cookie, a purpose, a data category, a data item or a recipient is added or changed) and stays the
same when only wording changes. Stored decisions made under another fingerprint no longer count.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
import tomllib
from collections.abc import Iterator, Mapping
from functools import cached_property
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    RootModel,
    ValidationError,
    field_validator,
    model_validator,
)

from cookieconsent.errors import PolicyError
from cookieconsent.policy import pdpa

__all__ = [
    "Category",
    "Controller",
    "CookieRule",
    "DataItem",
    "GpcSettings",
    "Notice",
    "Policy",
    "Recipient",
    "Retention",
    "Text",
    "Tracker",
    "host_source",
    "load_policy",
]

NECESSARY = "necessary"
MAX_CATEGORIES = 64
RIGHTS = ("view", "copy", "correct", "stop", "delete")

# Each pattern ends with \Z, not $: "$" also matches before a final newline, which would let a name
# such as "_ga\n" through into a Set-Cookie header.
_SLUG = re.compile(r"^[a-z][a-z0-9_]{0,31}\Z")
# RFC 6265 cookie-name token: visible ASCII except separators.
_COOKIE_NAME = re.compile(r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+\Z")
_COOKIE_PATH = re.compile(r"^/[\x21-\x3a\x3c-\x7e]*\Z")  # no CTLs, no ';', no spaces
#: Cookie name prefixes browsers enforce; a declared ``name`` also covers the name with one of them.
_PREFIXES = ("__Host-", "__Secure-")
_DOMAIN = re.compile(
    r"^\.?[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\Z"
)
_LOCALE = re.compile(r"^[a-z]{2,3}(?:-[A-Za-z0-9]{2,8})*\Z")
# A CSP host-source (CSP3 §2.3.1): [scheme "://"] host ["." …] [":" port] [path]. The host may start
# with "*." (any subdomain); a lone "*", a bare scheme and the quoted keywords are not host sources.
_HOST_SOURCE = re.compile(
    r"^(?:(?P<scheme>https?|wss?)://)?(?P<host>(?:\*\.)?[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
    r"(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*)(?::(?:[0-9]{1,5}|\*))?(?P<path>/[\x21-\x7e]*)?\Z"
)
#: Characters that would end a CSP source list or directive, or break its quoting.
_CSP_UNSAFE = frozenset(";,'\"")


def _link(value: str, name: str) -> str:
    """A link the pages may show: a path on this site or an http(s) address (never ``javascript:``)."""
    try:
        parts = urlsplit(value)
        web = parts.scheme in ("http", "https") and bool(parts.netloc)
        local = not parts.scheme and not parts.netloc and value.startswith("/")
    except ValueError:  # an unclosed IPv6 bracket, a bad port
        web = local = False
    if not (web or local) or any(c.isspace() or not c.isprintable() for c in value):
        raise ValueError(
            f"{name} {value!r} must be a path such as '/privacy' or an address such as 'https://example.com'"
        )
    return value


def host_source(value: str) -> str:
    """``value`` as a CSP host-source expression, scheme and host lower-cased; ``ValueError`` if it is not one.

    Accepted: ``www.example.com``, ``*.example.com``, ``https://cdn.example.com``, with a port
    (``:8443``) or a path (``/embed/``) if needed. Refused, each with the reason: anything that
    would allow every host (``*``, ``https:``), the quoted keywords (``'self'`` is always allowed),
    and text that is not a host.
    """
    text = value.strip()
    lowered = text.lower()
    if text in ("*", "*.*") or re.fullmatch(r"[a-z][a-z0-9+.-]*:(//\*?)?", lowered):
        raise ValueError(
            f"host {value!r} would allow every host; name the hosts, e.g. 'www.example.com' or '*.example.com'"
        )
    if text.startswith("'"):
        raise ValueError(
            f"host {value!r} is a keyword, not a host; this site ('self') is always allowed, so list only other hosts"
        )
    scheme, sep, rest = lowered.partition("://")
    candidate = f"{scheme}{sep}{rest.split('/', 1)[0]}" if sep else lowered.split("/", 1)[0]
    path = text[len(candidate) :]  # the path keeps its case: CSP compares paths exactly
    match = _HOST_SOURCE.match(candidate + path)
    if match is None or any(c in _CSP_UNSAFE for c in path):
        raise ValueError(
            f"host {value!r} is not a CSP host-source; write a host such as 'www.example.com', "
            "'*.example.com' or 'https://cdn.example.com'"
        )
    if match["host"].startswith("*.") and "." not in match["host"][2:]:
        raise ValueError(f"host {value!r} covers a whole top-level domain; name the site, e.g. '*.example.com'")
    return candidate + path


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Text(RootModel[dict[str, str]]):
    """A text in several languages: ``{en = "Analytics", "zh-TW" = "分析"}``.

    A plain string stands for the same text in every language (useful for names such as "Google").
    """

    model_config = ConfigDict(frozen=True)

    @model_validator(mode="before")
    @classmethod
    def _plain_string(cls, value: Any) -> Any:
        if isinstance(value, str):
            return {"*": value}
        return value

    @field_validator("root")
    @classmethod
    def _check(cls, value: dict[str, str]) -> dict[str, str]:
        if not value:
            raise ValueError('a text needs at least one language, e.g. {en = "…", "zh-TW" = "…"}')
        for locale, text in value.items():
            if locale != "*" and not _LOCALE.match(locale):
                raise ValueError(f"{locale!r} is not a language tag; use tags such as 'en' or 'zh-TW'")
            if not text.strip():
                raise ValueError(f"the {locale!r} text is empty; write the text or leave the language out")
        return value

    def get(self, locale: str) -> str:
        """Return the text in ``locale``, else in its base language, else the first one given."""
        texts = self.root
        if locale in texts:
            return texts[locale]
        base = locale.split("-", 1)[0]
        for key, text in texts.items():
            if key.split("-", 1)[0] == base:
                return text
        return texts.get("*") or next(iter(texts.values()))

    def locales(self) -> set[str]:
        """The languages this text is written in (``*`` means every one)."""
        return set(self.root)


class Controller(_Model):
    """Who is responsible for the processing (PDPA Art. 8(1)(1))."""

    name: Text
    email: str
    address: Text | None = None
    phone: str | None = None
    url: str | None = None

    @field_validator("url")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        return None if value is None else _link(value, "url")


class Category(_Model):
    """A consent category such as ``analytics``.

    Attributes:
        id: A short lowercase name, used in markup (``data-category="analytics"``) and the API.
        required: Only ``necessary`` is required: it is always on and cannot be refused.
        gpc: Whether a Global Privacy Control signal refuses this category (sale, sharing and
            targeted advertising: ``marketing`` by default).
        legal_basis: ``consent`` for every optional category; ``necessary`` for the required one.
        hosts: The third-party hosts the category's scripts, frames and pixels load from, as CSP
            host-source expressions (``www.example.com``, ``*.example.com``,
            ``https://cdn.example.com``): a page's Content-Security-Policy allows them only while the
            category is in force (see :mod:`cookieconsent.core.csp`).
    """

    id: str
    title: Text
    description: Text
    required: bool = False
    gpc: bool = False
    legal_basis: str | None = None
    hosts: tuple[Annotated[str, AfterValidator(host_source)], ...] = ()

    @field_validator("id")
    @classmethod
    def _id(cls, value: str) -> str:
        if not _SLUG.match(value):
            raise ValueError(
                f"{value!r} is not a valid category id; use lowercase letters, digits and '_', "
                "starting with a letter (e.g. 'analytics')"
            )
        return value

    @field_validator("hosts")
    @classmethod
    def _hosts(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(dict.fromkeys(value))  # each once, in order (each checked by host_source)

    @field_validator("legal_basis")
    @classmethod
    def _basis(cls, value: str | None) -> str | None:
        if value is None:
            return None
        normalised = value.strip().lower().replace(" ", "_").replace("-", "_")
        if normalised in {"legitimate_interest", "legitimate_interests"}:
            raise ValueError(
                "legitimate interest cannot justify storing or reading cookies on a device "
                "(ePrivacy Art. 5(3)); use 'consent', or move the cookie to 'necessary' if it is "
                "strictly necessary for the service the visitor asked for"
            )
        if normalised not in {"consent", "necessary"}:
            raise ValueError(f"unknown legal basis {value!r}; use 'consent' or 'necessary'")
        return normalised

    @model_validator(mode="after")
    def _basis_fits(self) -> Category:
        expected = "necessary" if self.required else "consent"
        if self.legal_basis is None:
            object.__setattr__(self, "legal_basis", expected)
        elif self.legal_basis != expected:
            raise ValueError(
                f"legal_basis {self.legal_basis!r} does not fit {'a required' if self.required else 'an optional'} "
                f"category; use {expected!r}"
            )
        return self


class CookieRule(_Model):
    """A declared cookie: an exact ``name`` or a ``pattern`` with ``*`` wildcards (``_ga_*``).

    ``path`` and ``domain`` must be the ones the cookie is set with: a cookie can only be expired
    with the same Path and Domain.
    """

    name: str | None = None
    pattern: str | None = None
    category: str
    purpose: Text
    provider: Text
    third_party: bool = False
    lifetime: Text
    path: str = "/"
    domain: str | None = None
    justification: Text | None = None

    @model_validator(mode="after")
    def _name_or_pattern(self) -> CookieRule:
        if (self.name is None) == (self.pattern is None):
            raise ValueError("give exactly one of 'name' (an exact cookie name) or 'pattern' (with * wildcards)")
        if self.name is not None and not _COOKIE_NAME.match(self.name):
            raise ValueError(f"{self.name!r} is not a valid cookie name (RFC 6265 token characters only)")
        if self.pattern is not None and not _COOKIE_NAME.match(self.pattern.replace("*", "x")):
            raise ValueError(f"{self.pattern!r} is not a valid cookie name pattern (token characters and '*')")
        if not _COOKIE_PATH.match(self.path):
            raise ValueError(f"path {self.path!r} must start with '/' and hold no spaces, ';' or control characters")
        if self.domain is not None and not _DOMAIN.match(self.domain):
            raise ValueError(f"domain {self.domain!r} is not a host name such as 'example.com'")
        return self

    @property
    def label(self) -> str:
        """The name or pattern, as shown in the cookie table."""
        return self.name if self.name is not None else str(self.pattern)

    @cached_property
    def _regex(self) -> re.Pattern[str]:
        return re.compile("^" + ".*".join(re.escape(part) for part in str(self.pattern).split("*")) + "$")

    def matches(self, cookie_name: str) -> bool:
        """Whether this rule declares ``cookie_name``."""
        if self.name is not None:
            return cookie_name == self.name
        return self._regex.match(cookie_name) is not None


class DataItem(_Model):
    """A kind of device or log data the recorder may collect, and the category that gates it."""

    id: str
    category: str
    description: Text
    pdpa_categories: tuple[str, ...] = ()

    @field_validator("id")
    @classmethod
    def _id(cls, value: str) -> str:
        if not _SLUG.match(value):
            raise ValueError(f"{value!r} is not a valid data item id; use lowercase letters, digits and '_'")
        return value

    @field_validator("pdpa_categories")
    @classmethod
    def _codes(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(pdpa.check_data_category(code) for code in value)


class Recipient(_Model):
    """A kind of recipient the data may be disclosed to (PDPA Art. 8(1)(4))."""

    id: str
    name: Text
    description: Text | None = None


class Notice(_Model):
    """The items of the PDPA Art. 8(1) notice, shown before any device or log data is collected.

    ``purposes`` and ``data_categories`` are official codes (``"040"``, ``"C001"``); their names come
    from the bundled table of the Ministry of Justice, so a code that does not exist fails loading.
    """

    purposes: tuple[str, ...]
    data_categories: tuple[str, ...]
    sources: Text | None = None
    period: Text
    region: Text
    recipients: tuple[Recipient, ...] = ()
    methods: Text
    rights: tuple[Literal["view", "copy", "correct", "stop", "delete"], ...] = RIGHTS  # type: ignore[assignment]
    how_to_exercise: Text
    consequences: Text
    sharing: Text | None = None
    security: Text | None = None
    revisions: Text | None = None

    @field_validator("purposes")
    @classmethod
    def _purposes(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(pdpa.check_purpose(code) for code in value)

    @field_validator("data_categories")
    @classmethod
    def _data_categories(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(pdpa.check_data_category(code) for code in value)


class Retention(_Model):
    """How long records are kept, in days, per kind of record."""

    consent_records_days: int = Field(default=180 + 3 * 365, ge=1)
    visit_records_days: int = Field(default=180, ge=1)
    event_records_days: int = Field(default=180, ge=1)
    rights_requests_days: int = Field(default=5 * 365, ge=1)


class Tracker(_Model):
    """A third-party host whose scripts, frames and pixels need consent to ``category``.

    Adds to (and may reclassify) the built-in catalog of :mod:`cookieconsent.blocking.trackers`.
    """

    host: str
    category: str
    path: str = ""
    vendor: str = ""

    @field_validator("host")
    @classmethod
    def _host(cls, value: str) -> str:
        if not _DOMAIN.match(value) or value.startswith("."):
            raise ValueError(f"{value!r} is not a host name such as 'cdn.example-analytics.com'")
        return value.lower()

    @field_validator("path")
    @classmethod
    def _path(cls, value: str) -> str:
        if value and not value.startswith("/"):
            raise ValueError(f"path {value!r} must start with '/'")
        return value


class GpcSettings(_Model):
    """Global Privacy Control: whether ``Sec-GPC: 1`` is honoured, and the date for ``gpc.json``."""

    honour: bool = True
    last_update: dt.date


def _default_categories() -> tuple[Category, ...]:
    from cookieconsent.policy.defaults import DEFAULT_CATEGORIES

    return tuple(Category.model_validate(c) for c in DEFAULT_CATEGORIES)


class Policy(_Model):
    """A site's privacy policy, as far as consent, cookies and recording are concerned."""

    version: str
    locales: tuple[str, ...] = ("en", "zh-TW")
    privacy_policy_url: str
    controller: Controller
    categories: tuple[Category, ...] = Field(default_factory=_default_categories)
    cookies: tuple[CookieRule, ...] = ()
    data_items: tuple[DataItem, ...] = ()
    trackers: tuple[Tracker, ...] = ()
    notice: Notice | None = None
    retention: Retention = Retention()
    gpc: GpcSettings

    @field_validator("privacy_policy_url")
    @classmethod
    def _privacy_url(cls, value: str) -> str:
        return _link(value, "privacy_policy_url")

    @field_validator("locales")
    @classmethod
    def _locales(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if not value:
            raise ValueError("list at least one language, e.g. locales = ['en', 'zh-TW']")
        for locale in value:
            if not _LOCALE.match(locale):
                raise ValueError(f"{locale!r} is not a language tag; use tags such as 'en' or 'zh-TW'")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> Policy:
        problems = list(self._cross_checks())
        if problems:
            raise ValueError("\n".join(problems))
        return self

    def _cross_checks(self) -> Iterator[str]:
        ids = [c.id for c in self.categories]
        valid = ", ".join(ids)
        if NECESSARY not in ids:
            yield "categories: a 'necessary' category is required; add one with required = true"
        if len(ids) > MAX_CATEGORIES:
            yield f"categories: at most {MAX_CATEGORIES} categories fit in the consent cookie; merge some"
        for i, cat in enumerate(self.categories):
            if ids.count(cat.id) > 1 and ids.index(cat.id) != i:
                yield f"categories[{i}].id: {cat.id!r} is declared twice; give each category its own id"
            if cat.required != (cat.id == NECESSARY):
                yield f"categories[{i}].required: only 'necessary' is required; set required = {cat.id == NECESSARY}"
            if cat.id == NECESSARY and cat.gpc:
                yield f"categories[{i}].gpc: GPC cannot refuse the necessary category; set gpc = false"
        seen: set[str] = set()
        for i, rule in enumerate(self.cookies):
            if rule.category not in ids:
                yield f"cookies[{i}].category: {rule.category!r} is not a category; use one of: {valid}"
            if rule.category == NECESSARY and rule.justification is None:
                yield (
                    f"cookies[{i}] ({rule.label}): a necessary cookie needs a 'justification' saying why the "
                    "service cannot work without it; add one, or move the cookie to an optional category"
                )
            if rule.label in seen:
                yield f"cookies[{i}]: {rule.label!r} is declared twice; keep one declaration"
            seen.add(rule.label)
        for i, tracker in enumerate(self.trackers):
            if tracker.category not in ids or tracker.category == NECESSARY:
                optional = ", ".join(c for c in ids if c != NECESSARY)
                yield f"trackers[{i}].category: {tracker.category!r} must be an optional category: one of {optional}"
        for i, item in enumerate(self.data_items):
            if item.category not in ids:
                yield f"data_items[{i}].category: {item.category!r} is not a category; use one of: {valid}"
            if self.notice is not None:
                for code in item.pdpa_categories:
                    if code not in self.notice.data_categories:
                        yield (
                            f"data_items[{i}].pdpa_categories: {code} is not listed in notice.data_categories; "
                            "add it there so visitors are told about it"
                        )
        if self.notice is not None:
            rids = [r.id for r in self.notice.recipients]
            for i, rid in enumerate(rids):
                if rids.index(rid) != i:
                    yield f"notice.recipients[{i}].id: {rid!r} is declared twice"
        yield from self._missing_translations()

    def _missing_translations(self) -> Iterator[str]:
        wanted = set(self.locales)

        def walk(value: object, where: str) -> Iterator[str]:
            if isinstance(value, Text):
                have = value.locales()
                if "*" not in have and not wanted <= have:
                    missing = ", ".join(sorted(wanted - have))
                    yield f"{where}: missing the {missing} text; every text needs each language in 'locales'"
            elif isinstance(value, BaseModel):
                for name in type(value).model_fields:
                    yield from walk(getattr(value, name), f"{where}.{name}" if where else name)
            elif isinstance(value, tuple):
                for i, item in enumerate(value):
                    yield from walk(item, f"{where}[{i}]")

        yield from walk(self, "")

    # -- lookups -------------------------------------------------------------------------------

    @cached_property
    def category_ids(self) -> tuple[str, ...]:
        """Every category id, in the policy's order."""
        return tuple(c.id for c in self.categories)

    @cached_property
    def optional_categories(self) -> frozenset[str]:
        """The categories a visitor can grant or refuse."""
        return frozenset(c.id for c in self.categories if not c.required)

    @cached_property
    def gpc_categories(self) -> frozenset[str]:
        """The categories a Global Privacy Control signal refuses."""
        return frozenset(c.id for c in self.categories if c.gpc)

    def category(self, category_id: str) -> Category:
        """Return the category ``category_id``; raise ``KeyError`` if there is none."""
        for cat in self.categories:
            if cat.id == category_id:
                return cat
        raise KeyError(category_id)

    @cached_property
    def _exact_cookies(self) -> Mapping[str, CookieRule]:
        return {r.name: r for r in self.cookies if r.name is not None}

    @cached_property
    def _pattern_cookies(self) -> tuple[CookieRule, ...]:
        return tuple(r for r in self.cookies if r.pattern is not None)

    def cookie_rule(self, cookie_name: str) -> CookieRule | None:
        """Return the declaration of ``cookie_name`` (exact names first), or None if undeclared.

        A declared exact name also covers the cookie set with a ``__Host-`` or ``__Secure-`` prefix
        (``ccdid`` covers ``__Host-ccdid``); a declaration of the prefixed name itself comes first.
        """
        rule = self._exact_cookies.get(cookie_name)
        if rule is not None:
            return rule
        if cookie_name.startswith(_PREFIXES):
            rule = self._exact_cookies.get(cookie_name.split("-", 1)[1])
            if rule is not None:
                return rule
        for rule in self._pattern_cookies:
            if rule.matches(cookie_name):
                return rule
        return None

    def allows_cookie_in(self, cookie_name: str) -> str | None:
        """Return the category of ``cookie_name``, or None if the policy does not declare it."""
        rule = self.cookie_rule(cookie_name)
        return rule.category if rule is not None else None

    def cookies_in(self, category_id: str) -> tuple[CookieRule, ...]:
        """The cookie declarations of one category."""
        return tuple(r for r in self.cookies if r.category == category_id)

    # -- fingerprint ---------------------------------------------------------------------------

    def material(self) -> dict[str, Any]:
        """What consent depends on, without wording: the input of :attr:`fingerprint`.

        The third-party hosts of the optional categories count (a category that gains a host loads
        from one more third party), those of ``necessary`` do not (they need no consent). A policy
        that declares none keeps the fingerprint it had before categories had hosts.
        """
        notice = self.notice
        material = {
            "categories": sorted([c.id, c.required, c.gpc] for c in self.categories),
            "cookies": sorted([r.label, r.category, r.third_party, r.path, r.domain or ""] for r in self.cookies),
            "data_items": sorted([d.id, d.category, sorted(d.pdpa_categories)] for d in self.data_items),
            "trackers": sorted([t.host, t.path, t.category] for t in self.trackers),
            "purposes": sorted(notice.purposes) if notice else [],
            "data_categories": sorted(notice.data_categories) if notice else [],
            "recipients": sorted(r.id for r in notice.recipients) if notice else [],
        }
        hosts = sorted([c.id, sorted(c.hosts)] for c in self.categories if c.hosts and not c.required)
        if hosts:
            material["category_hosts"] = hosts
        return material

    @cached_property
    def fingerprint(self) -> str:
        """A short content hash of :meth:`material`: it changes only on a material change."""
        canonical = json.dumps(self.material(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def _location(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part not in ("root",):
            out += f".{part}" if out else str(part)
    return out or "(top level)"


def _problems(error: ValidationError) -> list[str]:
    problems: list[str] = []
    for err in error.errors(include_url=False):
        where = _location(err["loc"])
        msg = err["msg"].removeprefix("Value error, ")
        if err["type"] == "missing":
            msg = "this field is required; add it"
        elif err["type"] == "extra_forbidden":
            msg = "unknown field; check its spelling against the policy reference"
        if "\n" in msg:
            problems.extend(msg.split("\n"))
        else:
            problems.append(f"{where}: {msg}" if where != "(top level)" else msg)
    return problems


def parse_policy(data: Mapping[str, Any], source: str | None = None) -> Policy:
    """Validate policy data (as read from TOML or JSON); raise :class:`PolicyError` listing the problems.

    Every field is checked at once; the checks across fields (a cookie's category exists, texts in
    every language…) run once the fields themselves are valid, so a second round may find more.
    """
    try:
        return Policy.model_validate(dict(data))
    except ValidationError as exc:
        raise PolicyError(_problems(exc), source) from None


def load_policy(path: str | Path) -> Policy:
    """Load and validate a policy from a ``.toml`` or ``.json`` file.

    Raises:
        PolicyError: if the file cannot be read or parsed, or does not validate. The message lists
            every problem with its location and fix.
    """
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise PolicyError([f"cannot read the policy file: {exc.strerror}"], str(path)) from None
    try:
        data = json.loads(raw) if path.suffix == ".json" else tomllib.loads(raw.decode("utf-8"))
    except (tomllib.TOMLDecodeError, json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise PolicyError([f"not valid {path.suffix.lstrip('.').upper() or 'TOML'}: {exc}"], str(path)) from None
    if not isinstance(data, dict):
        raise PolicyError(["the policy must be a table (a JSON object)"], str(path))
    return parse_policy(data, str(path))
