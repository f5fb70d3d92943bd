"""The Telexpress (網訊電信) demo site, shared by ``examples/fastapi_app.py`` and ``examples/flask_app.py``.

Everything a page needs lives here, free of any web framework: the consent configuration, the page
content in Traditional Chinese and English, the Jinja2 templates and the cookies the site tries to
set. Each app only maps its routes to these functions and sends back what they return, so both serve
byte-identical pages and the same ``Set-Cookie`` headers for the same request.

The page language follows the ``lang`` cookie (``zh-TW`` by default). The home page deliberately
embeds Google Analytics, the Meta Pixel and a YouTube video, and tries to set analytics, marketing
and undeclared cookies, as many real sites do: the middleware has to neutralise them.
"""

# The Traditional Chinese texts use fullwidth punctuation (commas, colons, brackets) on purpose.

from __future__ import annotations

import hmac
import json
import logging
import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, parse_qsl, urlencode, urlsplit

from jinja2 import Environment, FileSystemLoader

from cookieconsent import ConsentConfig, ConsentState, Policy, load_policy
from cookieconsent.core.cookie import format_cookie, read_cookies
from cookieconsent.core.request import RequestView
from cookieconsent.policy.pdpa import data_category_name, purpose_name
from cookieconsent.records.recorder import Recorder
from cookieconsent.ui.i18n import negotiate

__all__ = [
    "ARTICLES",
    "DEFAULT_LANG",
    "DEMO_SECRET_KEY",
    "LANGUAGES",
    "POLICY_PATH",
    "STATIC_DIR",
    "Article",
    "PageLanguage",
    "article_page",
    "csrf_cookie",
    "csrf_valid",
    "env",
    "error_page",
    "home_cookies",
    "home_page",
    "lang_cookie",
    "login_page",
    "make_config",
    "new_csrf_token",
    "news_json",
    "page_lang",
    "privacy_page",
    "query_lang",
    "render",
    "session_cookie",
    "switch_back",
]

logger = logging.getLogger(__name__)

HERE = Path(__file__).resolve().parent
POLICY_PATH = HERE.parent / "telexpress" / "policy.toml"
TEMPLATES_DIR = HERE / "templates"
STATIC_DIR = HERE / "static"

#: Signs consent cookies when ``COOKIECONSENT_SECRET_KEYS`` is not set. Public, so never use it live.
DEMO_SECRET_KEY = "demo-only-secret-key-do-not-use-in-production"
#: The page languages, the default first.
LANGUAGES = ("zh-TW", "en")
DEFAULT_LANG = LANGUAGES[0]
#: The consent preference page (under the library's default prefix, ``/_consent``).
PREFERENCES_URL = "/_consent/preferences"

_DAY = 24 * 3600
_OFF = frozenset({"0", "false", "no", "off"})


# -- configuration -----------------------------------------------------------------------------


def make_config(**overrides: Any) -> ConsentConfig:
    """Build the demo's consent configuration.

    Loads :data:`POLICY_PATH`; takes the signing keys from ``COOKIECONSENT_SECRET_KEYS``
    (comma-separated, oldest first), else the public :data:`DEMO_SECRET_KEY` with a warning; sends the
    consent cookie over HTTPS only unless ``COOKIECONSENT_SECURE=0``; shows the banner in the page
    language; and sends an enforced Content-Security-Policy per consent with every page, or the mode
    ``COOKIECONSENT_CSP`` names (``off``, ``report-only`` or ``enforce``).

    Args:
        **overrides: Any :class:`~cookieconsent.config.ConsentConfig` option, taking precedence.

    Returns:
        The configuration for either app's middleware.
    """
    options = dict(overrides)
    if "policy" not in options:
        options["policy"] = load_policy(POLICY_PATH)
    if "secret_keys" not in options:
        options["secret_keys"] = _secret_keys()
    options.setdefault("secure", os.environ.get("COOKIECONSENT_SECURE", "1").strip().lower() not in _OFF)
    options.setdefault("locale_selector", _banner_locale)
    options.setdefault("csp", os.environ.get("COOKIECONSENT_CSP", "enforce").strip().lower())
    return ConsentConfig(**options)


def store_path() -> Path:
    """Where the demo records: ``COOKIECONSENT_STORE``, else ``examples/instance/cookieconsent.db``."""
    configured = os.environ.get("COOKIECONSENT_STORE")
    path = Path(configured) if configured else Path(__file__).resolve().parents[1] / "instance" / "cookieconsent.db"
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


