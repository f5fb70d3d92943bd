"""axe-core (WCAG 2.2 AA and best practice) on the banner, the settings layer and the preference page.

Run on both demo apps, in English and Traditional Chinese (the browser locale sets Accept-Language);
every page is also checked for colour contrast in the dark colour scheme (R65).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import ROOT, SessionFactory
from tests.browser.helpers import BANNER_LANG, animations_done, banner, dialog, settings_control
from tests.harness import require_tool

AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"]
RUN_AXE = """async ([scope, options]) => {
  const results = await axe.run(scope ? {include: [scope]} : document, options);
  return results.violations.map(v => ({
    id: v.id, impact: v.impact, help: v.help,
    nodes: v.nodes.map(n => ({target: n.target.join(' '), summary: n.failureSummary})),
  }));
}"""


@pytest.fixture(scope="session")
def axe_script() -> Path:
    """axe-core's bundle from node_modules (``npm ci``); skipped if missing, failed in strict mode."""
    return Path(require_tool("axe-core", str(AXE)))


def audit(page: Page, axe: Path, dark_scope: str | None = None) -> dict[str, list[dict[str, Any]]]:
    """axe's violations on the page as it is now: every tag in light, and colour contrast in dark.

    ``dark_scope`` limits the dark check to the library's own markup (the demo site's dark theme is
    the demo's business); the light run always covers the whole document.
    """
    if not page.evaluate("typeof window.axe === 'object'"):
        page.add_script_tag(path=str(axe))
    out: dict[str, list[dict[str, Any]]] = {}
    out["light"] = page.evaluate(
        RUN_AXE, [None, {"runOnly": {"type": "tag", "values": TAGS}, "resultTypes": ["violations"]}]
    )
    page.emulate_media(color_scheme="dark")
    try:
        out["dark"] = page.evaluate(
            RUN_AXE,
            [dark_scope, {"runOnly": {"type": "rule", "values": ["color-contrast"]}, "resultTypes": ["violations"]}],
        )
    finally:
        page.emulate_media(color_scheme="light")
    return out


def report(results: dict[str, list[dict[str, Any]]]) -> str:
    lines = []
    for where, violations in results.items():
        for v in violations:
            lines.append(f"{where}: {v['id']} ({v['impact']}): {v['help']}")
            lines += [f"    {n['target']}: {' '.join(n['summary'].split())}" for n in v["nodes"]]
    return "\n".join(lines)


@pytest.mark.parametrize("locale", ["en-US", "zh-TW"])
def test_axe_finds_no_violations(new_session: SessionFactory, axe_script: Path, locale: str) -> None:
    """R60, R64, R65 and WCAG 2.2 AA: banner, settings layer and preference page have 0 axe violations."""
    s = new_session(locale=locale, bypass_csp=True)
    page = s.page
    page.goto(s.url("/"))
    expect(page.locator("#cookieconsent")).to_have_attribute("lang", BANNER_LANG[locale])  # R18
    expect(banner(page)).to_be_visible()
    animations_done(page)
    results: dict[str, list[dict[str, Any]]] = {}
    for scheme, violations in audit(page, axe_script, "#cookieconsent").items():
        results[f"home page with the banner ({scheme})"] = violations

    settings_control(page).click()
    expect(dialog(page)).to_be_visible()
    animations_done(page)
    for scheme, violations in audit(page, axe_script, "#cookieconsent").items():
        results[f"home page with the settings layer ({scheme})"] = violations

    page.goto(s.url("/_consent/preferences?next=/"))
    expect(page.locator("html")).to_have_attribute("lang", BANNER_LANG[locale])
    for scheme, violations in audit(page, axe_script).items():
        results[f"preference page ({scheme})"] = violations

    assert all(v == [] for v in results.values()), f"axe-core ({locale}):\n{report(results)}"


@pytest.mark.parametrize("locale", ["en-US", "zh-TW"])
def test_banner_and_dialog_roles_names_and_descriptions(new_session: SessionFactory, locale: str) -> None:
    """R60: the first layer is a region named by its heading and described by the notice; the settings
    layer a modal dialog named by its heading."""
    s = new_session(locale=locale)
    page = s.page
    page.goto(s.url("/"))
    region = banner(page)
    expect(region).to_have_attribute("role", "region")
    heading = region.locator("h2")
    expect(heading).to_be_visible()
    expect(region).to_have_accessible_name(heading.inner_text().strip())
    notice = " ".join(region.locator("#cc-desc").inner_text().split())
    assert len(notice) > 40, notice
    expect(region).to_have_accessible_description(notice)

    settings_control(page).click()
    modal = dialog(page)
    expect(modal).to_be_visible()
    expect(modal).to_have_attribute("aria-modal", "true")
    expect(modal).to_have_accessible_name(modal.locator("h2").inner_text().strip())
    # Every optional toggle is a native checkbox with a programmatic label (R64).
    for box in modal.locator("input[type=checkbox]").all():
        label = box.evaluate("e => e.labels.length ? e.labels[0].innerText.trim() : ''")
        assert label, box.evaluate("e => e.outerHTML")
        expect(box).to_have_accessible_name(label)
