"""Screenshots of the banner and the settings layer, kept as test artifacts for a human to look at.

test-results/screenshots/<app>-<locale>-<scheme>-<width>-<layer>.png, for both demo apps, English and
Traditional Chinese, light and dark, 1280×800 and 320×568. Each shot also checks what must hold in it:
the layer is on screen, fits the viewport's width, is in the right language and colour scheme.
"""

from __future__ import annotations

import struct

import pytest
from playwright.sync_api import Locator, Page, ViewportSize, expect

from tests.browser.conftest import ARTIFACTS, SessionFactory
from tests.browser.helpers import (
    BANNER_LANG,
    RGBA,
    TEXTS,
    animations_done,
    banner,
    banner_button,
    dialog,
    effective_background,
    luminance,
    settings_control,
)

SHOTS = ARTIFACTS / "screenshots"
SIZES: list[ViewportSize] = [{"width": 1280, "height": 800}, {"width": 320, "height": 568}]


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def shoot(page: Page, layer: Locator, name: str, size: ViewportSize, scheme: str) -> None:
    animations_done(page)
    box = layer.bounding_box()
    assert box is not None, f"{name}: not rendered"
    assert box["x"] >= 0, f"{name}: starts left of the viewport: {box}"
    assert box["x"] + box["width"] <= size["width"] + 0.5, f"{name}: wider than the viewport: {box}"
    assert box["y"] >= 0, f"{name}: starts above the viewport: {box}"
    assert box["y"] + box["height"] <= size["height"] + 0.5, f"{name}: runs below the viewport: {box}"
    canvas: RGBA = (255.0, 255.0, 255.0, 1.0) if scheme == "light" else (18.0, 18.0, 18.0, 1.0)
    ground = luminance(effective_background(layer, canvas))
    assert ground < 0.2 if scheme == "dark" else ground > 0.8, f"{name}: background luminance {ground:.2f}"
    path = SHOTS / f"{name}.png"
    data = page.screenshot(path=path, animations="disabled", caret="hide")
    assert png_size(data) == (size["width"], size["height"])
    assert path.stat().st_size > 5_000, f"{name}: suspiciously small image"


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("locale", ["en-US", "zh-TW"])
def test_screenshots_of_banner_and_settings(
    new_session: SessionFactory, server_name: str, locale: str, scheme: str
) -> None:
    """R18, R63, R65: the banner and the settings layer, captured at 1280 and 320 px in each language and scheme."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    s = new_session(locale=locale, color_scheme=scheme, viewport=SIZES[0])
    page = s.page
    for size in SIZES:
        page.set_viewport_size(size)
        page.goto(s.url("/"))
        expect(page.locator("#cookieconsent")).to_have_attribute("lang", BANNER_LANG[locale])
        expect(banner_button(page, "accept_all")).to_have_text(TEXTS[locale]["accept_all"])
        prefix = f"{server_name}-{locale}-{scheme}-{size['width']}"
        shoot(page, banner(page), f"{prefix}-banner", size, scheme)
        settings_control(page).click()
        expect(dialog(page)).to_be_visible()
        shoot(page, dialog(page), f"{prefix}-settings", size, scheme)
