"""A Content-Security-Policy per consent (R10): the hosts a policy declares, the policy each rewritten
page gets, and the endpoint that counts the reports browsers send.

The pages come from ``tests/csp_app.py``, on FastAPI and on Flask (the ``app_kind`` parameter). The
real-browser side, where the policy actually blocks, is ``tests/browser/test_csp.py``.
"""

from __future__ import annotations

import json
import logging
import tomllib
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from werkzeug.test import Client

from cookieconsent import ConfigurationError, ConsentConfig
from cookieconsent.core.csp import DIRECTIVES, REPORT_LIMIT, ConsentCSP, CSPReports, category_hosts
from cookieconsent.errors import PolicyError
from cookieconsent.policy.model import load_policy, parse_policy
from tests import csp_app
from tests.harness import SECRET, AppClient, Response, small_policy_data

REPORT_PATH = "/_consent/csp-report"
SAME_ORIGIN = {"origin": "https://testserver"}
OPTIONAL = ("functional", "analytics", "marketing")
ENFORCE = "content-security-policy"
REPORT_ONLY = "content-security-policy-report-only"
#: The policy of a page under the test policy with only ``necessary`` in force.
NECESSARY_ONLY = {csp_app.CDN_HOST}
CHAT = {csp_app.CHAT_HOST, f"*.{csp_app.CHAT_HOST}"}
ANALYTICS = {csp_app.ANALYTICS_HOST, "*.analytics.google.com"}
MARKETING = {csp_app.MARKETING_HOST, "www.youtube.com"}


def make_client(kind: str, mode: str) -> AppClient:
    app = csp_app.fastapi_app(mode) if kind == "fastapi" else csp_app.flask_app(mode)
    return AppClient(kind, app)


@pytest.fixture
def enforced(app_kind: str) -> AppClient:
    return make_client(app_kind, "enforce")


def directives(value: str) -> dict[str, list[str]]:
    """A serialized policy as {directive: [source, …]} (each directive once, as this builder writes them)."""
    out: dict[str, list[str]] = {}
    for part in value.split(";"):
        name, *sources = part.split()
        assert name not in out, f"{name} twice in {value}"
        out[name] = sources
    return out


def third_party(value: str) -> dict[str, set[str]]:
    """The hosts each fetch directive of ``value`` allows besides 'self', data: and blob: and keywords."""
    return {
        name: {s for s in sources if not s.startswith("'") and s not in ("data:", "blob:")}
        for name, sources in directives(value).items()
        if name != "report-uri"
    }


def only(response: Response, name: str) -> str:
    values = response.header_list(name)
    assert len(values) == 1, response.headers
    return values[0]


# -- the policy's hosts ----------------------------------------------------------------------------


def with_hosts(category: str, hosts: list[str]) -> dict[str, Any]:
    from cookieconsent.policy.defaults import DEFAULT_CATEGORIES

    categories = [dict(c) for c in DEFAULT_CATEGORIES]
    for c in categories:
        if c["id"] == category:
            c["hosts"] = hosts
    return small_policy_data(categories=categories)


def test_hosts_are_lower_cased_and_kept_once_in_order() -> None:
    policy = parse_policy(with_hosts("analytics", ["WWW.Example.com", "*.stats.example.com", "www.example.com"]))
    assert policy.category("analytics").hosts == ("www.example.com", "*.stats.example.com")


@pytest.mark.parametrize(
    "host",
    [
        "www.example.com",
        "*.example.com",
        "https://cdn.example.com",
        "wss://live.example.com",
        "cdn.example.com:8443",
        "example.com:*",
        "https://www.example.com/embed/",
        "203.0.113.7",
    ],
)
def test_csp_host_sources_are_accepted(host: str) -> None:
    assert parse_policy(with_hosts("marketing", [host])).category("marketing").hosts == (host,)