def make_recorder(config: ConsentConfig) -> Recorder:
    """The demo's recorder: SQLite in :func:`store_path`, with no setup.

    Args:
        config: The configuration from :func:`make_config`.
    """
    return Recorder(config, store_path())


def _secret_keys() -> list[str]:
    keys = [k.strip() for k in os.environ.get("COOKIECONSENT_SECRET_KEYS", "").split(",") if k.strip()]
    if not keys:
        logger.warning(
            "Using the public demo secret key: anyone can forge consent cookies. "
            "Set COOKIECONSENT_SECRET_KEYS to a private key before serving real visitors."
        )
        keys = [DEMO_SECRET_KEY]
    return keys


class PageLanguage(str):
    """A page language (``"zh-TW"`` or ``"en"``) that knows whether it holds for this page view only.

    A visitor who switches language without the functional category gets it in the address
    (``?lang=en``): the ``lang`` cookie that would remember it is not allowed, and the page says so.
    """

    __slots__ = ("this_view_only",)

    this_view_only: bool

    def __new__(cls, lang: str, this_view_only: bool = False) -> PageLanguage:
        """``lang``, for this page view only or not."""
        value = super().__new__(cls, lang)
        value.this_view_only = this_view_only
        return value


def page_lang(cookie: str | None, accept_language: str | None = None, query: str | None = None) -> PageLanguage:
    """The page language: ``?lang=`` for this view, else the ``lang`` cookie, else ``Accept-Language``.

    Args:
        cookie: The ``lang`` cookie's value, or ``None`` if the request has none.
        accept_language: The ``Accept-Language`` header, if any.
        query: The ``lang`` query parameter, if any.

    Returns:
        ``"zh-TW"`` or ``"en"``.
    """
    if query in LANGUAGES and query != cookie:
        return PageLanguage(query, this_view_only=True)
    if cookie in LANGUAGES:
        return PageLanguage(cookie)
    return PageLanguage(negotiate(accept_language, LANGUAGES, DEFAULT_LANG))


def query_lang(query_string: str) -> str | None:
    """The ``lang`` query parameter of a request, if it names a site language."""
    values = parse_qs(query_string).get("lang", [])
    return values[0] if values and values[0] in LANGUAGES else None


def switch_back(referer: str | None, host: str, lang: str, *, remembered: bool) -> str:
    """Where the language switch goes: the page it was clicked on (``Referer``), in ``lang``.

    With the ``lang`` cookie allowed (``remembered``), the page as it was; without, the page with
    ``?lang=`` for this view. Only a page of this site (``host``) is followed: the home page otherwise.
    """
    parts = urlsplit(referer or "")
    ours = parts.netloc == host and parts.path.startswith("/") and not parts.path.startswith(("//", "/lang/"))
    path = parts.path if ours else "/"
    params = [(k, v) for k, v in parse_qsl(parts.query) if k != "lang"] if ours else []
    if not remembered:
        params.append(("lang", lang))
    return path + (f"?{urlencode(params)}" if params else "")


def _banner_locale(request: RequestView) -> str:
    lang = read_cookies(request.header("cookie") or "").values("lang")
    return page_lang(lang[0] if lang else None, request.header("accept-language"), query_lang(request.query_string))


# -- cookies -----------------------------------------------------------------------------------


def session_cookie(*, secure: bool) -> str:
    """A ``Set-Cookie`` value for a fresh, random ``session`` cookie (necessary, HttpOnly).

    Args:
        secure: Whether to add ``Secure`` (the config's ``secure``).
    """
    return format_cookie("session", secrets.token_urlsafe(24), secure=secure)


def csrf_cookie(token: str, *, secure: bool) -> str:
    """A ``Set-Cookie`` value for the sign-in form's ``csrftoken`` (necessary, HttpOnly, for the session).

    Args:
        token: The token the form carries too (:func:`new_csrf_token`).
        secure: Whether to add ``Secure``.
    """
    return format_cookie("csrftoken", token, secure=secure)


def new_csrf_token(cookies: Mapping[str, str]) -> str:
    """The ``csrftoken`` the request already has, or a new random one."""
    token = cookies.get("csrftoken", "")
    return token if 20 <= len(token) <= 64 and token.isascii() else secrets.token_urlsafe(24)


