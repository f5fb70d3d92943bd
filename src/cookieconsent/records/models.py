"""The records cookieconsent keeps, as frozen pydantic models.

Three kinds of record, each carrying its own random ``id`` so that a replay (a retried batch, a
spool flushed twice) never stores it twice:

- :class:`VisitRecord`: one request's device and log data, only the items the visitor's granted
  categories allow (the recorder decides which fields to fill; empty fields are simply ``None``).
- :class:`EventRecord`: a page view or a click reported by the banner script.
- :class:`ConsentRecord`: the proof of one decision (R28). Consent records form a hash chain: each
  holds the SHA-256 of the one before it, and its own hash covers every field, so editing,
  inserting or deleting one is detected by :meth:`cookieconsent.records.Store.verify_chain` (R31).

Personal data is minimised before it reaches a model: an IP address is accepted only as a /24
(IPv4) or /48 (IPv6) network or a keyed hash (use :func:`ip_minimise`, R29), a location only as a
country and region code (R57), cookies only by name.

:class:`RightsRequest` is a data-subject request (view, copy, correct, stop, delete) with its due
date under Taiwan's PDPA (Arts. 10 and 11); :func:`extend` grants its one extension.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import ipaddress
import json
import re
import secrets
import time
import uuid
from functools import lru_cache
from typing import Annotated, Any, Final, Literal, TypeAlias

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    StringConstraints,
    TypeAdapter,
    field_validator,
    model_validator,
)

from cookieconsent.errors import ConfigurationError
from cookieconsent.records.errors import RightsRequestError

__all__ = [
    "GENESIS_HASH",
    "RIGHTS_PERIOD_DAYS",
    "ConsentRecord",
    "EventRecord",
    "Location",
    "Mechanism",
    "Record",
    "RecordKind",
    "RightKind",
    "RightsRequest",
    "UserAgent",
    "VisitRecord",
    "close_request",
    "compute_record_hash",
    "due_date",
    "extend",
    "format_time",
    "hash_notice",
    "ip_minimise",
    "new_record_id",
    "parse_record",
    "seal",
    "time_ordered_id",
]

UTC: Final = dt.UTC
#: The ``prev_hash`` of the first consent record.
GENESIS_HASH: Final = "0" * 64
#: Length, in hex digits, of a keyed IP hash (128 bits).
IP_HASH_LENGTH: Final = 32
#: Days to answer a rights request: PDPA Art. 10 (view, copy) and Art. 11 (correct, stop, delete).
RIGHTS_PERIOD_DAYS: Final[dict[str, int]] = {"view": 15, "copy": 15, "correct": 30, "stop": 30, "delete": 30}

_HEX64 = re.compile(r"^[0-9a-f]{64}$")
_OCTET = r"(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"  # no leading zeros, as ipaddress reads them
#: A dotted IPv4 address; its first three octets (with their dots) in group 1.
_IPV4 = re.compile(rf"((?:{_OCTET}\.){{3}}){_OCTET}")
_IP_HASH = re.compile(rf"^[0-9a-f]{{{IP_HASH_LENGTH}}}$")
_SLUG = re.compile(r"^[a-z][a-z0-9_]{0,31}$")
_LOCALE = re.compile(r"^[a-z]{2,3}(?:-[A-Za-z0-9]{2,8})*$")
_COUNTRY = re.compile(r"^[A-Z]{2}$")
_REGION = re.compile(r"^[A-Z]{2}-[A-Z0-9]{1,3}$")
_COOKIE_NAME = re.compile(r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]{1,256}$")

RecordKind: TypeAlias = Literal["visit", "page_view", "click"]
RightKind: TypeAlias = Literal["view", "copy", "correct", "stop", "delete"]
#: How a decision was made: the banner's three actions, a withdrawal, a Global Privacy Control
#: opt-out, and the US "Do Not Sell or Share" opt-out.
Mechanism: TypeAlias = Literal["accept_all", "reject_all", "custom", "withdraw", "gpc_opt_out", "do_not_sell_or_share"]


# -- field types ---------------------------------------------------------------------------------


def _utc(value: dt.datetime) -> dt.datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("a timestamp needs a time zone; use datetime.now(timezone.utc)")
    return value.astimezone(UTC)


def time_ordered_id(entropy: bytes, at_ms: int) -> uuid.UUID:
    """A UUID version 7 (RFC 9562): ``at_ms`` (milliseconds since the epoch), then 74 random bits.

    Ids that sort as their records were made: each new one lands at the end of a store's primary
    key index, where a random id (version 4) lands anywhere in it, and every write then touches
    pages all over a large index. They tell no more than the record's own ``at``.

    Args:
        entropy: 10 random bytes (``os.urandom(10)``).
        at_ms: The time, in whole milliseconds since the Unix epoch.
    """
    if len(entropy) < 10:
        raise ValueError(f"time_ordered_id needs 10 random bytes (os.urandom(10)), not {len(entropy)}")
    value = (at_ms & 0xFFFF_FFFF_FFFF) << 80 | int.from_bytes(entropy[:10], "big")
    return uuid.UUID(int=value & _UUID7_CLEAR | _UUID7_SET)


#: The version (7) and variant (RFC 9562) bits of a time-ordered id.
_UUID7_CLEAR = ~(0xF << 76 | 0x3 << 62) & (1 << 128) - 1
_UUID7_SET = 0x7 << 76 | 0x2 << 62


def new_record_id() -> uuid.UUID:
    """A fresh time-ordered id for a visit or event record (see :func:`time_ordered_id`)."""
    return time_ordered_id(secrets.token_bytes(10), time.time_ns() // 1_000_000)


def format_time(value: dt.datetime) -> str:
    """An aware time as records keep it: UTC, to the microsecond, ``2024-05-01T08:30:00.000000Z``.

    Text that sorts as the times do (``isoformat``: a fixed width, and a few times faster than ``strftime``).
    """
    return _utc(value).replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"


def _now() -> dt.datetime:
    return dt.datetime.now(UTC)


#: An aware datetime, kept in UTC and written as ``2024-05-01T08:30:00.000000Z`` (sortable text).
UtcDateTime = Annotated[
    dt.datetime, AfterValidator(_utc), PlainSerializer(format_time, return_type=str, when_used="json")
]


@lru_cache(maxsize=1024)  # networks and hashes only (a full address fails): a site sees the same few again and again
def _minimised_ip(value: str) -> str:
    if _IP_HASH.match(value):
        return value
    if "/" in value:
        try:
            net = ipaddress.ip_network(value, strict=True)
        except ValueError:
            pass
        else:
            if net.prefixlen <= (24 if net.version == 4 else 48):
                return str(net)
    raise ValueError(
        "an IP address must be minimised before it is recorded: ip_minimise(ip) gives its /24 (IPv4) or "
        "/48 (IPv6) network, ip_minimise(ip, 'hash', key) a keyed hash; a full address is never stored"
    )


#: A minimised IP: a network no longer than /24 (IPv4) or /48 (IPv6), or a keyed hash.
MinimisedIp = Annotated[str, AfterValidator(_minimised_ip)]
DeviceId = Annotated[str, StringConstraints(min_length=1, max_length=128)]
ConsentId = Annotated[str, StringConstraints(min_length=1, max_length=64)]
Short = Annotated[str, StringConstraints(max_length=128)]


def _storable(value: Any) -> Any:
    """Text every store can hold: NUL (PostgreSQL refuses it) and lone surrogates become U+FFFD."""
    if isinstance(value, str):
        if "\x00" in value:
            value = value.replace("\x00", "\ufffd")
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            value = "".join("\ufffd" if 0xD800 <= ord(c) <= 0xDFFF else c for c in value)
    return value


#: Text that comes from a request (a path, a beacon's fields, a rights request's details). A path
#: may hold ``%00`` and JSON may hold a lone ``\ud800``: kept as U+FFFD, so that one request can
#: never make a record that a store refuses (and that would hold up the records behind it).
Storable = BeforeValidator(_storable)
Page = Annotated[str, Storable, StringConstraints(min_length=1, max_length=2048)]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


# -- minimisation helpers ------------------------------------------------------------------------


def _parse_ip(ip: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    text = ip.strip()
    if text.startswith("[") and "]" in text:  # "[2001:db8::1]:443"
        text = text[1 : text.index("]")]
    elif text.count(":") == 1:  # "203.0.113.7:5678"
        text = text.split(":", 1)[0]
    text = text.split("%", 1)[0]  # zone id: "fe80::1%eth0"
    try:
        addr = ipaddress.ip_address(text)
    except ValueError:
        raise ValueError(f"{ip!r} is not an IP address; pass the client address, e.g. '203.0.113.7'") from None
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
        return addr.ipv4_mapped
    return addr


def ip_minimise(ip: str, mode: Literal["truncate", "hash"] = "truncate", key: bytes | None = None) -> str:
    """Minimise an IP address before it is recorded (R29).

    Args:
        ip: The client address (``203.0.113.7``, ``2001:db8::1``, ``[2001:db8::1]:443``; an
            IPv4-mapped IPv6 address counts as IPv4).
        mode: ``truncate`` keeps the network: ``203.0.113.0/24`` or ``2001:db8:1::/48``. ``hash``
            keeps an HMAC-SHA256 of the full address under ``key``, as 32 hex digits: equal
            addresses give equal hashes, and nobody without the key can reverse or test one.
        key: The secret for ``hash`` mode, at least 16 bytes. Rotating it unlinks old hashes.

    Returns:
        The minimised value, accepted by the ``ip`` fields of the record models.

    Raises:
        ValueError: ``ip`` is not an IP address, or ``mode`` is unknown.
        ConfigurationError: ``hash`` mode without a key of at least 16 bytes.
    """
    if mode == "truncate":
        plain = _IPV4.fullmatch(ip)
        if plain is not None:  # the common case, read without building address objects
            return f"{plain.group(1)}0/24"
    addr = _parse_ip(ip)
    if mode == "truncate":
        prefix = 24 if addr.version == 4 else 48
        return str(ipaddress.ip_network(f"{addr}/{prefix}", strict=False))
    if mode == "hash":
        if not key or len(key) < 16:
            raise ConfigurationError(
                "ip_minimise(..., 'hash') needs a secret key of at least 16 bytes; pass key=secrets.token_bytes(32) "
                "kept in your configuration, or use mode='truncate'"
            )
        return hmac.new(key, addr.packed, hashlib.sha256).hexdigest()[:IP_HASH_LENGTH]
    raise ValueError(f"unknown IP minimisation mode {mode!r}; use 'truncate' or 'hash'")


def hash_notice(rendered: str | bytes) -> str:
    """The SHA-256 (hex) of a notice as shown to the visitor, for :attr:`ConsentRecord.notice_hash` (R31)."""
    data = rendered.encode("utf-8") if isinstance(rendered, str) else rendered
    return hashlib.sha256(data).hexdigest()


# -- visit and event records ---------------------------------------------------------------------


class Location(_Frozen):
    """A coarse location derived from the IP address: a country, optionally a region; never finer (R57).

    Attributes:
        country: ISO 3166-1 alpha-2 code, e.g. ``TW``.
        region: ISO 3166-2 subdivision code of that country, e.g. ``TW-TPE``.
    """

    country: str
    region: str | None = None

    @field_validator("country")
    @classmethod
    def _country(cls, value: str) -> str:
        if not _COUNTRY.match(value):
            raise ValueError(f"{value!r} is not an ISO 3166-1 alpha-2 country code such as 'TW'")
        return value

    @model_validator(mode="after")
    def _region(self) -> Location:
        if self.region is not None and not (_REGION.match(self.region) and self.region[:2] == self.country):
            raise ValueError(
                f"region {self.region!r} must be an ISO 3166-2 code of country {self.country} such as "
                f"'{self.country}-XXX'; nothing finer than a region is recorded"
            )
        return self


class UserAgent(_Frozen):
    """Software and hardware read from the ``User-Agent`` header (the parsing happens in the recorder).

    ``raw`` holds the full header only when the policy says it may be kept; a consent record never
    holds it (R29).
    """

    browser: Short | None = None
    browser_version: Short | None = None
    os: Short | None = None
    os_version: Short | None = None
    device_family: Short | None = None
    device_brand: Short | None = None
    device_model: Short | None = None
    #: ``desktop``, ``mobile``, ``tablet``, ``tv``, ``console``, ``wearable``, ``bot`` or ``other``.
    device_type: Short | None = None
    raw: Annotated[str, StringConstraints(max_length=1024)] | None = None


class _Record(_Frozen):
    id: uuid.UUID = Field(default_factory=new_record_id)
    at: UtcDateTime = Field(default_factory=_now)
    device_id: DeviceId | None = None
    consent_id: ConsentId | None = None


class VisitRecord(_Record):
    """The device and log data of one request.

    Attributes:
        id: Time-ordered random id (UUID version 7); a store keeps one record per id, so replays never
            duplicate.
        at: Server time of the request (the "usage time").
        device_id: The device identifier, if the policy allows one to be kept.
        consent_id: The visitor's consent id (links the record to its proof of consent).
        page: The path requested (the recorder strips query strings that may hold personal data).
        method: HTTP method.
        status: Response status.
        duration_ms: How long the request took.
        ip: Minimised client address (see :func:`ip_minimise`).
        user_agent: Parsed software and hardware.
        cookies: The names (never the values) of the cookies the request carried.
        location: Coarse location.
        log_line: The system log line for this request, as the recorder formats it.
    """

    kind: Literal["visit"] = "visit"
    page: Page
    method: Annotated[str, StringConstraints(min_length=1, max_length=16)] = "GET"
    status: Annotated[int, Field(ge=100, le=599)] | None = None
    duration_ms: Annotated[float, Field(ge=0)] | None = None
    ip: MinimisedIp | None = None
    user_agent: UserAgent | None = None
    cookies: tuple[str, ...] = ()
    location: Location | None = None
    log_line: Annotated[str, Storable, StringConstraints(max_length=4096)] | None = None

    @field_validator("cookies")
    @classmethod
    def _cookie_names(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for name in value:
            if not _COOKIE_NAME.match(name):
                raise ValueError(f"{name[:40]!r} is not a cookie name; record the names of cookies, never their values")
        return value


class EventRecord(_Record):
    """A page view or a click, reported by the banner script.

    Attributes:
        kind: ``page_view`` or ``click``.
        page: The path of the page.
        target: For a click, what was clicked (a link's path, an element id).
    """

    kind: Literal["page_view", "click"]
    page: Page
    target: Annotated[str, Storable, StringConstraints(max_length=512)] | None = None


#: A visit or event record; ``kind`` tells which.
Record: TypeAlias = Annotated[VisitRecord | EventRecord, Field(discriminator="kind")]
_RECORD: TypeAdapter[VisitRecord | EventRecord] = TypeAdapter(Record)


def parse_record(data: str | bytes | dict[str, Any]) -> VisitRecord | EventRecord:
    """Load a visit or event record from its JSON (text or already decoded)."""
    if isinstance(data, dict):
        return _RECORD.validate_python(data)
    return _RECORD.validate_json(data)


# -- proof of consent ----------------------------------------------------------------------------


class ConsentRecord(_Frozen):
    """The proof of one consent decision (R28, R31).

    Build one with the decision's fields and hand it to
    :meth:`~cookieconsent.records.Store.append_consent`, which fills the chain fields (``seq``,
    ``prev_id``, ``prev_hash``, ``record_hash``) atomically and returns the stored record.

    Attributes:
        id: Random id; appending the same id twice stores it once.
        consent_id: The visitor's consent id.
        at: Server time of the decision (UTC).
        policy_version: The policy's ``version``.
        policy_fingerprint: The policy's material fingerprint.
        notice_hash: SHA-256 of the notice shown, in that locale (see :func:`hash_notice`).
        locale: The locale the notice was shown in.
        granted: Optional categories granted.
        refused: Optional categories refused.
        mechanism: How the decision was made.
        mode: The jurisdiction mode (``eu``, ``us`` or ``tw``).
        gpc: Whether the request carried a Global Privacy Control signal.
        ip: Minimised client address, if the configuration keeps one for proof.
        seq: Position in the chain (1, 2, …); 0 until appended.
        prev_id: The id of the record before it in the chain.
        prev_hash: The ``record_hash`` of the record before it (:data:`GENESIS_HASH` for the first).
        record_hash: SHA-256 of :meth:`canonical_json`.
    """

    id: uuid.UUID = Field(default_factory=uuid.uuid4)
    consent_id: ConsentId
    at: UtcDateTime = Field(default_factory=_now)
    policy_version: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    policy_fingerprint: Annotated[str, StringConstraints(min_length=1, max_length=128)]
    notice_hash: str
    locale: str
    granted: tuple[str, ...] = ()
    refused: tuple[str, ...] = ()
    mechanism: Mechanism
    mode: Literal["eu", "us", "tw"] = "eu"
    gpc: bool = False
    ip: MinimisedIp | None = None
    seq: Annotated[int, Field(ge=0)] = 0
    prev_id: uuid.UUID | None = None
    prev_hash: str = ""
    record_hash: str = ""

    @field_validator("notice_hash")
    @classmethod
    def _notice_hash(cls, value: str) -> str:
        if not _HEX64.match(value):
            raise ValueError(
                "notice_hash must be a SHA-256 in lowercase hex; compute it with hash_notice(rendered_notice)"
            )
        return value

    @field_validator("locale")
    @classmethod
    def _locale(cls, value: str) -> str:
        if not _LOCALE.match(value):
            raise ValueError(f"{value!r} is not a language tag such as 'en' or 'zh-TW'")
        return value

    @field_validator("granted", "refused")
    @classmethod
    def _categories(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for cat in value:
            if not _SLUG.match(cat):
                raise ValueError(f"{cat!r} is not a category id")
        return tuple(sorted(set(value)))

    @model_validator(mode="after")
    def _disjoint(self) -> ConsentRecord:
        both = set(self.granted) & set(self.refused)
        if both:
            raise ValueError(f"categories both granted and refused: {', '.join(sorted(both))}; list each in one only")
        return self

    @property
    def sealed(self) -> bool:
        """Whether the chain fields are filled (the record was appended to a store)."""
        return self.seq > 0 and bool(self.record_hash)

    def canonical_json(self) -> bytes:
        """Serialise the record for hashing: :attr:`record_hash` is the SHA-256 of these bytes.

        Every field but ``record_hash``, as compact JSON with sorted keys, in UTF-8.
        """
        data = self.model_dump(mode="json", exclude={"record_hash"})
        return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def compute_record_hash(record: ConsentRecord) -> str:
    """The hash a consent record should carry: SHA-256 (hex) of its :meth:`~ConsentRecord.canonical_json`."""
    return hashlib.sha256(record.canonical_json()).hexdigest()


def seal(record: ConsentRecord, *, seq: int, prev_id: uuid.UUID | None, prev_hash: str) -> ConsentRecord:
    """Return ``record`` placed in the chain after ``prev_id``/``prev_hash`` at ``seq``, with its hash.

    Stores call this while they hold the chain lock; it is public so an auditor can rebuild a chain.
    """
    if seq < 1:
        raise ValueError(f"seq must be 1 or more, not {seq}")
    placed = record.model_copy(update={"seq": seq, "prev_id": prev_id, "prev_hash": prev_hash, "record_hash": ""})
    return placed.model_copy(update={"record_hash": compute_record_hash(placed)})


# -- rights requests -----------------------------------------------------------------------------


def _new_reference() -> str:
    return "RR-" + secrets.token_hex(5).upper()


def due_date(kind: RightKind, received: dt.datetime) -> dt.datetime:
    """When a rights request must be answered.

    15 days after it was received for view and copy (PDPA Art. 10), 30 days for correct, stop and
    delete (Art. 11).
    """
    try:
        days = RIGHTS_PERIOD_DAYS[kind]
    except KeyError:
        raise ValueError(f"unknown right {kind!r}; use one of: {', '.join(RIGHTS_PERIOD_DAYS)}") from None
    return _utc(received) + dt.timedelta(days=days)


class RightsRequest(_Frozen):
    """A data-subject request under PDPA Art. 3, keyed by device id and/or consent id (R52).

    Create one with :meth:`new`, which computes the due date; change it with :func:`extend` and
    :func:`close_request`, which return a new request (the model is frozen).

    Attributes:
        id: Random id.
        reference: Short reference given to the requester (``RR-…``).
        kind: ``view``, ``copy``, ``correct``, ``stop`` or ``delete``.
        device_id: The device the request is about.
        consent_id: The consent id the request is about.
        received_at: When it was received.
        due_at: When it must be answered (:func:`due_date`).
        extended_due_at: The due date after the one extension, if any.
        extended_at: When the extension was decided.
        extension_reason: The written reason given to the requester for the extension.
        closed_at: When it was answered.
        resolution: How it was answered.
        details: What the requester asked (e.g. the correction wanted).
    """

    id: uuid.UUID = Field(default_factory=uuid.uuid4)
    reference: Annotated[str, StringConstraints(min_length=1, max_length=64)] = Field(default_factory=_new_reference)
    kind: RightKind
    device_id: DeviceId | None = None
    consent_id: ConsentId | None = None
    received_at: UtcDateTime
    due_at: UtcDateTime
    extended_due_at: UtcDateTime | None = None
    extended_at: UtcDateTime | None = None
    extension_reason: Annotated[str, StringConstraints(max_length=2000)] | None = None
    closed_at: UtcDateTime | None = None
    resolution: Annotated[str, StringConstraints(max_length=2000)] | None = None
    details: Annotated[str, Storable, StringConstraints(max_length=4000)] | None = None

    @model_validator(mode="after")
    def _consistent(self) -> RightsRequest:
        if self.due_at > due_date(self.kind, self.received_at):
            raise ValueError(f"due_at is later than the legal period allows; use due_date({self.kind!r}, received_at)")
        if (self.extended_due_at is None) != (self.extension_reason is None):
            raise ValueError("an extension needs both extended_due_at and extension_reason; use extend()")
        if self.extended_due_at is not None and self.extended_due_at - self.due_at > dt.timedelta(
            days=RIGHTS_PERIOD_DAYS[self.kind]
        ):
            raise ValueError("the extension is longer than the original period; use extend()")
        return self

    @classmethod
    def new(
        cls,
        kind: RightKind,
        *,
        device_id: str | None = None,
        consent_id: str | None = None,
        received_at: dt.datetime | None = None,
        details: str | None = None,
    ) -> RightsRequest:
        """A new request received at ``received_at`` (now by default), with its due date computed."""
        received = _utc(received_at) if received_at is not None else _now()
        return cls(
            kind=kind,
            device_id=device_id,
            consent_id=consent_id,
            received_at=received,
            due_at=due_date(kind, received),
            details=details,
        )

    @property
    def deadline(self) -> dt.datetime:
        """The due date in force: the extended one if the request was extended."""
        return self.extended_due_at or self.due_at

    @property
    def is_open(self) -> bool:
        """Whether the request still awaits an answer."""
        return self.closed_at is None


def extend(request: RightsRequest, reason: str, now: dt.datetime | None = None) -> RightsRequest:
    """Extend a request's due date once, by its original period, with a written reason (PDPA Arts. 10, 11).

    Args:
        request: The open request.
        reason: Why more time is needed; it is told to the requester.
        now: The current time (defaults to now); the extension must be decided before the due date.

    Returns:
        The extended request; store it with :meth:`~cookieconsent.records.Store.update_rights_request`.

    Raises:
        RightsRequestError: the request was already extended, is closed, is past its due date, or
            ``reason`` is empty.
    """
    now = _utc(now) if now is not None else _now()
    ref = request.reference
    if request.extended_due_at is not None:
        raise RightsRequestError(
            f"request {ref} was already extended to {format_time(request.extended_due_at)}; the law allows one "
            "extension only, so answer the request by then"
        )
    if request.closed_at is not None:
        raise RightsRequestError(f"request {ref} is closed; only an open request can be extended")
    if not reason.strip():
        raise RightsRequestError(
            f"extending request {ref} needs a written reason for the requester; pass reason='…' explaining the delay"
        )
    if now > request.due_at:
        raise RightsRequestError(
            f"request {ref} was due on {format_time(request.due_at)}; an extension must be decided and told to "
            "the requester before the due date"
        )
    period = dt.timedelta(days=RIGHTS_PERIOD_DAYS[request.kind])
    return RightsRequest.model_validate(
        {
            **request.model_dump(),
            "extended_due_at": request.due_at + period,
            "extended_at": now,
            "extension_reason": reason.strip(),
        }
    )


def close_request(request: RightsRequest, resolution: str, now: dt.datetime | None = None) -> RightsRequest:
    """Mark a request answered at ``now`` with ``resolution`` (e.g. ``"completed"``); returns the new request.

    Raises:
        RightsRequestError: the request is already closed, or ``resolution`` is empty.
    """
    if request.closed_at is not None:
        raise RightsRequestError(f"request {request.reference} is already closed")
    if not resolution.strip():
        raise RightsRequestError(f"closing request {request.reference} needs a resolution, e.g. 'completed'")
    closed_at = _utc(now) if now is not None else _now()
    return RightsRequest.model_validate({**request.model_dump(), "closed_at": closed_at, "resolution": resolution})