@pytest.mark.parametrize(
    ("host", "message"),
    [
        ("*", "would allow every host"),
        ("https:", "would allow every host"),
        ("https://*", "would allow every host"),
        ("data:", "would allow every host"),
        ("'self'", "this site ('self') is always allowed"),
        ("'unsafe-inline'", "is a keyword, not a host"),
        ("*.com", "covers a whole top-level domain"),
        ("exa mple.com", "is not a CSP host-source"),
        ("example.com; script-src *", "is not a CSP host-source"),
        ("example.com,evil.com", "is not a CSP host-source"),
        ("ftp://example.com", "is not a CSP host-source"),
        (".example.com", "is not a CSP host-source"),
        ("example.com:123456", "is not a CSP host-source"),
        ("https://example.com/a'b", "is not a CSP host-source"),
    ],
)
def test_bad_hosts_are_refused_with_their_place_and_fix(host: str, message: str) -> None:
    with pytest.raises(PolicyError) as caught:
        parse_policy(with_hosts("analytics", ["www.example.com", host]))
    text = str(caught.value)
    assert "categories[2].hosts[1]" in text
    assert message in text
    assert "'www.example.com'" in text or "'*.example.com'" in text or "'self'" in text


def test_every_bad_host_is_reported_at_once() -> None:
    with pytest.raises(PolicyError) as caught:
        parse_policy(with_hosts("marketing", ["*", "ok.example.com", "bad host"]))
    assert len(caught.value.problems) == 2
    assert {p.split(":")[0] for p in caught.value.problems} == {"categories[3].hosts[0]", "categories[3].hosts[2]"}


def test_optional_hosts_change_the_fingerprint_necessary_ones_do_not() -> None:
    base = parse_policy(small_policy_data())
    assert parse_policy(with_hosts("necessary", ["cdn.example.com"])).fingerprint == base.fingerprint
    analytics = parse_policy(with_hosts("analytics", ["stats.example.com"]))
    assert analytics.fingerprint != base.fingerprint  # a category that gains a third party asks again
    again = parse_policy(with_hosts("analytics", ["STATS.example.com", "stats.example.com"]))
    assert again.fingerprint == analytics.fingerprint  # the same hosts, written otherwise


def test_a_policy_without_hosts_keeps_the_fingerprint_it_had() -> None:
    """Stored decisions survive the upgrade: the material of a policy without hosts did not change."""
    policy = parse_policy(small_policy_data())
    assert "category_hosts" not in policy.material()
    assert set(policy.material()) == {
        "categories",
        "cookies",
        "data_items",
        "trackers",
        "purposes",
        "data_categories",
        "recipients",
    }


def test_the_demo_policy_declares_the_hosts_of_its_embeds() -> None:
    policy = load_policy("examples/telexpress/policy.toml")
    assert policy.category("necessary").hosts == ()
    assert "*.googletagmanager.com" in policy.category("analytics").hosts
    assert {"connect.facebook.net", "www.facebook.com", "www.youtube.com"} <= set(policy.category("marketing").hosts)


# -- the configuration -----------------------------------------------------------------------------


def test_csp_is_off_by_default_and_the_mode_is_checked() -> None:
    policy = csp_app.policy()
    assert ConsentConfig(policy=policy, secret_keys=[SECRET]).csp == "off"
    with pytest.raises(ConfigurationError, match=r"csp: .*'off', 'report-only' or 'enforce'"):
        ConsentConfig(policy=policy, secret_keys=[SECRET], csp="on")


# -- the builder -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("granted", "hosts"),
    [
        (set(), NECESSARY_ONLY),
        ({"functional"}, NECESSARY_ONLY | CHAT),
        ({"analytics"}, NECESSARY_ONLY | ANALYTICS),
        ({"marketing"}, NECESSARY_ONLY | MARKETING),
        (set(OPTIONAL), NECESSARY_ONLY | CHAT | ANALYTICS | MARKETING),
    ],
)
def test_a_category_s_hosts_are_allowed_only_while_it_is_in_force(granted: set[str], hosts: set[str]) -> None:
    builder = ConsentCSP(csp_app.policy(), "enforce", REPORT_PATH)
    value = builder.value(frozenset(granted))
    assert third_party(value) == {name: hosts for name, _ in DIRECTIVES}


