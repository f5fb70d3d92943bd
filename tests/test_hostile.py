"""Hostile requests against both demo apps: each gets its precise answer, and none of them grants anything.

Every row of :data:`ROWS` is one request as an attacker (or a broken client) would write it: forged and
malformed consent cookies, huge headers, bytes that are not UTF-8, wrong content types, duplicate
fields, unknown categories, JSON of the wrong shape, cross-site posts, open-redirect ``next`` values,
path tricks under the prefix, and every method on every endpoint. Each row states its outcome (the
status, the error code or phrase the visitor reads, the consent state afterwards) and every row also
meets the same invariants (:func:`test_hostile_request`): never a 500 or a traceback, never an error
logged, no CORS grant, a same-site ``Location``, no consent record, rights request or visit record
beyond what the row legitimately causes.

Requests are sent as raw as a server would pass them on (``AppClient.send`` of ``tests/harness.py``):
the request target exactly as written on the request line, header values as the bytes on the wire
(latin-1 text). Test clients normalise paths and refuse non-ASCII headers, which would hide half of
this table.
"""

from __future__ import annotations

import importlib
import json
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urljoin, urlsplit

import pytest
from itsdangerous import URLSafeTimedSerializer

from cookieconsent.config import ConsentConfig
from cookieconsent.records.recorder import Recorder
from tests.harness import APPS, HOST, AppClient, Response, serializer

CONSENT = "__Host-consent"
OPTIONAL = frozenset({"functional", "analytics", "marketing"})
JSON = "application/json"
FORM = "application/x-www-form-urlencoded"
EVIL = "https://evil.example"

Headers = Sequence[tuple[str, str]]


def recorder_of(kind: str) -> Recorder:
    """The recorder of the demo app ``kind`` (both apps record into the same SQLite file in tests)."""
    module = importlib.import_module(APPS[kind])
    recorder = module.recorder if kind == "fastapi" else module.consent.recorder
    assert isinstance(recorder, Recorder)
    return recorder


def config_of(client: AppClient) -> ConsentConfig:
    config = importlib.import_module(APPS[client.kind]).config
    assert isinstance(config, ConsentConfig)
    return config


def consent_value(response: Response) -> str | None:
    """The consent cookie this response stores (``None`` if it stores none, or expires it)."""
    value = response.set_cookie(CONSENT)
    if value is None or "max-age=0" in value.lower():
        return None
    return value.split(";", 1)[0].split("=", 1)[1]


def granted(client: AppClient, cookie: str | None) -> tuple[bool, frozenset[str]]:
    """Whether a visitor with this ``Cookie`` header has decided, and the optional categories in force."""
    r = client.send("GET", "/_consent/state", [("cookie", cookie)] if cookie else [])
    assert r.status == 200
    data = r.json()
    return data["decided"], frozenset(c for c, on in data["categories"].items() if on and c != "necessary")


# -- consent cookies, genuine and forged -------------------------------------------------------------


