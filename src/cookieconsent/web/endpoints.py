"""The library's own HTTP endpoints (the HTTP contract), answered without the application.

- ``GET /_consent/state``: the visitor's consent state as JSON.
- ``POST /_consent``: records a decision (JSON → 200 + state; HTML form → 303 to ``next``).
- ``POST /_consent/withdraw``: withdraws every optional category and expires their cookies.
- ``GET /_consent/preferences``: the preference page, with the full notice; works without JavaScript.
- ``GET /_consent/dialog``: the banner's settings dialog alone, which the script fetches for a page
  that does not carry it.
- ``GET /_consent/policy.json``: the policy's categories and cookie declarations, for tools such as the audit.
- ``GET /_consent/static/<file>``: the banner's script and stylesheet.
- ``POST /_consent/events``: page views and clicks from the banner script (204), at most
  ``events_per_minute`` per device (429 beyond).
- ``GET /.well-known/gpc.json``: the Global Privacy Control support resource.

Bad input gets a precise 4xx reply (400, 403, 404, 405, 413, 415, 429) and changes nothing.
"""

from __future__ import annotations

import json
import logging
import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from cookieconsent.core.request import RequestView
from cookieconsent.core.state import ConsentState
from cookieconsent.ui.render import STATIC, Renderer
from cookieconsent.web.replies import (
    FORM,
    JSON,
    NO_STORE,
    BadRequest,
    Reply,
    check_origin,
    html_reply,
    json_reply,
    media_type,
    parse_form,
    query,
    safe_next,
)

if TYPE_CHECKING:
    from cookieconsent.core.engine import Engine

__all__ = ["Endpoints", "Event", "EventQuota", "parse_event"]

logger = logging.getLogger("cookieconsent")

GPC_PATH = "/.well-known/gpc.json"
ACTIONS = ("accept_all", "reject_all", "custom")
#: The decision form's fields that may be given once.
_ONCE = ("action", "next", "gpc_override")
_STATIC_TYPES = {"js": "text/javascript; charset=utf-8", "css": "text/css; charset=utf-8"}
EVENT_TYPES = ("page_view", "click")
EVENT_LIMIT = 4096


class EventQuota:
    """How many beacon events one key (a device, consent id or address) may send per minute, per process.

    Each key gets a window of one minute from its first event; past ``per_minute`` events in it,
    :meth:`take` says how long to wait. At most ``max_keys`` keys are counted: a new key beyond them
    replaces the one unheard from the longest, so a flood of distinct keys costs no more memory.

    Args:
        per_minute: Events per key per minute (at least 1).
        max_keys: How many keys are counted at once.
        clock: Returns seconds (monotonic); tests pass their own.
    """

    WINDOW = 60.0

    def __init__(self, per_minute: int, *, max_keys: int = 10_000, clock: Callable[[], float] = time.monotonic) -> None:
        if per_minute < 1 or max_keys < 1:
            raise ValueError("an event quota needs per_minute and max_keys of at least 1 (0 is set as no quota)")
        self.per_minute = per_minute
        self.max_keys = max_keys
        self.clock = clock
        self._counts: OrderedDict[str, list[float]] = OrderedDict()  # key → [window start, events]
        self._lock = threading.Lock()  # WSGI servers run requests in threads

    def __len__(self) -> int:
        return len(self._counts)

    def take(self, key: str) -> int | None:
        """Count one event of ``key``: None if it is within the quota, else the seconds to wait (1 or more)."""
        now = self.clock()
        counts = self._counts
        with self._lock:
            entry = counts.get(key)
            if entry is None:
                if len(counts) >= self.max_keys:
                    counts.popitem(last=False)
                counts[key] = [now, 1]
                return None
            counts.move_to_end(key)  # heard from: the last to be replaced
            if now - entry[0] >= self.WINDOW:
                entry[0], entry[1] = now, 1
                return None
            if entry[1] >= self.per_minute:
                return max(1, math.ceil(entry[0] + self.WINDOW - now))
            entry[1] += 1
            return None