def test_the_directives_and_what_each_allows() -> None:
    value = ConsentCSP(csp_app.policy(), "enforce", REPORT_PATH).value(frozenset())
    found = directives(value)
    assert list(found) == [
        "default-src",
        "script-src",
        "style-src",
        "img-src",
        "font-src",
        "connect-src",
        "media-src",
        "frame-src",
        "worker-src",
        "object-src",
        "report-uri",
    ]
    assert found["report-uri"] == [REPORT_PATH]
    for name in ("script-src", "img-src", "connect-src", "frame-src"):  # the four R10 names
        assert found[name][0] == "'self'"
        assert csp_app.CDN_HOST in found[name]
    assert "data:" in found["img-src"]
    assert "data:" not in found["script-src"]
    assert "data:" not in found["frame-src"]


def test_inline_code_keeps_working_as_no_nonce_or_hash_sits_beside_unsafe_inline() -> None:
    """Browsers ignore 'unsafe-inline' in a directive that has a nonce or a hash, or 'strict-dynamic'."""
    value = ConsentCSP(csp_app.policy(), "enforce", REPORT_PATH).value(frozenset(OPTIONAL))
    found = directives(value)
    assert "'unsafe-inline'" in found["script-src"]
    assert "'unsafe-inline'" in found["style-src"]
    assert "'unsafe-eval'" in found["script-src"]  # what may run is the app's own policy's business
    for sources in found.values():
        for source in sources:
            assert not source.startswith(("'nonce-", "'sha256-", "'sha384-", "'sha512-")), value
            assert source not in ("'strict-dynamic'", "'none'", "*"), value


def test_a_policy_without_hosts_allows_only_the_site_itself() -> None:
    policy = parse_policy(small_policy_data())
    assert category_hosts(policy) == {"necessary": (), "functional": (), "analytics": (), "marketing": ()}
    value = ConsentCSP(policy, "enforce", "/_consent/csp-report").value(frozenset(OPTIONAL))
    assert value == (
        "default-src 'self'; script-src 'self' 'unsafe-inline' 'unsafe-eval'; style-src 'self' 'unsafe-inline'; "
        "img-src 'self' data: blob:; font-src 'self' data:; connect-src 'self'; media-src 'self' data: blob:; "
        "frame-src 'self'; worker-src 'self' blob:; object-src 'self'; report-uri /_consent/csp-report"
    )


def test_the_built_in_catalog_is_not_listed() -> None:
    """Only what the policy declares: the catalog's hosts would allow hundreds of hosts and forbid none."""
    value = ConsentCSP(parse_policy(small_policy_data()), "enforce", REPORT_PATH).value(frozenset(OPTIONAL))
    assert "google" not in value
    assert "facebook" not in value


def test_trackers_count_for_their_category_with_their_subdomains() -> None:
    data = small_policy_data(trackers=[{"host": "cdn.example-analytics.com", "path": "/t", "category": "analytics"}])
    hosts = category_hosts(parse_policy(data))
    assert hosts["analytics"] == ("cdn.example-analytics.com", "*.cdn.example-analytics.com")
    assert hosts["marketing"] == ()


@pytest.mark.parametrize(("mode", "name"), [("enforce", ENFORCE), ("report-only", REPORT_ONLY)])
def test_the_header_name_follows_the_mode(mode: str, name: str) -> None:
    assert ConsentCSP(csp_app.policy(), mode, REPORT_PATH).header(frozenset())[0] == name


def test_off_is_not_a_policy() -> None:
    with pytest.raises(ValueError, match="use 'enforce' or 'report-only'"):
        ConsentCSP(csp_app.policy(), "off", REPORT_PATH)


# -- the header on rewritten pages -----------------------------------------------------------------


def test_an_undecided_visitor_s_page_allows_only_necessary_hosts(enforced: AppClient) -> None:
    page = enforced.visitor().get("/")
    assert page.status == 200
    assert third_party(only(page, ENFORCE))["script-src"] == NECESSARY_ONLY
    assert page.header_list(REPORT_ONLY) == []


