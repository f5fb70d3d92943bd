"""URLs in CSS: found as the CSS tokenizer finds them, neutralised one by one, the rest kept byte for byte."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cookieconsent.blocking.css import BLOCKED_URL, CSSStream, neutralise
from cookieconsent.blocking.trackers import Catalog

CATALOG = Catalog()
GA = "https://www.google-analytics.com/collect"


def judge(url: str) -> str | None:
    return CATALOG.category_of_url(url)


@pytest.mark.parametrize(
    ("sheet", "expected"),
    [
        (f"a{{background:url({GA})}}", f"a{{background:url({BLOCKED_URL})}}"),
        (f'a{{background:url( "{GA}" )}}', f'a{{background:url( "{BLOCKED_URL}" )}}'),
        (f"a{{background:url('{GA}')}}", f"a{{background:url('{BLOCKED_URL}')}}"),
        (f"a{{background:URL({GA})}}", f"a{{background:url({BLOCKED_URL})}}"),
        (f"a{{background:\\75 rl({GA})}}", f"a{{background:url({BLOCKED_URL})}}"),
        ("a{background:u\\72 l(https://www.google\\2d analytics.com/x)}", f"a{{background:url({BLOCKED_URL})}}"),
        (
            f'a{{background:image-set("{GA}" 1x, "b.png" 2x)}}',
            f'a{{background:image-set("{BLOCKED_URL}" 1x, "b.png" 2x)}}',
        ),
        (f'a{{background:-webkit-image-set("{GA}" 1x)}}', f'a{{background:-webkit-image-set("{BLOCKED_URL}" 1x)}}'),
        (
            f"a{{background:cross-fade(url({GA}), url(b.png))}}",
            f"a{{background:cross-fade(url({BLOCKED_URL}), url(b.png))}}",
        ),
        (f'@import "{GA}"; @import url({GA}) screen;', f'@import "{BLOCKED_URL}"; @import url({BLOCKED_URL}) screen;'),
        (f"@font-face{{src:url({GA}) format('woff2')}}", f"@font-face{{src:url({BLOCKED_URL}) format('woff2')}}"),
        (f"a{{background:url({GA}", f"a{{background:url({BLOCKED_URL})"),  # the end of the sheet ends the token
    ],
)
def test_refused_tracker_urls_are_neutralised(sheet: str, expected: str) -> None:
    out, blocked = neutralise(sheet, judge)
    assert out == expected
    assert blocked


@pytest.mark.parametrize(
    "sheet",
    [
        f"/* url({GA}) */ a{{color:red}}",  # a comment
        f'a{{content:"{GA}"}}',  # a string that is not a URL
        f"a{{background:xurl({GA})}}",  # another function
        f'<img src="{GA}">',  # markup inside a <style> is CSS junk, not an image
        "a{background:url(/local.png) url(https://example.org/x.png)}",  # not trackers
        f'a{{content:"x\n; b:url({GA.replace("collect", "")}x y)}}',  # a bad url token fetches nothing
        "a{color:rgb(1 2 3 / 50%);margin:calc(1px + 2em)}",
    ],
)
def test_everything_else_is_kept_byte_for_byte(sheet: str) -> None:
    assert neutralise(sheet, judge) == (sheet, [])


def test_a_bad_string_ends_at_its_newline_and_what_follows_is_read() -> None:
    sheet = f'a{{content:"x\n; background:url({GA}); b:"y"}}'
    assert neutralise(sheet, judge)[0] == f'a{{content:"x\n; background:url({BLOCKED_URL}); b:"y"}}'


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(min_value=1, max_value=40), max_size=30), st.integers(min_value=0, max_value=3))
def test_any_chunking_gives_the_same_sheet(cuts: list[int], variant: int) -> None:
    long_url = f"https://www.google-analytics.com/collect?{'x' * 90}"
    sheet = [
        f'@import "{GA}"; a{{b:url({long_url})}} /* c */ d{{e:"{"y" * 70}\\"z"}}'
        f" f{{g:url(https://ok.example/{'q' * 80})}}",
        f'h{{i:url(https://u:{"p" * 100}@www.google-analytics.com/)}} j{{k:image-set("{long_url}" 1x)}}',
        "l{m:url(data:image/png;base64," + "A" * 150 + ")} n{o:\\75 rl(" + GA + ")}",
        "/* " + "c" * 120 + " */ p{q:url(" + GA + ")}",
    ][variant]
    whole = CSSStream(judge, hold_limit=64)
    expected = whole.feed(sheet) + whole.close()
    stream = CSSStream(judge, hold_limit=64)
    pieces, at = [], 0
    for cut in cuts:
        pieces.append(stream.feed(sheet[at : at + cut]))
        at += cut
    pieces.append(stream.feed(sheet[at:]))
    pieces.append(stream.close())
    assert "".join(pieces) == expected
    assert "google-analytics" not in expected
    # A token longer than the hold limit is judged by its beginning when a piece cuts it: the same URLs
    # are neutralised, though one whose host had not come yet is refused as unreadable.
    assert len(stream.blocked) == len(whole.blocked) > 0


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from([*"url(\\)\"' /*:;@{}ab\n", "import", GA]), max_size=60))
def test_reading_never_raises(tokens: list[str]) -> None:
    neutralise("".join(tokens), judge)
