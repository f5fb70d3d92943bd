"""Which responses are rewritten, and the headers that go with a rewritten page.

An HTML response (``text/html`` or ``application/xhtml+xml``) with a body is rewritten as it streams
(see :mod:`cookieconsent.blocking.rewriter`). A compressed one cannot be: it passes through untouched, with a
warning logged once, because the middleware must sit *inside* any compression middleware.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Hashable
from typing import TYPE_CHECKING

from cookieconsent.blocking.rewriter import HTMLRewriter, RewritePlan, html_charset, nonce_from_csp
from cookieconsent.blocking.trackers import Catalog, TrackerHost
from cookieconsent.core.csp import ConsentCSP, CSPReports
from cookieconsent.ui.render import Renderer

if TYPE_CHECKING:
    from cookieconsent.core.engine import Engine
    from cookieconsent.core.state import ConsentState

__all__ = ["Pages", "is_html"]

logger = logging.getLogger("cookieconsent")

Header = tuple[str, str]
_NO_BODY = {204, 205, 304}
#: The largest page whose rewritten output is kept for reuse, and the most kept in all (bytes).
MEMO_PAGE = 512 * 1024
MEMO_TOTAL = 8 * 1024 * 1024


def is_html(content_type: str | bytes) -> bool:
    """Whether a ``Content-Type`` value is an HTML page."""
    value = content_type.lower() if isinstance(content_type, str) else content_type.decode("latin-1").lower()
    media = value.split(";", 1)[0].strip()
    return media in ("text/html", "application/xhtml+xml")


class Pages:
    """Starts the rewriting of HTML responses for one engine."""

    def __init__(self, engine: Engine, renderer: Renderer | None = None) -> None:
        self.engine = engine
        self.renderer = renderer or Renderer(engine)
        policy = engine.policy
        self.catalog = Catalog(TrackerHost(t.host, t.category, t.path, t.vendor) for t in policy.trackers)
        config = engine.config
        #: The Content-Security-Policy of rewritten pages (``None`` when ``csp="off"``).
        self.csp = None if config.csp == "off" else ConsentCSP(policy, config.csp, f"{config.prefix}/csp-report")
        #: The CSP violation reports browsers sent, counted (``csp_reports.counts()``).
        self.csp_reports = CSPReports()
        self._warned: set[str] = set()
        # Whole pages already rewritten: (a sample of the page, plan key) → (page, output); see rewrite_whole.
        self._rewritten: dict[tuple[int, bytes, bytes, bytes, Hashable], tuple[bytes, bytes]] = {}
        self._rewritten_size = 0
        self._lock = threading.Lock()  # for adding and evicting; a look-up needs none

    def start(
        self, state: ConsentState, status: int, headers: list[Header], method: str, next_path: str
    ) -> tuple[list[Header], bool, HTMLRewriter | None]:
        """An HTML response's headers, whether it is a page the library edits, and its rewriter.

        The headers are the app's, without ``Content-Length`` and with the page's
        Content-Security-Policy when the library edits the page (it rewrites the body, or answers
        ``HEAD`` for one); the engine then enforces them. The rewriter is ``None`` when the body
        passes through.
        """
        content_type = encoding = csp = ""
        for name, value in headers:
            lower = name.lower()
            if lower == "content-type":
                content_type = value
            elif lower == "content-encoding":
                encoding = value.strip().lower()
            elif lower == "content-security-policy":
                csp = value
        charset = html_charset(content_type)
        rewriter = None
        if encoding not in ("", "identity"):
            self._warn_once(
                "compressed",
                "cookieconsent cannot rewrite a compressed HTML response (Content-Encoding: %s): trackers in "
                "it are not neutralised and no banner is injected. Add the consent middleware inside the "
                "compression middleware (so it runs first on the way out).",
                encoding,
            )
        elif charset is None:
            self._warn_once(
                "charset", "cookieconsent cannot rewrite HTML in %s; it passes through as it is.", content_type
            )
        elif status not in _NO_BODY and method != "HEAD":
            nonces = (nonce_from_csp(csp, "script"), nonce_from_csp(csp, "style"))
            rewriter = HTMLRewriter(self.plan(state, charset, nonces, next_path))
        if rewriter is None and method != "HEAD":
            return headers, False, None
        # The length changes with the injected markup.
        headers = [(k, v) for k, v in headers if k.lower() != "content-length"]
        if self.csp is not None:  # a header of its own: the app's policy passes untouched, both apply
            headers.append(self.csp.header(state.granted))
        return headers, True, rewriter

    def plan(
        self, state: ConsentState, charset: str, nonces: tuple[str | None, str | None], next_path: str
    ) -> RewritePlan:
        """Everything the rewriter of one page needs (``nonces``: the page's script and style nonces)."""
        renderer = self.renderer
        head = renderer.head(state, *nonces)
        banner = renderer.banner(state, next_path, charset)
        return RewritePlan(
            granted=state.granted,
            head=head,
            banner=banner,
            placeholder=lambda category, host: renderer.placeholder(state, category, host),
            catalog=self.catalog,
            charset=charset,
            # The placeholders' text follows the language; the rest is in these (the banner's key has
            # the language, the decision, GPC and the return path; the head has the nonces).
            key=(head, renderer.banner_key(state, next_path), charset),
        )

    def rewrite_whole(self, rewriter: HTMLRewriter, page: bytes) -> bytes:
        """``page`` rewritten to its end by ``rewriter``: the whole page, if the rewriter is fresh.

        The same document (byte for byte) under the same plan key comes out the same, so its output
        is kept and reused: a site's pages go to many visitors alike. Only documents are kept (a
        fragment's element ids must be new for each response, as it lands in a page that may hold
        others), of at most ``MEMO_PAGE`` bytes, and ``MEMO_TOTAL`` bytes of pages and outputs in all;
        the oldest go first. A page with anything new in it (a nonce, a token, a name) is a new page.
        A rewriter already fed the start of its page just rewrites the rest.
        """
        plan_key = rewriter.plan.key
        size = len(page)
        if plan_key is None or not rewriter.fresh or size > MEMO_PAGE:
            return rewriter.feed(page) + rewriter.close()
        if type(page) is not bytes:  # a bytearray or memoryview: kept as bytes
            page = bytes(page)
        # Looked up by a sample of the page (hashing all of it would cost more than the rest of the
        # look-up), and found only if the page kept there is this one, byte for byte.
        middle = size // 2
        key = (size, page[:64], page[middle - 32 : middle + 32], page[-64:], plan_key)
        found = self._rewritten.get(key)
        if found is not None and found[0] == page:
            return found[1]
        out = rewriter.feed(page) + rewriter.close()
        if rewriter.document:
            with self._lock:
                kept = self._rewritten
                replaced = kept.pop(key, None)  # another page with the same sample, or this one kept meanwhile
                if replaced is not None:
                    self._rewritten_size -= len(replaced[0]) + len(replaced[1])
                kept[key] = (page, out)
                self._rewritten_size += size + len(out)
                while self._rewritten_size > MEMO_TOTAL and kept:
                    oldest = kept.pop(next(iter(kept)))
                    self._rewritten_size -= len(oldest[0]) + len(oldest[1])
        return out

    def _warn_once(self, key: str, message: str, *args: object) -> None:
        if key not in self._warned:
            self._warned.add(key)
            logger.warning(message, *args)