@pytest.mark.parametrize(
    ("action", "categories", "headers", "hosts"),
    [
        ("accept_all", [], {}, NECESSARY_ONLY | CHAT | ANALYTICS | MARKETING),
        ("reject_all", [], {}, NECESSARY_ONLY),
        ("custom", ["analytics"], {}, NECESSARY_ONLY | ANALYTICS),
        ("accept_all", [], {"sec-gpc": "1"}, NECESSARY_ONLY | CHAT | ANALYTICS),  # GPC refuses marketing
    ],
)
def test_each_page_gets_the_policy_of_the_consent_in_force(
    enforced: AppClient, action: str, categories: list[str], headers: dict[str, str], hosts: set[str]
) -> None:
    visitor = enforced.visitor()
    assert visitor.decide(action, categories, headers={**SAME_ORIGIN, **headers}).status == 200
    page = visitor.get("/", headers=headers)
    assert third_party(only(page, ENFORCE)) == {name: hosts for name, _ in DIRECTIVES}


def test_report_only_mode_sends_the_report_only_header(app_kind: str) -> None:
    page = make_client(app_kind, "report-only").visitor().get("/")
    assert page.header_list(ENFORCE) == []
    assert third_party(only(page, REPORT_ONLY))["img-src"] == NECESSARY_ONLY
    assert f"report-uri {REPORT_PATH}" in only(page, REPORT_ONLY)


def test_off_sends_no_policy_and_serves_no_report_endpoint(app_kind: str) -> None:
    client = make_client(app_kind, "off")
    page = client.visitor().get("/")
    assert page.header_list(ENFORCE) == page.header_list(REPORT_ONLY) == []
    report = client.request("POST", REPORT_PATH, [("content-type", "application/csp-report")], b"{}")
    assert report.status == 404


def test_the_app_s_own_policy_passes_byte_for_byte_beside_ours(enforced: AppClient) -> None:
    """Ours is a header of its own: browsers enforce both, so it can only take away from the app's."""
    page = enforced.visitor().get("/strict")
    policies = page.header_list(ENFORCE)
    assert len(policies) == 2
    app_policy = policies[0]
    nonce = app_policy.split("'nonce-")[1].split("'")[0]
    assert app_policy == csp_app.strict_csp(nonce)  # as the app sent it
    assert third_party(policies[1])["script-src"] == NECESSARY_ONLY
    # The markup the middleware injects carries the app's nonce, so the app's policy runs it.
    head = page.text.split("<title>")[0]
    assert head.count(f'nonce="{nonce}"') == 3


def test_the_app_s_report_only_policy_passes_byte_for_byte() -> None:
    from starlette.applications import Starlette
    from starlette.responses import HTMLResponse
    from starlette.routing import Route

    from cookieconsent.asgi import ConsentMiddleware

    theirs = "default-src https:; report-uri /their-reports"

    def home(request: Any) -> HTMLResponse:
        html = "<!doctype html><html><head><title>t</title></head><body><p>hi</p></body></html>"
        return HTMLResponse(html, headers={"Content-Security-Policy-Report-Only": theirs})

    app = ConsentMiddleware(Starlette(routes=[Route("/", home)]), csp_app.make_config("report-only"))
    page = AppClient("fastapi", app).visitor().get("/")
    assert page.header_list(REPORT_ONLY)[0] == theirs
    assert len(page.header_list(REPORT_ONLY)) == 2
    assert page.header_list(ENFORCE) == []


def test_only_pages_the_middleware_rewrites_get_it(enforced: AppClient) -> None:
    counts = enforced.visitor().get("/csp-counts")  # JSON: not rewritten
    assert counts.status == 200
    assert counts.header_list(ENFORCE) == []
    assert enforced.visitor().get("/_consent/state").header_list(ENFORCE) == []
    head = enforced.request("HEAD", "/")  # HEAD gets the headers GET would have
    assert head.status == 200
    assert third_party(only(head, ENFORCE))["frame-src"] == NECESSARY_ONLY


