"""The engine's decisions on response headers: property tests of the Set-Cookie filter (R1, R2)."""

from __future__ import annotations

import logging
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cookieconsent import ConsentConfig
from cookieconsent.core.engine import Engine
from cookieconsent.core.state import ConsentState, edits_of
from cookieconsent.testing import FakeRequest

DECLARED = ["session", "lang", "_ga", "_ga_ABC123", "_fbp"]
CATEGORY = {
    "session": "necessary",
    "lang": "functional",
    "_ga": "analytics",
    "_ga_ABC123": "analytics",
    "_fbp": "marketing",
}


def make_state(engine: Engine, granted: frozenset[str], headers: dict[str, str] | None = None) -> ConsentState:
    return ConsentState.make(engine, FakeRequest(headers=headers or {}), None, granted)


names = st.one_of(
    st.sampled_from([*DECLARED, "x_unknown", "__Host-consent", ""]),
    st.text(alphabet=st.characters(codec="latin-1", exclude_characters=";=,"), max_size=12),
)
attributes = st.lists(
    st.sampled_from(
        ["Path=/", "HttpOnly", "Secure", "SameSite=Lax", "Max-Age=10", "Domain=example.com", "", "=", ";;"]
    ),
    max_size=4,
)
set_cookie = st.builds(
    lambda n, v, a: "; ".join([f"{n}={v}", *a]),
    names,
    st.text(alphabet=st.characters(codec="latin-1"), max_size=20),
    attributes,
)
other_header = st.tuples(
    st.sampled_from(["Content-Type", "vary", "X-Other", "Cache-Control"]),
    st.text(alphabet=st.characters(codec="latin-1", exclude_categories=["Cc"]), max_size=20),
)
header_lists = st.lists(
    st.one_of(st.tuples(st.sampled_from(["set-cookie", "Set-Cookie", "SET-COOKIE"]), set_cookie), other_header),
    max_size=12,
)
grants = st.frozensets(st.sampled_from(["functional", "analytics", "marketing", "bogus"]))


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(headers=header_lists, granted=grants)
def test_set_cookie_filter(config: ConsentConfig, headers: list[tuple[str, str]], granted: frozenset[str]) -> None:
    engine = Engine(config.model_copy(update={"warn_undeclared": False}))
    state = make_state(engine, granted)
    out = engine.response_headers(state, headers)
    kept = [v for k, v in out if k.lower() == "set-cookie"]
    given_cookies = [v for k, v in headers if k.lower() == "set-cookie"]
    for value in given_cookies:
        name = value.split(";", 1)[0].partition("=")[0].strip(" \t")  # as browsers trim it
        category = CATEGORY.get(name)
        if category == "necessary":
            assert value in kept  # necessary cookies always pass, untouched
        elif category is None or category not in granted:
            assert value not in kept  # refused and undeclared ones never pass
        else:
            assert value in kept
    # Other headers pass in order (Vary may only gain tokens, Cache-Control may become private).
    edited = ("vary", "cache-control")
    others_in = [(k, v) for k, v in headers if k.lower() not in ("set-cookie", *edited)]
    others_out = [(k, v) for k, v in out if k.lower() not in ("set-cookie", *edited)]
    assert others_out[: len(others_in)] == others_in
    if len(kept) != len(given_cookies):  # the response now depends on consent: no shared cache keeps it
        caching = ", ".join(v for k, v in out if k.lower() == "cache-control").lower()
        assert "private" in caching or "no-store" in caching


@pytest.mark.parametrize("granted", [frozenset(), frozenset({"functional", "analytics", "marketing"})])
def test_a_name_is_trimmed_of_spaces_and_tabs_only(config: ConsentConfig, granted: frozenset[str]) -> None:
    # Browsers store "session\xa0=1" under the name "session\xa0", which the policy does not declare.
    engine = Engine(config.model_copy(update={"warn_undeclared": False}))
    state = make_state(engine, granted)
    odd = [f"{name}{space}=1; Path=/" for name in ("session", "_ga") for space in ("\xa0", "\x85", "\x1f", "\x0b")]
    plain = [" session\t=1; Path=/", "_ga =GA1.1.1.1"]
    out = engine.response_headers(state, [("Set-Cookie", v) for v in [*odd, *plain]])
    kept = [v for k, v in out if k.lower() == "set-cookie"]
    assert not set(odd) & set(kept)
    assert plain[0] in kept
    assert (plain[1] in kept) == ("analytics" in granted)
    assert not any(engine.set_cookie_allowed(state, v) for v in odd)