@dataclass(slots=True)
class _Choice:
    action: str
    categories: list[str]
    next: str | None
    override_gpc: bool
    form: bool


class Endpoints:
    """Routes and answers the library's own requests."""

    def __init__(self, engine: Engine, renderer: Renderer | None = None) -> None:
        self.engine = engine
        self.renderer = renderer or Renderer(engine)
        #: Called with each valid beacon event whose category the visitor granted.
        self.event_hooks: list[Callable[[RequestView, ConsentState, Event], None]] = []
        #: Reads the device id from a ``Cookie`` header, to key the events quota by device (the
        #: privacy centre sets its recorder's); without one the quota is keyed by the consent id.
        self.device_id_of: Callable[[str], str | None] | None = None
        config = engine.config
        self.prefix = prefix = config.prefix
        self.max_body = config.max_body
        self._routes: dict[str, tuple[tuple[str, ...], Callable[[RequestView, ConsentState, bytes], Reply]]] = {
            f"{prefix}/state": (("GET", "HEAD"), self._state),
            prefix: (("POST",), self._decide),
            f"{prefix}/withdraw": (("POST",), self._withdraw),
            f"{prefix}/preferences": (("GET", "HEAD"), self._preferences),
            f"{prefix}/dialog": (("GET", "HEAD"), self._dialog),
            f"{prefix}/policy.json": (("GET", "HEAD"), self._policy_json),
            f"{prefix}/events": (("POST",), self._events),
            GPC_PATH: (("GET", "HEAD"), self._gpc_json),
        }
        self._static_prefix = f"{prefix}/static/"
        #: Paths whose handlers may wait on I/O (a store): an async server runs them in a thread.
        self._blocking: set[str] = set()
        #: Other origins allowed to post (:func:`~cookieconsent.web.replies.check_origin` takes them).
        self.trusted_origins = frozenset(config.trusted_origins)
        per_minute = config.events_per_minute
        #: The per-device quota of ``POST {prefix}/events`` (None: unlimited).
        self.event_quota: EventQuota | None = EventQuota(per_minute) if per_minute else None
        #: A cheap first test for :meth:`matches` (``str.startswith`` takes a tuple).
        self.path_prefixes = (prefix, GPC_PATH)
        #: Every path :meth:`matches` lies in ``[low, high)``: two comparisons rule out almost every
        #: application path ("/", "/api/…", "/static/…") before the full match.
        self.path_range = (min(self.path_prefixes), max(p[:-1] + chr(ord(p[-1]) + 1) for p in self.path_prefixes))

    def add_route(
        self,
        name: str,
        methods: tuple[str, ...],
        handler: Callable[[RequestView, ConsentState, bytes], Reply],
        *,
        blocking: bool = True,
    ) -> None:
        """Serve ``handler`` at ``{prefix}/{name}`` (how the privacy centre adds its pages).

        Args:
            name: The path under the prefix.
            methods: The methods it answers.
            handler: Answers a request.
            blocking: Whether the handler may wait on I/O (a store, a file, the network): the ASGI
                adapter then runs it in a thread, so that the event loop goes on serving others.
        """
        path = f"{self.prefix}/{name}"
        self._routes[path] = (methods, handler)
        if blocking:
            self._blocking.add(path)
        else:
            self._blocking.discard(path)

    def blocks(self, path: str) -> bool:
        """Whether the handler of ``path`` may wait on I/O (see :meth:`add_route`)."""
        return path in self._blocking

    def matches(self, path: str) -> bool:
        """Whether ``path`` belongs to the library (the app never sees these requests)."""
        return (
            path.startswith(self.prefix) and (len(path) == len(self.prefix) or path[len(self.prefix)] == "/")
        ) or path == GPC_PATH

    def handle(self, request: RequestView, state: ConsentState, body: bytes | None) -> Reply:
        """Answer a request for which :meth:`matches` is true.

        Args:
            request: The request.
            state: Its consent state from :meth:`Engine.decide`.
            body: The request body, or ``None`` if it was larger than ``max_body`` (→ 413).
        """
        route = self._routes.get(request.path)
        if route is None and request.path.startswith(self._static_prefix):
            route = (("GET", "HEAD"), self._static)
        try:
            if route is None:
                raise BadRequest(404, "not_found", f"No such endpoint. The endpoints are: {', '.join(self._routes)}.")
            methods, handler = route
            method = request.method.upper()
            if method not in methods:
                allow = ", ".join(methods)
                raise BadRequest(405, "method_not_allowed", f"Use {allow} for this endpoint.", [("allow", allow)])
            if body is None:
                raise BadRequest(413, "too_large", f"The request body is larger than {self.max_body} bytes.")
            reply = handler(request, state, body)
        except BadRequest as exc:
            reply = self._error(request, state, exc)
        if request.method.upper() == "HEAD":  # the length the GET body would have, and no body (errors too)
            if reply.stream is not None:  # a length known only by sending it: none is given
                close = getattr(reply.stream, "close", None)
                if close is not None:
                    close()
                reply.stream = iter(())
            else:
                reply.headers.append(("content-length", str(len(reply.body))))
            reply.body = b""
        return reply

    # -- handlers ------------------------------------------------------------------------------

    def _state(self, request: RequestView, state: ConsentState, body: bytes) -> Reply:
        reply = json_reply(200, state.as_dict())
        reply.headers = self.engine.response_headers(state, reply.headers)
        return reply

    def _preferences(self, request: RequestView, state: ConsentState, body: bytes) -> Reply:
        return self._markup(state, self.renderer.preferences_page(state, safe_next(query(request).get("next"))))

    def _dialog(self, request: RequestView, state: ConsentState, body: bytes) -> Reply:
        return self._markup(state, self.renderer.dialog(state, safe_next(query(request).get("next"))))

    def _markup(self, state: ConsentState, markup: str) -> Reply:
        """A page or fragment of the visitor's settings: never cached, and varying with their cookie."""
        reply = html_reply(200, markup)
        reply.headers = self.engine.response_headers(state, reply.headers)
        return reply

    def _policy_json(self, request: RequestView, state: ConsentState, body: bytes) -> Reply:
        policy = self.engine.policy
        data = {
            "revision": policy.fingerprint,
            "consent_cookie": self.engine.config.cookie_name,
            "categories": [{"id": c.id, "required": c.required, "gpc": c.gpc} for c in policy.categories],
            "cookies": [
                {
                    "name": r.name,
                    "pattern": r.pattern,
                    "category": r.category,
                    "third_party": r.third_party,
                    "path": r.path,
                    "domain": r.domain,
                }
                for r in policy.cookies
            ]
            # The library's own cookies too, so that the list holds every cookie the site may set.
            + [
                {
                    "name": c.name,
                    "pattern": None,
                    "category": c.category,
                    "third_party": False,
                    "path": "/",
                    "domain": c.domain,
                }
                for c in self.renderer.own_cookies()
            ],
        }
        return json_reply(200, data)

    def _static(self, request: RequestView, state: ConsentState, body: bytes) -> Reply:
        name = request.path[len(self._static_prefix) :]
        version = self.renderer.asset_versions.get(name)
        if version is None:
            raise BadRequest(
                404, "not_found", f"No such file. The files are: {', '.join(self.renderer.asset_versions)}."
            )
        etag = f'"{version}"'
        headers = [
            ("content-type", _STATIC_TYPES.get(name.rsplit(".", 1)[-1], "application/octet-stream")),
            ("cache-control", "public, max-age=31536000, immutable"),
            ("etag", etag),
            ("x-content-type-options", "nosniff"),
        ]
        match = request.header("if-none-match")
        if match is not None and etag in [m.strip().removeprefix("W/") for m in match.split(",")]:
            return Reply(304, headers[1:])
        return Reply(200, headers, (STATIC / name).read_bytes())

    def _events(self, request: RequestView, state: ConsentState, body: bytes) -> Reply:
        check_origin(request, self.trusted_origins)
        quota = self.event_quota
        if quota is not None:
            wait = quota.take(self._event_key(request, state))
            if wait is not None:
                raise BadRequest(
                    429,
                    "too_many_events",
                    f"More than {quota.per_minute} events a minute come from this browser; send again in {wait} s.",
                    [("retry-after", str(wait))],
                )
        media, _ = media_type(request)
        if media not in (JSON, "text/plain"):
            raise BadRequest(415, "unsupported_media_type", f"Send events as {JSON} (or text/plain from sendBeacon).")
        if len(body) > EVENT_LIMIT:
            raise BadRequest(413, "too_large", f"An event may be at most {EVENT_LIMIT} bytes.")
        event = parse_event(body)
        category = self.renderer.beacon_category
        if category is not None and (category == "necessary" or category in state.granted):
            for hook in self.event_hooks:
                try:
                    hook(request, state, event)
                except Exception:
                    logger.exception("cookieconsent: an event hook raised; the event was not passed on")
        return Reply(204, list(NO_STORE))

    def _event_key(self, request: RequestView, state: ConsentState) -> str:
        """Whose events these are: the device cookie, else the consent id, else the client address."""
        reader = self.device_id_of
        if reader is not None:
            device = reader(request.header("cookie") or "")
            if device:
                return "d:" + device
        if state.consent_id:
            return "c:" + state.consent_id
        return "a:" + (request.client or "")

    def _gpc_json(self, request: RequestView, state: ConsentState, body: bytes) -> Reply:
        gpc = self.engine.policy.gpc
        data = {"gpc": gpc.honour, "lastUpdate": gpc.last_update.isoformat()}
        return Reply(200, [("content-type", JSON), ("cache-control", "max-age=86400")], json.dumps(data).encode())

    def _decide(self, request: RequestView, state: ConsentState, body: bytes) -> Reply:
        check_origin(request, self.trusted_origins)
        choice = self._parse_choice(request, body)
        optional = self.engine.policy.optional_categories
        if choice.action == "accept_all":
            granted = optional
        elif choice.action == "reject_all":
            granted = frozenset()
        else:
            granted = frozenset(choice.categories) & optional
        new = self.engine.decide_again(state, granted, mechanism=choice.action, override_gpc=choice.override_gpc)
        return self._answer(new, choice.form, choice.next)

    def _withdraw(self, request: RequestView, state: ConsentState, body: bytes) -> Reply:
        check_origin(request, self.trusted_origins)
        media, charset = media_type(request)
        form = media == FORM
        target = None
        if body and charset not in (None, "utf-8", "utf8"):
            raise BadRequest(415, "unsupported_charset", "Send the body as UTF-8.")
        if body and form:
            target = parse_form(body, _ONCE).get("next", [None])[0]
        elif body and media == JSON:
            try:
                data = json.loads(body)
            except (ValueError, RecursionError):
                raise BadRequest(400, "bad_json", "The body is not valid JSON.") from None
            if not isinstance(data, dict):
                raise BadRequest(400, "bad_json", "Send a JSON object (or no body).")
        elif body and media != "":
            raise BadRequest(415, "unsupported_media_type", f"Send no body, or use {JSON} or {FORM}.")
        new = self.engine.decide_again(state, (), mechanism="withdraw")
        return self._answer(new, form, target)

    def _answer(self, state: ConsentState, form: bool, target: str | None) -> Reply:
        reply = Reply(303, [("location", safe_next(target)), *NO_STORE]) if form else json_reply(200, state.as_dict())
        reply.headers = self.engine.response_headers(state, reply.headers)
        return reply

    # -- parsing -------------------------------------------------------------------------------

    def _parse_choice(self, request: RequestView, body: bytes) -> _Choice:
        media, charset = media_type(request)
        if charset not in (None, "utf-8", "utf8"):
            raise BadRequest(415, "unsupported_charset", "Send the body as UTF-8.")
        if media == JSON:
            try:
                data = json.loads(body)
            except (ValueError, RecursionError):
                raise BadRequest(400, "bad_json", "The body is not valid JSON.") from None
            if not isinstance(data, dict):
                raise BadRequest(400, "bad_json", 'Send a JSON object such as {"action": "reject_all"}.')
            action = data.get("action")
            categories = data.get("categories", [])
            if not isinstance(categories, list) or not all(isinstance(c, str) for c in categories):
                raise BadRequest(400, "bad_categories", '"categories" must be a list of category names.')
            override = data.get("gpc_override", False) is True
            choice = _Choice(action if isinstance(action, str) else repr(action), categories, None, override, False)
        elif media == FORM:
            form = parse_form(body, _ONCE)
            choice = _Choice(
                form.get("action", [""])[0],
                form.get("category", []),
                form.get("next", [None])[0],
                form.get("gpc_override", [""])[0] in ("1", "true", "on"),
                True,
            )
        else:
            raise BadRequest(415, "unsupported_media_type", f"Send the decision as {JSON} or {FORM}.")
        if choice.action not in ACTIONS:
            raise BadRequest(
                400,
                "unknown_action",
                f"Unknown action {choice.action[:40]!r}; use one of: {', '.join(ACTIONS)}.",
            )
        known = self.engine.policy.category_ids
        unknown = [c for c in choice.categories if c not in known]
        if unknown:
            raise BadRequest(
                400,
                "unknown_category",
                f"Unknown category {unknown[0][:40]!r}; the categories are: {', '.join(known)}.",
            )
        return choice

    def _error(self, request: RequestView, state: ConsentState, exc: BadRequest) -> Reply:
        """The refusal: a page in the visitor's language for a browser, else JSON saying how to fix it.

        A browser is a form posted by a page, or an address opened directly; JSON has the error's
        code and a message for the developer.
        """
        if not _from_a_browser(request):
            return json_reply(exc.status, {"error": exc.code, "message": exc.message}, exc.headers)
        next_path = safe_next(query(request).get("next"))
        page = self.renderer.error_page(state, exc.status, exc.code, exc.message, next_path)
        return html_reply(exc.status, page, exc.headers)