def state_json(page: Response) -> dict[str, Any]:
    start = page.text.index('id="cookieconsent-state">') + len('id="cookieconsent-state">')
    data: dict[str, Any] = json.loads(page.text[start : page.text.index("</script>", start)])
    return data


@pytest.mark.parametrize("mode", ["off", "report-only", "enforce"])
def test_the_page_tells_the_script_when_the_policy_is_enforced(app_kind: str, mode: str) -> None:
    page = make_client(app_kind, mode).visitor().get("/")
    assert state_json(page).get("csp") == ("enforce" if mode == "enforce" else None)


@pytest.mark.parametrize("mode", ["off", "report-only", "enforce"])
def test_placeholders_offer_load_this_content_only_where_it_can_load(app_kind: str, mode: str) -> None:
    """Under an enforced policy the embed's host is not allowed on this page: only "Always allow" is offered."""
    page = make_client(app_kind, mode).visitor().get("/")
    assert 'class="cc-placeholder"' in page.text
    assert 'data-cc-allow="marketing"' in page.text
    assert ("data-cc-load" in page.text) is (mode != "enforce")
    assert ("loads it on this page only" in page.text) is (mode != "enforce")


# -- the report endpoint ---------------------------------------------------------------------------


def legacy(directive: str, blocked: str, **more: str) -> bytes:
    return json.dumps(
        {"csp-report": {"document-uri": "https://testserver/a?b=c", "effective-directive": directive,
                        "blocked-uri": blocked, **more}}
    ).encode()  # fmt: skip


def reporting(*reports: dict[str, Any]) -> bytes:
    return json.dumps(list(reports)).encode()


def violation(directive: str, blocked: str, disposition: str = "enforce") -> dict[str, Any]:
    body = {"documentURL": "https://testserver/", "effectiveDirective": directive, "blockedURL": blocked}
    return {
        "type": "csp-violation",
        "age": 10,
        "url": "https://testserver/",
        "body": {**body, "disposition": disposition},
    }


def post_report(client: AppClient, content_type: str, body: bytes) -> Response:
    return client.request("POST", REPORT_PATH, [("content-type", content_type)], body)


def counts(client: AppClient) -> dict[tuple[str, str], int]:
    return {(d, s): n for d, s, n in client.visitor().get("/csp-counts").json()}


@pytest.mark.parametrize(
    ("content_type", "body", "key"),
    [
        (
            "application/csp-report",
            legacy("script-src-elem", "https://www.google-analytics.com/analytics.js"),
            ("script-src-elem", "www.google-analytics.com"),
        ),
        ("application/json", legacy("img-src", "https://www.facebook.com/tr?id=1"), ("img-src", "www.facebook.com")),
        (
            "application/csp-report; charset=utf-8",
            json.dumps({"csp-report": {"violated-directive": "frame-src 'self'", "blocked-uri": "https://www.youtube.com"}}).encode(),
            ("frame-src", "www.youtube.com"),
        ),
        (
            "application/reports+json",
            reporting(violation("connect-src", "https://region1.google-analytics.com/g/collect?v=2", "report")),
            ("connect-src", "region1.google-analytics.com"),
        ),
        ("application/json", reporting(violation("img-src", "data")), ("img-src", "data")),
        ("application/csp-report", legacy("script-src-elem", "inline"), ("script-src-elem", "inline")),
    ],
)  # fmt: skip
def test_reports_are_counted_by_directive_and_host(
    enforced: AppClient, content_type: str, body: bytes, key: tuple[str, str]
) -> None:
    first = post_report(enforced, content_type, body)
    assert first.status == 204
    assert first.body == b""
    assert first.header("cache-control") == "no-store"
    assert post_report(enforced, content_type, body).status == 204
    assert counts(enforced) == {key: 2}


def test_a_batch_counts_its_csp_violations_and_skips_other_reports(enforced: AppClient) -> None:
    other = {"type": "deprecation", "body": {"id": "x", "message": "old"}}
    batch = reporting(
        violation("img-src", "https://px.example-ads.com/p.gif"),
        other,
        violation("img-src", "https://px.example-ads.com/q.gif"),
        violation("script-src-elem", "https://cdn.example-ads.com/a.js"),
    )
    assert post_report(enforced, "application/reports+json", batch).status == 204
    assert counts(enforced) == {("img-src", "px.example-ads.com"): 2, ("script-src-elem", "cdn.example-ads.com"): 1}


