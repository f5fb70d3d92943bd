"""Sec-GPC parsing (R36), table-driven for repeated ASGI headers and joined WSGI headers."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cookieconsent.asgi import ASGIRequest
from cookieconsent.core.engine import gpc_enabled
from cookieconsent.wsgi import WSGIRequest

CASES = [
    pytest.param([], False, id="absent"),
    pytest.param(["1"], True, id="one"),
    pytest.param([" 1\t"], True, id="one-with-whitespace"),
    pytest.param(["0"], False, id="zero"),
    pytest.param(["true"], False, id="true"),
    pytest.param(["yes"], False, id="yes"),
    pytest.param(["01"], False, id="leading-zero"),
    pytest.param(["1.0"], False, id="decimal"),
    pytest.param([""], False, id="empty"),
    pytest.param(["0", "1"], True, id="repeated-any-one"),
    pytest.param(["0", "0"], False, id="repeated-zeros"),
    pytest.param(["1", "1"], True, id="repeated-ones"),
    pytest.param(["yes", " 1 "], True, id="repeated-one-padded"),
]


@pytest.mark.parametrize(("values", "expected"), CASES)
def test_asgi_repeated_headers(values: list[str], expected: bool) -> None:
    scope: dict[str, Any] = {
        "type": "http",
        "headers": [(b"host", b"x"), *((b"sec-gpc", v.encode()) for v in values)],
    }
    assert gpc_enabled(ASGIRequest(scope).header_values("sec-gpc")) is expected


@pytest.mark.parametrize(("values", "expected"), CASES)
def test_wsgi_joined_header(values: list[str], expected: bool) -> None:
    environ = {"HTTP_SEC_GPC": ", ".join(values)} if values else {}
    assert gpc_enabled(WSGIRequest(environ).header_values("sec-gpc")) is expected


@given(st.lists(st.text(alphabet=" \t01yestrua,", max_size=6), max_size=4))
def test_matches_the_spec_rule(values: list[str]) -> None:
    elements = [part for v in values for part in v.split(",")]
    expected = any(part.strip(" \t") == "1" for part in elements)
    assert gpc_enabled(values) is expected
    assert gpc_enabled([", ".join(values)]) is expected  # WSGI joins repeated headers