def csrf_valid(cookies: Mapping[str, str], form_token: str | None) -> bool:
    """Whether a sign-in form was sent from this site: its hidden token matches the ``csrftoken`` cookie."""
    cookie = cookies.get("csrftoken", "")
    return bool(cookie) and form_token is not None and hmac.compare_digest(cookie.encode(), form_token.encode())


def lang_cookie(lang: str, *, secure: bool) -> str:
    """A ``Set-Cookie`` value that remembers the page language for a year (functional).

    Args:
        lang: ``"zh-TW"`` or ``"en"``.
        secure: Whether to add ``Secure``.
    """
    return format_cookie("lang", lang, max_age=365 * _DAY, secure=secure, http_only=False)


def home_cookies(cookies: Mapping[str, str], lang: str, *, secure: bool) -> list[str]:
    """The ``Set-Cookie`` values the home page sends, as a typical site does before asking anyone.

    A ``session`` cookie (only if the request has none), ``lang``, Google Analytics' ``_ga``, the Meta
    Pixel's ``_fbp`` and ``x_unknown``, which the policy does not declare. The tracker values are
    fixed demo values.

    Args:
        cookies: The request's cookies.
        lang: The page language.
        secure: Whether to add ``Secure``.
    """
    values = [] if "session" in cookies else [session_cookie(secure=secure)]
    values += [
        lang_cookie(lang, secure=secure),
        format_cookie("_ga", "GA1.1.100000001.1700000000", max_age=400 * _DAY, secure=secure, http_only=False),
        format_cookie("_fbp", "fb.1.1700000000000.100000001", max_age=90 * _DAY, secure=secure, http_only=False),
        format_cookie("x_unknown", "1", secure=secure, http_only=False),
    ]
    return values


# -- content -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Article:
    """An article, with each text keyed by page language."""

    slug: str
    date: str
    title: Mapping[str, str]
    summary: Mapping[str, str]
    body: Mapping[str, tuple[str, ...]]

    @property
    def url(self) -> str:
        """The article's path."""
        return f"/articles/{self.slug}"