@pytest.mark.parametrize(
    ("content_type", "body", "status", "code"),
    [
        ("text/plain", legacy("img-src", "https://a.example.com/"), 415, "unsupported_media_type"),
        ("multipart/form-data; boundary=x", b"--x--", 415, "unsupported_media_type"),
        ("application/csp-report; charset=latin-1", legacy("img-src", "data"), 415, "unsupported_charset"),
        ("application/csp-report", b"{not json", 400, "bad_json"),
        ("application/csp-report", b"\xff\xfe", 400, "bad_json"),
        ("application/csp-report", b"[]", 400, "bad_report"),
        ("application/csp-report", b'{"other": {}}', 400, "bad_report"),
        ("application/reports+json", legacy("img-src", "https://a.example.com/"), 400, "bad_report"),
        ("application/json", b'"a string"', 400, "bad_report"),
        ("application/json", b"[1]", 400, "bad_report"),
        ("application/reports+json", b'[{"type": "csp-violation"}]', 400, "bad_report"),
        ("application/csp-report", legacy("", "https://a.example.com/"), 400, "bad_report"),
        ("application/csp-report", legacy("<script>", "https://a.example.com/"), 400, "bad_report"),
        ("application/csp-report", legacy("img-src", "https://"), 400, "bad_report"),
        ("application/csp-report", legacy("img-src", "https://[::1/"), 400, "bad_report"),
        ("application/csp-report", legacy("img-src", "%%%"), 400, "bad_report"),
        ("application/csp-report", legacy("img-src", "https://a.example.com/", disposition="maybe"), 400, "bad_report"),
        ("application/csp-report", b'{"csp-report":{"effective-directive":"x","blocked-uri":7}}', 400, "bad_report"),
        ("application/reports+json", reporting(*[{"type": "csp-violation"}] * 101), 400, "too_many_reports"),
        ("application/csp-report", b"[" * 100_000, 413, "too_large"),
    ],
)  # fmt: skip
def test_bad_reports_get_a_precise_4xx_and_count_nothing(
    enforced: AppClient, content_type: str, body: bytes, status: int, code: str
) -> None:
    response = post_report(enforced, content_type, body)
    assert response.status == status
    assert response.json()["error"] == code
    assert response.json()["message"]
    assert counts(enforced) == {}


def test_the_body_is_bounded_even_when_max_body_is_larger() -> None:
    config = csp_app.make_config("enforce").model_copy(update={"max_body": 64 * 1024})
    from starlette.applications import Starlette

    from cookieconsent.asgi import ConsentMiddleware

    client = AppClient("fastapi", ConsentMiddleware(Starlette(), config))
    padding = " " * REPORT_LIMIT
    response = post_report(client, "application/csp-report", legacy("img-src", "data") + padding.encode())
    assert response.status == 413
    assert str(REPORT_LIMIT) in response.json()["message"]
    assert post_report(client, "application/csp-report", legacy("img-src", "data")).status == 204


def test_only_post_is_answered(enforced: AppClient) -> None:
    response = enforced.request("GET", REPORT_PATH)
    assert response.status == 405
    assert response.header("allow") == "POST"


def test_the_table_is_bounded_and_keeps_what_is_reported_most() -> None:
    reports = CSPReports(limit=64, log_limit=0)
    for _ in range(5):
        reports.add("script-src-elem", "www.google-analytics.com")
    for i in range(10_000):  # a flood of forged, distinct pairs
        reports.add("img-src", f"forged{i}.example.com")
    table = reports.counts()
    assert len(table) <= 64
    assert table[("script-src-elem", "www.google-analytics.com")] == 5
    assert next(iter(table)) == ("script-src-elem", "www.google-analytics.com")  # the most reported first
    assert reports.dropped + sum(table.values()) == 10_005  # every report is counted somewhere


