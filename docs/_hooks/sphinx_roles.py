"""MkDocs hook: render the Sphinx roles of the library's docstrings as cross-references.

The docstrings name other objects the Sphinx way (``:class:`~cookieconsent.config.ConsentConfig```).
mkdocstrings leaves the role in the text, so a rendered API page would read
``:class:ConsentConfig``. This hook turns each role into a cross-reference that mkdocs-autorefs
resolves to the object's entry when the object is documented on the site, and into plain code
otherwise. A leading ``~`` shows only the last part of the name, as in Sphinx. The reST marker
``::`` that introduces a code example becomes a plain colon.
"""

from __future__ import annotations

import html
import re
from typing import Any

_ROLE = re.compile(
    r":(?:py:)?(?:class|func|meth|mod|attr|data|exc|obj):<code>(?P<tilde>~?)(?P<name>[\w.]+)(?:\(\))?</code>"
)


def _replace(match: re.Match[str]) -> str:
    name = match["name"]
    shown = name.rsplit(".", 1)[-1] if match["tilde"] else name
    if "." not in name:
        return f"<code>{html.escape(shown)}</code>"
    return f'<autoref identifier="{html.escape(name)}" optional><code>{html.escape(shown)}</code></autoref>'


_LITERAL_MARKER = re.compile(r"<p>::</p>\s*")
_TRAILING_MARKER = re.compile(r"(?<=\S)::</p>")


def on_page_content(html_text: str, **kwargs: Any) -> str:
    """Rewrite the roles in a page's HTML before mkdocs-autorefs resolves cross-references."""
    html_text = _LITERAL_MARKER.sub("", html_text)
    html_text = _TRAILING_MARKER.sub(":</p>", html_text)
    return _ROLE.sub(_replace, html_text)