ARTICLES: dict[str, Article] = {
    a.slug: a
    for a in (
        Article(
            slug="telligent-platform",
            date="2025-03-18",
            title={
                "zh-TW": "Telligent：串連每一次客戶對話的平台",
                "en": "Telligent: one platform for every customer conversation",
            },
            summary={
                "zh-TW": "語音、簡訊、LINE 與網頁即時通訊集中在同一個工作畫面，客服人員一眼掌握完整對話。",
                "en": "Voice, SMS, LINE and web chat in one workspace, so agents see the whole conversation.",
            },
            body={
                "zh-TW": (
                    "客戶會透過許多管道聯絡企業：早上打電話、中午回覆簡訊、晚上再傳 LINE 訊息。"
                    "網訊電信的雲端通訊平台 Telligent 將這些管道整合在同一個工作畫面，"
                    "讓客服人員看到完整的對話，而不是零散的片段。",
                    "來電依技能與語言分配給合適的團隊，即時訊息與簡訊在同一個佇列中處理，"
                    "每一次互動都歸入同一筆客戶紀錄。主管可即時掌握服務水準，在排隊人數增加之前調度人力。",
                    "Telligent 在雲端運作，客服人員無論在辦公室或在家，只需瀏覽器與耳機即可上線；"
                    "企業在旺季也能隨時增加座席，無須添購硬體。",
                ),
                "en": (
                    "Customers reach a business on many channels: a phone call in the morning, an SMS reply "
                    "at lunch, a LINE message in the evening. Telligent, the cloud communications platform "
                    "of Telexpress, brings these channels into one workspace, so an agent sees the whole "
                    "conversation rather than fragments of it.",
                    "Calls go to the right team by skill and language, chats and messages wait in the same "
                    "queue, and every interaction joins the same customer record. Supervisors follow "
                    "service levels as they happen and move people before queues build up.",
                    "Because Telligent runs in the cloud, agents work from the office or from home with a "
                    "browser and a headset, and a business adds seats for a busy season without buying "
                    "hardware.",
                ),
            },
        ),
        Article(
            slug="international-voice-sms",
            date="2025-02-20",
            title={
                "zh-TW": "從台灣出發的國際語音與簡訊服務",
                "en": "International voice and SMS, delivered from Taiwan",
            },
            summary={
                "zh-TW": "電信等級的通話與驗證簡訊路由，並提供可立即運用的送達報告。",
                "en": "Carrier-grade routes for calls and one-time codes, with delivery reports to act on.",
            },
            body={
                "zh-TW": (
                    "網訊電信多年來為台灣企業承載國際語音通話。同一套網路現在也傳送企業對個人（A2P）簡訊，"
                    "包括一次性密碼、出貨通知與預約提醒。",
                    "每則簡訊都會回傳送達報告；驗證碼未送達時，應用程式可以改以語音電話通知。"
                    "我們全天候監控各條路由，品質下降時即將流量切換至備援業者。",
                    "透過 API 與網頁管理介面即可完成日常作業：發送、排程、查詢送達狀態，以及匯出計費報表。",
                ),
                "en": (
                    "Telexpress has carried international calls for Taiwanese businesses for years. The same "
                    "network now delivers application-to-person SMS: one-time passwords, shipping notices "
                    "and appointment reminders.",
                    "Every message returns a delivery report, so an application can fall back to a voice "
                    "call when a code does not arrive. Routes are watched around the clock, and traffic "
                    "moves to a standby carrier when quality drops.",
                    "An API and a web console cover the daily work: sending, scheduling, checking delivery "
                    "and exporting reports for billing.",
                ),
            },
        ),
        Article(
            slug="your-data-your-choice",
            date="2025-01-15",
            title={
                "zh-TW": "您的資料由您決定：本網站如何使用 Cookie",
                "en": "Your data, your choice: how this site uses cookies",
            },
            summary={
                "zh-TW": "分析與廣告 Cookie 在您同意之前一律關閉，您也可以隨時改變心意。",
                "en": "Analytics and advertising stay off until you turn them on; you can change your mind.",
            },
            body={
                "zh-TW": (
                    "本網站只使用少數運作所必需的 Cookie：一個讓您保持登入，另一個保護表單免於偽造。"
                    "其他用途，例如記住您的語言、統計造訪次數或衡量廣告成效，都會等到您同意之後才啟用。",
                    "這項選擇由伺服器執行，而不只依賴瀏覽器中的程式：您尚未同意的類別，"
                    "其 Cookie 會從回應中移除，嵌入的影片與追蹤像素也不會載入。",
                    "您可以透過每頁底部的「Cookie 設定」查看或撤回您的選擇。"
                    "隱私權政策列出每一個 Cookie、由誰設定，以及保存多久。",
                ),
                "en": (
                    "This site uses a few cookies it cannot work without: one keeps you signed in and one "
                    "protects forms against forgery. Everything else (remembering your language, counting "
                    "visits, measuring advertising) waits until you say yes.",
                    "The server enforces your choice, not only a script in your browser: cookies of a "
                    "category you have not accepted are taken out of our responses, and embedded videos "
                    "and tracking pixels stay inert.",
                    "You can review or withdraw your choice in the cookie settings linked at the bottom of "
                    "every page. The privacy policy lists every cookie, who sets it and for how long.",
                ),
            },
        ),
    )
}

