"""The documentation site builds offline with every warning an error, reaches every page, and calls no other host.

The site is built once into a temporary folder with ``mkdocs build --strict`` (as ``make docs`` does),
then:

- **Navigation.** Every Markdown page of ``docs/`` is in the ``nav`` of ``mkdocs.yml``, and every page
  of the built site is linked from the navigation that the built home page carries; every relative
  ``src`` and ``href`` of the built pages leads to a file of the site.
- **No other host.** A built page, stylesheet or script that makes the browser fetch from (or link
  to) another host leaks the reader's visit. What counts as a reference:

  - in HTML, the URL attributes a browser fetches or follows: ``src``, ``href`` (of ``<a>``, ``<link>``,
    ``<area>``, ``<base>``), ``srcset``, ``poster``, ``data``, ``action``, ``formaction``,
    ``background``, ``ping``, ``manifest``, ``xlink:href``, a ``<meta http-equiv="refresh">`` target,
    and ``url()`` and ``@import`` in ``style`` attributes and ``<style>`` elements; URLs in inline
    scripts are held to the rule for scripts below. Namespace names (``xmlns``) are identifiers, not
    references, and text inside ``<code>`` is text;
  - in CSS, every ``url()`` and ``@import``;
  - in JavaScript, every ``http(s)://`` URL outside comments.

  Allowed: relative URLs, ``data:`` URLs, the local machine (``127.0.0.1``, ``localhost``: the demo's
  address) and the reserved example names of RFC 2606 (``example.com``, ``*.example``…). Links in the
  prose (``<a href>``) to another site are refused too, but for the few of ``PROSE_LINKS``: each is a
  link a reader may choose to follow, on one page, never something a page fetches.

  The theme's scripts hold four URLs outside comments, each checked to be unreachable on this site
  (``THEME_SCRIPT_URLS``). Source maps (``*.map``, read only by developer tools) and the search
  index (``search_index.json``, the pages' text) are data, not fetched URLs, and are not checked.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Callable, Iterator
from html.parser import HTMLParser
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import urlsplit

import pytest
from mkdocs.utils.yaml import yaml_load

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
CONFIG = ROOT / "mkdocs.yml"
BUILD_TIMEOUT_SECONDS = 300

LOCAL_HOSTS = frozenset({"127.0.0.1", "localhost", "[::1]", "::1"})
#: RFC 2606 reserved names: example.com/net/org and the .example, .test, .invalid, .localhost domains.
_PLACEHOLDER = re.compile(r"(?:^|\.)(?:example\.(?:com|net|org)|[a-z0-9-]+\.(?:example|test|invalid|localhost))$")

#: URLs in the theme's scripts, outside comments, and why none is ever requested on this site.
THEME_SCRIPT_URLS: dict[str, str] = {
    # Loaded only to render a Mermaid diagram; no page has one (checked by test_no_mermaid_diagram).
    "https://unpkg.com/mermaid@": "mermaid",
    # Loaded only in browsers without ResizeObserver, which every browser has had since 2020.
    "https://unpkg.com/resize-observer-polyfill": "polyfill",
    # Asked only when mkdocs.yml sets repo_url, to show the repository's stars (checked: it does not).
    "https://api.github.com/": "repo",
    # A message the search worker writes to the console for a query it cannot parse: text.
    "https://bit.ly/2s3ChXG": "message",
}

#: (built page, URL) of the prose links to other sites that are allowed, and why.
PROSE_LINKS: dict[tuple[str, str], str] = {
    # The audit page points readers to the documentation of the browser driver its extra installs.
    ("audit/index.html", "https://playwright.dev/python/"): "Playwright's documentation",
}

# -- the build --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The site, built offline with ``mkdocs build --strict`` into a folder of its own."""
    out = tmp_path_factory.mktemp("site")
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    command = [
        sys.executable,
        "-m",
        "mkdocs",
        "build",
        "--strict",
        "--config-file",
        str(CONFIG),
        "--site-dir",
        str(out),
    ]
    done = subprocess.run(
        command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=BUILD_TIMEOUT_SECONDS, check=False
    )
    log = done.stdout + done.stderr
    assert done.returncode == 0, f"mkdocs build --strict failed:\n{log}"
    assert "WARNING" not in log, log
    assert (out / "index.html").is_file()
    return out


def built_pages(site: Path) -> set[str]:
    """The pages of the site, as paths relative to it (``index.html``, ``policy/index.html``…)."""
    return {p.relative_to(site).as_posix() for p in site.rglob("index.html")}