def test_each_pair_is_logged_once(caplog: pytest.LogCaptureFixture, enforced: AppClient) -> None:
    caplog.set_level(logging.WARNING, logger="cookieconsent.csp")
    body = legacy("script-src-elem", "https://www.google-analytics.com/analytics.js")
    for _ in range(3):
        post_report(enforced, "application/csp-report", body)
    post_report(enforced, "application/csp-report", legacy("img-src", "https://www.google-analytics.com/x.gif"))
    lines = [r.getMessage() for r in caplog.records if r.name == "cookieconsent.csp"]
    assert len(lines) == 2
    assert "blocked script-src-elem from www.google-analytics.com (first reported on /a)" in lines[0]
    assert "?b=c" not in lines[0]  # the page's query may hold personal data
    assert "add it to that category's hosts" in lines[0]
    assert "blocked img-src from www.google-analytics.com" in lines[1]


def test_report_only_reports_are_logged_as_such(caplog: pytest.LogCaptureFixture, enforced: AppClient) -> None:
    caplog.set_level(logging.WARNING, logger="cookieconsent.csp")
    post_report(
        enforced, "application/reports+json", reporting(violation("img-src", "https://a.example.com/", "report"))
    )
    assert "would block (report-only) img-src from a.example.com" in caplog.records[-1].getMessage()


def test_new_pairs_are_logged_at_most_log_limit_an_hour(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="cookieconsent.csp")
    now = [0.0]
    reports = CSPReports(log_limit=3, clock=lambda: now[0])
    for i in range(10):
        reports.add("img-src", f"h{i}.example.com")
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 4  # three pairs, then one line saying the rest are counted, not logged
    assert "more than 3 new" in lines[3]
    now[0] = 3600.0
    reports.add("img-src", "later.example.com")
    assert "later.example.com" in caplog.records[-1].getMessage()
    assert len(reports.counts()) == 11


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=20), inner, max_size=4),
    max_leaves=12,
)
REPORT_KEYS = ("effective-directive", "violated-directive", "blocked-uri", "disposition", "document-uri")


@st.composite
def report_bodies(draw: st.DrawFn) -> bytes:
    kind = draw(st.sampled_from(["raw", "legacy", "reporting"]))
    if kind == "raw":
        return draw(st.binary(max_size=200))
    fields = draw(st.dictionaries(st.sampled_from(REPORT_KEYS), JSON_VALUES | st.text(max_size=60), max_size=5))
    if kind == "legacy":
        return json.dumps({"csp-report": fields}).encode()
    renamed = {k.replace("blocked-uri", "blockedURL").replace("effective-directive", "effectiveDirective"): v
               for k, v in fields.items()}  # fmt: skip
    return json.dumps([{"type": draw(st.sampled_from(["csp-violation", "other"])), "body": renamed}]).encode()


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    body=report_bodies(),
    content_type=st.sampled_from(["application/csp-report", "application/reports+json", "application/json"]),
)
def test_any_report_gets_a_204_or_a_4xx(body: bytes, content_type: str) -> None:
    """Never a 500: whatever a browser or a forger sends, the answer is 204 or a precise 4xx."""
    response = _FUZZ_CLIENT.post(REPORT_PATH, data=body, content_type=content_type, base_url="https://testserver")
    assert response.status_code in (204, 400, 413, 415), response.get_data()
    if response.status_code != 204:
        assert response.json is not None
        assert response.json["error"]


_FUZZ_CLIENT = Client(csp_app.flask_app("enforce"))


def test_csp_app_policy_is_the_documented_one() -> None:
    """The test policy is the TOML in tests/csp_app.py (the browser tests rely on these hosts)."""
    data = tomllib.loads(csp_app.POLICY_TOML)
    assert [c.get("hosts", []) for c in data["categories"]] == [
        [csp_app.CDN_HOST],
        [],
        [csp_app.ANALYTICS_HOST, "*.analytics.google.com"],
        [csp_app.MARKETING_HOST, "www.youtube.com"],
    ]