def _from_a_browser(request: RequestView) -> bool:
    """Whether a refusal goes to a person: a form posted by a page, or an address a browser opened."""
    if media_type(request)[0] == FORM:
        return True
    return request.method.upper() in ("GET", "HEAD") and "text/html" in (request.header("accept") or "")


@dataclass(frozen=True, slots=True)
class Event:
    """A page view or click sent by the banner script."""

    type: str
    path: str
    target: str | None
    referrer: str | None
    ts: int | None


def parse_event(body: bytes) -> Event:
    """Validate a beacon body; raise :class:`BadRequest` (400) naming what is wrong."""
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):
        raise BadRequest(400, "bad_json", "The event is not valid JSON.") from None
    if not isinstance(data, dict):
        raise BadRequest(400, "bad_event", 'Send an object such as {"type": "page_view", "path": "/"}.')
    kind = data.get("type")
    if kind not in EVENT_TYPES:
        raise BadRequest(400, "bad_event", f"Unknown event type; use one of: {', '.join(EVENT_TYPES)}.")
    path = data.get("path")
    if not isinstance(path, str) or not path.startswith("/") or len(path) > 2048:
        raise BadRequest(400, "bad_event", '"path" must be a path starting with "/" (at most 2048 characters).')
    fields: dict[str, str | None] = {}
    for name, limit in (("target", 200), ("referrer", 2048)):
        value = data.get(name)
        if value is not None and (not isinstance(value, str) or len(value) > limit):
            raise BadRequest(400, "bad_event", f'"{name}" must be a string of at most {limit} characters.')
        fields[name] = value
    ts = data.get("ts")
    if ts is not None and (not isinstance(ts, int) or isinstance(ts, bool) or not 0 <= ts < 2**53):
        raise BadRequest(400, "bad_event", '"ts" must be a time in milliseconds.')
    return Event(kind, path, fields["target"], fields["referrer"], ts)
