"""The policy loader: :func:`load_policy` on any TOML or JSON file.

Input: a byte whose low bit chooses the format (0: TOML, 1: JSON), then the file's content.

Invariants:

- loading either gives a :class:`Policy` or raises :class:`PolicyError` whose problems are
  non-empty sentences and whose message names the file; nothing else escapes;
- a policy that loads has the ``necessary`` category, a 16-hex-digit fingerprint, and the same
  fingerprint when its own data is loaded again;
- a config built from it either works or raises :class:`ConfigurationError`; then, before any
  decision, a cookie declared ``necessary`` passes the filter and one declared in another category
  does not, and the banner and the preference page render in every language of the policy.
"""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path

from fuzz.common import NECESSARY, Finding, Settings, fake_request, fuzz

_DIR = Path(tempfile.mkdtemp(prefix="fuzz-policy-", dir="/dev/shm" if os.path.isdir("/dev/shm") else None))
_FILES = {0: _DIR / "policy.toml", 1: _DIR / "policy.json"}
_HEX = re.compile(r"^[0-9a-f]{16}$")


def test_one_input(data: bytes) -> None:
    """Run one input; raise :class:`~fuzz.common.Finding` when an invariant does not hold."""
    from cookieconsent.config import ConsentConfig
    from cookieconsent.core.engine import Engine
    from cookieconsent.errors import ConfigurationError, PolicyError
    from cookieconsent.policy.model import load_policy, parse_policy
    from cookieconsent.ui.render import Renderer

    settings = Settings(data)
    path = _FILES[settings.byte() & 1]
    path.write_bytes(settings.rest())
    try:
        policy = load_policy(path)
    except PolicyError as exc:
        if not exc.problems or not all(isinstance(p, str) and p.strip() for p in exc.problems):
            raise Finding(f"a PolicyError without problems: {exc.problems!r}") from exc
        if str(path) not in str(exc):
            raise Finding(f"a PolicyError that does not name the file: {exc}") from exc
        return
    if NECESSARY not in policy.category_ids:
        raise Finding(f"a policy without the necessary category loads: {policy.category_ids}")
    if not _HEX.match(policy.fingerprint):
        raise Finding(f"a fingerprint that is not 16 hex digits: {policy.fingerprint!r}")
    again = parse_policy(policy.model_dump())
    if again.fingerprint != policy.fingerprint:
        raise Finding(f"the policy's own data loads with another fingerprint: {again.material()!r}")
    try:
        config = ConsentConfig(policy=policy, secret_keys=["fuzz-secret-key-0123456789abcdef"])
    except ConfigurationError:
        return
    engine = Engine(config)
    renderer = Renderer(engine)
    for locale in policy.locales:
        state = engine.decide(fake_request(headers=[("accept-language", locale)]))
        for rule in policy.cookies:
            if rule.name is None:
                continue
            allowed = engine.set_cookie_allowed(state, f"{rule.name}=1; Path=/")
            if allowed != (rule.category == NECESSARY):
                raise Finding(f"before any decision, {rule.name!r} ({rule.category}) allowed: {allowed}")
        renderer.banner(state, "/")
        renderer.preferences_page(state, "/")


def main() -> None:
    """Fuzz this target (libFuzzer flags and corpus directories come from the command line)."""
    fuzz(test_one_input)


if __name__ == "__main__":
    main()
