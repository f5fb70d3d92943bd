"""What every fuzz target shares: the instrumented library, the demo policy, genuine cookies, a request.

Import this module before anything else of the library in a target: it imports the library under
atheris' coverage instrumentation, which only reaches modules imported inside that block.

The inputs of the targets start with a few control bytes (which categories are granted, which
genuine consent cookie to use, which content type…) followed by text; inside that text ``{{0}}`` to
``{{6}}`` stand for consent cookie values made at start-up (see :data:`COOKIE_KINDS`), so seed files
stay readable and the fuzzer can move, repeat and corrupt genuine cookies without having to forge
a signature.
"""

from __future__ import annotations

import logging
import re
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import atheris  # type: ignore[import-untyped]

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

with atheris.instrument_imports(include=["cookieconsent"]):
    from cookieconsent.blocking.rewriter import HTMLRewriter, RewritePlan
    from cookieconsent.blocking.trackers import Catalog, TrackerHost
    from cookieconsent.config import ConsentConfig
    from cookieconsent.core.cookie import ConsentCodec, Decision, GpcFlag, set_cookie_name
    from cookieconsent.core.engine import Engine
    from cookieconsent.core.state import ConsentState
    from cookieconsent.policy.model import NECESSARY, Policy, load_policy
    from cookieconsent.records.recorder import Recorder
    from cookieconsent.testing import FakeRequest
    from cookieconsent.ui.render import Renderer
    from cookieconsent.web.endpoints import Endpoints

__all__ = [
    "CODEC",
    "CONFIG",
    "COOKIE_KINDS",
    "ENGINE",
    "GENUINE",
    "HOST",
    "NECESSARY",
    "OPTIONAL",
    "POLICY",
    "VALUES",
    "Catalog",
    "ConsentState",
    "Decision",
    "Finding",
    "GpcFlag",
    "HTMLRewriter",
    "RewritePlan",
    "Settings",
    "TrackerHost",
    "cookie_header",
    "expand",
    "fake_request",
    "fuzz",
    "make_endpoints",
    "set_cookie_name",
]

# Warnings (an undeclared cookie blocked) would flood the output; errors (a hook that raised) stay.
logging.getLogger("cookieconsent").setLevel(logging.ERROR)

SECRET = "fuzz-secret-key-0123456789abcdef"
OTHER_SECRET = "another-secret-key-0123456789abcd"
HOST = "shop.example.com"
POLICY: Policy = load_policy(ROOT / "examples" / "telexpress" / "policy.toml")
CONFIG = ConsentConfig(policy=POLICY, secret_keys=[SECRET])
ENGINE = Engine(CONFIG)
CODEC: ConsentCodec = ENGINE.codec
OPTIONAL = sorted(POLICY.optional_categories)


class Finding(AssertionError):
    """An invariant does not hold: the input that raised it is a finding."""


def _decision(granted: Sequence[str], gpc: GpcFlag = GpcFlag.NONE, revision: str | None = None) -> Decision:
    consent_id = f"fuzz-{len(granted)}-{int(gpc)}-{'-'.join(granted)}"[:64]
    return Decision(consent_id, frozenset(granted), revision or POLICY.fingerprint, time.time(), gpc)


#: What ``{{0}}``…``{{6}}`` stand for: the first five are genuine, the last two are not.
COOKIE_KINDS = (
    ("nothing granted", _decision([])),
    ("everything granted", _decision(OPTIONAL)),
    ("analytics", _decision(["analytics"])),
    ("functional and marketing, GPC overridden", _decision(["functional", "marketing"], GpcFlag.OVERRIDDEN)),
    ("functional and analytics, GPC opt-out", _decision(["functional", "analytics"], GpcFlag.OPTED_OUT)),
    ("everything, signed with another key", _decision(OPTIONAL)),
    ("everything, under another policy fingerprint", _decision(OPTIONAL, revision="0123456789abcdef")),
)
_OTHER = Engine(ConsentConfig(policy=POLICY, secret_keys=[OTHER_SECRET])).codec
#: The cookie value of each kind.
VALUES: tuple[str, ...] = tuple(
    (_OTHER if i == 5 else CODEC).dumps(decision) for i, (_, decision) in enumerate(COOKIE_KINDS)
)
#: The genuine values and the decision each holds (as the codec reads it back, with its timestamp).
GENUINE: dict[str, Decision] = {}
for _value in VALUES[:5]:
    _read = CODEC.loads(_value)
    assert _read is not None, "a genuine cookie must read back"
    GENUINE[_value] = _read
_PLACEHOLDER = re.compile(r"\{\{([0-9])\}\}")


def expand(text: str) -> str:
    """``text`` with each ``{{i}}`` replaced by the value of cookie kind ``i`` (unknown digits stay)."""
    return _PLACEHOLDER.sub(lambda m: VALUES[int(m.group(1))] if int(m.group(1)) < len(VALUES) else m.group(0), text)


def cookie_header(kind: int | None, extra: str = "") -> str:
    """A ``Cookie`` header with the consent cookie of ``kind`` (None: none) and ``extra`` cookies."""
    parts = [expand(extra)] if extra else []
    if kind is not None:
        parts.append(f"{CONFIG.cookie_name}={VALUES[kind % len(VALUES)]}")
    return "; ".join(parts)


def fake_request(
    *, method: str = "GET", path: str = "/", host: str = HOST, headers: Iterable[tuple[str, str]] = ()
) -> FakeRequest:
    """A request from a client of the fuzzed site (the library's own fake request view)."""
    return FakeRequest(path, method=method, headers=headers, host=host, client="203.0.113.7")


@dataclass
class Settings:
    """Control bytes at the start of an input, read one at a time (zero once they run out)."""

    data: bytes
    at: int = 0

    def byte(self) -> int:
        """The next control byte."""
        value = self.data[self.at] if self.at < len(self.data) else 0
        self.at += 1
        return value

    def rest(self) -> bytes:
        """Everything after the control bytes read so far."""
        return self.data[self.at :]


def make_endpoints() -> tuple[Engine, Endpoints, list[tuple[str, object]]]:
    """A fresh engine and endpoints with a recorder attached that keeps what it captures in a list.

    The recorder has no store and never starts its background thread: what it would write is
    appended to the returned list as (kind, item).
    """
    engine = Engine(CONFIG)
    endpoints = Endpoints(engine, Renderer(engine))
    captured: list[tuple[str, object]] = []
    recorder = Recorder(CONFIG, None)
    recorder._push = lambda kind, item: captured.append((kind, item))  # type: ignore[method-assign]
    recorder.attach(engine, endpoints)
    return engine, endpoints, captured


def fuzz(test_one_input: Callable[[bytes], None]) -> None:
    """Run ``test_one_input`` under libFuzzer with the process's command line (libFuzzer flags)."""
    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()