def forged_cookies(config: ConsentConfig) -> dict[str, str]:
    """Consent cookie values for the rows' ``{name}`` placeholders: one genuine, the rest hostile."""
    keys = config.signing_keys
    own = serializer(keys)
    fingerprint = config.policy.fingerprint
    everything = (1 << len(config.policy.optional_categories)) - 1
    good = [1, "A1b2C3d4E5f6G7h8", fingerprint, everything, 0]
    nothing = own.dumps([1, "A1b2C3d4E5f6G7h8", fingerprint, 0, 0])
    all_value: str = own.dumps(good)
    payload, stamp, sig = all_value.split(".")
    flipped = sig[:5] + ("A" if sig[5] != "A" else "B") + sig[6:]

    def signed(data: Any) -> str:
        value: str = own.dumps(data)
        return value

    return {
        "all": all_value,
        "none": nothing,
        "other_key": serializer(["another-secret-key-0123456789abcdef"]).dumps(good),
        "sig_flipped": f"{payload}.{stamp}.{flipped}",
        "payload_swapped": f"{payload}.{nothing.split('.', 1)[1]}",
        "no_sig": payload,
        "stamp_changed": f"{payload}.{stamp[:-1]}{'A' if stamp[-1] != 'A' else 'B'}.{sig}",
        "wrong_salt": serializer(keys, salt="itsdangerous").dumps(good),
        "library_defaults": URLSafeTimedSerializer(keys[-1]).dumps(good),
        "schema2": signed([2, *good[1:]]),
        "mask_big": signed([1, good[1], fingerprint, 1 << 10, 0]),
        "mask_negative": signed([1, good[1], fingerprint, -1, 0]),
        "mask_bool": signed([1, good[1], fingerprint, True, 0]),
        "mask_float": signed([1, good[1], fingerprint, float(everything), 0]),
        "mask_huge": signed([1, good[1], fingerprint, 10**300, 0]),
        "gpc_unknown": signed([1, good[1], fingerprint, everything, 7]),
        "id_short": signed([1, "abc", fingerprint, everything, 0]),
        "id_long": signed([1, "x" * 65, fingerprint, everything, 0]),
        "id_unicode": signed([1, "ÄÖÜäöüß12345", fingerprint, everything, 0]),
        "stale": signed([1, good[1], "0" * len(fingerprint), everything, 0]),
        "dict": signed({"id": good[1], "granted": ["analytics", "functional", "marketing"]}),
        "string": signed("accept_all"),
        "six_fields": signed([*good, "extra"]),
        "expired": serializer(keys, at=time.time() - config.max_age - 86400).dumps(good),
        "truncated": all_value[: len(all_value) // 2],
        "compressed": "." + all_value,
        "near_limit": all_value + "A" * (1025 - len(all_value)),
    }


# -- the table ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    """One hostile request and the outcome it must get.

    Attributes:
        id: The row's name in test ids.
        method: The request method.
        target: The request target as written (``{name}`` placeholders are not used here).
        headers: Header values may hold ``{name}`` placeholders for :func:`forged_cookies` values.
        body: The request body.
        status: The expected status.
        error: For a JSON error, its ``error`` code; for an HTML refusal, a phrase of its message;
            ``None`` when the body is a page (the app's or the library's).
        decided: Whether the visitor has decided afterwards (with the cookie the response stored,
            else the one the request carried).
        granted: The optional categories in force afterwards.
        location: The expected ``Location`` (every redirect is checked to stay on this site anyway).
        files: The request legitimately files one rights request.
        records: How many visit or event records the request adds (a consenting visitor's page: one).
        absent: Text that must not appear in the response body.
    """

    id: str
    method: str
    target: str
    headers: tuple[tuple[str, str], ...] = ()
    body: bytes = b""
    status: int = 200
    error: str | None = None
    decided: bool = False
    granted: frozenset[str] = frozenset()
    location: str | None = None
    files: bool = False
    records: int = 0
    absent: str | None = None


def get(row_id: str, target: str, *headers: tuple[str, str], **outcome: Any) -> Row:
    return Row(row_id, "GET", target, tuple(headers), **outcome)


def post(
    row_id: str, target: str, content_type: str | None, body: bytes, *headers: tuple[str, str], **outcome: Any
) -> Row:
    given = (("content-type", content_type),) if content_type is not None else ()
    return Row(row_id, "POST", target, (*given, *headers), body, **outcome)


def js(row_id: str, target: str, data: Any, *headers: tuple[str, str], **outcome: Any) -> Row:
    body = data if isinstance(data, bytes) else json.dumps(data).encode()
    return post(row_id, target, JSON, body, *headers, **outcome)


def form(row_id: str, target: str, body: str, *headers: tuple[str, str], **outcome: Any) -> Row:
    return post(row_id, target, FORM, body.encode("latin-1"), *headers, **outcome)


def cookie(name: str) -> tuple[str, str]:
    return ("cookie", f"{CONSENT}={{{name}}}")


REJECTED: dict[str, Any] = {"status": 303, "decided": True, "location": "/"}  # a refusal stored, and sent home
ALL: dict[str, Any] = {"decided": True, "granted": OPTIONAL}


def cookie_rows() -> list[Row]:
    """Forged, tampered, malformed and misplaced consent cookies: all read as "not decided"."""
    forged = [
        "other_key",
        "sig_flipped",
        "payload_swapped",
        "no_sig",
        "stamp_changed",
        "wrong_salt",
        "library_defaults",
        "schema2",
        "mask_big",
        "mask_negative",
        "mask_bool",
        "mask_float",
        "mask_huge",
        "gpc_unknown",
        "id_short",
        "id_long",
        "id_unicode",
        "stale",
        "dict",
        "string",
        "six_fields",
        "expired",
        "truncated",
        "compressed",
        "near_limit",
    ]
    rows = [get(f"cookie-{name}", "/_consent/state", cookie(name)) for name in forged]
    rows += [
        get("cookie-not-base64", "/_consent/state", ("cookie", f"{CONSENT}=!!!!.@@@@.####")),
        get("cookie-5000-chars", "/_consent/state", ("cookie", f"{CONSENT}=" + "A" * 5000)),
        get("cookie-empty", "/_consent/state", ("cookie", f"{CONSENT}=")),
        get("cookie-name-only", "/_consent/state", ("cookie", CONSENT)),
        get("cookie-nul-byte", "/_consent/state", ("cookie", f"{CONSENT}=\x00{{all}}")),
        get("cookie-latin1-bytes", "/_consent/state", ("cookie", f"{CONSENT}=\xff\xfe\xe9")),
        get("cookie-unterminated-quote", "/_consent/state", ("cookie", f'{CONSENT}="{{all}}')),
        get("cookie-name-lowercase", "/_consent/state", ("cookie", "__host-consent={all}")),
        get("cookie-unprefixed-planted", "/_consent/state", ("cookie", "consent={all}")),
        get(
            "cookie-forged-before-genuine", "/_consent/state", ("cookie", f"{CONSENT}={{other_key}}; {CONSENT}={{all}}")
        ),
        get("cookie-64kb-junk", "/_consent/state", ("cookie", "; ".join(f"c{i}=" + "x" * 60 for i in range(1000)))),
        get("cookie-300-refused-cookies", "/_consent/state", ("cookie", "; ".join(f"_ga_{i}=GA1" for i in range(300)))),
        get("cookie-separators-only", "/_consent/state", ("cookie", ";;;;===;,,")),
        get("cookie-on-page-forged", "/", ("cookie", f"{CONSENT}={{other_key}}")),
        get("cookie-on-page-expired", "/", ("cookie", f"{CONSENT}={{expired}}")),
        # Two consent cookies in one header, or one hidden after a comma in another cookie's value:
        # someone planted one (RFC 6265 §5.4: only ";" separates cookies), so neither counts.
        get(
            "cookie-genuine-before-forged", "/_consent/state", ("cookie", f"{CONSENT}={{all}}; {CONSENT}={{other_key}}")
        ),
        get("cookie-genuine-twice", "/_consent/state", ("cookie", f"{CONSENT}={{all}}; {CONSENT}={{all}}")),
        get("cookie-comma-hidden-genuine", "/_consent/state", ("cookie", f"x=1,{CONSENT}={{all}}")),
        get(
            "cookie-comma-hidden-before-own", "/_consent/state", ("cookie", f"x=1,{CONSENT}={{all}}; {CONSENT}={{all}}")
        ),
        get("cookie-comma-space-hidden", "/_consent/state", ("cookie", f"x=1, {CONSENT}={{all}}")),
        get("cookie-comma-pair", "/_consent/state", ("cookie", f"{CONSENT}={{all}},x=1")),
        get("cookie-device-twice-on-page", "/", ("cookie", f"{CONSENT}={{all}}; __Host-ccdid=a; __Host-ccdid=b")),
        get("cookie-device-hidden-on-page", "/", ("cookie", f"{CONSENT}={{all}}; y=2,__Host-ccdid=attacker")),
        get(
            "cookie-two-headers-one-each",
            "/_consent/state",
            ("cookie", f"{CONSENT}={{all}}"),
            ("cookie", f"{CONSENT}={{all}}"),
        ),
        # Controls: the genuine cookie reads as decided, even among hostile neighbours.
        get("cookie-genuine-control", "/_consent/state", cookie("all"), **ALL),
        get(
            "cookie-genuine-among-lookalikes",
            "/_consent/state",
            ("cookie", f"x{CONSENT}=1; {CONSENT}={{all}}; {CONSENT}x=2"),
            **ALL,
        ),
        get(
            "cookie-genuine-gpc-1000-times",
            "/_consent/state",
            cookie("all"),
            *[("sec-gpc", "1")] * 1000,
            decided=True,
            granted=OPTIONAL - {"marketing"},
        ),
    ]
    return rows


def header_rows() -> list[Row]:
    """Huge and odd headers."""
    return [
        get("accept-language-100kb", "/_consent/state", ("accept-language", "en;q=0.5, " * 10_000)),
        get("accept-language-latin1", "/_consent/state", ("accept-language", "\xff\xfe\xe9;q=1")),
        get("accept-language-bad-q", "/_consent/state", ("accept-language", "zh;q=nan, en;q=inf, *;q=-1, fr;q=1e999")),
        get("user-agent-64kb-consenting", "/", cookie("all"), ("user-agent", "Mozilla/5.0 " * 5000), records=1, **ALL),
        get("gpc-1000-times-undecided", "/_consent/state", *[("sec-gpc", "1")] * 1000),
        get("gpc-not-one", "/_consent/state", ("sec-gpc", "1\x00")),
        Row(
            "content-type-8kb",
            "POST",
            "/_consent",
            (("content-type", "application/" + "x" * 8000),),
            b'{"action": "accept_all"}',
            status=415,
            error="unsupported_media_type",
        ),
        js(
            "origin-8kb",
            "/_consent",
            {"action": "accept_all"},
            ("origin", EVIL + "/" + "x" * 8000),
            status=403,
            error="cross_origin",
        ),
        js(
            "referer-64kb-foreign",
            "/_consent",
            {"action": "accept_all"},
            ("referer", EVIL + "/" + "x" * 64_000),
            status=403,
            error="cross_origin",
        ),
        js(
            "host-port-differs-from-origin",
            "/_consent",
            {"action": "accept_all"},
            ("host", "testserver:8443"),
            ("origin", "https://testserver"),
            status=403,
            error="cross_origin",
        ),
        js(
            "forwarded-host-is-ignored",
            "/_consent",
            {"action": "accept_all"},
            ("x-forwarded-host", "evil.example"),
            ("origin", EVIL),
            status=403,
            error="cross_origin",
        ),
        js(
            "content-length-huge",
            "/_consent",
            {"action": "accept_all"},
            ("content-length", str(10**12)),
            status=413,
            error="too_large",
        ),
        post(
            "content-length-superscript",
            "/_consent",
            JSON,
            b"",
            ("content-length", "\xb2"),
            status=400,
            error="bad_json",
        ),
        post("content-length-negative", "/_consent", JSON, b"", ("content-length", "-5"), status=400, error="bad_json"),
    ]


def utf8_rows() -> list[Row]:
    """Bytes that are not UTF-8 in paths, queries, cookies and bodies; JSON strings no store can hold."""
    return [
        get("path-ff-under-prefix", "/_consent/state%FF", status=404, error="not_found"),
        get("path-ff-after-prefix", "/_consent%FF", status=404),
        get("path-ff-app", "/%FF%FE", status=404),
        get("query-ff", "/_consent/state?%FF=%FE&%C0%AF"),
        get("next-ff", "/_consent/preferences?next=/%FF"),
        get("ref-ff", "/_consent/my-data?ref=RR-%FF"),
        get("static-ff", "/_consent/static/%FF.js", status=404, error="not_found"),
        post("json-ff", "/_consent", JSON, b'{"action": "\xff"}', status=400, error="bad_json"),
        post(
            "json-encoded-surrogate",
            "/_consent",
            JSON,
            b'{"action": "\xed\xa0\x80"}',
            status=400,
            error="unknown_action",
        ),
        post("form-raw-ff", "/_consent", FORM, b"action=\xff\xfe", status=400, error="not valid UTF-8"),
        form("form-action-ff", "/_consent", "action=%FF", status=400, error="Unknown action"),
        form("form-category-ff", "/_consent", "action=reject_all&category=%FF", status=400, error="Unknown category"),
        form(
            "form-next-ff", "/_consent", "action=reject_all&next=/%FF", status=303, decided=True, location="/%EF%BF%BD"
        ),
        post("withdraw-json-ff", "/_consent/withdraw", JSON, b"\xff", status=400, error="bad_json"),
        post(
            "events-json-ff",
            "/_consent/events",
            JSON,
            b'{"type": "click", "path": "/\xff"}',
            status=400,
            error="bad_json",
        ),
        # Without cookies the store holds nothing for the browser: refused before anything is stored
        # (tests/records/test_namespaces.py files such details for a known visitor, on both stores).
        js(
            "rights-lone-surrogate",
            "/_consent/rights",
            b'{"kind": "view", "details": "\\ud800"}',
            status=404,
            error="nothing_held",
        ),
        js(
            "rights-nul",
            "/_consent/rights",
            {"kind": "correct", "details": "a\u0000b"},
            status=404,
            error="nothing_held",
        ),
        form("rights-form-ff", "/_consent/rights", "kind=view&details=%FF", status=404, error="Nothing is held"),
        js(
            "events-lone-surrogates",
            "/_consent/events",
            b'{"type": "click", "path": "/\\ud800", "target": "\\udfff"}',
            status=204,
        ),
        js(
            "category-lone-surrogate",
            "/_consent",
            b'{"action": "custom", "categories": ["\\ud800"]}',
            status=400,
            error="unknown_category",
        ),
        get("cookie-lang-ff-on-page", "/", ("cookie", "lang=\xff; session=\xfe")),
    ]


def content_type_rows() -> list[Row]:
    """Wrong content types on every endpoint that reads a body."""
    accept = b'{"action": "accept_all"}'
    event = b'{"type": "page_view", "path": "/"}'
    return [
        post("decide-text-plain", "/_consent", "text/plain", accept, status=415, error="unsupported_media_type"),
        post("decide-no-type", "/_consent", None, accept, status=415, error="unsupported_media_type"),
        post(
            "decide-multipart",
            "/_consent",
            "multipart/form-data; boundary=x",
            accept,
            status=415,
            error="unsupported_media_type",
        ),
        post(
            "decide-latin1",
            "/_consent",
            "application/json; charset=latin-1",
            accept,
            status=415,
            error="unsupported_charset",
        ),
        post(
            "decide-utf16",
            "/_consent",
            "application/json; charset=utf-16",
            accept,
            status=415,
            error="unsupported_charset",
        ),
        post(
            "decide-empty-charset",
            "/_consent",
            "application/json; charset=",
            accept,
            status=415,
            error="unsupported_charset",
        ),
        post(
            "decide-json-suffix",
            "/_consent",
            "application/json-patch+json",
            accept,
            status=415,
            error="unsupported_media_type",
        ),
        post(
            "decide-form-latin1",
            "/_consent",
            FORM + "; charset=iso-8859-1",
            b"action=accept_all",
            status=415,
            error="UTF-8",
        ),
        post(
            "decide-upper-case-type",
            "/_consent",
            "APPLICATION/JSON; CHARSET=UTF-8",
            b'{"action": "reject_all"}',
            decided=True,
        ),
        post("events-html", "/_consent/events", "text/html", event, status=415, error="unsupported_media_type"),
        post("events-form", "/_consent/events", FORM, b"type=page_view&path=/", status=415),
        post("events-no-type", "/_consent/events", None, event, status=415, error="unsupported_media_type"),
        post("events-beacon-text-plain", "/_consent/events", "text/plain;charset=UTF-8", event, status=204),
        post("withdraw-xml", "/_consent/withdraw", "text/xml", b"<x/>", status=415, error="unsupported_media_type"),
        post("withdraw-multipart", "/_consent/withdraw", "multipart/form-data; boundary=x", b"--x--", status=415),
        post(
            "withdraw-latin1",
            "/_consent/withdraw",
            "application/json; charset=latin-1",
            b"{}",
            status=415,
            error="unsupported_charset",
        ),
        post(
            "rights-text-plain",
            "/_consent/rights",
            "text/plain",
            b"kind=view",
            status=415,
            error="unsupported_media_type",
        ),
        post("rights-latin1", "/_consent/rights", "application/json; charset=latin-1", b'{"kind": "view"}', status=415),
        post(
            "delete-text-plain",
            "/_consent/my-data/delete",
            "text/plain",
            b"yes",
            status=415,
            error="unsupported_media_type",
        ),
    ]


def duplicate_rows() -> list[Row]:
    """The same field given twice."""
    return [
        form("dup-action", "/_consent", "action=accept_all&action=reject_all", status=400, error="more than once"),
        form(
            "dup-next", "/_consent", "action=reject_all&next=/a&next=//evil.example", status=400, error="more than once"
        ),
        form("dup-gpc-override", "/_consent", "action=accept_all&gpc_override=1&gpc_override=0", status=400),
        form(
            "dup-category",
            "/_consent",
            "action=custom&category=analytics&category=analytics",
            status=303,
            decided=True,
            granted=frozenset({"analytics"}),
            location="/",
        ),
        js("dup-json-keys-last-wins", "/_consent", b'{"action": "accept_all", "action": "reject_all"}', decided=True),
        js(
            "dup-json-categories",
            "/_consent",
            {"action": "custom", "categories": ["analytics", "analytics"]},
            decided=True,
            granted=frozenset({"analytics"}),
        ),
        form("dup-rights-kind", "/_consent/rights", "kind=view&kind=delete", status=400, error="more than once"),
        form(
            "dup-rights-details",
            "/_consent/rights",
            "kind=view&details=a&details=b",
            status=400,
            error="more than once",
        ),
        form("dup-withdraw-next", "/_consent/withdraw", "next=/a&next=/b", status=400, error="more than once"),
        get("dup-query-next", "/_consent/preferences?next=/a&next=//evil.example", absent="evil.example"),
    ]


def category_rows() -> list[Row]:
    """Categories the policy does not have, or that cannot be granted."""
    return [
        js(
            "unknown-category",
            "/_consent",
            {"action": "custom", "categories": ["ads"]},
            status=400,
            error="unknown_category",
        ),
        js("necessary-only", "/_consent", {"action": "custom", "categories": ["necessary"]}, decided=True),
        js(
            "category-upper-case",
            "/_consent",
            {"action": "custom", "categories": ["ANALYTICS"]},
            status=400,
            error="unknown_category",
        ),
        js(
            "category-nul-suffix",
            "/_consent",
            {"action": "custom", "categories": ["analytics\u0000"]},
            status=400,
            error="unknown_category",
        ),
        js(
            "category-leading-space",
            "/_consent",
            {"action": "custom", "categories": [" analytics"]},
            status=400,
            error="unknown_category",
        ),
        js(
            "category-prototype",
            "/_consent",
            {"action": "custom", "categories": ["__proto__", "constructor"]},
            status=400,
            error="unknown_category",
        ),
        form(
            "form-category-unknown",
            "/_consent",
            "action=custom&category=toString",
            status=400,
            error="Unknown category",
        ),
        js(
            "reject-all-with-categories",
            "/_consent",
            {"action": "reject_all", "categories": ["analytics", "marketing"]},
            decided=True,
        ),
        js(
            "accept-all-with-unknown",
            "/_consent",
            {"action": "accept_all", "categories": ["ads"]},
            status=400,
            error="unknown_category",
        ),
        js(
            "custom-20kb-categories",
            "/_consent",
            {"action": "custom", "categories": ["analytics"] * 1600},
            status=413,
            error="too_large",
        ),
        js("withdraw-with-categories", "/_consent/withdraw", {"categories": ["analytics"]}, decided=True),
    ]


def json_rows() -> list[Row]:
    """JSON of the wrong types, nesting and sizes."""
    deep = b'{"a":' * 100_000 + b"1" + b"}" * 100_000
    digits = b'{"action": ' + b"9" * 5000 + b"}"
    gpc = ("sec-gpc", "1")
    event = {"type": "click", "path": "/"}
    return [
        js(
            "categories-object",
            "/_consent",
            {"action": "custom", "categories": {"analytics": True}},
            status=400,
            error="bad_categories",
        ),
        js(
            "categories-nested",
            "/_consent",
            {"action": "custom", "categories": [["analytics"]]},
            status=400,
            error="bad_categories",
        ),
        js(
            "categories-numbers",
            "/_consent",
            {"action": "custom", "categories": [1]},
            status=400,
            error="bad_categories",
        ),
        js(
            "categories-null", "/_consent", {"action": "custom", "categories": None}, status=400, error="bad_categories"
        ),
        js("action-list", "/_consent", {"action": ["accept_all"]}, status=400, error="unknown_action"),
        js("action-null", "/_consent", {"action": None}, status=400, error="unknown_action"),
        js("action-object", "/_consent", {"action": {"$ne": None}}, status=400, error="unknown_action"),
        js("action-missing", "/_consent", {"categories": ["analytics"]}, status=400, error="unknown_action"),
        js("action-huge-float", "/_consent", b'{"action": 1e400}', status=400, error="unknown_action"),
        js("action-nan", "/_consent", b'{"action": NaN}', status=400, error="unknown_action"),
        js("action-5000-digits", "/_consent", digits, status=400, error="bad_json"),
        js("nesting-100000", "/_consent", deep, status=413, error="too_large"),
        js("nesting-8000", "/_consent", b"[" * 8000 + b"]" * 8000, status=400, error="bad_json"),
        js("empty-body", "/_consent", b"", status=400, error="bad_json"),
        js("json-null", "/_consent", b"null", status=400, error="bad_json"),
        js("json-bom", "/_consent", b'\xef\xbb\xbf{"action": "reject_all"}', decided=True),
        js(
            "gpc-override-string",
            "/_consent",
            {"action": "accept_all", "gpc_override": "true"},
            gpc,
            decided=True,
            granted=OPTIONAL - {"marketing"},
        ),
        js(
            "gpc-override-one",
            "/_consent",
            {"action": "accept_all", "gpc_override": 1},
            gpc,
            decided=True,
            granted=OPTIONAL - {"marketing"},
        ),
        js(
            "extra-fields-ignored",
            "/_consent",
            {"action": "reject_all", "granted": ["analytics"], "all": True},
            decided=True,
        ),
        js(
            "events-ts-huge-float",
            "/_consent/events",
            b'{"type": "click", "path": "/", "ts": 1e400}',
            status=400,
            error="bad_event",
        ),
        js("events-ts-2-60", "/_consent/events", {**event, "ts": 2**60}, status=400, error="bad_event"),
        js("events-ts-negative", "/_consent/events", {**event, "ts": -1}, status=400, error="bad_event"),
        js("events-ts-bool", "/_consent/events", {**event, "ts": True}, status=400, error="bad_event"),
        js(
            "events-ts-4000-digits",
            "/_consent/events",
            b'{"type": "click", "path": "/", "ts": ' + b"1" * 4000 + b"}",
            status=400,
            error="bad_event",
        ),
        js(
            "events-path-relative", "/_consent/events", {"type": "click", "path": "evil"}, status=400, error="bad_event"
        ),
        js(
            "events-path-3000",
            "/_consent/events",
            {"type": "click", "path": "/" + "a" * 3000},
            status=400,
            error="bad_event",
        ),
        js("events-target-300", "/_consent/events", {**event, "target": "t" * 300}, status=400, error="bad_event"),
        js(
            "events-referrer-object", "/_consent/events", {**event, "referrer": {"a": 1}}, status=400, error="bad_event"
        ),
        js("events-type-unknown", "/_consent/events", {"type": "purchase", "path": "/"}, status=400, error="bad_event"),
        js("events-array", "/_consent/events", [event], status=400, error="bad_event"),
        js(
            "events-5kb",
            "/_consent/events",
            {**event, "target": "t" * 100, "pad": "x" * 5000},
            status=413,
            error="too_large",
        ),
        js(
            "events-forged-category",
            "/_consent/events",
            {**event, "category": "necessary", "granted": True},
            status=204,
        ),
        js("rights-kind-list", "/_consent/rights", {"kind": ["view"]}, status=400, error="bad_field"),
        js(
            "rights-details-number", "/_consent/rights", {"kind": "view", "details": 123}, status=400, error="bad_field"
        ),
        js(
            "rights-details-5000",
            "/_consent/rights",
            {"kind": "view", "details": "d" * 5000},
            status=400,
            error="details_too_long",
        ),
        js("rights-array", "/_consent/rights", ["view"], status=400, error="bad_json"),
        js("rights-empty", "/_consent/rights", b"", status=400, error="unknown_kind"),
        js(
            "rights-ids-in-body-ignored",
            "/_consent/rights",
            {"kind": "view", "device_id": "victim", "consent_id": "victim"},
            status=404,
            error="nothing_held",
        ),
        js("withdraw-array", "/_consent/withdraw", [], status=400, error="bad_json"),
        js("withdraw-deep", "/_consent/withdraw", b"[" * 8000 + b"]" * 8000, status=400, error="bad_json"),
        js("delete-array", "/_consent/my-data/delete", [], status=400, error="bad_json"),
    ]


def cross_site_rows() -> list[Row]:
    """State-changing posts from other sites: 403, and nothing changes."""
    endpoints: list[tuple[str, bytes]] = [
        ("/_consent", b'{"action": "accept_all"}'),
        ("/_consent/withdraw", b"{}"),
        ("/_consent/events", b'{"type": "page_view", "path": "/"}'),
        ("/_consent/my-data/delete", b"{}"),
        ("/_consent/rights", b'{"kind": "delete"}'),
    ]
    refused = {"status": 403, "error": "cross_origin"}
    rows: list[Row] = []
    for path, body in endpoints:
        name = path.removeprefix("/_consent").strip("/").replace("/", "-") or "decide"
        rows.append(post(f"xsite-origin-{name}", path, JSON, body, ("origin", EVIL), **refused))
        rows.append(post(f"xsite-fetch-site-{name}", path, JSON, body, ("sec-fetch-site", "cross-site"), **refused))
    accept = b'{"action": "accept_all"}'
    rows += [
        post("xsite-origin-null", "/_consent", JSON, accept, ("origin", "null"), **refused),
        post("xsite-referer-only", "/_consent/withdraw", JSON, b"{}", ("referer", EVIL + "/page"), **refused),
        post("xsite-suffix-host", "/_consent", JSON, accept, ("origin", "https://testserver.evil.example"), **refused),
        post("xsite-userinfo", "/_consent", JSON, accept, ("origin", "https://testserver@evil.example"), **refused),
        post(
            "xsite-referer-path-lure", "/_consent", JSON, accept, ("referer", EVIL + "/https://testserver/"), **refused
        ),
        post(
            "xsite-sibling-same-site",
            "/_consent",
            JSON,
            accept,
            ("sec-fetch-site", "same-site"),
            ("origin", "https://shop.testserver"),
            **refused,
        ),
        post("xsite-other-port", "/_consent", JSON, accept, ("origin", "https://testserver:8443"), **refused),
        post("xsite-downgrade", "/_consent", JSON, accept, ("origin", "http://testserver"), **refused),
        post(
            "xsite-fetch-site-wins",
            "/_consent",
            JSON,
            accept,
            ("sec-fetch-site", "cross-site"),
            ("origin", "https://testserver"),
            **refused,
        ),
        post("xsite-referer-malformed", "/_consent", JSON, accept, ("referer", "http://[::1"), **refused),
        post("xsite-origin-javascript", "/_consent", JSON, accept, ("origin", "javascript://testserver"), **refused),
        form("xsite-form", "/_consent", "action=accept_all&next=/", ("origin", EVIL), status=403, error="own pages"),
        form("xsite-form-rights", "/_consent/rights", "kind=stop", ("origin", EVIL), status=403, error="own pages"),
        # Controls: the same host in another spelling, and a client that is not a browser.
        post(
            "same-origin-spelled-differently",
            "/_consent",
            JSON,
            accept,
            ("origin", "https://TESTSERVER:443"),
            ("sec-fetch-site", "same-origin"),
            **ALL,
        ),
        post("no-origin-no-referer", "/_consent", JSON, accept, **ALL),
    ]
    return rows


def redirect_rows() -> list[Row]:
    """``next`` values that try to leave the site: the redirect stays here."""
    targets = {
        "protocol-relative": "//evil.example",
        "backslash": "/\\evil.example",
        "backslash-first": "\\/evil.example",
        "absolute": "https://evil.example/",
        "scheme-no-slashes": "https:evil.example",
        "javascript": "javascript:alert(1)",
        "javascript-mixed-case": "JaVaScRiPt:alert(1)",
        "data-url": "data:text/html,<script>alert(1)</script>",
        "encoded-slashes": "%2F%2Fevil.example",
        "tab": "/\t/evil.example",
        "space": "/ /evil.example",
        "crlf": "/\r\nSet-Cookie: x=1",
        "three-slashes": "///evil.example",
        "too-long": "/" + "a" * 2100,
        "own-absolute-url": "https://testserver/ok",
        "nul-first": "\x00//evil.example",
        "empty": "",
    }
    rows = [
        form(f"next-{name}", "/_consent", "action=reject_all&next=" + quote(value, safe=""), **REJECTED)
        for name, value in targets.items()
    ]
    rows += [
        form("next-double-encoded", "/_consent", "action=reject_all&next=%252F%252Fevil.example", **REJECTED),
        form(
            "next-encoded-slash-in-path",
            "/_consent",
            "action=reject_all&next=/%252F/evil.example",
            status=303,
            decided=True,
            location="/%2F/evil.example",
        ),
        form(
            "next-dot-segment",
            "/_consent",
            "action=reject_all&next=/.//evil.example",
            status=303,
            decided=True,
            location="/.//evil.example",
        ),
        form(
            "next-line-separator",
            "/_consent",
            "action=reject_all&next=/%E2%80%A8x",
            status=303,
            decided=True,
            location="/%E2%80%A8x",
        ),
        form(
            "next-local-control",
            "/_consent",
            "action=reject_all&next=/ok%3Fx%3D1%23frag",
            status=303,
            decided=True,
            location="/ok?x=1#frag",
        ),
        form("next-withdraw", "/_consent/withdraw", "next=//evil.example", **REJECTED),
        js(
            "next-in-json-ignored",
            "/_consent",
            {"action": "reject_all", "next": "//evil.example"},
            decided=True,
            absent="evil.example",
        ),
        get("next-preferences-protocol-relative", "/_consent/preferences?next=//evil.example", absent="evil.example"),
        get("next-preferences-javascript", "/_consent/preferences?next=javascript:alert(1)", absent="javascript:"),
        get(
            "next-preferences-markup",
            "/_consent/preferences?next=/x%22%3E%3Cscript%3Ealert(1)%3C/script%3E",
            absent="<script>alert",
        ),
        get("next-dialog-protocol-relative", "/_consent/dialog?next=//evil.example", absent="evil.example"),
        get(
            "next-dialog-markup",
            "/_consent/dialog?next=/x%22%3E%3Cscript%3Ealert(1)%3C/script%3E",
            absent="<script>alert",
        ),
        get("next-my-data", "/_consent/my-data?next=https://evil.example", absent="evil.example"),
        get("page-path-markup", "/x%22%3E%3Cscript%3Ealert(1)%3C/script%3E", status=404, absent="<script>alert"),
    ]
    return rows


def path_rows() -> list[Row]:
    """Path tricks around the prefix: the library answers only its exact paths; nothing is decided."""
    lib404 = {"status": 404, "error": "not_found"}
    accept = b'{"action": "accept_all"}'
    return [
        get("dot-dot", "/_consent/../state", **lib404),
        get("double-slash", "//_consent/state", status=404),
        get("encoded-dot-dot", "/_consent%2F..%2Fstate", **lib404),
        get("trailing-slash", "/_consent/", **lib404),
        get("state-trailing-slash", "/_consent/state/", **lib404),
        get("trailing-dot", "/_consent/state.", **lib404),
        get("prefix-upper-case", "/_CONSENT/state", status=404),
        get("endpoint-upper-case", "/_consent/STATE", **lib404),
        get("path-parameter", "/_consent;x=1/state", status=404),
        get("prefix-as-stem", "/_consentx", status=404),
        get("nul-after-prefix", "/_consent%00/state", status=404),
        get("static-dot-dot", "/_consent/static/../../pyproject.toml", **lib404),
        get("static-encoded-dot-dot", "/_consent/static/%2e%2e%2f%2e%2e%2fpyproject.toml", **lib404),
        get("static-nul-extension", "/_consent/static/cookieconsent.js%00.css", **lib404),
        get("static-directory", "/_consent/static/", **lib404),
        get("static-upper-case", "/_consent/static/COOKIECONSENT.JS", **lib404),
        get("gpc-json-trailing-slash", "/.well-known/gpc.json/", status=404),
        get("my-data-dot-dot", "/_consent/my-data/../my-data.json", **lib404),
        post("decide-trailing-slash", "/_consent/", JSON, accept, **lib404),
        post("decide-dot", "/_consent/.", JSON, accept, **lib404),
        post("decide-encoded-slash", "/_consent%2F", JSON, accept, **lib404),
        post("decide-upper-case", "/_Consent", JSON, accept, status=404),
        post("withdraw-dot-dot", "/_consent/x/../withdraw", JSON, b"{}", **lib404),
    ]


ENDPOINTS: dict[str, tuple[str, ...]] = {
    "/_consent/state": ("GET", "HEAD"),
    "/_consent": ("POST",),
    "/_consent/withdraw": ("POST",),
    "/_consent/preferences": ("GET", "HEAD"),
    "/_consent/dialog": ("GET", "HEAD"),
    "/_consent/events": ("POST",),
    "/_consent/my-data": ("GET", "HEAD"),
    "/_consent/my-data.json": ("GET", "HEAD"),
    "/_consent/my-data/delete": ("POST",),
    "/_consent/rights": ("POST",),
    "/_consent/csp-report": ("POST",),  # the demo apps run the CSP per consent
    "/_consent/static/cookieconsent.js": ("GET", "HEAD"),
    "/.well-known/gpc.json": ("GET", "HEAD"),
}


def method_rows() -> list[Row]:
    """HEAD, OPTIONS, PUT, DELETE, PATCH on every endpoint, GET on the POST ones and POST on the GET ones."""
    rows = []
    for path, allowed in ENDPOINTS.items():
        name = path.strip("/").replace("/", "-")
        tried = ["HEAD", "OPTIONS", "PUT", "DELETE", "PATCH", "POST" if "GET" in allowed else "GET"]
        for method in tried:
            if method in allowed:
                rows.append(Row(f"{method.lower()}-{name}", method, path))
            else:
                rows.append(Row(f"{method.lower()}-{name}", method, path, status=405, error="method_not_allowed"))
    return rows


def size_rows() -> list[Row]:
    """Bodies over the limits."""
    big = b"x" * 20_000
    return [
        js("decide-17kb", "/_consent", {"action": "accept_all", "pad": "x" * 17_000}, status=413, error="too_large"),
        post("rights-20kb", "/_consent/rights", JSON, big, status=413, error="too_large"),
        post("withdraw-20kb", "/_consent/withdraw", JSON, big, status=413, error="too_large"),
        post("delete-20kb", "/_consent/my-data/delete", JSON, big, status=413, error="too_large"),
        post("events-20kb", "/_consent/events", JSON, big, status=413, error="too_large"),
        Row("get-with-20kb-body", "GET", "/_consent/state", (), big, status=413, error="too_large"),
        form(
            "form-300-fields", "/_consent", "&".join(f"f{i}=1" for i in range(300)), status=400, error="too many fields"
        ),
    ]


def consenting_rows() -> list[Row]:
    """Odd requests from a visitor who granted everything: each is still recorded, exactly once."""
    event = {"type": "click", "path": "/a"}
    device = ("cookie", f"{CONSENT}={{all}}; __Host-ccdid=" + "d" * 200)
    return [
        get("consenting-path-3000", "/" + "a" * 3000, cookie("all"), status=404, records=1, **ALL),
        get("consenting-nul-in-path", "/%00", cookie("all"), status=404, records=1, **ALL),
        get(
            "consenting-odd-cookie-names",
            "/",
            ("cookie", f'{CONSENT}={{all}}; bad name=1; \xe9=2; =3; a"b=4'),
            records=1,
            **ALL,
        ),
        get("consenting-long-device-id", "/", device, records=1, **ALL),
        Row("consenting-long-method", "PROPFINDANDMOREOFIT", "/", (cookie("all"),), status=405, records=1, **ALL),
        js("consenting-event-long-device-id", "/_consent/events", event, device, status=204, records=1, **ALL),
        js(
            "consenting-event-nul",
            "/_consent/events",
            {"type": "click", "path": "/\u0000", "target": "\u0000"},
            cookie("all"),
            status=204,
            records=1,
            **ALL,
        ),
        js(
            "consenting-event-lone-surrogate",
            "/_consent/events",
            b'{"type": "click", "path": "/\\udc80"}',
            cookie("all"),
            status=204,
            records=1,
            **ALL,
        ),
    ]


def csp_report_rows() -> list[Row]:
    """Forged and malformed CSP reports: counted when well formed (204), refused precisely otherwise."""
    path, report = "/_consent/csp-report", "application/csp-report"
    one = {
        "csp-report": {
            "document-uri": "https://testserver/",
            "violated-directive": "img-src",
            "blocked-uri": "https://x.example/p.gif",
        }
    }
    return [
        post("csp-report-genuine", path, report, json.dumps(one).encode(), status=204),
        post("csp-report-bad-json", path, report, b"{", status=400, error="bad_json"),
        post("csp-report-wrong-shape", path, report, b"[1, 2]", status=400, error="bad_report"),
        post(
            "csp-report-no-directive",
            path,
            report,
            b'{"csp-report": {"blocked-uri": "x"}}',
            status=400,
            error="bad_report",
        ),
        post(
            "csp-report-text", path, "text/plain", json.dumps(one).encode(), status=415, error="unsupported_media_type"
        ),
        post(
            "csp-report-latin1",
            path,
            f"{report}; charset=latin-1",
            json.dumps(one).encode(),
            status=415,
            error="unsupported_charset",
        ),
        post(
            "csp-report-17kb",
            path,
            report,
            json.dumps({"csp-report": {"x": "y" * 17_000}}).encode(),
            status=413,
            error="too_large",
        ),
        post(
            "csp-report-101-in-a-batch",
            path,
            "application/reports+json",
            json.dumps(
                [
                    {
                        "type": "csp-violation",
                        "body": {"effectiveDirective": "img-src", "blockedURL": "https://x.example/"},
                    }
                ]
                * 101
            ).encode(),
            status=400,
            error="too_many_reports",
        ),
    ]


ROWS: list[Row] = [
    *cookie_rows(),
    *csp_report_rows(),
    *header_rows(),
    *utf8_rows(),
    *content_type_rows(),
    *duplicate_rows(),
    *category_rows(),
    *json_rows(),
    *cross_site_rows(),
    *redirect_rows(),
    *path_rows(),
    *method_rows(),
    *size_rows(),
    *consenting_rows(),
]


def test_the_table_is_large_and_its_ids_unique() -> None:
    ids = [row.id for row in ROWS]
    assert len(ids) == len(set(ids)), [i for i in ids if ids.count(i) > 1]
    assert len(ROWS) >= 100


# -- the test ---------------------------------------------------------------------------------------


@dataclass
class Counts:
    """What the store holds, to show a row added nothing it should not have."""

    consents: int
    rights: int
    records: int

    @classmethod
    def now(cls) -> Counts:
        """Flush both demo apps' recorders, then count.

        They share one file: the other app's writer thread would otherwise land the records of an
        earlier test (another module's) in the middle of this one.
        """
        recorders = [recorder_of(kind) for kind in sorted(APPS)]
        for recorder in recorders:
            recorder.flush()
        store = recorders[0].store
        assert store is not None
        return cls(store.chain_head().seq, len(store.list_rights_requests()), store.count())


@pytest.fixture(scope="session")
def forged(app_kind: str) -> dict[str, str]:
    return forged_cookies(importlib.import_module(APPS[app_kind]).config)


def fill(headers: Sequence[tuple[str, str]], values: dict[str, str]) -> list[tuple[str, str]]:
    out = []
    for name, value in headers:
        for key, replacement in values.items():
            value = value.replace("{" + key + "}", replacement)
        out.append((name, value))
    return out


def check_location(location: str) -> None:
    """A redirect that stays on this site, with nothing a header could be split with."""
    assert not any(ord(c) < 0x21 or c in "\\\x7f" for c in location), location
    assert location.startswith("/")
    assert not location.startswith("//")
    resolved = urlsplit(urljoin(f"https://{HOST}/from/here", location))
    assert (resolved.scheme, resolved.netloc) == ("https", HOST)


@pytest.mark.parametrize("row", ROWS, ids=[row.id for row in ROWS])
def test_hostile_request(client: AppClient, forged: dict[str, str], row: Row, caplog: pytest.LogCaptureFixture) -> None:
    before = Counts.now()
    headers = fill(row.headers, forged)
    with caplog.at_level(logging.WARNING):
        r = client.send(row.method, row.target, headers, row.body)
        after = Counts.now()
    errors = [rec for rec in caplog.records if rec.levelno >= logging.ERROR]
    assert errors == [], [rec.getMessage() for rec in errors]

    assert r.status == row.status, r.body[:300]
    assert b"Traceback" not in r.body
    assert b'File "' not in r.body
    assert r.header("access-control-allow-origin") is None
    if row.method == "HEAD":
        assert r.body == b""
    media = (r.header("content-type") or "").split(";")[0]
    if row.error is not None and row.method != "HEAD":
        if media == JSON:
            data = r.json()
            assert data["error"] == row.error
            assert data["message"].endswith(".")
            assert len(data["message"]) > 15
        else:
            assert media == "text/html"
            # The library's own page, in the visitor's language (the policy's first, zh-TW, by default).
            assert 'class="cc-page"' in r.text
            assert '<html lang="zh-TW">' in r.text
            assert row.error in r.text  # the developer's message, behind a disclosure
    if r.status == 405:
        assert r.header("allow")
    if row.absent is not None:
        assert row.absent not in r.body.decode("utf-8", "replace")
    location = r.header("location")
    if location is not None:
        check_location(location)
    if row.location is not None:
        assert location == row.location

    stored = consent_value(r)
    if r.status >= 400:
        assert stored is None
    sent = ", ".join(v for k, v in headers if k == "cookie") or None
    decided, in_force = granted(client, f"{CONSENT}={stored}" if stored else sent)
    assert (decided, in_force) == (row.decided, row.granted)

    # Nothing in the store but what the row legitimately causes.
    assert after.consents - before.consents == (1 if stored else 0)
    assert after.rights - before.rights == (1 if row.files else 0)
    assert after.records - before.records == row.records  # none lost, none doubled
