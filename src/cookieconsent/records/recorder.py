"""The recorder: the device and log data the policy describes, only for the categories granted.

Each data item of the policy (``ip_address``, ``software_hardware``, ``browsing_clicks``…) is gated by
the category the policy assigns it: a visitor who granted none of them leaves no record at all (R3).
Records are captured on the request path (a few attribute reads and one append to a bounded buffer)
and built, passed to hooks and written by a background thread in batches. If the store is down,
batches go to a local spool file (JSON lines) and are replayed, in order, when it is back: records
carry their own ids, so a replay never stores one twice. A hook that raises is logged and skipped; a
hook that hangs only delays other hooks, never a page or the store. A third thread enforces the
policy's ``[retention]``: once per ``purge_every`` (a day by default) it purges the store, and of the
workers sharing a store only the one that claims the period does (:meth:`Store.purge_if_due`).

::

    recorder = Recorder(config, "instance/records.db")
    app = ConsentMiddleware(app, config, recorder=recorder)

    @recorder.on_visit
    def log_visit(record: VisitRecord) -> None:
        print(record.page, record.ip)
"""

from __future__ import annotations

import collections
import contextlib
import datetime as dt
import functools
import json
import logging
import os
import re
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from secrets import token_urlsafe
from typing import Any, Literal, TypeVar

from cookieconsent.config import ConsentConfig

try:
    import fcntl
except ImportError:  # not POSIX: the spool is then shared safely by threads only
    fcntl = None  # type: ignore[assignment]
from cookieconsent.core.cookie import DEVICE_COOKIE, DEVICE_COOKIE_AGE, device_cookie_name, format_cookie, read_cookies
from cookieconsent.core.engine import Engine
from cookieconsent.core.request import RequestView
from cookieconsent.core.state import ConsentState
from cookieconsent.policy.model import NECESSARY
from cookieconsent.records.factory import open_store
from cookieconsent.records.models import (
    ConsentRecord,
    EventRecord,
    Location,
    Mechanism,
    UserAgent,
    VisitRecord,
    hash_notice,
    ip_minimise,
    time_ordered_id,
)
from cookieconsent.records.store import PurgeCounts, Store
from cookieconsent.web.endpoints import Endpoints, Event

__all__ = ["DEVICE_COOKIE", "PURGE_EVERY", "Recorder"]

logger = logging.getLogger("cookieconsent")

# DEVICE_COOKIE is the base name of the cookie holding the random device identifier (declare it in
# the policy, in the category of the ``device_id`` data item). With ``secure`` (the default) the
# cookie is set as ``__Host-ccdid``, which a sibling subdomain cannot plant; the declaration
# ``ccdid`` covers it. It lives DEVICE_COOKIE_AGE seconds.
#: How often the recorder purges what is past the policy's retention periods, by default.
PURGE_EVERY = dt.timedelta(days=1)
_Hook = TypeVar("_Hook", bound=Callable[..., Any])
Kind = Literal["visit", "event", "consent"]
#: A cookie name (RFC 6265 token); the names of other cookies a request carries are not recorded.
_TOKEN = re.compile(r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]{1,256}\Z")


@dataclass(slots=True)
class _Visit:
    """What the request path captures; the background thread turns it into a :class:`VisitRecord`."""

    at: float
    items: frozenset[str]
    consent_id: str | None
    device_id: str | None
    path: str
    method: str
    status: int
    duration_ms: float
    client: str | None
    user_agent: str | None
    cookies: tuple[str, ...]
    country: str | None
    region: str | None