def test_undeclared_cookie_warns_once_per_name(config: ConsentConfig, caplog: pytest.LogCaptureFixture) -> None:
    engine = Engine(config)
    state = make_state(engine, frozenset())
    with caplog.at_level(logging.WARNING, logger="cookieconsent"):
        for _ in range(3):
            engine.response_headers(state, [("Set-Cookie", "x_unknown=1"), ("Set-Cookie", "y_unknown=2")])
    messages = [r.getMessage() for r in caplog.records]
    assert sum("'x_unknown'" in m for m in messages) == 1
    assert sum("'y_unknown'" in m for m in messages) == 1
    assert all("[[cookies]]" in m for m in messages)  # says how to fix it


def test_vary_is_merged_not_duplicated(config: ConsentConfig) -> None:
    engine = Engine(config)
    state = make_state(engine, frozenset())
    state.allows("analytics")  # the app asked: the response varies by consent
    out = dict(engine.response_headers(state, [("Vary", "Accept-Encoding, cookie")]))
    assert out["Vary"] == "Accept-Encoding, cookie, Sec-GPC"
    out = dict(engine.response_headers(state, [("Vary", "*")]))
    assert out["Vary"] == "*"


def test_untouched_response_needs_no_edit(config: ConsentConfig) -> None:
    engine = Engine(config)
    state = make_state(engine, frozenset({"analytics"}))
    headers = [("Content-Type", "application/json")]
    assert engine.exchange_of(state).start(200, headers) is headers  # passed on as it is
    state.allows("analytics")
    edited = engine.exchange_of(state).start(200, headers)
    assert edited is not headers  # the app asked: the response varies
    assert edited is not None
    assert ("vary", "Cookie, Sec-GPC") in edited


def test_unknown_category_is_never_allowed(config: ConsentConfig) -> None:
    engine = Engine(config)
    state = make_state(engine, frozenset({"analytics"}))
    assert state.allows("necessary") is True
    assert state.allows("analytics") is True
    assert state.allows("Analytics") is False
    assert state.allows("nonexistent") is False


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    cookies=st.lists(st.tuples(names, st.text(alphabet=st.characters(codec="latin-1"), max_size=8)), max_size=5),
    decided=st.sampled_from([None, frozenset(), frozenset({"functional"}), frozenset({"analytics", "marketing"})]),
    gpc=st.sampled_from([None, "1", "0", " 1 ", "0, 1", "true"]),
    raw=st.booleans(),
)
def test_state_from_reads_as_decide_does(
    config: ConsentConfig, cookies: list[tuple[str, str]], decided: frozenset[str] | None, gpc: str | None, raw: bool
) -> None:
    # The adapters' per-request entry point, with raw ASGI bytes or WSGI text, against the general one.
    from cookieconsent.core.cookie import Decision, new_consent_id

    engine = Engine(config)
    pairs = [f"{name}={value}" for name, value in cookies]
    if decided is not None:
        decision = Decision(new_consent_id(), decided, config.policy.fingerprint, time.time())
        pairs.append(f"{config.cookie_name}={engine.codec.dumps(decision)}")
    header = "; ".join(pairs)
    headers = {"cookie": header} if header else {}
    if gpc is not None:
        headers["sec-gpc"] = gpc
    request = FakeRequest(headers=headers)
    expected = engine.decide(request)
    for _ in range(2):  # the second time from the table of Cookie headers already read
        given_header = (header.encode("latin-1") if raw else header) or None
        given_gpc = None if gpc is None else gpc.encode("latin-1") if raw else gpc
        state = engine.state_from(request, given_header, given_gpc)
        assert (state.decision, state.granted, state.gpc, state.expire, state.cookie_names) == (
            expected.decision,
            expected.granted,
            expected.gpc,
            expected.expire,
            expected.cookie_names,
        )
        assert (state.pending is None) == (expected.pending is None)
        assert not edits_of(state).accessed
        assert edits_of(state).mechanism is None


def test_a_state_is_read_only(config: ConsentConfig) -> None:
    """What apps see cannot be changed: each attribute, and any new one, refuses assignment.

    (Replaces the test of ``Engine.state_type``, which is gone: the engine makes read-only states.)
    """
    engine = Engine(config)
    request = FakeRequest("/page", headers={"accept-language": "zh-TW"})
    state = engine.state_from(request, None, None)
    assert state.request is request
    assert state.locale == "zh-TW"
    for name, value in [
        ("granted", frozenset({"analytics", "marketing"})),
        ("decision", None),
        ("gpc", True),
        ("conflict", False),
        ("cookie_names", frozenset()),
        ("pending", None),
        ("expire", ()),
        ("decided", True),
        ("request", request),
        ("locale", "en"),
        ("something_new", 1),
    ]:
        with pytest.raises(AttributeError):
            setattr(state, name, value)
    assert state.granted == frozenset()
    assert state.allows("analytics") is False
