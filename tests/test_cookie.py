"""The signed consent cookie: signing, rotation, expiry, size, and tampering (R21-R24)."""

from __future__ import annotations

import time

from hypothesis import given, settings
from hypothesis import strategies as st

from cookieconsent.core.cookie import (
    ConsentCodec,
    Decision,
    GpcFlag,
    expire_cookie,
    new_consent_id,
    read_cookies,
    set_cookie_name,
)

KEY_OLD = "old-secret-key-0123456789"
KEY_NEW = "new-secret-key-0123456789"
CATEGORIES = ("analytics", "functional", "marketing")
DAY = 24 * 3600


def codec(*keys: str, categories: tuple[str, ...] = CATEGORIES, revision: str = "rev1") -> ConsentCodec:
    return ConsentCodec(keys or (KEY_NEW,), categories, revision, max_age=180 * DAY)


def decision(granted: set[str] | frozenset[str] = frozenset({"analytics"}), gpc: int = 0) -> Decision:
    return Decision(
        new_consent_id(),
        frozenset(granted),
        "rev1",
        time.time(),
        GpcFlag(gpc),
    )


def test_round_trip() -> None:
    c = codec()
    d = decision({"analytics", "marketing"}, gpc=1)
    read = c.loads(c.dumps(d))
    assert read is not None
    assert (read.consent_id, read.granted, read.revision, read.gpc) == (
        d.consent_id,
        d.granted,
        "rev1",
        GpcFlag.OPTED_OUT,
    )
    assert abs(read.decided_at - d.decided_at) < 2


def test_key_rotation_old_cookies_still_read_new_ones_signed_with_newest() -> None:
    old_value = codec(KEY_OLD).dumps(decision())
    rotated = codec(KEY_OLD, KEY_NEW)
    assert rotated.loads(old_value) is not None
    new_value = rotated.dumps(decision())
    assert codec(KEY_NEW).loads(new_value) is not None  # signed with the newest key
    assert codec(KEY_OLD).loads(new_value) is None
    assert codec(KEY_NEW).loads(old_value) is None  # once the old key is dropped


def test_other_secret_or_salt_reads_nothing() -> None:
    from itsdangerous import URLSafeTimedSerializer

    forged = URLSafeTimedSerializer(KEY_NEW, salt="another-salt").dumps([1, "abcdefghijkl", "rev1", 7, 0])
    assert codec().loads(forged) is None


def test_expiry_day_179_valid_day_181_not_decided() -> None:  # R19
    c = codec()
    value = c.dumps(decision())
    now = time.time()
    assert c.loads(value, now=now + 179 * DAY) is not None
    assert c.loads(value, now=now + 181 * DAY) is None


def test_clock_moving_backwards_keeps_the_decision() -> None:
    c = codec()
    value = c.dumps(decision())
    assert c.loads(value, now=time.time() - 3600) is not None


def test_stale_fingerprint_is_not_decided() -> None:
    value = codec(revision="rev1").dumps(decision())
    assert codec(revision="rev2").loads(value) is None


def test_unknown_schema_and_bad_fields_are_not_decided() -> None:
    import hashlib

    from itsdangerous import URLSafeTimedSerializer

    from cookieconsent.core.cookie import SALT

    s = URLSafeTimedSerializer(
        [KEY_NEW], salt=SALT, signer_kwargs={"key_derivation": "hmac", "digest_method": hashlib.sha256}
    )
    c = codec()
    bad_payloads = [
        [2, "abcdefghijkl", "rev1", 1, 0],  # unknown schema version
        [1, "abcdefghijkl", "rev1", 1 << 10, 0],  # a category bit that does not exist
        [1, "abcdefghijkl", "rev1", -1, 0],
        [1, "abcdefghijkl", "rev1", True, 0],
        [1, "short", "rev1", 1, 0],
        [1, "abcdefghijkl", "rev1", 1, 7],  # unknown GPC flag
        [1, "abcdefghijkl", "rev1", 1],
        {"id": "abcdefghijkl"},
        "just a string",
    ]
    for bad in bad_payloads:
        assert c.loads(s.dumps(bad)) is None, bad
    assert c.loads(s.dumps([1, "abcdefghijkl", "rev1", 1, 0])) is not None  # the control case


