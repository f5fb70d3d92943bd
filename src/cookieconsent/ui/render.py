"""What the library adds to pages: the head snippet, the banner, the embed placeholder, the preference page.

Templates live in ``cookieconsent/ui/templates`` (Jinja2, autoescaped); texts in ``cookieconsent/ui/locales``.
Every tag the library injects carries the page's CSP nonce when the page has one, and no injected
markup uses inline event handlers.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Hashable, Mapping
from dataclasses import dataclass
from functools import cached_property, lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import quote

from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup, escape

from cookieconsent.blocking.rewriter import Encoded, encode_markup
from cookieconsent.core.cookie import DEVICE_COOKIE_AGE
from cookieconsent.core.state import ConsentState
from cookieconsent.policy import pdpa
from cookieconsent.policy.model import NECESSARY, Text
from cookieconsent.ui.i18n import messages

if TYPE_CHECKING:
    from cookieconsent.core.engine import Engine

__all__ = ["CONSENT_MODE", "ERRORS", "STATIC", "OwnCookie", "Renderer", "duration"]

# Stand-ins for the return path in a cached banner (plain letters: escaping leaves them as they are).
_NEXT = "ccnext0return0path"
_NEXT_Q = "ccnext0return0query"
_RETURN_PATH = re.compile(f"({_NEXT}|{_NEXT_Q})")
_NONCE = "\x00nonce\x00"  # the script nonce's place
_STYLE_NONCE = "\x00style-nonce\x00"
#: What a rendered banner depends on: language, decided, granted, refused by GPC, GPC signal.
_BannerKey = tuple[str, bool, frozenset[str], frozenset[str], bool]

PACKAGE = Path(__file__).parent
STATIC = PACKAGE / "static"

#: Google Consent Mode v2: each consent type and the category that grants it (R44).
CONSENT_MODE: dict[str, str] = {
    "ad_storage": "marketing",
    "ad_user_data": "marketing",
    "ad_personalization": "marketing",
    "analytics_storage": "analytics",
    "functionality_storage": "functional",
    "personalization_storage": "functional",
    "security_storage": NECESSARY,
}
#: The error codes of the endpoints a visitor can meet in a browser, and the text each gets
#: (``err_<text>_title`` and ``err_<text>_text``); another code of a 4xx reads as a form not read.
ERRORS: dict[str, str] = {
    "cross_origin": "refused",
    "method_not_allowed": "method",
    "not_found": "not_found",
    "too_large": "large",
    "store_unavailable": "unavailable",
}
#: Milliseconds Google tags wait for the banner's ``update`` (R43).
WAIT_FOR_UPDATE = 500
_UNITS = ((24 * 3600, "day"), (3600, "hour"), (60, "minute"), (1, "second"))


@dataclass(frozen=True, slots=True)
class OwnCookie:
    """A cookie the library itself sets, listed beside the policy's declarations.

    Attributes:
        name: The name it is set with (``__Host-consent``, ``__Host-ccdid``).
        kind: ``consent`` (the signed decision) or ``device`` (the recorder's device identifier).
        category: The category it belongs to.
        max_age: Its lifetime in seconds (its ``Max-Age``).
        domain: The ``Domain`` it is set with; ``None`` for the request's host only.
    """

    name: str
    kind: Literal["consent", "device"]
    category: str
    max_age: int
    domain: str | None = None


def duration(seconds: int, t: Mapping[str, str]) -> str:
    """``seconds`` in the largest unit that measures it exactly, in the language of ``t``.

    >>> duration(180 * 24 * 3600, {"dur_days": "{n} days"})
    '180 days'
    """
    size, unit = next((size, unit) for size, unit in _UNITS if seconds % size == 0)
    count = seconds // size
    return t[f"dur_{unit}" if count == 1 else f"dur_{unit}s"].format(n=count)


def _json_for_script(data: Any) -> str:
    r"""JSON safe inside a ``<script>`` element (no ``</script>``, no HTML comment openers).

    ASCII (``\u`` escapes), so that it reads the same in any page charset: in a script, a character
    reference is not decoded.
    """
    text = json.dumps(data, separators=(",", ":"))
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _nonce_attribute(nonce: str | None) -> str:
    return f' nonce="{escape(nonce)}"' if nonce else ""


class Renderer:
    """Renders the library's markup for one :class:`~cookieconsent.core.engine.Engine`."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.policy = engine.policy
        self.prefix = engine.config.prefix
        self.env = Environment(
            loader=FileSystemLoader(PACKAGE / "templates"),
            autoescape=select_autoescape(default=True, default_for_string=True),
            trim_blocks=True,
            lstrip_blocks=True,
            auto_reload=False,
        )
        self._banners: dict[tuple[_BannerKey, str | None], tuple[str, ...]] = {}
        self._heads: dict[tuple[str, bool, frozenset[str], bool], tuple[str, str]] = {}  # with, without nonce
        self._fills: dict[tuple[str, str | None], dict[str, str]] = {}
        #: The privacy centre's address, once a recorder serves one (``None``: no link is shown).
        self.my_data_url: str | None = None

    # -- assets --------------------------------------------------------------------------------

    @cached_property
    def asset_versions(self) -> dict[str, str]:
        """A short content hash per static file, for cache-busting URLs and ``ETag``."""
        return {
            p.name: hashlib.sha256(p.read_bytes()).hexdigest()[:12] for p in sorted(STATIC.iterdir()) if p.is_file()
        }

    def asset_url(self, name: str) -> str:
        """The URL of a bundled static file, with its version."""
        return f"{self.prefix}/static/{name}?v={self.asset_versions[name]}"

    # -- the head snippet ----------------------------------------------------------------------

    def consent_mode(self, state: ConsentState) -> dict[str, str]:
        """The Consent Mode v2 values for ``state``: granted where its category is in force."""
        return {kind: "granted" if state.allows(cat) else "denied" for kind, cat in CONSENT_MODE.items()}

    def bootstrap_script(self, state: ConsentState) -> str:
        """The inline Consent Mode v2 bootstrap: ``default`` (all denied but security), then ``update``."""
        default = {kind: "granted" if cat == NECESSARY else "denied" for kind, cat in CONSENT_MODE.items()}
        default["wait_for_update"] = WAIT_FOR_UPDATE  # type: ignore[assignment]
        lines = [
            "window.dataLayer=window.dataLayer||[];function gtag(){dataLayer.push(arguments);}",
            f"gtag('consent','default',{_json_for_script(default)});",
            "gtag('set','ads_data_redaction',true);",
        ]
        if state.decided or state.gpc:
            lines.append(f"gtag('consent','update',{_json_for_script(self.consent_mode(state))});")
        return "".join(lines)

    def state_json(self, state: ConsentState) -> dict[str, Any]:
        """The state the banner script reads (the cookie itself is HttpOnly).

        The consent id is left out: the page may be cached by the browser, and the script does not need it.
        """
        data = state.as_dict()
        del data["consent_id"]
        data["prefix"] = self.prefix
        data["consent_mode"] = CONSENT_MODE
        data["beacon"] = self.beacon_category
        if self.enforced_csp:  # a new grant then reloads: the page's CSP allows what it was served under
            data["csp"] = "enforce"
        return data

    @cached_property
    def enforced_csp(self) -> bool:
        """Whether pages carry an enforced Content-Security-Policy (``csp="enforce"``)."""
        return self.engine.config.csp == "enforce"

    @cached_property
    def beacon_category(self) -> str | None:
        """The category that gates page-view and click beacons (the ``browsing_clicks`` data item)."""
        for item in self.policy.data_items:
            if item.id == "browsing_clicks":
                return item.category
        return None

    def head(self, state: ConsentState, nonce: str | None, style_nonce: str | None = None) -> str:
        """The markup injected first in ``<head>``: bootstrap, state, stylesheet, deferred script.

        The scripts carry ``nonce`` and the stylesheet ``style_nonce``, where the page has them (a
        page's CSP may name a nonce for either). Built once per (language, decision, GPC status) and
        kept; the nonces are filled in.
        """
        key = (state.locale, state.decided, state.granted, state.gpc)
        kept = self._heads.get(key)
        if kept is None:
            template = (
                f"<script{_NONCE}>{self.bootstrap_script(state)}</script>"
                f'<script type="application/json" id="cookieconsent-state"{_NONCE}>'
                f"{_json_for_script(self.state_json(state))}</script>"
                f'<link rel="stylesheet" href="{self.asset_url("cookieconsent.css")}"{_STYLE_NONCE}>'
                f'<script src="{self.asset_url("cookieconsent.js")}" defer{_NONCE}></script>'
            )
            kept = (template, template.replace(_NONCE, "").replace(_STYLE_NONCE, ""))
            if len(self._heads) < 512:
                self._heads[key] = kept
        template, plain = kept
        if not nonce and not style_nonce:
            return plain
        return template.replace(_NONCE, _nonce_attribute(nonce)).replace(_STYLE_NONCE, _nonce_attribute(style_nonce))

    # -- the banner and the pages --------------------------------------------------------------

    def _text(self, text: Text | None, locale: str) -> str | None:
        return text.get(locale) if text is not None else None

    def own_cookies(self) -> tuple[OwnCookie, ...]:
        """The cookies the library sets that the policy does not declare itself, in the order they are listed.

        The consent cookie is strictly necessary and lives ``max_age`` seconds. The device
        identifier cookie is listed only when a recorder is attached and the policy has a
        ``device_id`` data item, in that item's category: the recorder sets it then and never
        otherwise. A policy's own declaration of either name (``ccdid`` covers ``__Host-ccdid``)
        is listed instead, so no cookie appears twice.
        """
        config = self.engine.config
        own = [OwnCookie(config.cookie_name, "consent", NECESSARY, config.max_age, config.domain)]
        device = self.engine.device_cookie()
        if device is not None:
            own.append(OwnCookie(device[0], "device", device[1], DEVICE_COOKIE_AGE))
        return tuple(cookie for cookie in own if self.policy.cookie_rule(cookie.name) is None)

    def _own_row(self, cookie: OwnCookie, locale: str, t: Mapping[str, str]) -> dict[str, Any]:
        """A row of the cookie table for one of :meth:`own_cookies`, as a declared cookie's row."""
        justification = None
        if cookie.kind == "consent":
            purpose, justification = t["own_consent_purpose"], t["own_consent_why"]
        elif cookie.category == NECESSARY:
            purpose = t["own_device_purpose"]
        else:
            purpose = t["own_device_purpose_optional"].format(
                category=self.policy.category(cookie.category).title.get(locale)
            )
        return {
            "name": cookie.name,
            "provider": self.policy.controller.name.get(locale),
            "purpose": purpose,
            "lifetime": duration(cookie.max_age, t),
            "third_party": False,
            "domain": cookie.domain,
            "path": "/",
            "justification": justification,
        }

    def context(self, state: ConsentState, next_path: str = "/", next_q: str | None = None) -> dict[str, Any]:
        """The template context shared by the banner and the preference page."""
        locale = state.locale
        policy = self.policy
        granted = state.categories() if state.decided else {c: c == NECESSARY for c in policy.category_ids}
        gpc_refused = self.engine.gpc_refused(state)
        t = messages(locale)
        own = self.own_cookies()
        categories = []
        for cat in policy.categories:
            categories.append(
                {
                    "id": cat.id,
                    "title": cat.title.get(locale),
                    "description": cat.description.get(locale),
                    "required": cat.required,
                    "granted": granted.get(cat.id, False),
                    "gpc_refused": cat.id in gpc_refused,
                    "cookies": [
                        {
                            "name": rule.label,
                            "provider": rule.provider.get(locale),
                            "purpose": rule.purpose.get(locale),
                            "lifetime": rule.lifetime.get(locale),
                            "third_party": rule.third_party,
                            "domain": rule.domain,
                            "path": rule.path,
                            "justification": self._text(rule.justification, locale),
                        }
                        for rule in policy.cookies_in(cat.id)
                    ]
                    + [self._own_row(cookie, locale, t) for cookie in own if cookie.category == cat.id],
                }
            )
        return {
            "t": t,
            "locale": locale,
            "state": state,
            "decided": state.decided,
            "show_banner": not state.decided,
            "gpc_honoured": bool(gpc_refused),
            "gpc_signal": state.gpc,
            "categories": categories,
            "controller_name": policy.controller.name.get(locale),
            "privacy_url": policy.privacy_policy_url,
            "action_url": self.prefix,
            "withdraw_url": f"{self.prefix}/withdraw",
            "preferences_url": f"{self.prefix}/preferences",
            "my_data_url": self.my_data_url,
            "next": next_path,
            "next_q": quote(next_path, safe="/") if next_q is None else next_q,
        }

    def banner(self, state: ConsentState, next_path: str = "/", charset: str | None = None) -> str:
        """The banner, the settings layer and the persistent "Cookie settings" button.

        Rendered once per (language, decision, GPC status) and kept; only the return path differs
        between pages, and it is filled in afterwards. With ``charset``, the markup comes already
        encoded for the page's rewriter (an :class:`~cookieconsent.blocking.rewriter.Encoded`), from pieces
        encoded once.
        """
        key = self._banner_key(state)
        pieces = self._banners.get((key, charset))
        if pieces is None:
            pieces = self._banner_pieces(key, state, charset)
        fill = self._fills.get((next_path, charset))
        if fill is None:
            fill = self._fill(next_path, charset)
        markup = "".join([fill.get(piece, piece) for piece in pieces])
        return markup if charset is None else Encoded(markup)

    def banner_key(self, state: ConsentState, next_path: str) -> Hashable:
        """What :meth:`banner` depends on: equal keys, equal banners (in one charset).

        A small tuple, where the banner itself is some kilobytes of text: cheaper to compare and to hash.
        """
        return (self._banner_key(state), next_path)

    def _banner_key(self, state: ConsentState) -> _BannerKey:
        return (state.locale, state.decided, state.granted, self.engine.gpc_refused(state), state.gpc)

    def _fill(self, next_path: str, charset: str | None) -> dict[str, str]:
        """The return path as the banner's markup holds it, as text and as a query value."""
        next_text = str(escape(next_path))
        if charset is not None:
            next_text = encode_markup(next_text, charset)  # the query is ASCII already
        fill = {_NEXT: next_text, _NEXT_Q: str(escape(quote(next_path, safe="/")))}
        if len(next_path) <= 256:  # paths come from requests: short ones kept, at most 1024, and a site's come back
            if len(self._fills) >= 1024:
                self._fills.clear()
            self._fills[(next_path, charset)] = fill
        return fill

    def _banner_pieces(self, key: _BannerKey, state: ConsentState, charset: str | None) -> tuple[str, ...]:
        text = self._banners.get((key, None))
        if text is None:
            template = self.env.get_template("banner.html").render(self.context(state, _NEXT, _NEXT_Q))
            text = tuple(_RETURN_PATH.split(template))  # text, a placeholder, text, …
        pieces = text if charset is None else tuple(encode_markup(piece, charset) for piece in text)
        if len(self._banners) < 512:
            self._banners[(key, None)] = text
            self._banners[(key, charset)] = pieces
        return pieces

    def placeholder(self, state: ConsentState, category: str, host: str | None) -> str:
        """The stand-in shown next to an embed of a refused category (contextual consent)."""
        return self._placeholder(state.locale, category, host)

    @lru_cache(maxsize=256)  # noqa: B019 - one renderer per middleware, kept for the app's life
    def _placeholder(self, locale: str, category: str, host: str | None) -> str:
        try:
            title = self.policy.category(category).title.get(locale)
        except KeyError:
            title = category
        # Under an enforced CSP the embed's host is not allowed on this page: it cannot be loaded here alone.
        return self.env.get_template("placeholder.html").render(
            t=messages(locale),
            locale=locale,
            category=category,
            category_title=title,
            host=host,
            load_here=not self.enforced_csp,
        )

    def notice(self, locale: str) -> dict[str, Any] | None:
        """The PDPA Art. 8 notice items in ``locale`` (R50), or None if the policy has no notice."""
        notice = self.policy.notice
        if notice is None:
            return None
        controller = self.policy.controller
        return {
            "controller": {
                "name": controller.name.get(locale),
                "email": controller.email,
                "address": self._text(controller.address, locale),
                "phone": controller.phone,
                "url": controller.url,
            },
            "purposes": [(code, pdpa.purpose_name(code, locale)) for code in notice.purposes],
            "data_categories": [(code, pdpa.data_category_name(code, locale)) for code in notice.data_categories],
            "sources": self._text(notice.sources, locale),
            "period": notice.period.get(locale),
            "region": notice.region.get(locale),
            "recipients": [(r.name.get(locale), self._text(r.description, locale)) for r in notice.recipients],
            "methods": notice.methods.get(locale),
            "rights": list(notice.rights),
            "how_to_exercise": notice.how_to_exercise.get(locale),
            "consequences": notice.consequences.get(locale),
            "sharing": self._text(notice.sharing, locale),
            "security": self._text(notice.security, locale),
            "revisions": self._text(notice.revisions, locale),
            "data_items": [
                (item.description.get(locale), item.category, list(item.pdpa_categories))
                for item in self.policy.data_items
            ],
        }

    def _settings_context(self, state: ConsentState, next_path: str, stopped: bool) -> dict[str, Any]:
        """:meth:`context`, with the note that recording is stopped before the toggles when ``stopped``."""
        context = self.context(state, next_path)
        if stopped:
            # The dialog and the preference page both show ``settings_intro`` just above the toggles:
            # the note goes there (a stop halts recording; the choices still govern the cookies).
            t = context["t"]
            context["t"] = {**t, "settings_intro": f"{t['md_recording_stopped']} {t['settings_intro']}"}
        return context

    def dialog(self, state: ConsentState, next_path: str = "/", *, stopped: bool = False) -> str:
        """The settings dialog alone (``GET /_consent/dialog``), showing the stored state.

        A page carries the dialog only while its first layer is shown. On the pages of a visitor who
        has decided, the script fetches it from here when "Cookie settings" is opened; without the
        script that button is a link to the preference page. ``stopped`` (the privacy centre reads it
        from the store) adds the note that recording is stopped for this device.
        """
        return self.env.get_template("dialog.html").render(self._settings_context(state, next_path, stopped))

    def error_page(self, state: ConsentState, status: int, code: str, message: str, next_path: str) -> str:
        """The page for a request the library refused, in the visitor's language (see :data:`ERRORS`).

        ``message`` says, in English, how to fix the request: it is there for the site's developers,
        behind a disclosure.
        """
        context = self.context(state, next_path)
        key = ERRORS.get(code) or ("not_found" if status == 404 else "method" if status == 405 else "form")
        t = context["t"]
        context.update(
            head=Markup(self.head(state, None)),  # built from escaped parts
            title=t[f"err_{key}_title"],
            text=t[f"err_{key}_text"],
            code=code,
            status=status,
            message=message,
        )
        return self.env.get_template("error.html").render(context)

    def preferences_page(
        self, state: ConsentState, next_path: str, nonce: str | None = None, *, stopped: bool = False
    ) -> str:
        """The full preference page (``GET /_consent/preferences``); works without JavaScript.

        ``stopped`` adds the note that recording is stopped for this device, as in :meth:`dialog`.
        """
        context = self._settings_context(state, next_path, stopped)
        context["notice"] = self.notice(state.locale)
        context["head"] = Markup(self.head(state, nonce, nonce))  # built from escaped parts
        context["banner"] = Markup(self.banner(state, next_path))  # autoescaped template output
        return self.env.get_template("preferences.html").render(context)
