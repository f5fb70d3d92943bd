"""The privacy centre: visitors see, download and delete what is recorded about their device, and file rights requests.

:class:`PrivacyCentre` adds four endpoints under the prefix (``/_consent`` by default):

- ``GET my-data``: an HTML page, in the visitor's language, with what is recorded for this device
  (by the device cookie, ``__Host-ccdid`` or ``ccdid`` without ``secure``, and the consent id) a
  hundred records at a time, the consent history, the requests filed, the rights forms, "Download
  my data" and "Delete my data". It works without JavaScript.
- ``GET my-data.json``: a JSON copy of this device's records and consent records (R59), streamed:
  read from the store a batch at a time, never all at once.
- ``POST my-data/delete``: asks first, then deletes. A form post without ``confirm=1`` deletes
  nothing and answers with a confirmation page (what is recorded, by kind; "Delete" and "Cancel");
  its "Delete" posts ``confirm=1``, which deletes this device's records, withdraws consent and
  expires the cookies, then redirects to the centre, which says what was deleted, with counts. The
  request is kept as a closed ``delete`` rights request (R59). A JSON (or empty) body deletes at once,
  as an API call is its own confirmation; ``{"confirm": false}`` is refused.
- ``POST rights``: files a rights request (``view``, ``copy``, ``correct``, ``stop``, ``delete``)
  and answers with its reference and due date (R52); ``stop`` halts recording at once (R53) and is
  filed closed, as it is done. Only a browser the store holds something for can file one, and an
  open request of the same kind is answered with its own reference rather than filed twice.

It also serves ``GET preferences`` and ``GET dialog`` (the settings), in a worker thread under ASGI,
so that they can say when recording is stopped for the visitor's device: that is in the store.

The middlewares create one when their :class:`~cookieconsent.records.recorder.Recorder` has a store,
so applications rarely build one themselves::

    recorder = Recorder(config, "instance/records.db")
    app = ConsentMiddleware(app, config, recorder=recorder)  # serves /_consent/my-data

Only the device id and consent id the request itself carries are ever used to find records, so a
visitor can only ever see or delete their own.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any, Final, cast, get_args
from urllib.parse import quote

from markupsafe import Markup

from cookieconsent.core.cookie import expire_cookie
from cookieconsent.core.engine import Engine
from cookieconsent.core.request import RequestView
from cookieconsent.core.state import ConsentState
from cookieconsent.errors import ConfigurationError
from cookieconsent.records.errors import StoreError
from cookieconsent.records.models import (
    RIGHTS_PERIOD_DAYS,
    ConsentRecord,
    EventRecord,
    RightKind,
    RightsRequest,
    VisitRecord,
    close_request,
)
from cookieconsent.web import replies
from cookieconsent.web.replies import FORM, JSON, NO_STORE, BadRequest, Reply

if TYPE_CHECKING:
    from cookieconsent.records.recorder import Recorder
    from cookieconsent.records.store import Store
    from cookieconsent.ui.render import Renderer
    from cookieconsent.web.endpoints import Endpoints

__all__ = ["KINDS", "PrivacyCentre"]

#: The rights a visitor can exercise (PDPA Art. 3), in the order the forms show them.
KINDS: Final[tuple[str, ...]] = get_args(RightKind)
#: How many records one page of the privacy centre lists (the JSON copy has them all).
PAGE_SIZE: Final = 100
#: How many of the latest decisions and of the latest requests the page lists.
HISTORY: Final = 100
#: Records read from the store for each chunk of the JSON copy.
EXPORT_BATCH: Final = 200
#: The form fields that may be given once: the decision form's too, as at the other endpoints.
_ONCE = ("action", "next", "gpc_override", "kind", "details", "confirm")
_DETAILS_LIMIT = 4000
#: How a self-service deletion is closed; the centre reads the counts back from it for the result.
_DELETED = "completed: self-service deletion of {total} records (visits: {visits}, events: {events}); {consent}"
_DELETED_COUNTS = re.compile(r"\(visits: (\d+), events: (\d+)\); (consent withdrawn|no consent to withdraw)$")
#: How a ``stop`` request is closed: the stop flags are set when it is filed.
_STOPPED = "completed: recording stopped at once for this device id and consent id"


def _utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _time(value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")


def _date(value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).strftime("%Y-%m-%d")


class PrivacyCentre:
    """Serves the privacy centre's pages and forms for one middleware.

    Args:
        recorder: The recorder whose store holds the records; it must have a store.
        engine: The middleware's engine (decides the withdrawal and sets its cookies).
        endpoints: The middleware's endpoints; the centre adds its routes to them.
        renderer: Renders the page; its ``my_data_url`` is set so the banner and preference page
            link to the centre.
        clock: Returns the current time (aware); the time a request is received at. Tests pass a
            frozen clock.

    Raises:
        ConfigurationError: the recorder has no store (there is nothing to show or delete).
    """

    def __init__(
        self,
        recorder: Recorder,
        engine: Engine,
        endpoints: Endpoints,
        renderer: Renderer,
        *,
        clock: Callable[[], dt.datetime] | None = None,
    ) -> None:
        if recorder.store is None:
            raise ConfigurationError(
                "the privacy centre needs a recorder with a store: pass Recorder(config, 'instance/records.db') "
                "(or a postgresql:// URL)"
            )
        self.recorder = recorder
        self.store: Store = recorder.store
        self.engine = engine
        self.endpoints = endpoints
        self.renderer = renderer
        self.clock = clock or _utc_now
        self.url = f"{endpoints.prefix}/my-data"
        endpoints.add_route("my-data", ("GET", "HEAD"), self.page)
        endpoints.add_route("my-data.json", ("GET", "HEAD"), self.export)
        endpoints.add_route("my-data/delete", ("POST",), self.delete)
        endpoints.add_route("rights", ("POST",), self.rights)
        # The settings read the stop flags from the store: served here, in a thread under ASGI.
        endpoints.add_route("preferences", ("GET", "HEAD"), self.preferences)
        endpoints.add_route("dialog", ("GET", "HEAD"), self.dialog)
        endpoints.device_id_of = recorder.device_id  # the events quota counts per device
        renderer.my_data_url = self.url

    # -- who is asking ---------------------------------------------------------------------------

    def subject(self, request: RequestView, state: ConsentState) -> tuple[str | None, str | None]:
        """The device id (from the recorder's device cookie) and consent id of the request; either may be None.

        Under ``secure`` only ``__Host-ccdid`` is read: a plain ``ccdid`` may have been planted by a
        sibling subdomain to read someone else's records.
        """
        return self.recorder.device_id(request.header("cookie") or ""), state.consent_id

    def _now(self) -> dt.datetime:
        now = self.clock()
        if now.tzinfo is None or now.utcoffset() is None:
            raise ConfigurationError("the privacy centre's clock must return an aware datetime, in UTC")
        return now.astimezone(dt.UTC)

    def _flushed(self, device: str | None, consent_id: str | None) -> bool:
        """Whether the request carries an id; if so, what this visitor did a moment ago is written first."""
        if device is None and consent_id is None:
            return False
        self.recorder.flush()
        return True

    # -- GET my-data -----------------------------------------------------------------------------

    def page(self, request: RequestView, state: ConsentState, body: bytes) -> Reply:
        """``GET my-data``: the privacy centre page, ``PAGE_SIZE`` records at a time (``?page=2`` for the next)."""
        params = replies.query(request)
        number = _page_number(params.get("page"))
        device, consent_id = self.subject(request, state)
        counts: dict[str, int] = {}
        records: list[VisitRecord | EventRecord] = []
        consents: list[ConsentRecord] = []
        requests: list[RightsRequest] = []
        confirmed = None
        stopped = False
        ref = params.get("ref")
        try:
            if self._flushed(device, consent_id):
                stopped = self.store.is_stopped(device_id=device, consent_id=consent_id)
                counts = self.store.count_for(device_id=device, consent_id=consent_id)
                number = min(number, max(1, -(-sum(counts.values()) // PAGE_SIZE)))  # past the end: the last page
                records = self.store.records_page(
                    device_id=device, consent_id=consent_id, limit=PAGE_SIZE, offset=(number - 1) * PAGE_SIZE
                )
                consents = self.store.latest_consents(consent_id, HISTORY + 1) if consent_id else []
                requests = self.store.latest_rights_requests(device_id=device, consent_id=consent_id, limit=HISTORY + 1)
            if ref and ref.startswith("RR-") and len(ref) <= 64:
                confirmed = self.store.get_rights_request(ref)
        except StoreError:
            raise _unavailable() from None
        if confirmed is not None and not _filed_by(confirmed, device, consent_id):
            confirmed = None  # a reference alone shows nothing of another visitor's request
        total = sum(counts.values())
        pages = max(1, -(-total // PAGE_SIZE))
        first = (number - 1) * PAGE_SIZE
        next_path = replies.safe_next(params.get("next"))
        context = self.renderer.context(state, next_path)
        context.update(
            head=Markup(self.renderer.head(state, None)),  # built from escaped parts
            device_id=device,
            consent_id=consent_id,
            counts=sorted(counts.items()),
            total=total,
            latest=[_row(r) for r in records],
            page=number,
            pages=pages,
            first=first + 1,
            last=first + len(records),
            newer_url=f"{self.url}?page={number - 1}" if number > 1 else None,
            older_url=f"{self.url}?page={number + 1}" if number < pages else None,
            history=[_consent_row(c) for c in consents[:HISTORY]],
            more_history=len(consents) > HISTORY,
            requests=[_request_row(r) for r in requests[:HISTORY]],
            more_requests=len(requests) > HISTORY,
            known=bool(total or consents or requests),
            confirmed=None if confirmed is None else _request_row(confirmed),
            deleted=None if confirmed is None else _deleted(confirmed),
            stopped=stopped,
            kinds=KINDS,
            rights_url=f"{self.endpoints.prefix}/rights",
            delete_url=f"{self.url}/delete",
            json_url=f"{self.url}.json",
            periods=RIGHTS_PERIOD_DAYS,
        )
        html = self.renderer.env.get_template("my_data.html").render(context)
        reply = replies.html_reply(200, html)
        reply.headers = self.engine.response_headers(state, reply.headers)
        return reply

    # -- GET my-data.json ------------------------------------------------------------------------

    def export(self, request: RequestView, state: ConsentState, body: bytes) -> Reply:
        """``GET my-data.json``: a copy of this device's records, streamed as it is read from the store.

        A download files no rights request: a GET changes nothing. The first chunk is read before
        the reply starts, so a store that cannot be reached gets a 503; one that fails later ends the
        download early (the copy is then not valid JSON, so it cannot pass for a whole one).
        """
        headers = [
            ("content-type", "application/json; charset=utf-8"),
            ("content-disposition", 'attachment; filename="my-data.json"'),
            *NO_STORE,
        ]
        if request.method.upper() == "HEAD":
            return Reply(200, headers, stream=iter(()))
        device, consent_id = self.subject(request, state)
        head: dict[str, Any] = {
            "generated_at": self._now().strftime("%Y-%m-%dT%H:%M:%SZ"),
            "device_id": device,
            "consent_id": consent_id,
            "reference": None,  # kept for the shape of earlier copies, which were filed as requests
        }
        try:
            if not self._flushed(device, consent_id):
                empty = {**head, "records": [], "consent_records": [], "rights_requests": []}
                return Reply(200, headers, json.dumps(empty, ensure_ascii=False, indent=2).encode())
            chunks = _coalesce(self._copy(head, device, consent_id))
            first = next(chunks)
        except StoreError:
            raise _unavailable() from None
        return Reply(200, headers, stream=_prepend(first, chunks))

    def _copy(self, head: dict[str, Any], device: str | None, consent_id: str | None) -> Iterator[str]:
        """The JSON copy, in pieces: the fields, then each list a store batch at a time, one item a line."""
        yield "{\n"
        for key, value in head.items():
            yield f"  {json.dumps(key)}: {json.dumps(value, ensure_ascii=False)},\n"
        store = self.store
        records = store.record_batches(device_id=device, consent_id=consent_id, size=EXPORT_BATCH)
        yield from _json_list("records", _texts(records))
        yield ",\n"
        consents = store.consent_batches(consent_id, size=EXPORT_BATCH) if consent_id else iter(())
        yield from _json_list("consent_records", _texts(consents))
        yield ",\n"
        requests = store.rights_request_batches(device_id=device, consent_id=consent_id, size=EXPORT_BATCH)
        yield from _json_list("rights_requests", ([r.model_dump_json(exclude={"id"}) for r in b] for b in requests))
        yield "\n}\n"

    # -- POST my-data/delete ---------------------------------------------------------------------

    def delete(self, request: RequestView, state: ConsentState, body: bytes) -> Reply:
        """``POST my-data/delete``: ask first, then delete this device's records, withdraw consent, expire the cookies.

        A form post deletes only with ``confirm=1``: without it, it answers with the confirmation
        page, which changes nothing (a misclick, or a reload of that page, deletes nothing). Its
        "Delete" button posts ``confirm=1`` here; the answer is then a redirect to the centre, whose
        confirmation of the closed ``delete`` request gives the counts deleted. A JSON or empty body
        deletes at once (an API call is its own confirmation), unless it says ``"confirm": false``.
        """
        replies.check_origin(request, self.endpoints.trusted_origins)
        fields, form = self._fields(request, body)
        confirm = fields.get("confirm")
        if form and confirm != "1":
            return self._confirm_delete(request, state)
        if not form and confirm == "0":
            raise BadRequest(
                400,
                "not_confirmed",
                'Nothing was deleted: "confirm" is false. Send {"confirm": true}, or leave "confirm" out, to delete.',
            )
        device, consent_id = self.subject(request, state)
        now = self._now()
        visits = events = 0
        if device or consent_id:
            self.recorder.flush()  # records still waiting to be written are deleted too
            try:
                counts = self.store.delete_for(device_id=device, consent_id=consent_id)
            except StoreError:
                raise _unavailable() from None
            visits, events = counts.visits, counts.events
        consent = "consent withdrawn" if state.decided else "no consent to withdraw"
        done = self._file(
            "delete",
            device,
            consent_id,
            now,
            None,
            resolution=_DELETED.format(total=visits + events, visits=visits, events=events, consent=consent),
        )
        new = self.engine.decide_again(state, (), mechanism="withdraw") if state.decided else state
        # The device cookie goes too: its records are gone, and a new one starts a new history.
        expire = (expire_cookie(self.recorder.device_cookie, secure=self.engine.config.secure),) if device else ()
        if form:
            reply = Reply(303, [("location", f"{self.url}?ref={quote(done.reference)}"), *NO_STORE])
        else:
            reply = replies.json_reply(
                200,
                {
                    "reference": done.reference,
                    "deleted": {"visits": visits, "events": events, "total": visits + events},
                    "withdrawn": state.decided,
                },
            )
        reply.headers = self.engine.response_headers(new, reply.headers, expire=expire)
        return reply

    def _confirm_delete(self, request: RequestView, state: ConsentState) -> Reply:
        """The page that asks before deleting: what is recorded for this device, by kind, "Delete" and "Cancel"."""
        device, consent_id = self.subject(request, state)
        counts: dict[str, int] = {}
        try:
            if self._flushed(device, consent_id):
                counts = self.store.count_for(device_id=device, consent_id=consent_id)
        except StoreError:
            raise _unavailable() from None
        context = self.renderer.context(state, replies.safe_next(replies.query(request).get("next")))
        # The stylesheet only: the banner's script would send this page's own page view, a record
        # the counts shown here would then miss, and the page needs no script.
        stylesheet = Markup('<link rel="stylesheet" href="{}">').format(self.renderer.asset_url("cookieconsent.css"))
        context.update(
            head=stylesheet,
            counts=sorted(counts.items()),
            total=sum(counts.values()),
            withdraw=state.decided,
            device_id=device,
            delete_url=f"{self.url}/delete",
            cancel_url=f"{self.url}#ccm-delete",
        )
        html = self.renderer.env.get_template("my_data_delete.html").render(context)
        reply = replies.html_reply(200, html)
        reply.headers = self.engine.response_headers(state, reply.headers)
        return reply

    # -- GET preferences, GET dialog -------------------------------------------------------------

    def preferences(self, request: RequestView, state: ConsentState, body: bytes) -> Reply:
        """``GET preferences``: the preference page, which says when recording is stopped for this device."""
        next_path = replies.safe_next(replies.query(request).get("next"))
        page = self.renderer.preferences_page(state, next_path, stopped=self._stopped(request, state))
        return self._settings(state, page)

    def dialog(self, request: RequestView, state: ConsentState, body: bytes) -> Reply:
        """``GET dialog``: the banner's settings dialog, which says when recording is stopped for this device."""
        next_path = replies.safe_next(replies.query(request).get("next"))
        return self._settings(state, self.renderer.dialog(state, next_path, stopped=self._stopped(request, state)))

    def _settings(self, state: ConsentState, markup: str) -> Reply:
        """A page or fragment of the visitor's settings: never cached, and varying with their cookie."""
        reply = replies.html_reply(200, markup)
        reply.headers = self.engine.response_headers(state, reply.headers)
        return reply

    def _stopped(self, request: RequestView, state: ConsentState) -> bool:
        """Whether a ``stop`` request halted recording for this request's device id or consent id."""
        device, consent_id = self.subject(request, state)
        if device is None and consent_id is None:
            return False
        try:
            return self.store.is_stopped(device_id=device, consent_id=consent_id)
        except StoreError:
            return False  # the settings work without the store: they only lack the note then

    # -- POST rights -----------------------------------------------------------------------------

    def rights(self, request: RequestView, state: ConsentState, body: bytes) -> Reply:
        """``POST rights``: file a rights request; ``stop`` also halts recording at once (R53)."""
        replies.check_origin(request, self.endpoints.trusted_origins)
        fields, form = self._fields(request, body)
        kind = fields.get("kind")
        if kind not in KINDS:
            shown = "nothing" if kind is None else repr(kind[:40])
            raise BadRequest(400, "unknown_kind", f"Unknown right {shown}; use kind = one of: {', '.join(KINDS)}.")
        details = (fields.get("details") or "").strip() or None
        if details is not None and len(details) > _DETAILS_LIMIT:
            raise BadRequest(400, "details_too_long", f"Keep the details under {_DETAILS_LIMIT} characters.")
        device, consent_id = self.subject(request, state)
        now = self._now()
        try:
            # Records, decisions and requests of a moment ago make a visitor known too.
            if not self._flushed(device, consent_id) or not self.store.knows(device_id=device, consent_id=consent_id):
                raise BadRequest(
                    404,
                    "nothing_held",
                    "Nothing is held for this browser: no record, consent record or request carries its device ID "
                    "or consent ID, so there is nothing to request here. If you cleared your cookies, write to the "
                    "site's operator, quoting your consent ID or the reference of an earlier request.",
                )
            filing = RightsRequest.new(
                cast("RightKind", kind), device_id=device, consent_id=consent_id, received_at=now, details=details
            )
            if kind == "stop":
                # Each id is stopped as what it is: a device id only as a device id, a consent id
                # only as a consent id, so an id sent in the other's place stops no one else.
                self.store.set_stop(device_id=device, consent_id=consent_id, now=now)
                # Done at once, so filed closed: "Open" would tell the visitor to wait for nothing.
                filing = close_request(filing, _STOPPED, now)
            filed, created = self.store.file_rights_request(filing)
            if kind == "stop" and filed.closed_at is None:
                # A stop filed open before stops were closed at once: the flags are set now, so it is done.
                filed = close_request(filed, _STOPPED, now)
                self.store.update_rights_request(filed)
        except StoreError:
            raise _unavailable() from None
        if form:
            reply = Reply(303, [("location", f"{self.url}?ref={quote(filed.reference)}"), *NO_STORE])
        else:
            reply = replies.json_reply(
                201 if created else 200,
                {
                    "reference": filed.reference,
                    "kind": filed.kind,
                    "received_at": filed.received_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
                    "due_at": filed.due_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
                    "stopped": kind == "stop",
                    "status": "open" if filed.closed_at is None else "closed",
                    "existing": not created,
                },
            )
        reply.headers = self.engine.response_headers(state, reply.headers)
        return reply

    # -- helpers ---------------------------------------------------------------------------------

    def _file(
        self,
        kind: RightKind,
        device: str | None,
        consent_id: str | None,
        now: dt.datetime,
        details: str | None,
        *,
        resolution: str | None = None,
    ) -> RightsRequest:
        """Store a rights request (closed at once when ``resolution`` is given) and return it."""
        filed = RightsRequest.new(
            kind,
            device_id=device,  # may be None, as the consent id may: the reference identifies the request
            consent_id=consent_id,
            received_at=now,
            details=details,
        )
        if resolution is not None:
            filed = close_request(filed, resolution, now)
        try:
            self.store.add_rights_request(filed)
        except StoreError:
            raise _unavailable() from None
        return filed

    def _fields(self, request: RequestView, body: bytes) -> tuple[dict[str, str], bool]:
        """The posted fields and whether they came from an HTML form (then the answer is a redirect)."""
        media, charset = replies.media_type(request)
        if body and charset not in (None, "utf-8", "utf8"):
            raise BadRequest(415, "unsupported_charset", "Send the body as UTF-8.")
        if media == FORM:
            form = replies.parse_form(body, _ONCE)
            return {key: values[0] for key, values in form.items()}, True
        if media == JSON:
            try:
                data = json.loads(body) if body else {}
            except (ValueError, RecursionError):
                raise BadRequest(400, "bad_json", "The body is not valid JSON.") from None
            if not isinstance(data, dict):
                raise BadRequest(400, "bad_json", 'Send a JSON object such as {"kind": "view"}.')
            for key in ("kind", "details"):
                if key in data and data[key] is not None and not isinstance(data[key], str):
                    raise BadRequest(400, "bad_field", f'"{key}" must be a string.')
            confirm = data.get("confirm")
            if confirm is not None and not isinstance(confirm, bool):
                raise BadRequest(400, "bad_field", '"confirm" must be true or false (or left out).')
            fields = {k: v for k, v in data.items() if isinstance(v, str) and k != "confirm"}
            if confirm is not None:
                fields["confirm"] = "1" if confirm else "0"  # as a form gives it
            return fields, False
        if not body:
            return {}, False
        raise BadRequest(415, "unsupported_media_type", f"Send {JSON} or {FORM}.")


def _filed_by(filed: RightsRequest, device: str | None, consent_id: str | None) -> bool:
    """Whether ``filed`` came from this device or consent id (or, like the visitor, carried neither)."""
    if filed.device_id is None and filed.consent_id is None:
        return True  # filed without cookies: its reference is all that links it to anyone
    return (device is not None and filed.device_id == device) or (
        consent_id is not None and filed.consent_id == consent_id
    )


def _page_number(raw: str | None) -> int:
    """The page asked for by ``?page=`` (1 when absent); 400 for anything but a positive number."""
    if raw is None or raw == "":
        return 1
    if not (raw.isascii() and raw.isdecimal()) or len(raw) > 9 or int(raw) < 1:
        raise BadRequest(400, "bad_page", "Give the page as a number from 1, such as ?page=2.")
    return int(raw)


def _texts(batches: Iterator[list[VisitRecord | EventRecord]] | Iterator[list[ConsentRecord]]) -> Iterator[list[str]]:
    """Each batch of records as JSON texts, the records let go before the next batch is read."""
    for batch in batches:
        texts = [record.model_dump_json() for record in batch]
        del batch
        yield texts


def _json_list(name: str, batches: Iterable[list[str]]) -> Iterator[str]:
    """``"name": [ … ]`` from batches of JSON texts, one piece per batch."""
    yield f"  {json.dumps(name)}: ["
    empty = True
    for batch in batches:
        if batch:
            yield ("\n    " if empty else ",\n    ") + ",\n    ".join(batch)
            empty = False
    yield "]" if empty else "\n  ]"


#: The least a chunk of a streamed copy holds (the last may be smaller).
_CHUNK = 64 * 1024


def _coalesce(pieces: Iterator[str]) -> Iterator[bytes]:
    """``pieces`` as UTF-8 chunks of at least ``_CHUNK`` bytes (but the last): fewer, fuller messages."""
    buffer: list[bytes] = []
    size = 0
    for piece in pieces:
        data = piece.encode()
        buffer.append(data)
        size += len(data)
        if size >= _CHUNK:
            yield b"".join(buffer)
            buffer, size = [], 0
    if buffer:
        yield b"".join(buffer)


def _prepend(first: bytes, rest: Iterator[bytes]) -> Iterator[bytes]:
    """``first``, then ``rest``; closing it closes ``rest``."""
    yield first
    yield from rest


def _unavailable() -> BadRequest:
    return BadRequest(503, "store_unavailable", "The records are unavailable right now; try again in a few minutes.")


def _join(parts: Sequence[str | None]) -> str:
    return " ".join(p for p in parts if p)


def _row(record: VisitRecord | EventRecord) -> dict[str, str]:
    """One line of the latest-records table."""
    row = {"time": _time(record.at), "kind": record.kind, "page": record.page, "ip": "", "agent": "", "location": ""}
    if isinstance(record, VisitRecord):
        agent = record.user_agent
        if agent is not None:
            row["agent"] = " · ".join(
                p
                for p in (
                    _join((agent.browser, agent.browser_version)),
                    _join((agent.os, agent.os_version)),
                    _join((agent.device_type, agent.device_brand, agent.device_model)),
                )
                if p
            )
        row["ip"] = record.ip or ""
        if record.location is not None:
            row["location"] = record.location.region or record.location.country
    elif record.target:
        row["page"] = f"{record.page} → {record.target}"
    return row


def _consent_row(record: ConsentRecord) -> dict[str, Any]:
    return {
        "time": _time(record.at),
        "mechanism": record.mechanism,
        "granted": list(record.granted),
        "refused": list(record.refused),
    }


def _deleted(request: RightsRequest) -> dict[str, Any] | None:
    """What a self-service deletion deleted, read back from its resolution (None for other requests).

    A deletion closed before the counts were written in the resolution gives none: the page then
    says only that the data was deleted.
    """
    if request.kind != "delete" or request.resolution is None:
        return None
    found = _DELETED_COUNTS.search(request.resolution)
    if found is None:
        return None
    visits, events = int(found[1]), int(found[2])
    return {"visits": visits, "events": events, "total": visits + events, "withdrawn": found[3] == "consent withdrawn"}


def _request_row(request: RightsRequest) -> dict[str, Any]:
    return {
        "reference": request.reference,
        "kind": request.kind,
        "received": _date(request.received_at),
        "due": _date(request.deadline),
        "extended": request.extended_due_at is not None,
        "closed": None if request.closed_at is None else _date(request.closed_at),
    }