def files_of(site: Path, *suffixes: str) -> list[Path]:
    return sorted(p for p in site.rglob("*") if p.is_file() and p.suffix in suffixes)


# -- navigation -------------------------------------------------------------------------------------


def markdown_pages() -> set[str]:
    """Every Markdown page of ``docs/``, relative to it (``_hooks/`` holds no pages)."""
    return {p.relative_to(DOCS).as_posix() for p in DOCS.rglob("*.md") if p.relative_to(DOCS).parts[0] != "_hooks"}


def nav_entries(node: Any) -> Iterator[str]:
    """The page paths of a ``nav`` value of mkdocs.yml (nested lists and one-key mappings)."""
    if isinstance(node, str):
        yield node
    elif isinstance(node, list):
        for item in node:
            yield from nav_entries(item)
    elif isinstance(node, dict):
        for value in node.values():
            yield from nav_entries(value)


def test_every_markdown_page_is_in_the_nav() -> None:
    with CONFIG.open(encoding="utf-8") as file:
        config = yaml_load(file)
    entries = list(nav_entries(config["nav"]))
    assert len(entries) == len(set(entries)), "a page is in the nav twice"
    pages = markdown_pages()
    assert pages, "docs/ holds no pages"
    assert sorted(pages - set(entries)) == [], "pages missing from the nav of mkdocs.yml"
    assert sorted(set(entries) - pages) == [], "nav entries without a page"


def page_of(markdown: str) -> str:
    """The built file of a Markdown page (``policy.md`` → ``policy/index.html``)."""
    stem = markdown.removesuffix(".md")
    if stem == "index":
        return "index.html"
    if stem.endswith("/index"):
        return stem + ".html"
    return stem + "/index.html"


class _PrimaryNav(HTMLParser):
    """Collects the ``href`` of every link inside Material's primary navigation."""

    def __init__(self) -> None:
        super().__init__()
        self.depth = 0  # nav elements open since the primary one (0: outside it)
        self.links: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "nav":
            if self.depth:
                self.depth += 1
            elif "md-nav--primary" in (values.get("class") or "").split():
                self.depth = 1
        elif tag == "a" and self.depth and values.get("href") is not None:
            self.links.append(str(values["href"]))

    def handle_endtag(self, tag: str) -> None:
        if tag == "nav" and self.depth:
            self.depth -= 1


def resolve(page: str, url: str) -> str | None:
    """The site file a relative URL on ``page`` leads to, or None for another scheme or host."""
    parts = urlsplit(url)
    if parts.scheme or parts.netloc:
        return None
    if not parts.path:
        return page  # "#anchor" or "?query": the page itself
    # A path from the root (the 404 page's links) is taken from the site's root.
    base = PurePosixPath() if parts.path.startswith("/") else PurePosixPath(page).parent
    target = base / parts.path.lstrip("/")
    normal: list[str] = []
    for part in target.parts:
        if part == "..":
            assert normal, f"{page}: {url!r} leads out of the site"
            normal.pop()
        elif part != ".":
            normal.append(part)
    path = "/".join(normal)
    if parts.path.endswith("/") or path == "":
        path = f"{path}/index.html".lstrip("/")
    return path


def test_every_built_page_is_reachable_from_the_navigation(site: Path) -> None:
    nav = _PrimaryNav()
    nav.feed((site / "index.html").read_text(encoding="utf-8"))
    assert nav.links, "no primary navigation found in index.html"
    linked = {target for href in nav.links if (target := resolve("index.html", href)) is not None}
    pages = built_pages(site)
    assert {page_of(md) for md in markdown_pages()} <= pages, "a Markdown page was not built"
    assert sorted(pages - linked) == [], "built pages that no navigation link reaches"


