r"""The decision endpoint: ``POST /_consent`` (and ``/_consent/withdraw``) with any body and headers.

Input: a flags byte, a content-type byte, an origin byte, then the body. With the content-type byte
at 255 the first line of the body is the ``Content-Type`` itself.

- flags bits 0-2: the visitor's consent cookie (0: none, n: kind n - 1 of
  :data:`fuzz.common.COOKIE_KINDS`); bit 3: ``Sec-GPC: 1``; bit 4: post to ``/_consent/withdraw``;
  bit 5: method ``GET`` instead of ``POST``; bit 6: the body is too large (``None``, as the adapters
  pass it); bit 7: ``Accept-Language: zh-TW``.

Invariants:

- nothing escapes :meth:`Endpoints.handle`: every answer is a reply with a status of the HTTP
  contract (200, 303, 400, 403, 405, 413, 415), never a 500;
- a refusal (4xx) sets no cookie and says why: JSON ``{"error", "message"}``, or an HTML page for
  a form post;
- a request from another site (``Sec-Fetch-Site: cross-site``, a foreign ``Origin`` or ``Referer``)
  is refused (403, or another refusal such as 413 for a body too large, checked first);
- a redirect goes to a path of this site (``/``…, never ``//host`` or ``/\\host``, no controls);
- a decision grants only what the visitor asked for: a category is granted only if the body names
  it or asks for ``accept_all``; a withdrawal grants nothing; a GPC signal keeps the GPC categories
  refused unless the body asks to override it;
- the consent cookie set holds exactly the categories the JSON reply reports, and the proof of
  consent recorded matches it.
"""

from __future__ import annotations

import contextlib
import json
from urllib.parse import unquote_plus

from cookieconsent.testing import FakeRequest
from fuzz.common import (
    CODEC,
    CONFIG,
    HOST,
    POLICY,
    Finding,
    Settings,
    cookie_header,
    fake_request,
    fuzz,
    make_endpoints,
)

ENGINE, ENDPOINTS, CAPTURED = make_endpoints()
CONTENT_TYPES = (
    "application/json",
    "application/x-www-form-urlencoded",
    "application/json; charset=utf-8",
    "application/x-www-form-urlencoded; charset=UTF-8",
    "text/plain",
    "",
    "application/json; charset=latin-1",
    "multipart/form-data; boundary=x",
    "APPLICATION/JSON",
    'application/x-www-form-urlencoded; charset="utf8"',
)
#: (headers, whether the request is cross-site)
ORIGINS: tuple[tuple[tuple[tuple[str, str], ...], bool], ...] = (
    ((), False),
    ((("origin", f"https://{HOST}"),), False),
    ((("origin", f"https://{HOST}"), ("sec-fetch-site", "same-origin")), False),
    ((("sec-fetch-site", "cross-site"),), True),
    ((("origin", "https://evil.example"),), True),
    ((("referer", "https://evil.example/page"),), True),
    ((("origin", "null"),), True),
    ((("sec-fetch-site", "same-site"), ("origin", f"https://shop.{HOST}")), True),
    ((("referer", f"https://{HOST}/articles/x"),), False),
    ((("origin", f"http://{HOST}"),), True),
    ((("origin", f"HTTPS://{HOST.upper()}:443"),), False),
)
STATUSES = {200, 303, 400, 403, 405, 413, 415}
GPC = POLICY.gpc_categories if POLICY.gpc.honour else frozenset()


def _texts(body: bytes) -> str:
    """Every reading of the body a category name could hide in (raw, form-decoded, JSON-decoded)."""
    raw = body.decode("utf-8", "replace")
    readings = [raw, unquote_plus(raw)]
    with contextlib.suppress(ValueError, RecursionError):
        readings.append(json.dumps(json.loads(body), ensure_ascii=False))
    return "\n".join(readings)


