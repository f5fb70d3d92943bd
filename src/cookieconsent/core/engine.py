"""The decisions, free of any web framework.

What a request's consent state is, which ``Set-Cookie`` headers may pass, which cookies to expire,
and how the response must vary (``Vary`` and ``Cache-Control`` are decided here only).

The adapters (:mod:`cookieconsent.asgi`, :mod:`cookieconsent.wsgi`) call :meth:`Engine.state_from`
once per request and :meth:`Engine.exchange` for its response; the exchange calls
:meth:`Engine.response_headers`. Everything else here serves those.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace
from functools import cached_property, lru_cache
from typing import TYPE_CHECKING, Any, TypeVar

from cookieconsent.config import ConsentConfig
from cookieconsent.core.cookie import (
    CACHED_HEADER,
    ConsentCodec,
    Decision,
    GpcFlag,
    device_cookie_name,
    expire_cookie,
    format_cookie,
    new_consent_id,
    read_cookies,
    set_cookie_name,
)
from cookieconsent.core.exchange import Exchange
from cookieconsent.core.pages import Pages
from cookieconsent.core.request import RequestView
from cookieconsent.core.state import ConsentState, Edits
from cookieconsent.policy.model import NECESSARY
from cookieconsent.ui.i18n import negotiate

if TYPE_CHECKING:
    from cookieconsent.records.recorder import Recorder

__all__ = ["Engine", "gpc_enabled", "private"]

logger = logging.getLogger("cookieconsent")

Header = tuple[str, str]
_NOTHING: frozenset[str] = frozenset()
_Ex = TypeVar("_Ex", bound=Exchange)
_CACHED_HEADERS = 4096  # how many distinct Cookie headers are remembered


#: What a Cookie header says: the decision, when it expires, the expiries if it holds or not, the
#: names of its cookies, and whether it carries a protected cookie twice.
_HeaderRead = tuple[Decision | None, float, tuple[str, ...], tuple[str, ...], frozenset[str], bool]
_NO_COOKIES: _HeaderRead = (None, 0.0, (), (), _NOTHING, False)


def _text(header: str | bytes) -> str:
    return header if isinstance(header, str) else header.decode("latin-1")


def gpc_enabled(values: Iterable[str]) -> bool:
    """Whether ``Sec-GPC`` values turn Global Privacy Control on.

    Only a value exactly ``1`` (after optional whitespace) counts; ``0``, ``true`` or ``yes`` do not.
    Repeated headers, or a WSGI server's joined ``"0, 1"``, count if any element is ``1``.
    """
    for value in values:
        if value.strip(" \t") == "1":
            return True
        if "," in value and any(part.strip(" \t") == "1" for part in value.split(",")):
            return True
    return False


def private(headers: list[Header], at: int = -2) -> list[Header]:
    """Headers with a ``Cache-Control`` that keeps shared caches out (``private`` replaces ``public``).

    Args:
        headers: The response headers (changed in place, and returned).
        at: The index of the ``Cache-Control`` header if known (``-1``: none), else it is looked up.
    """
    if at == -2:
        at = next((i for i, (name, _) in enumerate(headers) if name.lower() == "cache-control"), -1)
    if at < 0:
        headers.append(("cache-control", "private"))
        return headers
    name, value = headers[at]
    directives = [d.strip() for d in value.split(",") if d.strip()]
    lowered = [d.lower() for d in directives]
    if "no-store" in lowered or "private" in lowered:
        return headers
    kept = [d for d, low in zip(directives, lowered, strict=True) if low != "public" and not low.startswith("s-maxage")]
    headers[at] = (name, ", ".join(["private", *kept]))
    return headers


class Engine:
    """Applies one :class:`~cookieconsent.config.ConsentConfig` to requests and responses."""

    def __init__(self, config: ConsentConfig) -> None:
        self.config = config
        self.policy = policy = config.policy
        self.cookie_name = config.cookie_name
        self.codec = ConsentCodec(config.signing_keys, policy.optional_categories, policy.fingerprint, config.max_age)
        self._gpc_categories = policy.gpc_categories if policy.gpc.honour else frozenset()
        self._vary = "Cookie, Sec-GPC" if policy.gpc.honour else "Cookie"
        self._page_vary = "Accept-Language, " + self._vary  # a rewritten page follows the language too
        self._warned: set[str] = set()
        #: Called with (state, mechanism) after a response that stores a new decision is made (proof of consent).
        self.decision_hooks: list[Callable[[ConsentState, str], None]] = []
        #: Called with the state when a response stores a new decision: a ``Set-Cookie`` value to add, or
        #: ``None`` (the recorder gives the device its identifier as soon as a decision allows it).
        self.decision_cookies: list[Callable[[ConsentState], str | None]] = []
        self._max_age = config.max_age
        self._category_of = lru_cache(maxsize=4096)(policy.allows_cookie_in)
        self._headers: dict[str | bytes, _HeaderRead] = {}
        self._expiries_cached = lru_cache(maxsize=1024)(self._expiries_uncached)
        #: The cookies only one of which a genuine request carries: two of one of them is an attack.
        self._protected = (self.cookie_name, device_cookie_name(config.secure))
        self._conflicts_logged = 0.0
        #: Records the visits of the categories granted (set when a recorder is attached).
        self.recorder: Recorder | None = None

    @cached_property
    def pages(self) -> Pages:
        """The rewriting of HTML pages (their banner, placeholders and Content-Security-Policy)."""
        return Pages(self)

    def exchange_of(self, state: ConsentState) -> Exchange:
        """A new exchange for the response to the request of ``state``."""
        return Exchange.make(self, state)

    # -- requests ------------------------------------------------------------------------------

    def decide(self, request: RequestView, now: float | None = None) -> ConsentState:
        """Read the consent state of ``request``. Never raises on bad input: it reads as "not decided"."""
        return self.decide_from(request, request.header("cookie"), request.header_values("sec-gpc"), now)

    def exchange(
        self,
        request: Any,
        cookie: str | bytes | None,
        sec_gpc: str | bytes | None,
        kind: type[_Ex] = Exchange,  # type: ignore[assignment]  # the default is of the bound
        view: Callable[[Any], RequestView] | None = None,
    ) -> _Ex:
        """The exchange of one request, with its consent state read from the ``Cookie`` and ``Sec-GPC`` headers.

        The adapters' per-request entry point: every request needs these two headers, and the adapter
        reads them in the pass it makes over the request's headers anyway. Either may be the raw bytes
        of an ASGI header (read as latin-1) or ``None`` when absent; a repeated header must be given to
        :meth:`decide_from` as its list of values instead.

        Args:
            request: The request's :class:`~cookieconsent.core.request.RequestView`, or what ``view``
                makes one from.
            cookie: The ``Cookie`` header.
            sec_gpc: The ``Sec-GPC`` header.
            kind: The class of the exchange: an adapter's subclass adds its own glue (the ASGI ``send``).
            view: Makes the request view from ``request`` when something first asks for it (the
                state's :attr:`~cookieconsent.core.state.ConsentState.request`): most responses never do.
        """
        if sec_gpc is not None:
            state = self.decide_from(request if view is None else view(request), cookie, [_text(sec_gpc)])
        else:
            # No signal: the common case, and a visitor sends the same Cookie header again and again.
            read = (self._headers.get(cookie) or self._read_header(cookie)) if cookie else _NO_COOKIES
            decision = read[0]
            # The slots set here rather than through a call (ConsentState.make): see its class.
            state = ConsentState()
            state._engine = self
            state._request = request
            state._view = view
            state._gpc = False
            state._cookie_names = read[4]
            state._locale = None
            if decision is not None and time.time() <= read[1]:
                state._decision = decision
                state._granted = decision.granted
                state._edits = Edits(None, read[2]) if read[2] else None
                state._conflict = False
            else:
                state._decision = None
                state._granted = _NOTHING
                state._edits = Edits(None, read[3]) if read[3] else None
                state._conflict = read[5]
        exchange = kind()
        exchange._engine = self
        exchange.state = state
        exchange._rewriter = exchange._held = None
        exchange.rewriting = False
        exchange._started = time.perf_counter() if self.recorder is not None else 0.0
        return exchange

    def state_from(self, request: RequestView, header: str | bytes | None, sec_gpc: str | bytes | None) -> ConsentState:
        """:meth:`decide`, given the ``Cookie`` and ``Sec-GPC`` headers already read (see :meth:`exchange`)."""
        return self.exchange(request, header, sec_gpc).state

    def decide_from(
        self,
        request: RequestView,
        header: str | bytes | None,
        sec_gpc: Sequence[str] | None,
        now: float | None = None,
    ) -> ConsentState:
        """:meth:`decide`, given the ``Cookie`` header and every ``Sec-GPC`` value.

        ``header`` may be the raw bytes of an ASGI header (read as latin-1).
        """
        gpc = bool(sec_gpc and self._gpc_categories and gpc_enabled(sec_gpc))
        if not gpc and now is None:
            return self.state_from(request, header, None)
        if not header:
            return ConsentState.make(self, request, None, _NOTHING, gpc=gpc)
        decision, expires_at, expire_if_valid, expire_if_not, names, conflict = self._headers.get(
            header
        ) or self._read_header(header)
        if decision is None or (time.time() if now is None else now) > expires_at:
            edits = Edits(expire=expire_if_not) if expire_if_not else None
            return ConsentState.make(
                self, request, None, _NOTHING, gpc=gpc, edits=edits, cookie_names=names, conflict=conflict
            )
        if gpc and decision.gpc is not GpcFlag.OVERRIDDEN and decision.granted & self._gpc_categories:
            # The signal refuses what was granted: store that, so a later request without the signal
            # does not grant it again.
            granted = decision.granted - self._gpc_categories
            pending = replace(
                decision, granted=granted, gpc=GpcFlag.OPTED_OUT, decided_at=time.time() if now is None else now
            )
            edits = Edits(pending, self._expiries(_text(header), granted))
            return ConsentState.make(self, request, decision, granted, gpc=gpc, edits=edits, cookie_names=names)
        edits = Edits(expire=expire_if_valid) if expire_if_valid else None
        return ConsentState.make(self, request, decision, decision.granted, gpc=gpc, edits=edits, cookie_names=names)

    def _read_header(self, header: str | bytes) -> _HeaderRead:
        """Read a ``Cookie`` header, and remember the result unless the header is huge."""
        text = _text(header)
        cookies = read_cookies(text)
        repeated = cookies.repeated(self._protected)
        value = cookies.get(self.cookie_name)
        decision = self.codec.verify(value) if value and not repeated else None
        expire_if_not = self._expiries(text, _NOTHING)
        names = frozenset(cookies.names)
        read: _HeaderRead = (None, 0.0, expire_if_not, expire_if_not, names, False)
        if repeated:
            # The header cannot be trusted, so it changes nothing: the visitor's own cookies are
            # neither expired nor replaced (the planted one would survive, theirs would not).
            read = (None, 0.0, (), (), names, True)
            self._log_conflict(repeated)
        elif decision is not None:
            expires_at = decision.decided_at + self._max_age
            read = (decision, expires_at, self._expiries(text, decision.granted), expire_if_not, names, False)
        if len(header) <= CACHED_HEADER:
            headers = self._headers
            if len(headers) >= _CACHED_HEADERS:
                headers.clear()  # bounded: a flood of distinct headers only costs re-reading them
            headers[header] = read
        return read

    def _log_conflict(self, names: list[str]) -> None:
        """Log a planted cookie in one line, at most once a minute (an attacker may send thousands)."""
        now = time.monotonic()
        if now - self._conflicts_logged < 60.0 and self._conflicts_logged:
            return
        self._conflicts_logged = now
        logger.warning(
            "cookieconsent: a request carried the cookie %s more than once; someone who can set cookies for "
            "this site (a sibling subdomain, a network attacker on plain HTTP) planted one. The request reads "
            "as not decided and nothing of it is recorded. (Logged at most once a minute.)",
            ", ".join(repr(n) for n in names),
        )

    def gpc_refused(self, state: ConsentState) -> frozenset[str]:
        """The categories refused for ``state`` because of a Global Privacy Control signal (R40)."""
        if not state.gpc or (state.decision is not None and state.decision.gpc is GpcFlag.OVERRIDDEN):
            return _NOTHING
        return self._gpc_categories

    def locale_for(self, request: RequestView) -> str:
        """The language for ``request``: the app's selector first, then ``Accept-Language``."""
        locales = self.policy.locales
        selector = self.config.locale_selector
        if selector is not None:
            chosen = selector(request)
            if chosen:
                return negotiate(chosen, locales, locales[0])
        return negotiate(request.header("accept-language"), locales, locales[0])

    def decide_again(
        self,
        state: ConsentState,
        granted: Iterable[str],
        *,
        mechanism: str | None = None,
        override_gpc: bool = False,
        now: float | None = None,
    ) -> ConsentState:
        """The state after the visitor chose ``granted`` (the optional categories to grant).

        Under a Global Privacy Control signal the GPC categories stay refused unless ``override_gpc``
        says the visitor confirmed granting them after seeing the conflict. ``mechanism`` says how the
        choice was made (``accept_all``, ``withdraw``…), for the proof of consent.
        """
        chosen = frozenset(granted) & self.policy.optional_categories
        flag = GpcFlag.NONE
        if state.gpc:
            if override_gpc and chosen & self._gpc_categories:
                flag = GpcFlag.OVERRIDDEN
            else:
                flag = GpcFlag.OPTED_OUT if self._gpc_categories else GpcFlag.NONE
                chosen -= self._gpc_categories
        elif state.decision is not None and state.decision.gpc is GpcFlag.OPTED_OUT:
            flag = GpcFlag.OPTED_OUT
        previous = state.decision
        consent_id = previous.consent_id if previous is not None else new_consent_id()
        stamp = time.time() if now is None else now
        decision = Decision(consent_id, chosen, self.policy.fingerprint, stamp, flag)
        unchanged = (
            previous is not None and state.pending is None and previous.granted == chosen and previous.gpc == flag
        )
        request = state.request
        header = request.header("cookie")
        expire = self._expiries(header, chosen) if header else ()
        edits = Edits(None if unchanged else decision, expire, mechanism)
        return ConsentState.make(
            self,
            request,
            decision,
            chosen,
            gpc=state.gpc,
            edits=edits,
            cookie_names=state.cookie_names,
            conflict=state.conflict,
        )

    # -- responses -----------------------------------------------------------------------------

    def consent_cookie(self, decision: Decision) -> str:
        """The ``Set-Cookie`` value that stores ``decision``."""
        config = self.config
        return format_cookie(
            self.cookie_name,
            self.codec.dumps(decision),
            max_age=config.max_age,
            domain=config.domain,
            secure=config.secure,
            same_site="Strict" if config.same_site == "strict" else "Lax",
        )

    def _expiries(self, header: str, granted: frozenset[str]) -> tuple[str, ...]:
        """The ``Set-Cookie`` values that expire the header's cookies of categories not in ``granted``."""
        if len(header) > CACHED_HEADER:
            return self._expiries_uncached(header, granted)
        return self._expiries_cached(header, granted)

    def _expiries_uncached(self, header: str, granted: frozenset[str]) -> tuple[str, ...]:
        out = []
        for name in read_cookies(header).names:
            rule = self.policy.cookie_rule(name)
            if rule is None:
                # The recorder's device cookie, undeclared, still belongs to its data item's category.
                device = self.device_cookie()
                category = device[1] if device is not None and device[0] == name else None
                if category is not None and category != NECESSARY and category not in granted:
                    out.append(expire_cookie(name, secure=self.config.secure))
                continue
            # A third party's cookie never reaches this server, and the browser would refuse the expiry.
            if rule.category != NECESSARY and rule.category not in granted and not rule.third_party:
                out.append(expire_cookie(name, path=rule.path, domain=rule.domain))
        return tuple(out)

    def device_cookie(self) -> tuple[str, str] | None:
        """The recorder's device identifier cookie and its category (the ``device_id`` data item's).

        ``None`` without a recorder or without that data item: the device cookie is then never set.
        """
        recorder = self.recorder
        if recorder is None:
            return None
        category = next((item.category for item in recorder.policy.data_items if item.id == "device_id"), None)
        return None if category is None else (recorder.device_cookie, category)

    def set_cookie_allowed(self, state: ConsentState, header_value: str) -> bool:
        """Whether the app may set this cookie now: declared, and in a category in force."""
        name = set_cookie_name(header_value)
        category = self._category_of(name) if name else None
        if category is None:
            self._warn_undeclared(name)
            return False
        return category == NECESSARY or category in state.granted

    def _warn_undeclared(self, name: str) -> None:
        if name in self._warned or name == self.cookie_name or not self.config.warn_undeclared:
            return
        if len(self._warned) < 1000:
            self._warned.add(name)
        logger.warning(
            "cookieconsent blocked the cookie %r: the policy does not declare it. Declare it in the "
            "policy's [[cookies]] with its category (and a justification if it is necessary).",
            name[:100],
        )

    def response_headers(
        self,
        state: ConsentState,
        headers: Sequence[Header],
        *,
        page: bool = False,
        cookies: Sequence[str] = (),
        expire: Sequence[str] = (),
    ) -> list[Header]:
        """The response headers after enforcement, then the decision hooks for a stored decision.

        Removes each ``Set-Cookie`` the state does not allow (one by one, keeping the others), expires
        the request's cookies of refused categories, adds the library's ``cookies`` and the consent
        cookie when the decision changed, and marks the response as varying by consent where it does.

        Args:
            state: The request's consent state, with its edits.
            headers: The response's headers as the app (or an endpoint) gave them.
            page: An HTML page the library rewrote: it varies by language too.
            cookies: ``Set-Cookie`` values the library adds (the recorder's device identifier).
            expire: ``Set-Cookie`` values expiring more cookies (the privacy centre's deletion).
        """
        edits = state._edits
        pending = edits.pending if edits is not None else None
        out: list[Header] = []
        edited = page or (edits is not None and edits.accessed)
        app_sets: set[str] = set()
        vary_at = cache_at = -1
        for name, value in headers:
            lower = name.lower()
            if lower == "set-cookie":
                if not self.set_cookie_allowed(state, value):
                    edited = True
                    continue
                app_sets.add(set_cookie_name(value))
            elif lower == "vary":
                vary_at = len(out)
            elif lower == "cache-control":
                cache_at = len(out)
            out.append((name, value))
        added = False
        expired: set[str] = set()
        for expiry in state.expire:
            name = set_cookie_name(expiry)
            if name not in app_sets:
                out.append(("set-cookie", expiry))
                expired.add(name)
                added = True
        for expiry in expire:
            if set_cookie_name(expiry) not in expired:
                out.append(("set-cookie", expiry))
                added = True
        library = [*cookies]
        if pending is not None:
            library.extend(c for c in (source(state) for source in self.decision_cookies) if c is not None)
        given: set[str] = set()
        for cookie in library:
            name = set_cookie_name(cookie)
            if name not in given:  # the recorder's device id, given once even if two sources ask
                out.append(("set-cookie", cookie))
                given.add(name)
                added = True
        if pending is not None:
            out.append(("set-cookie", self.consent_cookie(pending)))
            added = True
        if edited or added:
            # The response depends on consent: caches must key it by the cookie (Vary), and a
            # shared cache that ignores Vary must not keep it at all (private).
            self._vary_on_consent(out, vary_at, self._page_vary if page else self._vary)
            out = private(out, cache_at)
        if pending is not None:
            mechanism = (edits.mechanism if edits is not None else None) or "gpc_opt_out"
            for hook in self.decision_hooks:
                try:
                    hook(state, mechanism)
                except Exception:  # the visitor's decision is stored all the same
                    logger.exception("cookieconsent: a decision hook raised; the decision is stored all the same")
        return out

    @staticmethod
    def _vary_on_consent(headers: list[Header], vary_at: int, tokens: str) -> None:
        if vary_at < 0:
            headers.append(("vary", tokens))
            return
        name, value = headers[vary_at]
        present = {v.strip().lower() for v in value.split(",")}
        if "*" in present:
            return
        extra = [v for v in tokens.split(", ") if v.lower() not in present]
        if extra:
            headers[vary_at] = (name, ", ".join([value, *extra]) if value.strip() else ", ".join(extra))
