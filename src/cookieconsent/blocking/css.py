r"""URLs in CSS, found as the CSS tokenizer finds them, and neutralised when they lead to a refused tracker.

CSS fetches through ``url(…)`` (a url token, or the ``url`` and ``src`` functions holding a string)
and through the strings it reads as URLs: right after ``@import``, and in ``image-set()`` and
``-webkit-image-set()``. This reads just enough of CSS Syntax Level 3 to find them exactly: comments
(nothing in them counts), CDO tokens (``<!--``, after which a name begins afresh), escapes (``\"``
is a letter of a name, not a quote), strings (with their escapes, ending at an unescaped quote, a
newline, or the end of the style sheet), names written with escapes (``\75 rl(`` is ``url(``), url
tokens, and which function each string stands in.

Only what must go changes: a url token becomes ``url(about:invalid)``, a string ``"about:invalid"``,
which fetch nothing; every other byte of the style sheet is kept. The text is the rewriter's working
form (Latin-1 text of the page's bytes); URLs are decoded (UTF-8 where they are not ASCII) before
they are judged.
"""

from __future__ import annotations

import re
from collections.abc import Callable

__all__ = ["BLOCKED_URL", "CSSStream", "neutralise"]

#: What a neutralised URL becomes: a URL that parses and is never fetched.
BLOCKED_URL = "about:invalid"
# A name code point (letters, digits, "_", "-", and every non-ASCII character, which in the working
# form is each byte of 0x80 and above, and NUL, which CSS reads as U+FFFD), or an escape.
_NAME_CHAR = "a-zA-Z0-9_\\-\x80-\U0010ffff\x00"
_ESCAPE = r"\\(?:[0-9a-fA-F]{1,6}[ \t\n\r\f]?|[^\n\r\f0-9a-fA-F])"
_NAME = rf"(?:[{_NAME_CHAR}]|{_ESCAPE})+"
_TOKENS = re.compile(
    r"(/\*)"  # 1: a comment
    r"|([\"'])"  # 2: a string's opening quote
    r"|(<!--)"  # 3: a CDO token (what follows starts afresh: "<!--url(" is a url)
    # 4: a function's name (after "#" it is a hash token's; after a CDO a name begins, "-" or not)
    rf"|(?:(?<![{_NAME_CHAR}\\#])|(?<=<!--))({_NAME})\("
    rf"|@({_NAME})"  # 5: an at-keyword
    r"|([(){};])"  # 6: what opens or closes a block or ends a statement
    rf"|({_ESCAPE})"  # 7: an escape: what it escapes is a letter of a name (an escaped quote opens no string)
)
#: The functions whose string arguments are URLs.
_URL_FUNCTIONS = frozenset({"url", "src", "image-set", "-webkit-image-set"})
_COMMENT_END = re.compile(r"\*/")
_STRING_BODY = {q: re.compile(rf"(?:[^{q}\\\n\r\f]|\\[\s\S])*") for q in "\"'"}
_SPACES = re.compile(r"[ \t\n\r\f]*")
# A url token's value: no quotes, parentheses, spaces or controls; escapes allowed. Then spaces and ")".
# (NUL is in it: the CSS preprocessor makes it U+FFFD before tokenizing; so is a backslash that ends
# the style sheet, which escapes the end into U+FFFD.)
_URL_VALUE = re.compile(rf"(?:[^)\\\"'( \t\n\r\f\x01-\x08\x0b\x0e-\x1f\x7f]|{_ESCAPE}|\\\Z)*")
_URL_END = re.compile(r"[ \t\n\r\f]*(\))")
_BAD_URL_REST = re.compile(rf"(?:[^)\\]|{_ESCAPE}|\\[\n\r\f])*\)?")
# The beginning of a long URL whose host has not ended yet: it cannot be judged, so it is refused.
_OPEN_AUTHORITY = re.compile(
    r"[ \t\n\r\f]*(?:[a-zA-Z][a-zA-Z0-9+.\-]*:)?[/\\]{2}[^/\\?#]*\Z|[ \t\n\r\f]*https?:[^/\\?#]*\Z", re.I
)
#: A URL that never parses: what a long URL whose host cannot be read is judged as.
_UNREADABLE = "https://%/"
#: A name (with its escapes, or a backslash whose escape has not come yet) at the end of the text, with
#: the "@" or "#" that makes it an at-keyword or a hash.
_NAME_TAIL = re.compile(rf"[@#]?(?:[{_NAME_CHAR}]|{_ESCAPE}|\\)*+\Z")  # possessive: backslashes backtrack no more
#: The rest of a name, up to the end of the text if it goes on to there (a backslash may begin an escape).
_NAME_REST = re.compile(rf"(?:[{_NAME_CHAR}]|{_ESCAPE})*+\\?")
_UNESCAPE = re.compile(r"\\(?:([0-9a-fA-F]{1,6})[ \t\n\r\f]?|(\r\n|[\n\r\f])|([\s\S]))")

