"""The colour maths the contrast tests rely on, checked against known WCAG values (no browser)."""

from __future__ import annotations

import pytest

from tests.browser.helpers import contrast, over, parse_color


def test_contrast_matches_known_wcag_ratios() -> None:
    white, black = parse_color("rgb(255, 255, 255)"), parse_color("rgb(0, 0, 0)")
    assert contrast(white, black) == pytest.approx(21.0)
    assert contrast(black, white) == pytest.approx(21.0)
    assert contrast(white, white) == pytest.approx(1.0)
    # #767676 on white is the classic just-passing 4.54:1 grey.
    assert contrast(parse_color("rgb(118, 118, 118)"), white) == pytest.approx(4.54, abs=0.01)


def test_parse_color_and_compositing() -> None:
    assert parse_color("rgba(0, 0, 0, 0)") == (0.0, 0.0, 0.0, 0.0)
    assert parse_color("rgb(1 2 3 / 50%)") == (1.0, 2.0, 3.0, 0.5)
    assert over(parse_color("rgba(0, 0, 0, 0.5)"), (255.0, 255.0, 255.0, 1.0)) == (127.5, 127.5, 127.5, 1.0)
    with pytest.raises(AssertionError):
        parse_color("color(srgb 1 0 0)")
