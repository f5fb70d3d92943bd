"""Helpers for testing an app that uses cookieconsent: consented visitors and requests made by hand.

A test of a page that behaves differently once a category is granted needs a visitor who granted
it. :func:`~cookieconsent.testing.consent_cookie` signs a genuine consent cookie for the categories
you choose, with the app's own :class:`~cookieconsent.config.ConsentConfig`; send it with your
framework's test client::

    from cookieconsent.testing import consent_cookie

    client.cookies.set(config.cookie_name, consent_cookie(config, granted=["analytics"]))

:func:`~cookieconsent.testing.accept_all` and :func:`~cookieconsent.testing.reject_all` give the
cookies of the banner's two buttons. Code that works on the core's view of a request (a locale
selector, a hook, :meth:`~cookieconsent.core.engine.Engine.decide`) can be given a
:class:`~cookieconsent.testing.FakeRequest` built from plain values.

This module imports no web framework: it serves FastAPI, Flask and any other app alike.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from cookieconsent.config import ConsentConfig
from cookieconsent.core.cookie import Decision, new_consent_id
from cookieconsent.core.engine import Engine

__all__ = ["FakeRequest", "accept_all", "consent_cookie", "reject_all"]


@dataclass(frozen=True, slots=True, init=False)
class FakeRequest:
    """A request built from plain values: the core's :class:`~cookieconsent.core.request.RequestView`.

    ::

        request = FakeRequest("/article?id=7", headers={"Accept-Language": "zh-TW", "Cookie": "lang=en"})
        state = Engine(config).decide(request)

    Header names are case-insensitive. A header may be given several times (as a list of pairs):
    :meth:`~cookieconsent.testing.FakeRequest.header` then joins its values as an ASGI server's
    request would (``"; "`` for ``Cookie``, ``", "`` for the others), and
    :meth:`~cookieconsent.testing.FakeRequest.header_values` gives each.

    Args:
        path: The path, percent-decoded; a ``?query`` after it becomes the query string.
        method: The request method.
        headers: The headers, as a mapping or as ``(name, value)`` pairs.
        query_string: The raw query string (without ``?``), if ``path`` has none.
        scheme: ``"https"`` or ``"http"``.
        host: The host the request was sent to; by default the ``Host`` header, else ``localhost``.
        client: The client's address, or ``None``.
        root_path: The path the app is mounted under (ASGI ``root_path``, WSGI ``SCRIPT_NAME``).
    """

    method: str
    path: str
    root_path: str
    query_string: str
    scheme: str
    host: str
    client: str | None
    #: The headers, each ``(lowercase name, value)``, in order.
    headers: tuple[tuple[str, str], ...]

    def __init__(
        self,
        path: str = "/",
        *,
        method: str = "GET",
        headers: Mapping[str, str] | Iterable[tuple[str, str]] = (),
        query_string: str = "",
        scheme: str = "https",
        host: str | None = None,
        client: str | None = "127.0.0.1",
        root_path: str = "",
    ) -> None:
        pairs = headers.items() if isinstance(headers, Mapping) else headers
        lowered = tuple((str(name).lower(), str(value)) for name, value in pairs)
        path, sep, query = path.partition("?")
        if sep and query_string:
            raise ValueError("give the query string either in path (after '?') or as query_string, not both")
        found = [value for name, value in lowered if name == "host"]
        # A frozen dataclass sets its fields through object.__setattr__.
        set_field = object.__setattr__
        set_field(self, "method", method)
        set_field(self, "path", path or "/")
        set_field(self, "root_path", root_path)
        set_field(self, "query_string", query if sep else query_string)
        set_field(self, "scheme", scheme)
        set_field(self, "host", host if host is not None else found[0] if found else "localhost")
        set_field(self, "client", client)
        set_field(self, "headers", lowered)

    def header(self, name: str) -> str | None:
        """A header's value (``name`` in any case); repeated headers are joined, ``None`` if absent."""
        values = self.header_values(name)
        if not values:
            return None
        return ("; " if name.lower() == "cookie" else ", ").join(values)

    def header_values(self, name: str) -> list[str]:
        """Each value of a header (``name`` in any case), in order; ``[]`` if absent."""
        key = name.lower()
        return [value for header, value in self.headers if header == key]


def consent_cookie(
    config: ConsentConfig,
    granted: Iterable[str] = (),
    *,
    consent_id: str | None = None,
) -> str:
    """The value of a genuine consent cookie that grants ``granted`` and refuses the other categories.

    It is signed with ``config``'s current key under its policy, as the middleware would sign the
    visitor's own decision: an app with this config reads it as decided. Send it under
    ``config.cookie_name``.

    Args:
        config: The app's configuration.
        granted: The optional categories granted (a category id, or several). The required
            category (``necessary``) is always granted; naming it changes nothing.
        consent_id: The consent id the cookie carries (8 to 64 ASCII characters), to match records
            made with it; a fresh random one by default.

    Raises:
        ValueError: A category the policy does not declare, or an unusable ``consent_id``.
    """
    policy = config.policy
    names = [granted] if isinstance(granted, str) else list(granted)
    unknown = sorted(set(names) - set(policy.category_ids))
    if unknown:
        raise ValueError(
            f"unknown consent {'category' if len(unknown) == 1 else 'categories'} {', '.join(map(repr, unknown))}; "
            f"the policy's categories are {', '.join(policy.category_ids)}"
        )
    if consent_id is None:
        consent_id = new_consent_id()
    elif not (8 <= len(consent_id) <= 64 and consent_id.isascii()):
        raise ValueError("a consent id has 8 to 64 ASCII characters; the middleware ignores a cookie with another")
    chosen = frozenset(names) & policy.optional_categories
    # Signed now: the signature's time is the decision's time, and the decision lasts config.max_age.
    return Engine(config).codec.dumps(Decision(consent_id, chosen, policy.fingerprint, time.time()))


def accept_all(config: ConsentConfig) -> str:
    """The value of the consent cookie of a visitor who chose "Accept all": every category granted."""
    return consent_cookie(config, config.policy.optional_categories)


def reject_all(config: ConsentConfig) -> str:
    """The value of the consent cookie of a visitor who chose "Reject all": only ``necessary``."""
    return consent_cookie(config, ())