class Recorder:
    """Records visits, beacon events and proof of consent under one :class:`~cookieconsent.config.ConsentConfig`.

    Args:
        config: The configuration whose policy gates what is recorded.
        store: A :class:`~cookieconsent.records.Store`, or a path / URL for :func:`open_store`
            (``instance/records.db``, ``postgresql://…``); ``None`` keeps nothing but still calls hooks.
        spool: The spool file for batches written while the store is down (default: next to a SQLite
            file, else ``cookieconsent-spool.jsonl`` in the working directory).
        ip_mode: ``truncate`` (/24 and /48, the default) or ``hash`` (keyed with ``ip_key``).
        ip_key: The key for ``hash`` mode (at least 16 bytes).
        country_header: A request header a trusted proxy or CDN sets to the visitor's country
            (``cf-ipcountry``); never read it from a client you do not control.
        region_header: Likewise for the ISO 3166-2 region.
        keep_raw_user_agent: Keep the raw User-Agent string besides the parsed fields.
        max_pending: Records waiting for the background thread before the request path writes to the
            spool itself.
        batch_size: Records per write.
        interval: Seconds between batches when the buffer is not full, and between looks at the purge
            schedule (a look costs nothing until a purge is due).
        retry_after: Seconds before trying a store that failed again.
        purge_every: How often to purge the store of what is past the policy's ``[retention]``
            periods: a :class:`~datetime.timedelta` or seconds; ``None`` or 0 turns the scheduled purge
            off. The period is the store's, not the process's: a store last purged longer ago is
            purged soon after the recorder starts, and of several recorders sharing it only one
            purges per period.
        now: The clock: returns the current time, with a time zone. It stamps the records and drives
            the purge schedule; tests pass a clock they move by hand.

    Raises:
        ValueError: ``purge_every`` is negative, or ``now`` returns a time without a time zone.
    """

    def __init__(
        self,
        config: ConsentConfig,
        store: Store | str | Path | None = None,
        *,
        spool: str | Path | None = None,
        ip_mode: Literal["truncate", "hash"] = "truncate",
        ip_key: bytes | None = None,
        country_header: str | None = None,
        region_header: str | None = None,
        keep_raw_user_agent: bool = False,
        max_pending: int = 10_000,
        batch_size: int = 500,
        interval: float = 0.2,
        retry_after: float = 1.0,
        purge_every: dt.timedelta | float | None = PURGE_EVERY,
        now: Callable[[], dt.datetime] | None = None,
    ) -> None:
        self.engine = Engine(config)
        self.policy = policy = config.policy
        #: The device cookie's name: ``__Host-ccdid`` with ``secure`` (Secure, Path=/, no Domain, so no
        #: other host can set it), ``ccdid`` on plain HTTP. A plain ``ccdid`` is ignored under ``secure``.
        self.device_cookie = device_cookie_name(config.secure)
        if isinstance(store, str | Path):
            store = open_store(store if isinstance(store, str) else Path(store))
        # Beside an SQLite file by default; for PostgreSQL, in the working directory.
        path = getattr(store, "path", None)
        default_spool = Path(path).with_suffix(".spool.jsonl") if isinstance(path, str) and path != ":memory:" else None
        self.store = store
        self.spool = Path(spool) if spool is not None else default_spool or Path("cookieconsent-spool.jsonl")
        self.ip_mode = ip_mode
        self.ip_key = ip_key
        self.country_header = country_header.lower() if country_header else None
        self.region_header = region_header.lower() if region_header else None
        self.keep_raw_user_agent = keep_raw_user_agent
        self.max_pending = max_pending
        self.batch_size = batch_size
        self.interval = interval
        self.retry_after = retry_after
        self.now: Callable[[], dt.datetime] = now or _utc_now
        started = self.now()
        if started.tzinfo is None or started.utcoffset() is None:
            raise ValueError(
                f"the recorder's clock returned {started!r}, a time without a time zone; "
                "pass now=lambda: datetime.now(timezone.utc)"
            )
        # The request path reads a float; without a clock of the caller's, time.time gives it fastest.
        self._timestamp: Callable[[], float] = time.time if now is None else lambda: self.now().timestamp()
        every = purge_every if isinstance(purge_every, dt.timedelta) else dt.timedelta(seconds=purge_every or 0)
        if every < dt.timedelta(0):
            raise ValueError(
                f"purge_every must be a positive period such as timedelta(days=1), or None to turn the "
                f"scheduled purge off (got {purge_every!r})"
            )
        self.purge_every: dt.timedelta | None = every or None
        self._worker = f"{socket.gethostname()}:{os.getpid()}"
        self._purge_lock = threading.Lock()
        self._purge_next: dt.datetime | None = None  # by the clock: no need to ask the store before then
        self._purge_retry_at = 0.0  # by time.monotonic: after a failed purge
        self._purge_failing = False
        self._purge_thread: threading.Thread | None = None
        self._items = {item.id: item.category for item in policy.data_items}
        self._items_for: dict[frozenset[str], frozenset[str]] = {}
        self._hooks: dict[Kind, list[Callable[[Any], None]]] = {"visit": [], "event": [], "consent": []}
        self._pending: collections.deque[tuple[Kind, Any]] = collections.deque()
        # Records neither the store nor the spool could take (its disk full): kept here, at most
        # max_pending of them, and written first once the store is back.
        self._held: collections.deque[tuple[Kind, Any]] = collections.deque(maxlen=max_pending)
        self._hook_queue: collections.deque[tuple[Kind, Any]] = collections.deque(maxlen=max_pending)
        self._spool_lock = threading.Lock()
        self._write_lock = threading.Lock()
        self._store_down_until = 0.0
        self._stopping = threading.Event()
        self._last_flushed = threading.Event()  # set at shutdown once the last records reached the hook queue
        self._thread: threading.Thread | None = None
        self._hook_thread: threading.Thread | None = None
        self._notice_hashes: dict[str, str] = {}
        self._parse_ua: Callable[[str], UserAgent] | None = None
        self._entropy = b""  # random bytes for record ids (see _record_id)
        self._entropy_at = 0
        self._entropy_lock = threading.Lock()
        # A UserAgent is frozen: one per distinct header is shared by every record that has it.
        self._agents = functools.lru_cache(maxsize=1024)(self._agent)

    # -- hooks -----------------------------------------------------------------------------------

    def on_visit(self, hook: _Hook) -> _Hook:
        """Register ``hook(record: VisitRecord)``; returns it, so it can be used as a decorator."""
        self._hooks["visit"].append(hook)
        return hook

    def on_event(self, hook: _Hook) -> _Hook:
        """Register ``hook(record: EventRecord)`` for page views and clicks from the banner script."""
        self._hooks["event"].append(hook)
        return hook

    def on_consent(self, hook: _Hook) -> _Hook:
        """Register ``hook(record: ConsentRecord)`` for every decision (the proof of consent)."""
        self._hooks["consent"].append(hook)
        return hook

    def attach(self, engine: Engine, endpoints: Endpoints) -> None:
        """Receive the responses, decisions and beacon events of a middleware (the middlewares call this).

        The middlewares also serve the privacy centre when the recorder has a store (see
        :class:`~cookieconsent.web.privacy.PrivacyCentre`); this method only adds the hooks.
        """
        engine.recorder = self
        engine.decision_cookies.append(self.decision_cookie)
        engine.decision_hooks.append(lambda state, mechanism: self.consent(state, mechanism))  # type: ignore[arg-type]
        endpoints.event_hooks.append(lambda request, state, event: self.event(state, event, request))

    # -- the request path ------------------------------------------------------------------------

    def items_for(self, state: ConsentState) -> frozenset[str]:
        """The data items the state allows recording (never marks the state as read by the app)."""
        granted = state.granted
        items = self._items_for.get(granted)
        if items is None:
            items = frozenset(i for i, cat in self._items.items() if cat == NECESSARY or cat in granted)
            if len(self._items_for) < 256:
                self._items_for[granted] = items
        return items

    def capture(self, state: ConsentState, status: int, started: float) -> str | None:
        """Capture a visit as its response starts: nothing unless a data item is allowed (R3).

        Only a few values are taken here; the background thread reads the rest from the request.

        Args:
            state: The request's consent state.
            status: The response's status code.
            started: ``time.perf_counter()`` when the request arrived.

        Returns:
            The ``Set-Cookie`` value giving the device its identifier, when the ``device_id`` item is
            allowed and the request carried none; else ``None``.
        """
        items = self._items_for.get(state.granted)
        if items is None:  # an empty set is a cached answer too: nothing to record
            items = self.items_for(state)
        if not items or state.conflict:
            return None  # no decision, nothing granted that gates a data item, or a planted cookie
        given = self.new_device(state, items)
        new_device = given[1] if given is not None else None
        visit = (self._timestamp(), items, state, new_device, status, (time.perf_counter() - started) * 1000)
        if len(self._pending) < self.max_pending and self._thread is not None:
            self._pending.append(("visit", visit))
        else:
            self._push("visit", visit)
        return given[0] if given is not None else None

    def decision_cookie(self, state: ConsentState) -> str | None:
        """The device cookie a new decision gives at once, when it allows the device id (an engine hook)."""
        given = self.new_device(state)
        return given[0] if given is not None else None

    def new_device(self, state: ConsentState, items: frozenset[str] | None = None) -> tuple[str, str] | None:
        """A new device identifier and its ``Set-Cookie`` value, if ``state`` allows one and has none.

        Returns:
            ``(set_cookie, device_id)``, or ``None`` when the ``device_id`` item is not allowed or the
            request carried the device cookie already.
        """
        if "device_id" not in (items if items is not None else self.items_for(state)):
            return None
        if self.device_cookie in state.cookie_names:
            return None
        device = token_urlsafe(16)
        secure = self.engine.config.secure
        return format_cookie(self.device_cookie, device, max_age=DEVICE_COOKIE_AGE, secure=secure), device

    def device_id(self, header: str) -> str | None:
        """The device id a ``Cookie`` header carries, read from :attr:`device_cookie` only.

        One longer than any the recorder gives is not one. Under ``secure`` a plain ``ccdid`` cookie is
        not read: any sibling subdomain could have planted it. Two device cookies in one header are
        no device id either: one of them was planted.
        """
        cookies = read_cookies(header)
        if cookies.repeated((self.device_cookie,)):
            return None
        device = cookies.get(self.device_cookie)
        return device if device and len(device) <= 128 else None

    def _capture(self, raw: tuple[Any, ...]) -> _Visit:
        """Read what a visit needs from its request (in the background thread)."""
        at, items, state, new_device, status, duration_ms = raw
        consent_id = state.consent_id
        request = state.request
        header = request.header("cookie") or ""
        device = (self.device_id(header) or new_device) if "device_id" in items else None
        location = "location" in items
        return _Visit(
            at=at,
            items=items,
            consent_id=consent_id,
            device_id=device,
            path=request.path,
            method=request.method,
            status=status,
            duration_ms=duration_ms,
            client=request.client if "ip_address" in items else None,
            user_agent=request.header("user-agent") if items & {"software_hardware", "device_type_version"} else None,
            cookies=tuple(n for n in read_cookies(header).names if _TOKEN.match(n))
            if "cookie_data" in items and header
            else (),
            country=request.header(self.country_header) if self.country_header and location else None,
            region=request.header(self.region_header) if self.region_header and location else None,
        )

    def event(self, state: ConsentState, event: Event, request: RequestView) -> None:
        """Capture a beacon event (the endpoint already checked its category)."""
        if state.conflict:
            return  # a planted cookie: nothing of this request is recorded
        header = request.header("cookie") or ""
        items = self.items_for(state)
        device = self.device_id(header) if "device_id" in items else None
        self._push(
            "event",
            EventRecord(
                at=self.now(),
                kind=event.type,
                page=event.path.split("?", 1)[0],
                target=event.target,
                consent_id=state.consent_id,
                device_id=device,
            ),
        )

    def consent(self, state: ConsentState, mechanism: Mechanism) -> None:
        """Capture the proof of a decision (R28): always recorded, whatever was decided."""
        decision = state.pending or state.decision
        if decision is None:
            return
        optional = self.policy.optional_categories
        locale = state.locale
        self._push(
            "consent",
            ConsentRecord(
                at=self.now(),
                consent_id=decision.consent_id,
                policy_version=self.policy.version[:64],
                policy_fingerprint=self.policy.fingerprint,
                notice_hash=self.notice_hash(locale),
                locale=locale,
                granted=tuple(sorted(decision.granted)),
                refused=tuple(sorted(optional - decision.granted)),
                mechanism=mechanism,
                gpc=state.gpc,
            ),
        )

    def notice_hash(self, locale: str) -> str:
        """SHA-256 of the notice shown in ``locale``: the banner's texts and the policy's notice (R31)."""
        cached = self._notice_hashes.get(locale)
        if cached is None:
            from cookieconsent.ui.i18n import messages
            from cookieconsent.ui.render import Renderer

            notice = Renderer(self.engine).notice(locale)
            categories = [(c.id, c.title.get(locale), c.description.get(locale)) for c in self.policy.categories]
            cookies = [
                (r.label, r.category, r.purpose.get(locale), r.lifetime.get(locale)) for r in self.policy.cookies
            ]
            payload = {"texts": messages(locale), "notice": notice, "categories": categories, "cookies": cookies}
            cached = self._notice_hashes[locale] = hash_notice(json.dumps(payload, sort_keys=True, default=str))
        return cached

    def _push(self, kind: Kind, item: Any) -> None:
        if len(self._pending) >= self.max_pending:
            # The writer is far behind: keep the record on disk rather than in memory.
            self._spool([(kind, self._build(kind, item))])
            return
        self._pending.append((kind, item))
        if self._thread is None:
            self.start()

    # -- the background writer -------------------------------------------------------------------

    def start(self) -> None:
        """Start the background threads (done on the first record; explicit calls are harmless)."""
        with self._write_lock:
            if self._thread is None:
                self._stopping.clear()
                self._last_flushed.clear()
                self._thread = threading.Thread(target=self._run, name="cookieconsent-recorder", daemon=True)
                self._thread.start()
                self._hook_thread = threading.Thread(target=self._run_hooks, name="cookieconsent-hooks", daemon=True)
                self._hook_thread.start()
                if self.purge_every is not None and self.store is not None:
                    self._purge_thread = threading.Thread(
                        target=self._run_purges, name="cookieconsent-purge", daemon=True
                    )
                    self._purge_thread.start()

    def _run(self) -> None:
        while not self._stopping.is_set():
            self._stopping.wait(self.interval)
            try:
                self.flush()
            except Exception:  # never let the writer die: what it holds is written on a later round
                logger.exception("cookieconsent: writing records failed; trying again shortly")
        self.flush()

    def _run_purges(self) -> None:
        # Looks at once, then every interval: a store nobody purged for a period is purged at start.
        while True:
            try:
                self.purge_due()
            except Exception:  # never let the thread die: the next look tries again
                logger.exception("cookieconsent: the scheduled purge failed; trying again shortly")
            if self._stopping.wait(self.interval):
                return

    def purge_due(self) -> PurgeCounts | None:
        """Purge the store if the schedule says so; the purge thread calls this every ``interval``.

        The store is asked only once the period since the last purge (by any worker sharing the store)
        has passed by :attr:`now`; it purges only if this recorder is the one that claims the period.
        What was purged is logged on the ``cookieconsent`` logger (``INFO``).

        Returns:
            What was purged; or ``None``: the schedule is off, no purge is due, another worker has
            purged this period, or the store failed (logged; tried again after ``retry_after``).
        """
        every, store = self.purge_every, self.store
        if every is None or store is None:
            return None
        with self._purge_lock:
            now = self.now()
            if (self._purge_next is not None and now < self._purge_next) or time.monotonic() < self._purge_retry_at:
                return None
            try:
                run = store.purge_if_due(now, self.policy.retention, every=every, worker=self._worker)
            except Exception as exc:
                self._purge_retry_at = time.monotonic() + self.retry_after
                # One warning per outage: the thread retries every retry_after, which would flood the log.
                logger.log(
                    logging.DEBUG if self._purge_failing else logging.WARNING,
                    "cookieconsent: the scheduled purge of the record store failed (%s); trying again every %s s",
                    exc,
                    self.retry_after,
                )
                self._purge_failing = True
                return None
            self._purge_failing = False
            self._purge_next = (run.last_at or now) + every
            if run.counts is None:
                logger.debug(
                    "cookieconsent: the record store was purged at %s by %s; the next purge is due at %s",
                    run.last_at,
                    run.last_by or "another worker",
                    self._purge_next,
                )
                return None
            counts = run.counts
            logger.info(
                "cookieconsent: purged %d row(s) past the retention periods at %s: %d visit(s), %d event(s), "
                "%d consent record(s), %d closed rights request(s); the next purge is due at %s",
                counts.total,
                f"{now.astimezone(dt.UTC):%Y-%m-%dT%H:%M:%SZ}",
                counts.visits,
                counts.events,
                counts.consents,
                counts.rights_requests,
                f"{self._purge_next.astimezone(dt.UTC):%Y-%m-%dT%H:%M:%SZ}",
            )
            return counts

    def flush(self) -> bool:
        """Write everything captured so far (to the store, else to the spool). Returns whether the store took it."""
        with self._write_lock:
            ok = self._replay()
            if ok and self._held:
                held = self._not_stopped(list(self._held))
                ok = self._write(held)
                if ok:
                    self._held.clear()
                    self._to_hooks(held)
            while self._pending:
                batch: list[tuple[Kind, Any]] = []
                while self._pending and len(batch) < self.batch_size:
                    kind, item = self._pending.popleft()
                    try:
                        batch.append((kind, self._build(kind, item)))
                    except Exception:
                        logger.exception("cookieconsent: a record could not be built and was dropped")
                batch = self._not_stopped(batch) if ok else batch
                if ok:
                    ok = self._write(batch)
                if not ok:
                    self._spool(batch)
                    continue
                self._to_hooks(batch)
            return ok

    def _build(self, kind: Kind, item: Any) -> Any:
        if kind != "visit":
            return item
        visit: _Visit = self._capture(item) if isinstance(item, tuple) else item
        items = visit.items
        agent = self._user_agent(visit.user_agent, items) if visit.user_agent else None
        location = None
        if visit.country and len(visit.country) == 2 and visit.country.isalpha():
            region = visit.region if visit.region and visit.region.upper().startswith(visit.country.upper()) else None
            location = Location(country=visit.country.upper(), region=region.upper() if region else None)
        try:
            ip = ip_minimise(visit.client, self.ip_mode, self.ip_key) if visit.client else None
        except ValueError:
            ip = None  # not an IP address (a Unix socket, a test client): nothing to keep
        at = dt.datetime.fromtimestamp(visit.at, dt.UTC)
        return VisitRecord(
            id=self._record_id(visit.at),
            at=at,
            consent_id=visit.consent_id,
            device_id=visit.device_id,
            page=visit.path[:2048] if "browsing_clicks" in items or "system_log" in items else "/",
            method=visit.method[:16],
            status=visit.status if "system_log" in items else None,
            duration_ms=round(visit.duration_ms, 3) if "usage_time" in items else None,
            ip=ip,
            user_agent=agent,
            cookies=visit.cookies,
            location=location,
            log_line=(
                f'{ip or "-"} "{visit.method} {visit.path[:2048]}" {visit.status}' if "system_log" in items else None
            ),
        )

    def _record_id(self, at: float) -> uuid.UUID:
        """A time-ordered id (:func:`~cookieconsent.records.models.time_ordered_id`) for a visit at ``at``.

        Its random part comes from entropy read for 256 ids at a time: ``os.urandom`` lets other
        threads run while it reads, and read for each record it made the writer win the interpreter
        back from the requests after every record. The writer calls this, and so does a request
        thread that spools a record itself when the writer is far behind: the entropy is taken
        under a lock of its own, so that no two records get the same id.
        """
        with self._entropy_lock:
            start = self._entropy_at
            if start >= len(self._entropy):
                self._entropy, start = os.urandom(10 * 256), 0
            self._entropy_at = start + 10
            entropy = self._entropy[start : start + 10]
        return time_ordered_id(entropy, int(at * 1000))

    def _user_agent(self, raw: str, items: frozenset[str]) -> UserAgent:
        return self._agents(raw[:1024], "software_hardware" in items, "device_type_version" in items)

    def _agent(self, raw: str, software: bool, device: bool) -> UserAgent:
        """The recorded :class:`UserAgent` of a header (kept per header: a site sees the same few)."""
        if self._parse_ua is None:
            self._parse_ua = _ua_parser()
        parsed = self._parse_ua(raw)
        fields = parsed.model_dump()
        if not software:
            fields.update(browser=None, browser_version=None, os=None, os_version=None)
        if not device:
            fields.update(device_family=None, device_brand=None, device_model=None, device_type=None)
        fields["raw"] = raw if self.keep_raw_user_agent and software else None
        return UserAgent(**fields)

    def _not_stopped(self, batch: list[tuple[Kind, Any]]) -> list[tuple[Kind, Any]]:
        """Drop visits and events of devices or consent ids whose owner asked to stop (R53)."""
        if self.store is None:
            return batch
        # Each id is checked as what it is: a device id against device flags, a consent id against
        # consent flags, so an id sent in the other's place stops nobody else's recording.
        devices = {r.device_id for k, r in batch if k != "consent" and r.device_id}
        consents = {r.consent_id for k, r in batch if k != "consent" and r.consent_id}
        if not devices and not consents:
            return batch
        try:
            stopped = self.store.stopped_among(device_ids=devices, consent_ids=consents)
        except Exception:
            return batch  # the write below fails too and the batch is spooled; checked again on replay
        if not stopped:
            return batch
        return [(k, r) for k, r in batch if k == "consent" or not stopped.covers(r.device_id, r.consent_id)]

    def _write(self, batch: list[tuple[Kind, Any]]) -> bool:
        store = self.store
        if store is None or not batch:
            return True
        if time.monotonic() < self._store_down_until:
            return False
        try:
            plain = [r for k, r in batch if k != "consent"]
            if plain:
                store.write_batch(plain)
            for i, (kind, record) in enumerate(batch):
                if kind == "consent":
                    batch[i] = (kind, store.append_consent(record))  # hooks get it sealed (seq, hashes)
            return True
        except Exception as exc:
            self._store_down_until = time.monotonic() + self.retry_after
            logger.warning("cookieconsent: the record store is unavailable (%s); spooling to %s", exc, self.spool)
            return False

    def _spool(self, batch: list[tuple[Kind, Any]]) -> None:
        if not batch:
            return
        waiting = [*self._held, *batch]  # records held in memory go first: they are older
        lines = "".join(json.dumps({"kind": k, "record": r.model_dump(mode="json")}) + "\n" for k, r in waiting)
        try:
            with self._spool_locked(), self.spool.open("a", encoding="utf-8") as fh:
                fh.write(lines)
                fh.flush()
        except OSError as exc:
            self._hold(batch, exc)
            return
        self._held.clear()

    def _hold(self, batch: list[tuple[Kind, Any]], exc: OSError, *, older: bool = False) -> None:
        """Keep records in memory when the spool cannot take them (a full disk, a read-only folder).

        Writing a record twice is harmless (stores keep one per id), so a spool line half written
        before the failure does no harm either.
        """
        dropped = max(0, len(self._held) + len(batch) - self.max_pending)
        first = not self._held
        if older:
            self._held.extendleft(reversed(batch))
        else:
            self._held.extend(batch)
        if first or dropped:
            logger.error(
                "cookieconsent: cannot write the spool %s (%s); records are kept in memory (at most %d) until the "
                "store or the disk is back%s. Free some disk space, or give Recorder(spool=...) a writable path.",
                self.spool,
                exc.strerror or exc,
                self.max_pending,
                f"; {dropped} were dropped" if dropped else "",
            )

    def _replay(self) -> bool:
        """Move spooled batches into the store; True if the store is usable (and the spool empty)."""
        if self.store is None:
            return True
        if not self.spool.exists() or self.spool.stat().st_size == 0:
            return time.monotonic() >= self._store_down_until
        if time.monotonic() < self._store_down_until:
            return False
        with self._spool_locked():
            if not self.spool.exists():
                return True  # another process replayed it meanwhile
            batch = []
            for line in self.spool.read_text(encoding="utf-8").splitlines():
                if not line.strip():
                    continue
                try:
                    batch.append(_load(line))
                except (ValueError, KeyError):  # a line cut short (the disk filled up while it was written)
                    logger.warning("cookieconsent: skipped an unreadable line of the spool %s", self.spool)
            for start in range(0, len(batch), self.batch_size):
                part = self._not_stopped(batch[start : start + self.batch_size])
                if not self._write(part):
                    # Keep what was not written (writes are idempotent: re-writing the rest is safe).
                    rest = batch[start:]
                    try:
                        self.spool.write_text(
                            "".join(
                                json.dumps({"kind": k, "record": r.model_dump(mode="json")}) + "\n" for k, r in rest
                            ),
                            encoding="utf-8",
                        )
                    except OSError as exc:
                        self._hold(rest, exc, older=True)
                    return False
                self._to_hooks(part)
            self.spool.unlink()
            return True

    @contextlib.contextmanager
    def _spool_locked(self) -> Iterator[None]:
        """Hold the spool: against this process's threads, and against other processes sharing the file.

        Replaying reads the file, writes it to the store and removes it; without the file lock, a
        record another worker process appended in between would be lost.
        """
        with self._spool_lock:
            self.spool.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(f"{self.spool}.lock", os.O_CREAT | os.O_RDWR, 0o600)
            try:
                if fcntl is not None:
                    fcntl.flock(fd, fcntl.LOCK_EX)
                yield
            finally:
                os.close(fd)  # releases the lock

    def _to_hooks(self, records: list[tuple[Kind, Any]]) -> None:
        """Queue written records for the hooks of their kind (none queued for a kind without hooks)."""
        hooks = self._hooks
        if hooks["visit"] or hooks["event"] or hooks["consent"]:
            self._hook_queue.extend(record for record in records if hooks[record[0]])

    def _run_hooks(self) -> None:
        while not self._last_flushed.is_set() or self._hook_queue:
            if not self._hook_queue:
                self._last_flushed.wait(self.interval)
                continue
            kind, record = self._hook_queue.popleft()
            for hook in self._hooks[kind]:
                try:
                    hook(record)
                except Exception:
                    logger.exception("cookieconsent: the %s hook %r raised; the record is kept", kind, hook)

    def close(self, timeout: float = 10.0) -> None:
        """Write what is pending and stop the threads (called at shutdown: ASGI lifespan, WSGI atexit)."""
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout)
        if self._purge_thread is not None:
            self._purge_thread.join(timeout)
        self.flush()
        self._last_flushed.set()  # the hook thread runs the hooks of what is queued, then ends
        if self._hook_thread is not None:
            self._hook_thread.join(timeout)
        self._thread = self._hook_thread = self._purge_thread = None


