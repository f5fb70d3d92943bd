"""cookieconsent: put a privacy policy into force at the HTTP layer.

The middlewares are imported by their full path: :class:`cookieconsent.asgi.ConsentMiddleware` and
:class:`cookieconsent.wsgi.ConsentMiddleware`; the Flask extension is
:class:`cookieconsent.flask.CookieConsent`, the FastAPI helpers live in :mod:`cookieconsent.fastapi`.
"""

from __future__ import annotations

from cookieconsent.config import ConsentConfig as ConsentConfig
from cookieconsent.core.cookie import Decision as Decision
from cookieconsent.core.engine import Engine as Engine
from cookieconsent.core.state import ConsentState as ConsentState
from cookieconsent.errors import ConfigurationError as ConfigurationError
from cookieconsent.errors import CookieConsentError as CookieConsentError
from cookieconsent.errors import PolicyError as PolicyError
from cookieconsent.policy.model import Policy as Policy
from cookieconsent.policy.model import load_policy as load_policy

__all__ = [
    "ConfigurationError",
    "ConsentConfig",
    "ConsentState",
    "CookieConsentError",
    "Decision",
    "Engine",
    "Policy",
    "PolicyError",
    "load_policy",
]

__version__ = "0.1.0"