def test_size_with_the_largest_policy_stays_small() -> None:  # R23
    many = tuple(f"category_{i:02d}_with_a_long_name_x"[:32] for i in range(64))
    c = codec(categories=many)
    value = c.dumps(Decision("x" * 16, frozenset(many), "rev1", time.time(), GpcFlag.OVERRIDDEN))
    assert len(("__Host-consent=" + value).encode()) <= 512
    assert c.loads(value) is not None


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_any_tampering_reads_as_not_decided(data: st.DataObject) -> None:
    c = codec()
    value = c.dumps(decision({"analytics", "functional", "marketing"}))
    kind = data.draw(st.sampled_from(["flip", "insert", "delete", "truncate", "replace"]))
    pos = data.draw(st.integers(0, len(value) - 1))
    alphabet = st.sampled_from("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.")
    if kind == "flip":
        ch = data.draw(alphabet.filter(lambda x: x != value[pos]))
        tampered = value[:pos] + ch + value[pos + 1 :]
    elif kind == "insert":
        tampered = value[:pos] + data.draw(alphabet) + value[pos:]
    elif kind == "delete":
        tampered = value[:pos] + value[pos + 1 :]
    elif kind == "truncate":
        tampered = value[:pos]
    else:
        tampered = data.draw(st.text(max_size=300))
    if tampered == value:
        return
    read = c.loads(tampered)
    # base64 padding bits can absorb a change to the last character of a segment and still decode
    # to the same bytes; anything that reads must then be exactly the original decision.
    if read is not None:
        assert read == c.loads(value)
        assert c._serializer.loads(tampered) == c._serializer.loads(value)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=2000))
def test_arbitrary_values_never_raise(value: str) -> None:
    assert codec().loads(value) is None


def test_cookie_header_helpers() -> None:
    header = 'a=1; __Host-consent=abc.def; b="q"; c=; =x; d'
    cookies = read_cookies(header)
    assert cookies.get("__Host-consent") == "abc.def"
    assert cookies.get("consent") is None  # a suffix is not a name
    assert cookies.get("b") == "q"
    assert read_cookies("x__Host-consent=1").get("__Host-consent") is None
    assert cookies.names == ("a", "__Host-consent", "b", "c")
    assert set_cookie_name(" _ga = GA1; Path=/") == "_ga"
    assert set_cookie_name("no-equals-sign; Path=/") == ""
    assert set_cookie_name("\t_ga \t=1") == "_ga"
    assert set_cookie_name("session\xa0=1") == "session\xa0"  # browsers trim only spaces and tabs
    assert set_cookie_name("\x85session\x0b=1") == "\x85session\x0b"


def test_a_comma_is_part_of_a_value_not_a_separator() -> None:
    """Browsers join cookies with "; " only (RFC 6265 §4.2.1): what follows a comma is the same value."""
    cookies = read_cookies("x=1,__Host-consent=attacker; __Host-consent=victim")
    assert cookies.values("x") == ["1,__Host-consent=attacker"]
    assert cookies.get("__Host-consent") == "victim"
    assert cookies.names == ("x", "__Host-consent")
    assert read_cookies("a=1, b=2").values("a") == ["1, b=2"]
    assert read_cookies("a=1,b=2").get("b") is None


def test_a_name_sent_twice_has_no_single_value() -> None:
    cookies = read_cookies("__Host-consent=one; other=1; __Host-consent=two")
    assert cookies.get("__Host-consent") is None
    assert cookies.values("__Host-consent") == ["one", "two"]
    assert cookies.repeated(["__Host-consent", "other", "missing"]) == ["__Host-consent"]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.text(alphabet="abcXYZ_-.,= \t", max_size=8), st.text(max_size=12)), max_size=6))
def test_reading_matches_a_plain_split_on_semicolons(pairs: list[tuple[str, str]]) -> None:
    """Whatever the pairs hold (commas, spaces, "="), a cookie is what lies between two ";"."""
    pairs = [(n, v.replace(";", "")) for n, v in pairs]
    header = "; ".join(f"{n}={v}" for n, v in pairs)
    expected: dict[str, list[str]] = {}
    for part in header.split(";"):
        name, sep, value = part.partition("=")
        name, value = name.strip(" \t"), value.strip(" \t")
        if sep and name:
            quoted = len(value) >= 2 and value[0] == value[-1] == '"'
            expected.setdefault(name, []).append(value[1:-1] if quoted else value)
    cookies = read_cookies(header)
    assert {n: cookies.values(n) for n in cookies.names} == expected


def test_expiring_prefixed_cookies_adds_secure() -> None:
    assert expire_cookie("__Secure-x", path="/a") == (
        "__Secure-x=; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Path=/a; Secure"
    )
    assert expire_cookie("_fbp", domain=".example.com") == (
        "_fbp=; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Path=/; Domain=.example.com"
    )