#: Judges a URL found in CSS: the refused category it needs (it is then neutralised), or ``None``.
Judge = Callable[[str], "str | None"]


def _unescape(text: str) -> str:
    """``text`` with its CSS escapes read (an escaped newline is nothing, as in a string)."""

    def one(match: re.Match[str]) -> str:
        hexa, newline, other = match.groups()
        if hexa is not None:
            code = int(hexa, 16)
            return "\ufffd" if code == 0 or 0xD800 <= code <= 0xDFFF or code > 0x10FFFF else chr(code)
        return "" if newline is not None else other

    text = text.replace("\x00", "\ufffd")  # as the CSS preprocessor does
    return _UNESCAPE.sub(one, text) if "\\" in text else text


def _decoded(value: str) -> str:
    """A URL of the working form (Latin-1 text of UTF-8 bytes, with escapes) as the text it stands for."""
    if not value.isascii():
        value = value.encode("latin-1", "replace").decode("utf-8", "replace")
    return _unescape(value)


class CSSStream:
    """Neutralises the refused tracker URLs of a style sheet that arrives in pieces.

    :meth:`feed` returns what can be sent so far (it holds back a token the piece cuts), :meth:`close`
    the rest. A token is never held for longer than ``hold_limit`` characters: a longer one is judged by
    its beginning (where its host is), then passed on, or dropped, up to its end as it arrives.

    Args:
        judge: Says which URLs to neutralise.
        hold_limit: The longest token held back whole.
        text: The style sheet is text already (an attribute's value, its references read), not the
            rewriter's working form.
    """

    def __init__(self, judge: Judge, hold_limit: int = 64 * 1024, *, text: bool = False) -> None:
        self.judge = judge
        self.hold_limit = hold_limit
        self._decode = _unescape if text else _decoded
        #: The categories of the URLs neutralised so far, in order.
        self.blocked: list[str] = []
        self._carry = ""
        # The functions open where the text has got to ("" for a bracket), and whether an @import
        # waits for its URL: they decide which strings are URLs.
        self._stack: list[str] = []
        self._import = False
        # Inside a token too long to hold: its kind ("comment", "string", "url"), its quote, whether
        # it is dropped, and whether the last piece ended in the middle of an escape.
        self._long: tuple[str, str, bool] | None = None
        self._escaped = False

    def feed(self, text: str) -> str:
        """The style sheet's next piece; returns what can be sent now."""
        if self._long is not None:
            return self._through_long(text, final=False)
        return self._scan(self._carry + text, final=False)

    def close(self) -> str:
        """The end of the style sheet: a token still open ends here (CSS reads it as ended)."""
        if self._long is not None:
            return self._through_long("", final=True)
        return self._scan(self._carry, final=True)

    def _scan(self, text: str, final: bool) -> str:
        self._carry = ""
        out: list[str] = []
        pos = flushed = 0
        stack = self._stack
        while True:
            match = _TOKENS.search(text, pos)
            if match is not None and match.group(7) and not final:
                rest = _NAME_REST.match(text, match.end())
                if rest is not None and rest.end() == len(text):
                    match = None  # the name may go on in the next piece ("\7", then "5 rl("): read it then
            if match is None:
                tail = len(text)
                if not final and pos < tail and text[-1] == "/":  # a comment's opening, cut short
                    tail -= 1
                elif not final:  # a name at the very end may be a function's or an at-keyword's, cut short
                    found = _NAME_TAIL.search(text, max(pos, len(text) - 256))
                    if found is not None:
                        tail = found.start()
                    # ... and so may a CDO before it ("<!-" then "-url(").
                    lt = text.rfind("<", max(pos, tail - 3), tail)
                    if lt >= 0 and "<!--".startswith(text[lt:tail]):
                        tail = lt
                out.append(text[flushed:tail])
                self._carry = text[tail:]
                return "".join(out)
            start = match.start()
            if match.group(3) or match.group(7):  # a CDO token, an escape: nothing but their end
                pos = match.end()
                continue
            if match.group(6):  # a bracket or the end of a statement
                mark = match.group(6)
                pos = match.end()
                if mark == "(":
                    stack.append("")
                elif mark == ")":
                    if stack:
                        stack.pop()
                else:
                    stack.clear()
                    self._import = False
                continue
            if match.group(5) is not None:  # an at-keyword: after @import, a string is a URL
                if match.end() == len(text) and not final:  # its name may go on in the next piece
                    out.append(text[flushed:start])
                    self._carry = text[start:]
                    return "".join(out)
                self._import = _unescape(match.group(5)).lower() == "import"
                pos = match.end()
                continue
            if match.group(1):  # a comment: nothing in it counts
                close = _COMMENT_END.search(text, match.end())
                if close is None:
                    if final:
                        out.append(text[flushed:])
                        return "".join(out)
                    return self._hold(text, start, flushed, out, "comment", "")
                pos = close.end()
                continue
            if match.group(2):  # a string
                quote = match.group(2)
                body_end = _STRING_BODY[quote].match(text, match.end()).end()  # type: ignore[union-attr]
                if body_end == len(text) - 1 and text[body_end] == "\\":
                    body_end += 1  # a backslash with nothing after it: what it escapes comes next, or nothing
                if body_end >= len(text) and not final:
                    return self._hold(text, start, flushed, out, "string", quote)
                closed = body_end < len(text) and text[body_end] == quote
                pos = body_end + 1 if closed else body_end
                if not closed and body_end < len(text):  # a newline: a bad string, which fetches nothing
                    continue
                if not self._wants_url():
                    continue
                self._import = False
                category = self.judge(self._decode(text[match.end() : body_end]))
                if category is not None:
                    self.blocked.append(category)
                    out.append(text[flushed:start])
                    out.append(f"{quote}{BLOCKED_URL}{quote}")
                    flushed = pos
                continue
            # A function. Only url( takes a url token; its string argument is read as a string.
            pos = match.end()
            name = _unescape(match.group(4)).lower()
            if name != "url":
                stack.append(name)
                continue
            value_at = _SPACES.match(text, pos).end()  # type: ignore[union-attr]
            if value_at >= len(text) and not final:
                return self._hold(text, start, flushed, out, "url", "")
            if value_at < len(text) and text[value_at] in "\"'":
                stack.append(name)
                continue
            self._import = False
            value_end = _URL_VALUE.match(text, value_at).end()  # type: ignore[union-attr]
            closing = _URL_END.match(text, value_end)
            if closing is None:
                blank = not text[value_end:].strip(" \t\n\r\f")
                if blank and not final:  # its ")" may come next
                    return self._hold(text, start, flushed, out, "url", "")
                if not blank:  # a bad url token fetches nothing: read past its remnants
                    pos = _BAD_URL_REST.match(text, value_end).end()  # type: ignore[union-attr]
                    if not final and text[pos - 1 : pos] != ")":  # its remnants go on in the next piece
                        return self._hold(text, start, flushed, out, "bad", "")
                    continue
                end = len(text)  # the end of the style sheet ends the token
            else:
                end = closing.end()
            category = self.judge(self._decode(text[value_at:value_end]))
            pos = end
            if category is not None:
                self.blocked.append(category)
                out.append(text[flushed:start])
                out.append(f"url({BLOCKED_URL})")
                flushed = end

    def _wants_url(self) -> bool:
        """Whether a string here is a URL: in ``url(``, ``src(`` or an image set, or right after ``@import``."""
        stack = self._stack
        if stack:
            return stack[-1] in _URL_FUNCTIONS
        return self._import

    def _hold(self, text: str, start: int, flushed: int, out: list[str], kind: str, quote: str) -> str:
        """Keep the token that starts at ``start`` for the next piece, unless it is too long to hold."""
        out.append(text[flushed:start])
        if len(text) - start <= self.hold_limit:
            self._carry = text[start:]
            return "".join(out)
        if kind == "comment":
            body = start + 2
        elif kind == "string":
            body = start + 1
        else:
            body = _SPACES.match(text, text.index("(", start) + 1).end()  # type: ignore[union-attr]
        drop = False
        # Judged by its beginning (where its host is); a bad url token, which fetches nothing, is not.
        if kind == "url" or (kind == "string" and self._wants_url()):
            beginning = self._decode(text[body : body + 4096])
            if beginning.lstrip(" \t\n\r\f").lower().startswith("data:"):
                # Its content has not all come: only its media type is judged, and a style sheet
                # (which an @import would read) cannot be judged from a part of it.
                media, comma, _ = beginning.partition(",")
                beginning = _UNREADABLE if not comma or "css" in media.lower() else media + ","
            elif _OPEN_AUTHORITY.match(beginning):
                beginning = _UNREADABLE
            category = self.judge(beginning)
            if category is not None:
                drop = True
                self.blocked.append(category)
        self._long = (kind, quote, drop)
        self._escaped = False
        if not drop:
            out.append(text[start:body])
        else:
            out.append(quote + BLOCKED_URL if kind == "string" else f"url({BLOCKED_URL}")
        return "".join(out) + self._through_long(text[body:], final=False)

    def _through_long(self, text: str, final: bool) -> str:
        """Pass on (or drop) the long token's text up to its end, then read on as usual."""
        assert self._long is not None
        kind, quote, drop = self._long
        # The character a backslash ending the last piece escapes (for a comment, see below).
        at = 1 if self._escaped and text and kind != "comment" else 0
        end = -1
        if kind == "comment":
            if self._escaped and text.startswith("/"):  # for a comment: the last piece ended with "*"
                end = 1
            else:
                found = text.find("*/", at)
                end = found + 2 if found >= 0 else -1
        elif kind == "string":
            body = _STRING_BODY[quote].match(text, at).end()  # type: ignore[union-attr]
            if body < len(text) and text[body] != "\\":
                end = body + 1 if text[body] == quote else body  # its quote, or a newline
        else:
            found = _BAD_URL_REST.match(text, at).end()  # type: ignore[union-attr]
            if found > at and text[found - 1] == ")":
                end = found
        if end < 0 and not final:
            if kind == "comment":
                self._escaped = text.endswith("*") or (self._escaped and not text)
            else:
                self._escaped = (len(text[at:]) - len(text[at:].rstrip("\\"))) % 2 == 1
            return "" if drop else text
        self._long = None
        if end < 0:
            end = len(text)
        head = (quote if kind == "string" else ")") if drop else text[:end]
        return head + self._scan(text[end:], final)


def neutralise(sheet: str, judge: Judge, *, text: bool = False) -> tuple[str, list[str]]:
    """A whole style sheet (or a ``style`` attribute's value) with its refused tracker URLs neutralised.

    ``text`` as for :class:`CSSStream`. Returns the style sheet and the categories of the URLs
    neutralised (empty: it is unchanged).
    """
    stream = CSSStream(judge, text=text)
    out = stream.feed(sheet) + stream.close()
    return out, stream.blocked
