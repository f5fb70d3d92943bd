"""The consent cookie reader: :meth:`Engine.decide` on any ``Cookie`` and ``Sec-GPC`` headers.

Input: a flags byte, a time byte, a corruption byte, then the ``Cookie`` header (Latin-1), where
``{{0}}``…``{{6}}`` stand for the consent cookie values of :data:`fuzz.common.COOKIE_KINDS`.

- flags bit 0: send ``Sec-GPC: 1``; bit 1: send it as ``0, 1`` (one joined value); bit 2: pass the
  header as bytes (as the ASGI adapter does); bit 3: also send a second ``Cookie`` header (the rest
  after a newline).
- time byte: how long after the decisions the request comes (see ``_AGES``).
- corruption byte: if not zero, flip one character of every genuine value in the header.

Invariants:

- reading never raises;
- no grant without a valid signature: a decided state holds exactly the decision of a genuine
  cookie (same consent id, categories, fingerprint, time and GPC flag), and is never older than the
  configured lifetime;
- the header is read as browsers write it (RFC 6265 §5.4, pairs split on ";" only): a decided state
  holds the decision of the one consent cookie such a reading finds; a header with two consent
  cookies, or one hidden after a comma inside another value, is never decided;
- the categories in force are a subset of that decision's, and a honoured GPC signal leaves none of
  the GPC categories in force unless the decision overrode GPC;
- the cookies expired are cookies of the header, of a category neither necessary nor in force;
- the codec reads any other value as "not decided";
- reading the same header again (from the engine's cache) gives the same state.
"""

from __future__ import annotations

from fuzz.common import (
    CODEC,
    CONFIG,
    ENGINE,
    GENUINE,
    NECESSARY,
    POLICY,
    VALUES,
    ConsentState,
    Finding,
    GpcFlag,
    Settings,
    expand,
    fake_request,
    fuzz,
    set_cookie_name,
)

DAY = 24 * 3600
_AGES = (0, 1, DAY, CONFIG.max_age - 1, CONFIG.max_age + 1, 400 * DAY, -DAY, -1)
_GPC = POLICY.gpc_categories if POLICY.gpc.honour else frozenset()


def _corrupt(header: str, position: int) -> str:
    for value in VALUES[:5]:
        if value in header:
            at = position % len(value)
            flipped = chr(ord(value[at]) ^ 1)
            header = header.replace(value, value[:at] + flipped + value[at + 1 :])
    return header


def test_one_input(data: bytes) -> None:
    """Run one input; raise :class:`~fuzz.common.Finding` when an invariant does not hold."""
    settings = Settings(data)
    flags, age_byte, corrupt = settings.byte(), settings.byte(), settings.byte()
    text = expand(settings.rest().decode("latin-1"))
    if corrupt:
        text = _corrupt(text, corrupt - 1)
    first, _, second = text.partition("\n")
    headers = [("cookie", first)]
    if flags & 8:
        headers.append(("cookie", second))
    if flags & 1:
        headers.append(("sec-gpc", "0, 1" if flags & 2 else "1"))
    request = fake_request(headers=headers)
    now = None
    genuine_times = {d.decided_at for d in GENUINE.values()}
    if age_byte:
        now = min(genuine_times) + _AGES[age_byte % len(_AGES)]
    cookie = request.header("cookie")
    raw: str | bytes | None = cookie.encode("latin-1") if (flags & 4 and cookie) else cookie
    state = ENGINE.decide_from(request, raw, request.header_values("sec-gpc"), now)
    _check(state, cookie or "", bool(flags & 1), now)
    again = ENGINE.decide_from(request, raw, request.header_values("sec-gpc"), now)
    if (again.decision, again.granted, again.expire, again.pending is None) != (
        state.decision,
        state.granted,
        state.expire,
        state.pending is None,
    ):
        raise Finding(f"reading the same header twice differs: {state!r} then {again!r}")
    for part in (cookie or "").split(";"):
        value = part.partition("=")[2].strip().strip('"')
        read = CODEC.loads(value) if value else None
        if read is not None and read not in GENUINE.values():
            raise Finding(f"the codec reads a decision it never signed from {value!r}: {read!r}")


def _browser_values(header: str) -> tuple[list[str], bool]:
    """The consent cookie values of ``header`` split on ";" only, and whether one hides after a comma."""
    name = CONFIG.cookie_name
    values, hidden = [], False
    for part in header.split(";"):
        key, sep, value = part.partition("=")
        if sep and key.strip(" \t") == name:
            value = value.strip(" \t")
            values.append(value[1:-1] if len(value) >= 2 and value[0] == value[-1] == '"' else value)
        if sep and any(p.strip(" \t").startswith(name + "=") for p in value.split(",")[1:]):
            hidden = True
    return values, hidden


def _check(state: ConsentState, header: str, gpc: bool, now: float | None) -> None:
    values, hidden = _browser_values(header)
    if state.decision is not None:
        if len(values) != 1 or hidden:
            raise Finding(f"decided from {len(values)} consent cookies (hidden: {hidden}): {header[:300]!r}")
        if CODEC.verify(values[0]) != state.decision:
            raise Finding(f"decided {state.decision!r}, not the one consent cookie {values[0][:80]!r}")
    decision = state.decision
    if decision is None:
        if state.granted:
            raise Finding(f"undecided, yet {sorted(state.granted)} are in force")
    else:
        if decision not in GENUINE.values():
            raise Finding(f"decided without a genuine cookie: {decision!r} from {header[:300]!r}")
        reference = now if now is not None else decision.decided_at
        if reference - decision.decided_at > CONFIG.max_age:
            raise Finding(f"an expired decision counts: {decision!r} at {now}")
        if not state.granted <= decision.granted:
            raise Finding(f"{sorted(state.granted)} in force, beyond the decision {sorted(decision.granted)}")
        if gpc and decision.gpc is not GpcFlag.OVERRIDDEN and state.granted & _GPC:
            raise Finding(f"GPC is on, yet {sorted(state.granted & _GPC)} are in force")
    names = [p.partition("=")[0].strip(" \t") for p in header.split(";")]
    for expiry in state.expire:
        name = set_cookie_name(expiry)
        rule = POLICY.cookie_rule(name)
        if name not in names:
            raise Finding(f"expires {name!r}, which the request did not send")
        if rule is None or rule.category == NECESSARY or rule.category in state.granted:
            raise Finding(f"expires {name!r} ({rule.category if rule else 'undeclared'}), which may stay")


def main() -> None:
    """Fuzz this target (libFuzzer flags and corpus directories come from the command line)."""
    fuzz(test_one_input)


if __name__ == "__main__":
    main()
