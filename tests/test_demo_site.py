"""The demo site sets its cookies as its policy declares them, on both apps.

The policy (``examples/telexpress/policy.toml``) is what visitors read in the cookie table: the site's
own cookies are each set where the declaration says, and the lifetimes it states are the ones sent.
"""

from __future__ import annotations

import re

from examples import demosite

from cookieconsent import load_policy
from tests.harness import Visitor

POLICY = load_policy(demosite.POLICY_PATH)
SAME_ORIGIN = {"origin": "https://testserver"}
HIDDEN_TOKEN = re.compile(r'<input type="hidden" name="csrf" value="([^"]+)">')


def declared(name: str, lang: str = "en") -> str:
    """The lifetime the policy states for cookie ``name``."""
    rule = next(r for r in POLICY.cookies if r.name == name)
    return rule.lifetime.get(lang)


def test_the_sign_in_form_sets_the_declared_csrf_token_and_checks_it(visitor: Visitor) -> None:
    page = visitor.get("/login")
    assert page.status == 200
    assert "csrftoken" in page.set_cookie_names
    token = HIDDEN_TOKEN.search(page.text)
    assert token is not None, page.text
    assert token.group(1) == visitor.jar["csrftoken"]
    assert "session" not in visitor.jar  # nobody has signed in

    signed_in = visitor.post("/login", form=[("csrf", token.group(1)), ("email", "a@b.c")], headers=SAME_ORIGIN)
    assert signed_in.status == 303
    assert "session" in signed_in.set_cookie_names


def test_a_sign_in_without_the_forms_token_is_refused(visitor: Visitor) -> None:
    visitor.get("/login")
    forged = visitor.post("/login", form=[("csrf", "x" * 32), ("email", "a@b.c")], headers=SAME_ORIGIN)
    assert forged.status == 403
    assert "session" not in forged.set_cookie_names
    missing = visitor.post("/login", form=[("email", "a@b.c")], headers=SAME_ORIGIN)
    assert missing.status == 403
    assert "sign-in form" in missing.text or "登入表單" in missing.text


def test_the_session_cookie_is_declared_from_the_first_page_on(visitor: Visitor) -> None:
    # The home page starts the session before any sign-in, and the declaration says so.
    assert "session" in visitor.get("/").set_cookie_names
    rule = next(r for r in POLICY.cookies if r.name == "session")
    assert "first page" in rule.purpose.get("en")
    assert "sign in" in rule.purpose.get("en")


def test_the_analytics_cookie_lives_as_long_as_declared(visitor: Visitor) -> None:
    visitor.post("/_consent", {"action": "accept_all"}, headers=SAME_ORIGIN)
    header = visitor.get("/").set_cookie("_ga")
    assert header is not None
    max_age = re.search(r"Max-Age=(\d+)", header, re.IGNORECASE)
    assert max_age is not None, header
    days = int(max_age.group(1)) // 86_400
    assert declared("_ga").startswith(f"{days} days"), (days, declared("_ga"))


def test_every_page_links_an_icon_the_site_serves(visitor: Visitor) -> None:
    page = visitor.get("/")
    icon = re.search(r'<link rel="icon" href="([^"]+)"', page.text)
    assert icon is not None, page.text[:500]
    served = visitor.get(icon.group(1))
    assert served.status == 200
    assert served.text.startswith("<svg")


def test_the_language_switch_works_without_functional_for_this_view(visitor: Visitor) -> None:
    article = next(iter(demosite.ARTICLES.values())).url
    page = visitor.get(article, {"accept-language": "zh-TW"})
    assert '<html lang="zh-TW">' in page.text
    switched = visitor.get("/lang/en", {"referer": f"https://testserver{article}"})
    assert switched.status == 303
    assert switched.header("location") == f"{article}?lang=en"  # the same page, in English, for this view
    assert "lang" not in switched.set_cookie_names
    shown = visitor.get(f"{article}?lang=en", {"accept-language": "zh-TW"})
    assert '<html lang="en">' in shown.text
    assert "remembering your language needs Functional cookies" in shown.text
    assert 'id="cookieconsent" lang="en"' in shown.text or 'lang="en" id="cookieconsent"' in shown.text


def test_the_language_switch_remembers_the_choice_with_functional(visitor: Visitor) -> None:
    visitor.post("/_consent", {"action": "custom", "categories": ["functional"]}, headers=SAME_ORIGIN)
    article = next(iter(demosite.ARTICLES.values())).url
    switched = visitor.get("/lang/en", {"referer": f"https://testserver{article}"})
    assert switched.status == 303
    assert switched.header("location") == article  # stays on the same page
    assert "lang" in switched.set_cookie_names
    shown = visitor.get(article, {"accept-language": "zh-TW"})
    assert '<html lang="en">' in shown.text
    assert "remembering your language" not in shown.text


def test_the_language_switch_follows_only_this_sites_pages(visitor: Visitor) -> None:
    switched = visitor.get("/lang/en", {"referer": "https://evil.example/x"})
    assert switched.header("location") == "/?lang=en"