def test_one_input(data: bytes) -> None:
    """Run one input; raise :class:`~fuzz.common.Finding` when an invariant does not hold."""
    settings = Settings(data)
    flags, kind, origin = settings.byte(), settings.byte(), settings.byte()
    body = settings.rest()
    if kind == 255:
        first, _, body = body.partition(b"\n")
        content_type = first.decode("latin-1")
    else:
        content_type = CONTENT_TYPES[kind % len(CONTENT_TYPES)]
    origin_headers, cross_site = ORIGINS[origin % len(ORIGINS)]
    cookie = flags & 7
    headers = [("host", HOST), *origin_headers]
    if cookie:
        headers.append(("cookie", cookie_header(cookie - 1, "lang=en; _ga=GA1.1.1.1; _fbp=fb.1.1")))
    if flags & 8:
        headers.append(("sec-gpc", "1"))
    if content_type:
        headers.append(("content-type", content_type))
    if flags & 128:
        headers.append(("accept-language", "zh-TW,zh;q=0.9"))
    path = f"{CONFIG.prefix}/withdraw" if flags & 16 else CONFIG.prefix
    request = fake_request(method="GET" if flags & 32 else "POST", path=path, host=HOST, headers=headers)
    state = ENGINE.decide(request)
    CAPTURED.clear()
    reply = ENDPOINTS.handle(request, state, None if flags & 64 else body)
    _check(reply, request, state.gpc, body, cross_site, flags)


def _check(reply: object, request: FakeRequest, gpc: bool, body: bytes, cross_site: bool, flags: int) -> None:
    from cookieconsent.web.replies import Reply

    assert isinstance(reply, Reply)
    status = reply.status
    if status not in STATUSES:
        raise Finding(f"status {status} is not in the HTTP contract: {reply.body[:300]!r}")
    cookies = [v for k, v in reply.headers if k.lower() == "set-cookie"]
    media = next((v for k, v in reply.headers if k.lower() == "content-type"), "")
    if status >= 400:
        if cookies:
            raise Finding(f"a refusal ({status}) sets cookies: {cookies}")
        if media.startswith("application/json"):
            answer = json.loads(reply.body)
            if not (isinstance(answer.get("error"), str) and answer.get("message")):
                raise Finding(f"a refusal without an error and a message: {reply.body!r}")
        elif not (media.startswith("text/html") and b'<body class="cc-page">' in reply.body and b"<h1>" in reply.body):
            raise Finding(f"a refusal that says nothing: {media!r} {reply.body[:200]!r}")
        return
    if cross_site:
        raise Finding(f"a cross-site request was answered {status}: {request.headers}")
    if status == 303:
        location = next((v for k, v in reply.headers if k.lower() == "location"), "")
        if not location.startswith("/") or location[1:2] in ("/", "\\") or any(ord(c) < 0x21 for c in location):
            raise Finding(f"a redirect off the site: {location!r}")
    stored = granted = _granted_by_cookie(cookies)
    if status == 200:
        reported = {k for k, v in json.loads(reply.body)["categories"].items() if v} - {"necessary"}
        if stored is not None and stored != reported:
            raise Finding(f"the cookie grants {sorted(stored)}, the reply says {sorted(reported)}")
        granted = reported
    if granted is None:
        return  # an unchanged decision: nothing stored
    withdraw = bool(flags & 16)
    if withdraw and granted:
        raise Finding(f"a withdrawal grants {sorted(granted)}")
    texts = _texts(body)
    for category in granted:
        if "accept_all" not in texts and category not in texts:
            raise Finding(f"{category!r} is granted though the body never asks for it: {body[:300]!r}")
    if gpc and granted & GPC and "gpc_override" not in texts:
        raise Finding(f"GPC is on, yet {sorted(granted & GPC)} are granted without an override")
    proofs = [item for kind, item in CAPTURED if kind == "consent"]
    if stored is not None and not any(set(getattr(p, "granted", ())) == granted for p in proofs):
        raise Finding(f"no proof of consent matches the decision {sorted(granted)}: {proofs}")


def _granted_by_cookie(cookies: list[str]) -> set[str] | None:
    for value in cookies:
        name, _, rest = value.partition("=")
        if name == CONFIG.cookie_name:
            decision = CODEC.loads(rest.split(";", 1)[0])
            if decision is None:
                raise Finding(f"the consent cookie set does not read back: {value!r}")
            return set(decision.granted)
    return None


def main() -> None:
    """Fuzz this target (libFuzzer flags and corpus directories come from the command line)."""
    fuzz(test_one_input)


if __name__ == "__main__":
    main()
