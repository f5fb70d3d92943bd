"""URLs as browsers resolve them (WHATWG URL parsing): what the tracker catalog is asked about."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cookieconsent.blocking.trackers import UNPARSEABLE, Catalog
from cookieconsent.blocking.urls import FAILURE, FIRST_PARTY, OPAQUE, Base, base_from, domain, resolve

CATALOG = Catalog()
GA = "www.google-analytics.com"


@pytest.mark.parametrize(
    ("url", "host", "path"),
    [
        ("https://www.facebook.com/./tr", "www.facebook.com", "/tr"),
        ("https://www.facebook.com/a/../tr", "www.facebook.com", "/tr"),
        ("https://www.facebook.com/%2e/tr", "www.facebook.com", "/tr"),
        ("https://www.facebook.com/%2E%2e/x/../tr?id=1", "www.facebook.com", "/tr"),
        ("https://www.facebook.com/a/b/..", "www.facebook.com", "/a/"),
        ("https://www.facebook.com/..%2f/tr", "www.facebook.com", "/..//tr"),  # %2f is not a separator
        ("https://www.google-analytics\u3002com/collect", GA, "/collect"),
        ("https://www.google-analytics\uff0ecom/collect", GA, "/collect"),
        ("https://www.google-analytics\uff61com/collect", GA, "/collect"),
        ("https://\uff57\uff57\uff57.\uff47\uff4f\uff4f\uff47\uff4c\uff45-analytics.com/collect", GA, "/collect"),
        ("https://WWW.Google-Analytics.COM/collect", GA, "/collect"),
        ("https://www.goo\u00adgle-analytics.com/collect", GA, "/collect"),
        (f"https://{GA}./collect", GA, "/collect"),
        (f"https://u:p@{GA}:443/collect", GA, "/collect"),
        ("https://www%2egoogle-analytics.com/collect", GA, "/collect"),
        (f"  \t https://{GA}/col\nlect \x01", GA, "/collect"),
        (f"https:\\\\{GA}\\collect", GA, "/collect"),
        (f"https:////{GA}/collect", GA, "/collect"),
        (f"//{GA}/collect", GA, "/collect"),
        (f"\\\\{GA}/collect", GA, "/collect"),
    ],
)
def test_hosts_and_paths_as_the_browser_reads_them(url: str, host: str, path: str) -> None:
    (target,) = [t for t in resolve(url) if t.host is not None]
    assert (target.kind, target.host, target.path) == ("network", host, path)


def test_a_scheme_without_slashes_is_read_both_ways_when_the_page_scheme_is_unknown() -> None:
    """``https:host`` is relative on an https page and a host of its own on an http one."""
    readings = resolve(f"https:{GA}/collect")
    assert {t.host for t in readings} == {GA, None}
    assert [t.host for t in resolve(f"https:{GA}/collect", Base("http"))] == [GA]
    assert [t.host for t in resolve(f"https:{GA}/collect", Base("https"))] == [None]
    assert CATALOG.category_of_url(f"https:{GA}/collect") == "analytics"


def test_relative_urls_resolve_against_the_base() -> None:
    base = base_from(f"https://{GA}/a/b")
    assert base.host == GA
    assert [(t.host, t.path) for t in resolve("collect", base)] == [(GA, "/a/collect")]
    assert [(t.host, t.path) for t in resolve("../collect", base)] == [(GA, "/collect")]
    assert [(t.host, t.path) for t in resolve("/x", base)] == [(GA, "/x")]
    assert [t.host for t in resolve("collect", FIRST_PARTY)] == [None]
    assert base_from("/local/") == FIRST_PARTY  # a first-party base keeps relative URLs first-party
    assert base_from("data:text/html,x") == FIRST_PARTY  # not a base, as in browsers
    assert resolve("collect", base_from("https://%zz/"))[0] is FAILURE  # an unreadable base: fail closed
    assert resolve("collect", OPAQUE)[0].kind == "none"  # a data: document resolves nothing


@pytest.mark.parametrize(
    "url", ["https://%zz/", "https://exa mple.com/", "https://[::1/", "https://x.com:80a/", "https://a\ufffdb.com/"]
)
def test_unreadable_urls_fail_and_are_judged_as_a_trackers(url: str) -> None:
    assert resolve(url)[0] is FAILURE
    assert CATALOG.category_of_url(url) == UNPARSEABLE


def test_data_and_javascript_urls_carry_their_content() -> None:
    (data,) = resolve("data:text/html;base64,PGIgLz4=")
    assert (data.kind, data.media_type, data.payload) == ("data", "text/html", "<b />")
    (plain,) = resolve("data:,%3Cscript%3E")
    assert (plain.media_type, plain.payload) == ("text/plain", "<script>")
    assert resolve("data:text/html;base64,%%%")[0] is FAILURE
    assert resolve("data:no-comma")[0] is FAILURE
    (script,) = resolve("javascript:fetch(%22https://www.google-analytics.com/x%22)")
    assert (script.kind, script.payload) == ("javascript", 'fetch("https://www.google-analytics.com/x")')
    assert CATALOG.category_of_url("javascript:fetch('https://www.google-analytics.com/x')") == "analytics"
    assert resolve("about:blank")[0].kind == "none"
    assert resolve("blob:https://www.google-analytics.com/1")[0].kind == "none"


def test_the_catalog_matches_normalised_urls_and_content_hosts_stay_content() -> None:
    assert CATALOG.category_of_url("https://www.facebook.com/./tr?id=1") == "marketing"
    assert CATALOG.category_of_url("https://www.facebook.com/TR?id=1") == "marketing"  # servers ignore case
    assert CATALOG.category_of_url("https://www.facebook.com/help") is None
    assert CATALOG.category_of_url("https://dc.ads.linkedin.com/collect?pid=1") == "marketing"
    assert CATALOG.category_of_url("https://www.linkedin.com/in/someone") is None


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=200))
def test_resolving_never_raises(url: str) -> None:
    for target in resolve(url):
        assert target.kind in ("network", "data", "javascript", "none", "failure")
    domain(url)