class _Links(HTMLParser):
    """Every ``src`` and ``href`` of a page."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.urls += [value for name, value in attrs if name in ("src", "href") and value]


def test_relative_links_of_built_pages_lead_to_files(site: Path) -> None:
    broken = []
    for path in files_of(site, ".html"):
        page = path.relative_to(site).as_posix()
        parser = _Links()
        parser.feed(path.read_text(encoding="utf-8"))
        for url in parser.urls:
            target = resolve(page, url)
            if target is not None and not (site / target).is_file():
                broken.append(f"{page}: {url}")
    assert broken == []


def test_the_screenshots_are_on_the_pages(site: Path) -> None:
    banner = (site / "banner" / "index.html").read_text(encoding="utf-8")
    for name in ("banner-en.png", "banner-zh-TW.png", "preferences-en.png", "preferences-zh-TW.png"):
        assert f"assets/screenshots/{name}" in banner, name
        assert (site / "assets" / "screenshots" / name).is_file(), name
    assert "assets/screenshots/banner-en.png" in (site / "index.html").read_text(encoding="utf-8")


# -- no other host ----------------------------------------------------------------------------------


def other_host(url: str) -> str | None:
    """The host ``url`` points at if it is another site; None for relative, ``data:`` and local URLs."""
    url = url.strip()
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme in ("data", "mailto", "tel", "javascript", "blob", "about"):
        return None
    if not parts.netloc:
        return None if not scheme else url  # a scheme without a host (e.g. "file:") is refused too
    host = (parts.hostname or "").lower()
    if host in LOCAL_HOSTS or _PLACEHOLDER.search(host):
        return None
    return host


_CSS_URL = re.compile(r"""url\(\s*(?P<q>["']?)(?P<url>.*?)(?P=q)\s*\)""", re.IGNORECASE | re.DOTALL)
_CSS_IMPORT = re.compile(r"""@import\s+(?:url\(\s*)?["']?(?P<url>[^"')\s;]+)""", re.IGNORECASE)
_JS_URL = re.compile(r"https?://[A-Za-z0-9.\-\[\]:]+[^\s\"'`)<>]*")


def css_references(css: str) -> list[str]:
    """The targets of every ``url()`` and ``@import`` of a stylesheet (comments removed)."""
    css = re.sub(r"/\*.*?\*/", "", css, flags=re.DOTALL)
    return [m["url"] for m in _CSS_URL.finditer(css)] + [m["url"] for m in _CSS_IMPORT.finditer(css)]


def in_comment(script: str, index: int) -> bool:
    """Whether ``index`` of a script lies in a ``/* … */`` or a ``// …`` comment."""
    start = script.rfind("/*", 0, index)
    if start >= 0:
        end = script.find("*/", start + 2)
        if end == -1 or end > index:
            return True
    line = script[script.rfind("\n", 0, index) + 1 : index]
    return re.match(r"\s*//", line) is not None


def script_references(script: str) -> list[str]:
    """The ``http(s)://`` URLs of a script outside comments, less the theme's known ones."""
    found = []
    for match in _JS_URL.finditer(script):
        url = match.group(0)
        if in_comment(script, match.start()) or other_host(url) is None:
            continue
        if any(url.startswith(known) for known in THEME_SCRIPT_URLS):
            continue
        found.append(url)
    return found


_URL_ATTRIBUTES = frozenset(
    {"src", "href", "poster", "data", "action", "formaction", "background", "ping", "manifest", "xlink:href"}
)


class _References(HTMLParser):
    """The URLs an HTML page makes the browser fetch or follow (see the module's docstring)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.urls: list[str] = []
        self.links: list[str] = []  # the href of <a> elements, held apart for PROSE_LINKS
        self.scripts: list[str] = []
        self._in: str | None = None  # "style" or "script" while inside one

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name: value or "" for name, value in attrs}
        for name, value in values.items():
            if tag == "a" and name == "href":
                self.links.append(value)
            elif name in _URL_ATTRIBUTES:
                self.urls.append(value)
            elif name in ("srcset", "imagesrcset"):
                self.urls += [item.strip().split()[0] for item in value.split(",") if item.strip()]
            elif name == "style":
                self.urls += css_references(value)
        if tag == "meta" and values.get("http-equiv", "").lower() == "refresh":
            self.urls += re.findall(r"url\s*=\s*['\"]?([^'\";]+)", values.get("content", ""), re.IGNORECASE)
        if tag == "style" or (tag == "script" and values.get("type", "text/javascript") != "application/json"):
            self._in = tag

    def handle_endtag(self, tag: str) -> None:
        if tag == self._in:
            self._in = None

    def handle_data(self, data: str) -> None:
        if self._in == "style":
            self.urls += css_references(data)
        elif self._in == "script":
            self.scripts.append(data)


def foreign(urls: list[str]) -> list[str]:
    return [url for url in urls if other_host(url) is not None]


def test_html_pages_reference_no_other_host(site: Path) -> None:
    pages = files_of(site, ".html")
    assert len(pages) > 20
    found = []
    for path in pages:
        parser = _References()
        parser.feed(path.read_text(encoding="utf-8"))
        page = path.relative_to(site).as_posix()
        found += [f"{page}: {url}" for url in foreign(parser.urls)]
        found += [f"{page}: {url} (link)" for url in foreign(parser.links) if (page, url) not in PROSE_LINKS]
        found += [f"{page}: {url} (inline script)" for script in parser.scripts for url in script_references(script)]
    assert found == []


def test_stylesheets_reference_no_other_host(site: Path) -> None:
    sheets = files_of(site, ".css")
    assert sheets
    found = [f"{p.relative_to(site)}: {url}" for p in sheets for url in foreign(css_references(p.read_text("utf-8")))]
    assert found == []


def test_scripts_reference_no_other_host_outside_comments(site: Path) -> None:
    scripts = files_of(site, ".js")
    assert scripts
    found = [f"{p.relative_to(site)}: {url}" for p in scripts for url in script_references(p.read_text("utf-8"))]
    assert found == []


def test_the_theme_urls_stay_unreachable(site: Path) -> None:
    """Each URL of ``THEME_SCRIPT_URLS`` is fetched only under a condition this site never meets."""
    with CONFIG.open(encoding="utf-8") as file:
        config = yaml_load(file)
    assert "repo_url" not in config, "repo_url makes the theme ask api.github.com for the repository's stars"
    assert config["theme"].get("font") is False, "set theme.font: false: the theme's default loads Google Fonts"
    plugins = [p if isinstance(p, str) else next(iter(p)) for p in config.get("plugins", [])]
    assert "privacy" not in plugins, "the privacy plugin downloads assets"
    assert "material/privacy" not in plugins, "the privacy plugin downloads assets"
    for path in files_of(site, ".html"):
        text = path.read_text(encoding="utf-8")
        assert 'class="mermaid"' not in text, f"{path}: a Mermaid diagram loads mermaid from unpkg.com"
        assert "fonts.googleapis.com" not in text, path
        assert "fonts.gstatic.com" not in text, path


# -- the checks themselves --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("check", "text", "expected"),
    [
        (
            foreign,
            ["https://fonts.googleapis.com/css?family=Roboto"],
            ["https://fonts.googleapis.com/css?family=Roboto"],
        ),
        (foreign, ["//cdn.jsdelivr.net/x.js"], ["//cdn.jsdelivr.net/x.js"]),
        (foreign, ["../assets/x.png", "#top", "data:image/png;base64,AA==", "http://127.0.0.1:8000/"], []),
        (foreign, ["https://www.example.com/privacy", "https://shop.test/"], []),
        (css_references, "a{background:url('https://evil.invalid.org/x.png')}", ["https://evil.invalid.org/x.png"]),
        (css_references, '@import "https://cdn.example.org/a.css";', ["https://cdn.example.org/a.css"]),
        (css_references, "/* url(https://a.org/x) */ b{}", []),
        (script_references, 'fetch("https://tracker.io/p")', ["https://tracker.io/p"]),
        (script_references, "/*! see https://licence.org */ x=1;\n  // https://c.org", []),
        (script_references, "/* a */ x='https://b.org/'; /* c */", ["https://b.org/"]),
        (script_references, 'load("https://unpkg.com/mermaid@11/dist/mermaid.min.js")', []),
    ],
)
def test_the_reference_checks_catch_what_they_must(
    check: Callable[[Any], list[str]], text: Any, expected: list[str]
) -> None:
    assert check(text) == expected


def test_the_html_check_reads_every_kind_of_reference() -> None:
    parser = _References()
    parser.feed(
        '<link rel="preconnect" href="https://fonts.gstatic.com"><img srcset="a.png 1x, https://cdn.io/b.png 2x">'
        '<div style="background:url(https://img.io/c.png)"></div><meta http-equiv="refresh" content="0; url=https://go.io/">'
        "<style>@import 'https://css.io/d.css';</style><script>fetch('https://api.io/e')</script>"
        '<svg xmlns="http://www.w3.org/2000/svg"></svg><code>src="https://text.io/"</code>'
        '<a href="https://docs.io/">docs</a><a href="../cli/">CLI</a>'
    )
    assert foreign(parser.links) == ["https://docs.io/"]
    assert foreign(parser.urls) == [
        "https://fonts.gstatic.com",
        "https://cdn.io/b.png",
        "https://img.io/c.png",
        "https://go.io/",
        "https://css.io/d.css",
    ]
    assert [url for script in parser.scripts for url in script_references(script)] == ["https://api.io/e"]