# Interface texts as (zh-TW, en) pairs, so the two translations stay side by side.
_UI: dict[str, tuple[str, str]] = {
    "site_name": ("網訊電信", "Telexpress"),
    "skip": ("跳至主要內容", "Skip to main content"),
    "nav_label": ("主選單", "Main"),
    "nav_home": ("首頁", "Home"),
    "nav_articles": ("文章", "Articles"),
    "nav_login": ("登入", "Sign in"),
    "nav_privacy": ("隱私權", "Privacy"),
    "switch_lang": ("English", "中文"),
    "lang_this_view": (
        "此頁面僅於本次瀏覽以中文顯示：記住您的語言需要「功能」Cookie。",
        "This page is in English for this view only: remembering your language needs Functional cookies.",
    ),
    "lang_settings": ("Cookie 設定", "Cookie settings"),
    "footer_note": (
        "本網站為 cookieconsent 函式庫的示範網站，內容僅供說明。",
        "A demonstration site for the cookieconsent library; the content is illustrative.",
    ),
    "cookie_settings": ("Cookie 設定", "Cookie settings"),
    "home_title": ("串連每一次客戶對話", "Every customer conversation, connected"),
    "home_lead": (
        "網訊電信以 Telligent 平台，為台灣與海外企業提供雲端客服中心、國際語音與簡訊服務。",
        "Telexpress serves businesses in Taiwan and abroad with a cloud contact centre, international "
        "voice and SMS, all on the Telligent platform.",
    ),
    "latest": ("最新文章", "Latest articles"),
    "read_more": ("閱讀全文", "Read more"),
    "video_heading": ("示範影片", "Demo video"),
    "video_title": ("示範影片（YouTube）", "Demo video (YouTube)"),
    "video_note": ("此影片由 YouTube 提供。", "This video is hosted by YouTube."),
    "demo_heading": ("這個頁面示範了什麼", "What this page shows"),
    "demo_text": (
        "和許多網站一樣，這個頁面載入 Google Analytics、Meta Pixel 與 YouTube 影片，並嘗試設定分析、"
        "廣告及一個政策未宣告的 Cookie。在您同意相關類別之前，cookieconsent 會在伺服器端擋下它們。",
        "Like many sites, this page loads Google Analytics, the Meta Pixel and a YouTube video, and tries "
        "to set analytics, advertising and an undeclared cookie. Until you accept those categories, "
        "cookieconsent stops them on the server.",
    ),
    "prefs_off": ("功能性指令碼：未執行", "Functional script: not run"),
    "prefs_on": ("功能性指令碼：已執行", "Functional script: ran"),
    "published": ("發布日期", "Published"),
    "analytics_state": ("分析：{}", "Analytics: {}"),
    "on": ("開啟", "on"),
    "off": ("關閉", "off"),
    "back_home": ("回到首頁", "Back to the home page"),
    "login_title": ("登入 Telligent", "Sign in to Telligent"),
    "login_note": (
        "示範用途：任何帳號皆可登入，系統不會檢查或儲存密碼。",
        "For the demo, any details work: nothing is checked or stored.",
    ),
    "email": ("電子郵件", "Email"),
    "password": ("密碼", "Password"),
    "sign_in": ("登入", "Sign in"),
    "privacy_title": ("隱私權政策", "Privacy policy"),
    "privacy_lead": (
        "以下依個人資料保護法第八條告知相關事項，內容取自本網站所執行的同一份政策檔案。",
        "This notice gives the items of Article 8 of Taiwan's Personal Data Protection Act. It is "
        "generated from the same policy file this site enforces.",
    ),
    "version": ("版本", "Version"),
    "controller": ("蒐集者", "Who we are"),
    "address": ("地址", "Address"),
    "phone": ("電話", "Phone"),
    "website": ("網站", "Website"),
    "purposes": ("蒐集目的", "Purposes of collection"),
    "data_categories": ("個人資料類別", "Categories of personal data"),
    "code": ("代號", "Code"),
    "name": ("名稱", "Name"),
    "sources": ("資料來源", "Sources"),
    "period": ("利用期間", "Period of use"),
    "region": ("利用地區", "Region of use"),
    "recipients": ("利用對象", "Recipients"),
    "methods": ("利用方式", "Methods of use"),
    "rights": ("您的權利", "Your rights"),
    "how_to_exercise": ("如何行使權利", "How to exercise them"),
    "consequences": ("不提供資料的影響", "If you do not provide your data"),
    "sharing": ("資料分享與揭露", "Sharing and disclosure"),
    "security": ("資料安全", "Security"),
    "revisions": ("政策修訂", "Changes to this policy"),
    "right_view": ("查詢或請求閱覽", "Ask about or view your data"),
    "right_copy": ("請求製給複製本", "Get a copy"),
    "right_correct": ("請求補充或更正", "Have it completed or corrected"),
    "right_stop": ("請求停止蒐集、處理或利用", "Stop its collection, processing or use"),
    "right_delete": ("請求刪除", "Have it deleted"),
    "categories": ("Cookie 類別", "Cookie categories"),
    "always_on": ("一律啟用", "Always on"),
    "cookies": ("本網站使用的 Cookie", "Cookies on this site"),
    "category": ("類別", "Category"),
    "provider": ("提供者", "Provider"),
    "purpose": ("用途", "Purpose"),
    "lifetime": ("保存期限", "Lifetime"),
    "third_party": ("第三方", "Third party"),
    "yes": ("是", "Yes"),
    "no": ("否", "No"),
    "data_items": ("裝置與紀錄資料", "Device and log data"),
    "data": ("資料", "Data"),
    "error_404": ("找不到網頁", "Page not found"),
    "error_405": ("不支援此請求方法", "Method not allowed"),
    "error_403": ("無法確認表單來源", "This form could not be verified"),
    "error_other": ("發生錯誤", "Something went wrong"),
    "error_403_text": (
        "登入表單已逾時或並非由本網站送出。請重新開啟登入頁面再試一次。",
        "The sign-in form expired or was not sent from this site. Open the sign-in page again and retry.",
    ),
    "error_text": (
        "您要找的網頁不存在，或無法以這種方式開啟。",
        "The page you asked for does not exist, or cannot be opened this way.",
    ),
}


