"""Exceptions raised by cookieconsent.

The hierarchy::

    CookieConsentError
     ├── ConfigurationError (also a ValueError): a setting that cannot work, with the fix.
     └── PolicyError (also a ValueError): a policy file that does not validate; lists every problem.

Bad input from visitors never raises: a forged or malformed consent cookie reads as "not decided",
and a bad request to an endpoint gets a 4xx reply.
"""

from __future__ import annotations

__all__ = ["ConfigurationError", "CookieConsentError", "PolicyError"]


class CookieConsentError(Exception):
    """Root of every exception this library raises."""


class ConfigurationError(CookieConsentError, ValueError):
    """A configuration value that cannot work; the message says how to fix it."""


class PolicyError(CookieConsentError, ValueError):
    """A policy that does not validate.

    Args:
        problems: One line per problem, each naming the field (``cookies[2].category``) and the fix.
        source: Where the policy came from (a file path), if known.
    """

    def __init__(self, problems: list[str], source: str | None = None) -> None:
        self.problems = problems
        self.source = source
        where = f" in {source}" if source else ""
        lines = "\n".join(f"  - {p}" for p in problems)
        super().__init__(f"{len(problems)} problem(s){where}:\n{lines}")
