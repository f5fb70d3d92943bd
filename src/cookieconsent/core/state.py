"""A request's consent state, read-only, and the edits its response carries.

Application code reads a :class:`ConsentState` (``request.state.consent``, ``g.consent``, the
``Consent`` dependency) and cannot change it. What the library adds to the response (a decision to
store, the cookies to expire, whether the page varies by consent) lives in one :class:`Edits`, which
only the engine and the response's exchange write.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from cookieconsent.core.cookie import Decision
from cookieconsent.core.request import RequestView
from cookieconsent.policy.model import NECESSARY

if TYPE_CHECKING:
    from cookieconsent.core.engine import Engine

__all__ = ["ConsentState", "Edits", "edits_of"]

_NOTHING: frozenset[str] = frozenset()


class Edits:
    """What the library adds to one response, beyond the application's own headers.

    Attributes:
        accessed: The application asked about consent, so its response varies by consent.
        pending: A decision to store with this response (from an endpoint, or a GPC opt-out).
        mechanism: How :attr:`pending` was decided (``accept_all``, ``withdraw``, ``gpc_opt_out``…).
        expire: ``Set-Cookie`` values expiring the request's cookies of refused categories.
    """

    __slots__ = ("accessed", "expire", "mechanism", "pending")

    def __init__(
        self, pending: Decision | None = None, expire: tuple[str, ...] = (), mechanism: str | None = None
    ) -> None:
        self.accessed = False
        self.pending = pending
        self.expire = expire
        self.mechanism = mechanism

    def __repr__(self) -> str:
        return f"<Edits accessed={self.accessed} pending={self.pending is not None} expire={len(self.expire)}>"


class ConsentState:
    """The consent state of one request, read-only.

    Application code reads it from ``request.state.consent`` (ASGI), ``g.consent`` (Flask) or
    ``environ["cookieconsent.state"]`` (WSGI) and asks :meth:`allows`::

        if request.state.consent.allows("analytics"):
            ...

    Every attribute is read-only: assigning to one raises :exc:`AttributeError`. A decision changes
    only through the library's endpoints (or the visitor's Global Privacy Control signal).
    """

    __slots__ = (
        "_conflict",
        "_cookie_names",
        "_decision",
        "_edits",
        "_engine",
        "_gpc",
        "_granted",
        "_locale",
        "_request",
        "_view",
    )

    _engine: Engine
    _request: RequestView
    #: Makes the request view from ``_request`` on first use (``None``: ``_request`` is the view).
    _view: Callable[[Any], RequestView] | None
    _decision: Decision | None
    _granted: frozenset[str]
    _gpc: bool
    _cookie_names: frozenset[str]
    _conflict: bool
    #: None until something is edited: most responses carry no edit, and need no object for it.
    _edits: Edits | None
    _locale: str | None

    # No __init__: the engine sets the slots itself on the per-request path, where calling one costs
    # more than the path may grow (docs/performance.md); :meth:`make` builds one elsewhere.

    @classmethod
    def make(
        cls,
        engine: Engine,
        request: RequestView,
        decision: Decision | None,
        granted: frozenset[str],
        *,
        gpc: bool = False,
        edits: Edits | None = None,
        cookie_names: frozenset[str] = _NOTHING,
        conflict: bool = False,
    ) -> ConsentState:
        """A state of ``request`` (the engine makes them: :meth:`~cookieconsent.core.engine.Engine.decide`)."""
        state = cls()
        state._engine = engine
        state._request = request
        state._view = None
        state._decision = decision
        state._granted = granted
        state._gpc = gpc
        state._edits = edits
        state._cookie_names = cookie_names
        state._conflict = conflict
        state._locale = None
        return state

    @property
    def request(self) -> RequestView:
        """The request this state belongs to."""
        view = self._view
        if view is not None:  # made on first use: most responses never ask for it
            self._request = view(self._request)
            self._view = None
        return self._request

    @property
    def decision(self) -> Decision | None:
        """The visitor's (still valid) decision, as the consent cookie holds it, or ``None``."""
        return self._decision

    @property
    def granted(self) -> frozenset[str]:
        """The optional categories in force for this request (after Global Privacy Control)."""
        return self._granted

    @property
    def gpc(self) -> bool:
        """Whether the request carried a Global Privacy Control signal that is honoured."""
        return self._gpc

    @property
    def cookie_names(self) -> frozenset[str]:
        """The names of the cookies the request carried."""
        return self._cookie_names

    @property
    def conflict(self) -> bool:
        """The request carried the consent or device cookie twice, so neither is trusted.

        One was planted (by a sibling subdomain, say): the request reads as not decided and nothing
        of it is recorded.
        """
        return self._conflict

    @property
    def decided(self) -> bool:
        """Whether the visitor has made a (still valid) decision."""
        return self._decision is not None

    @property
    def consent_id(self) -> str | None:
        """The visitor's consent id, or ``None`` before any decision."""
        return self._decision.consent_id if self._decision is not None else None

    @property
    def revision(self) -> str:
        """The fingerprint of the policy in force."""
        return self._engine.policy.fingerprint

    @property
    def pending(self) -> Decision | None:
        """A decision this response stores (a choice sent to an endpoint, or a GPC opt-out)."""
        edits = self._edits
        return None if edits is None else edits.pending

    @property
    def expire(self) -> tuple[str, ...]:
        """The ``Set-Cookie`` values this response sends to expire cookies of refused categories."""
        edits = self._edits
        return () if edits is None else edits.expire

    def allows(self, category: str) -> bool:
        """Whether ``category`` may be used for this request. ``necessary`` always may.

        Unknown categories are not allowed (and never raise), so a typo fails closed. Asking marks the
        response as varying by consent.
        """
        edits_of(self).accessed = True
        return category == NECESSARY or category in self._granted

    @property
    def locale(self) -> str:
        """The visitor's language: the app's choice, else the best match for ``Accept-Language``."""
        if self._locale is None:
            self._locale = self._engine.locale_for(self._request)
        return self._locale

    def categories(self) -> dict[str, bool]:
        """Every category of the policy, in order, mapped to whether it is in force."""
        edits_of(self).accessed = True
        granted = self._granted
        return {cat: cat == NECESSARY or cat in granted for cat in self._engine.policy.category_ids}

    def as_dict(self) -> dict[str, Any]:
        """The state as the ``GET /_consent/state`` endpoint returns it."""
        return {
            "decided": self.decided,
            "consent_id": self.consent_id,
            "revision": self.revision,
            "categories": self.categories(),
            "gpc": self._gpc,
            "locale": self.locale,
        }

    def __repr__(self) -> str:
        granted = ",".join(sorted(self._granted)) or "-"
        return f"<ConsentState decided={self.decided} granted={granted} gpc={self._gpc}>"


def edits_of(state: ConsentState) -> Edits:
    """The edits of ``state``'s response, made on first use (for the engine and the exchange)."""
    edits = state._edits
    if edits is None:
        edits = state._edits = Edits()
    return edits