def _strings(lang: str) -> dict[str, str]:
    index = LANGUAGES.index(lang)
    return {key: pair[index] for key, pair in _UI.items()}


# -- rendering ---------------------------------------------------------------------------------

#: The demo's template environment (autoescaping on). Templates are read once, as Flask reads its
#: own outside debug mode: with ``auto_reload`` (Jinja's default) every page would stat its template
#: files, and each of those system calls lets the recorder's writer thread take the interpreter
#: from the request (see docs/performance.md, "Recording").
env = Environment(
    loader=FileSystemLoader(TEMPLATES_DIR),
    auto_reload=False,
    autoescape=True,
    trim_blocks=True,
    lstrip_blocks=True,
    keep_trailing_newline=True,
)


def render(template: str, **context: Any) -> str:
    """Render one of the demo's templates.

    Args:
        template: The template's file name, e.g. ``"home.html"``.
        **context: The template's variables.
    """
    return env.get_template(template).render(**context)


def _page(template: str, lang: str, current: str | None = None, **context: Any) -> str:
    other = LANGUAGES[1 - LANGUAGES.index(lang)]
    return render(
        template,
        lang=lang,
        lang_this_view_only=getattr(lang, "this_view_only", False),
        other_lang=other,
        t=_strings(lang),
        current=current,
        preferences_url=PREFERENCES_URL,
        **context,
    )


def home_page(lang: str) -> str:
    """The home page: articles, a YouTube embed and, as on many sites, Google Analytics and the Meta Pixel.

    Args:
        lang: The page language.
    """
    return _page("home.html", lang, "home", articles=list(ARTICLES.values()))


def article_page(slug: str, lang: str, consent_state: ConsentState) -> str | None:
    """An article page, with a line saying whether analytics is on for this visitor.

    Args:
        slug: The article's slug.
        lang: The page language.
        consent_state: The request's consent state (read through its public API).

    Returns:
        The page, or ``None`` if there is no such article.
    """
    article = ARTICLES.get(slug)
    if article is None:
        return None
    return _page("article.html", lang, "articles", article=article, consent_state=consent_state)


def login_page(lang: str, csrf_token: str) -> str:
    """The sign-in form (it posts to ``/login``, with ``csrf_token`` in a hidden field).

    Args:
        lang: The page language.
        csrf_token: The token of the ``csrftoken`` cookie sent with the page.
    """
    return _page("login.html", lang, "login", csrf_token=csrf_token)


def privacy_page(policy: Policy, lang: str) -> str:
    """The privacy notice, rendered from the policy the site enforces.

    Args:
        policy: The loaded policy.
        lang: The page language.
    """
    notice = policy.notice
    context: dict[str, Any] = {"policy": policy, "notice": notice, "purposes": [], "data_categories": []}
    if notice is not None:
        context["purposes"] = [(code, purpose_name(code, lang)) for code in notice.purposes]
        context["data_categories"] = [(code, data_category_name(code, lang)) for code in notice.data_categories]
    context["category_titles"] = {c.id: c.title.get(lang) for c in policy.categories}
    return _page("privacy.html", lang, "privacy", **context)


def error_page(status: int, lang: str) -> str:
    """The page for an HTTP error (404, 405, …).

    Args:
        status: The response's status code.
        lang: The page language.
    """
    return _page("error.html", lang, status=status)


def news_json(lang: str) -> str:
    """The ``/api/news`` document: the articles' titles, summaries and links, newest first.

    Args:
        lang: The language of the texts.
    """
    items = [
        {"slug": a.slug, "date": a.date, "title": a.title[lang], "summary": a.summary[lang], "url": a.url}
        for a in sorted(ARTICLES.values(), key=lambda a: a.date, reverse=True)
    ]
    return json.dumps({"lang": lang, "items": items}, ensure_ascii=False)
