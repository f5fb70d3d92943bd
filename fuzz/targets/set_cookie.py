"""The ``Set-Cookie`` filter: :meth:`Engine.response_headers` and :meth:`Engine.set_cookie_allowed`.

Input: a state byte, a choice byte, then lines. A line ``cookie: …`` is the request's ``Cookie``
header (``{{0}}``…``{{6}}`` stand for consent cookie values, see :mod:`fuzz.common`); every other
line ``name: value`` is a response header, in order; a line without ``:`` is a ``Set-Cookie`` value.

- state byte bit 0: ``Sec-GPC: 1``; bit 1: the visitor decides in this request (the choice byte's low
  bits are the categories chosen, bit 7 overrides GPC), which adds the consent cookie.

Invariants, with the cookie name read as a browser reads it (RFC 6265bis: up to the first ``=`` of
the part before the first ``;``, spaces and tabs trimmed; a line with control characters is dropped):

- nothing raises;
- a cookie declared ``necessary`` always passes, unchanged;
- every ``Set-Cookie`` that leaves is an app cookie of a category in force, an expiry the state
  asked for (of a category refused), the library's own cookie (the consent cookie holding the pending
  decision, the recorder's device id) — nothing else;
- the other headers keep their values and order (``Vary`` and ``Cache-Control`` may only gain
  tokens);
- when the cookies changed, the response varies by ``Cookie``; when a cookie was added, no shared
  cache may keep it;
- :meth:`Engine.set_cookie_allowed` agrees with the policy for each value.
"""

from __future__ import annotations

from fuzz.common import (
    CODEC,
    CONFIG,
    ENGINE,
    NECESSARY,
    OPTIONAL,
    POLICY,
    ConsentState,
    Finding,
    Settings,
    expand,
    fake_request,
    fuzz,
)
from fuzz.known import SET_COOKIE, explained

_CONTROL = {chr(c) for c in range(0x20) if c != 0x09} | {"\x7f"}


def browser_name(value: str) -> str | None:
    """The name a browser stores a ``Set-Cookie`` value under, or None if it drops the value."""
    if any(c in _CONTROL for c in value):
        return None
    pair = value.split(";", 1)[0]
    if "=" not in pair:
        return ""  # a nameless cookie
    return pair.split("=", 1)[0].strip(" \t")


def category_of(name: str | None) -> str | None:
    """The category the policy gives a cookie name (None: undeclared)."""
    return POLICY.allows_cookie_in(name) if name else None


def test_one_input(data: bytes) -> None:
    """Run one input; raise :class:`~fuzz.common.Finding` when an invariant does not hold."""
    settings = Settings(data)
    flags, choice = settings.byte(), settings.byte()
    lines = settings.rest().decode("latin-1").split("\n")
    request_headers: list[tuple[str, str]] = []
    response: list[tuple[str, str]] = []
    for line in lines[:64]:
        name, sep, value = line.partition(":")
        if not sep:
            response.append(("set-cookie", line))
        elif name.strip().lower() == "cookie":
            request_headers.append(("cookie", expand(value.strip())))
        else:
            response.append((name.strip(), value.lstrip(" ")))
    if flags & 1:
        request_headers.append(("sec-gpc", "1"))
    request = fake_request(headers=request_headers)
    state = ENGINE.decide(request)
    if flags & 2:
        chosen = [cat for i, cat in enumerate(OPTIONAL) if choice >> i & 1]
        state = ENGINE.decide_again(state, chosen, override_gpc=bool(choice & 0x80))
    for _, value in response:
        _check_allowed(state, value)
    out = ENGINE.response_headers(state, response)
    _check_headers(state, response, out)


def _check_allowed(state: ConsentState, value: str) -> None:
    if explained(SET_COOKIE, value):
        return
    category = category_of(browser_name(value))
    allowed = ENGINE.set_cookie_allowed(state, value)
    if category == NECESSARY and not allowed:
        raise Finding(f"a necessary cookie is refused: {value!r}")
    if allowed and browser_name(value) is not None and category != NECESSARY and category not in state.granted:
        raise Finding(f"{value!r} ({category or 'undeclared'}) is allowed; in force: {sorted(state.granted)}")


def _check_headers(state: ConsentState, before: list[tuple[str, str]], after: list[tuple[str, str]]) -> None:
    cookies_in = [v for k, v in before if k.lower() == "set-cookie"]
    cookies_out = [v for k, v in after if k.lower() == "set-cookie"]
    own = set(state.expire)  # the library adds no other cookie without a recorder
    for value in cookies_in:
        if explained(SET_COOKIE, value):
            continue
        if category_of(browser_name(value)) == NECESSARY and value not in cookies_out:
            raise Finding(f"the necessary cookie {value!r} did not pass")
    added = False
    for value in cookies_out:
        name = browser_name(value)
        if value in cookies_in and explained(SET_COOKIE, value):
            continue
        if value in cookies_in:
            category = category_of(name)
            if name is not None and category != NECESSARY and category not in state.granted:
                raise Finding(f"{value!r} ({category or 'undeclared'}) passed; in force: {sorted(state.granted)}")
            continue
        added = True
        if value in state.expire:
            category = category_of(name)
            if "Max-Age=0" not in value or category in (None, NECESSARY) or category in state.granted:
                raise Finding(f"the expiry {value!r} removes a cookie that may stay")
        elif value in own:
            pass
        elif name == CONFIG.cookie_name:
            stored = CODEC.loads(value.split(";", 1)[0].split("=", 1)[1])
            if state.pending is None or stored is None or stored.granted != state.pending.granted:
                raise Finding(f"a consent cookie that does not hold the pending decision: {value!r}")
        else:
            raise Finding(f"a Set-Cookie appeared from nowhere: {value!r}")
    others_in = [(k, v) for k, v in before if k.lower() not in ("set-cookie", "vary", "cache-control")]
    others_out = [(k, v) for k, v in after if k.lower() not in ("set-cookie", "vary", "cache-control")]
    if others_in != others_out:
        raise Finding(f"other headers changed: {others_in!r} became {others_out!r}")
    vary = ", ".join(v for k, v in after if k.lower() == "vary").lower()
    tokens = {t.strip() for t in vary.split(",")}
    if cookies_in != cookies_out and not ({"cookie", "*"} & tokens):
        raise Finding(f"the cookies changed but the response does not vary by Cookie: Vary: {vary!r}")
    if added:
        cache = ", ".join(v for k, v in after if k.lower() == "cache-control").lower()
        directives = {d.strip() for d in cache.split(",")}
        if not ({"private", "no-store"} & directives):
            raise Finding(f"a response that sets cookies may be kept by shared caches: {cache!r}")


def main() -> None:
    """Fuzz this target (libFuzzer flags and corpus directories come from the command line)."""
    fuzz(test_one_input)


if __name__ == "__main__":
    main()
