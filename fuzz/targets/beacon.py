"""The beacon endpoint: ``POST /_consent/events`` (page views and clicks) and its parser.

Input: a flags byte, a content-type byte, an origin byte, then one line of extra cookies for the
``Cookie`` header (``ccdid=…``, the recorder's device id, is the interesting one) and the body.

- flags bits 0-2: the visitor's consent cookie (0: none, n: kind n - 1 of
  :data:`fuzz.common.COOKIE_KINDS`); bit 3: ``Sec-GPC: 1``; bit 6: the body is too large.

Invariants:

- nothing escapes :meth:`Endpoints.handle` or :func:`parse_event` but a 400 ``BadRequest`` with a
  message; the status is one of the contract's (204, 400, 403, 413, 415, and 429 past the events
  quota, which the fuzzer's stream of events from a few visitors reaches);
- a 429 says when to come back (``Retry-After``), sets no cookie and passes nothing to the hooks;
- a cross-site request is refused (403, or 413 first for a body too large); a 204 sets no cookie and
  has no body;
- an event reaches the hooks only when it was answered 204 and its category (the one of the
  ``browsing_clicks`` data item) is granted; it is then valid: a known type, a path starting with
  ``/`` of at most 2048 characters, a target of at most 200, a referrer of at most 2048 and a
  timestamp in [0, 2**53);
- the recorder turns every event it receives into a record without raising (a hook that raises is
  logged by the endpoint and the event is lost).
"""

from __future__ import annotations

import logging

from fuzz.common import HOST, Finding, Settings, cookie_header, fake_request, fuzz, make_endpoints
from fuzz.targets.decision import CONTENT_TYPES, ORIGINS

ENGINE, ENDPOINTS, CAPTURED = make_endpoints()
RECEIVED: list[object] = []
ENDPOINTS.event_hooks.append(lambda request, state, event: RECEIVED.append(event))
CATEGORY = ENDPOINTS.renderer.beacon_category
STATUSES = {204, 400, 403, 413, 415, 429}


class _Errors(logging.Handler):
    """Keeps the errors the library logs (a hook that raised)."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


ERRORS = _Errors()
logging.getLogger("cookieconsent").addHandler(ERRORS)
logging.getLogger("cookieconsent").propagate = False


def test_one_input(data: bytes) -> None:
    """Run one input; raise :class:`~fuzz.common.Finding` when an invariant does not hold."""
    from cookieconsent.web.endpoints import EVENT_TYPES, parse_event
    from cookieconsent.web.replies import BadRequest

    settings = Settings(data)
    flags, kind, origin = settings.byte(), settings.byte(), settings.byte()
    extra, _, body = settings.rest().partition(b"\n")
    content_type = CONTENT_TYPES[kind % len(CONTENT_TYPES)]
    origin_headers, cross_site = ORIGINS[origin % len(ORIGINS)]
    headers = [("host", HOST), *origin_headers]
    cookie = flags & 7
    cookies = cookie_header(cookie - 1 if cookie else None, extra.decode("latin-1"))
    if cookies:
        headers.append(("cookie", cookies))
    if flags & 8:
        headers.append(("sec-gpc", "1"))
    if content_type:
        headers.append(("content-type", content_type))
    request = fake_request(method="POST", path="/_consent/events", host=HOST, headers=headers)
    state = ENGINE.decide(request)
    RECEIVED.clear()
    CAPTURED.clear()
    ERRORS.records.clear()
    reply = ENDPOINTS.handle(request, state, None if flags & 64 else body)
    if reply.status not in STATUSES:
        raise Finding(f"status {reply.status} is not in the HTTP contract: {reply.body[:300]!r}")
    if reply.status == 204 and (reply.body or any(k.lower() == "set-cookie" for k, _ in reply.headers)):
        raise Finding(f"a 204 with a body or a cookie: {reply.headers} {reply.body[:100]!r}")
    if reply.status == 429 and (
        not any(k.lower() == "retry-after" and v.isdigit() for k, v in reply.headers)
        or any(k.lower() == "set-cookie" for k, _ in reply.headers)
    ):
        raise Finding(f"a 429 without Retry-After, or with a cookie: {reply.headers}")
    if cross_site and reply.status < 400:
        raise Finding(f"a cross-site beacon was answered {reply.status}")
    allowed = CATEGORY is not None and (CATEGORY == "necessary" or CATEGORY in state.granted)
    if RECEIVED and not (reply.status == 204 and allowed):
        raise Finding(f"an event reached the hooks (status {reply.status}, granted {sorted(state.granted)})")
    if reply.status == 204 and allowed and not RECEIVED:
        raise Finding("a valid event of a granted category never reached the hooks")
    for event in RECEIVED:
        _check_event(event, EVENT_TYPES)
    if ERRORS.records:
        record = ERRORS.records[0]
        raise Finding(f"a hook raised on an accepted event: {record.getMessage()} {record.exc_info!r}")
    try:
        parsed = parse_event(body)
    except BadRequest as exc:
        if exc.status != 400 or not exc.message:
            raise Finding(f"parse_event refused with {exc.status} {exc.message!r}") from exc
    else:
        _check_event(parsed, EVENT_TYPES)


def _check_event(event: object, types: tuple[str, ...]) -> None:
    from cookieconsent.web.endpoints import Event

    assert isinstance(event, Event)
    if event.type not in types:
        raise Finding(f"an event of unknown type {event.type!r}")
    if not (isinstance(event.path, str) and event.path.startswith("/") and len(event.path) <= 2048):
        raise Finding(f"an event with the path {event.path!r}")
    if event.target is not None and not (isinstance(event.target, str) and len(event.target) <= 200):
        raise Finding(f"an event with the target {event.target!r}")
    if event.referrer is not None and not (isinstance(event.referrer, str) and len(event.referrer) <= 2048):
        raise Finding(f"an event with the referrer {event.referrer!r}")
    ts = event.ts
    if ts is not None and not (type(ts) is int and 0 <= ts < 2**53):
        raise Finding(f"an event with the time {ts!r}")


def main() -> None:
    """Fuzz this target (libFuzzer flags and corpus directories come from the command line)."""
    fuzz(test_one_input)


if __name__ == "__main__":
    main()