def _utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _load(line: str) -> tuple[Kind, Any]:
    data = json.loads(line)
    kind: Kind = data["kind"]
    if kind == "consent":
        return kind, ConsentRecord.model_validate(data["record"])
    if kind == "event":
        return kind, EventRecord.model_validate(data["record"])
    return kind, VisitRecord.model_validate(data["record"])


def _ua_parser() -> Callable[[str], UserAgent]:
    """A User-Agent parser built on ``ua-parser`` (loaded on first use, off the request path)."""
    import ua_parser

    def parse(raw: str) -> UserAgent:
        result = ua_parser.parse(raw)
        agent, os_, device = result.user_agent, result.os, result.device
        kind = None
        if device is not None:
            family = (device.family or "").lower()
            kind = (
                "tablet"
                if "ipad" in family or "tablet" in family
                else "mobile"
                if family not in ("", "other")
                else None
            )
        if kind is None and os_ is not None:
            kind = (
                "desktop" if os_.family in ("Windows", "Mac OS X", "Linux", "Ubuntu", "Chrome OS", "Fedora") else None
            )
        return UserAgent(
            browser=agent.family if agent else None,
            browser_version=".".join(p for p in (agent.major, agent.minor) if p) if agent else None,
            os=os_.family if os_ else None,
            os_version=".".join(p for p in (os_.major, os_.minor) if p) if os_ else None,
            device_family=device.family if device and device.family != "Other" else None,
            device_brand=device.brand if device else None,
            device_model=device.model if device else None,
            device_type=kind,
        )

    return parse
