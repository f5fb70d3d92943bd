"""The Flask extension.

::

    from flask import Flask, g
    from cookieconsent.flask import CookieConsent

    app = Flask(__name__)
    app.config["COOKIECONSENT_POLICY"] = "policy.toml"
    CookieConsent(app)             # or: consent = CookieConsent(); consent.init_app(app)

    @app.get("/")
    def index():
        if g.consent.allows("analytics"):
            ...

In templates: ``{% if consent.allows("marketing") %}…{% endif %}``. ``g.consent`` is looked up when
read (the extension mixes it into ``app.app_ctx_globals_class``: set your own class before
``init_app``).

Without an explicit ``config``, the extension reads ``COOKIECONSENT_POLICY`` (a path or a
:class:`~cookieconsent.policy.Policy`), ``COOKIECONSENT_SECRET_KEYS`` (default: ``SECRET_KEY_FALLBACKS``
then ``SECRET_KEY``) and any other ``COOKIECONSENT_<OPTION>`` for the options of
:class:`~cookieconsent.config.ConsentConfig` (``COOKIECONSENT_SECURE = False``, …).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Flask, has_request_context, request
from flask.ctx import _AppCtxGlobals
from werkzeug.local import LocalProxy

from cookieconsent.config import ConsentConfig
from cookieconsent.core.state import ConsentState
from cookieconsent.errors import ConfigurationError
from cookieconsent.policy.model import Policy, load_policy
from cookieconsent.records.recorder import Recorder
from cookieconsent.wsgi import ENVIRON_KEY, ConsentMiddleware

__all__ = ["CookieConsent", "current_consent"]

EXTENSION_KEY = "cookieconsent"
_OWN_KEYS = {"COOKIECONSENT_POLICY", "COOKIECONSENT_SECRET_KEYS", "COOKIECONSENT_STORE"}


def _current() -> ConsentState:
    state = request.environ.get(ENVIRON_KEY)
    if state is None:
        raise RuntimeError(
            "No consent state for this request: initialise CookieConsent(app) before the first request, "
            "and do not serve this path under the consent prefix."
        )
    return state  # type: ignore[no-any-return]


#: The current request's consent state, usable anywhere inside a request (also a Jinja global).
current_consent: ConsentState = LocalProxy(_current)  # type: ignore[assignment]


class CookieConsent:
    """Adds consent enforcement to a Flask app.

    Args:
        app: The app; or call :meth:`init_app` later (application factories).
        config: A ready config; if omitted it is built from ``app.config`` (see the module docs).
    """

    def __init__(
        self, app: Flask | None = None, *, config: ConsentConfig | None = None, recorder: Recorder | None = None
    ) -> None:
        self._config = config
        #: The recorder of the app initialised last (register hooks with ``@consent.recorder.on_visit``).
        self.recorder = recorder
        if app is not None:
            self.init_app(app)

    def init_app(self, app: Flask) -> None:
        """Wrap ``app.wsgi_app`` with the WSGI middleware and expose the state on ``g`` and in templates."""
        if EXTENSION_KEY in app.extensions:
            raise ConfigurationError("CookieConsent is already initialised on this app; initialise it once")
        config = self._config or config_from_flask(app)
        recorder = self.recorder or recorder_from_flask(app, config)
        self.recorder = recorder
        middleware = ConsentMiddleware(app.wsgi_app, config, recorder=recorder)
        app.wsgi_app = middleware  # type: ignore[method-assign]
        app.extensions[EXTENSION_KEY] = middleware
        if not issubclass(app.app_ctx_globals_class, _ConsentGlobals):
            # g.consent is read on demand, not set by a before_request hook: most requests never ask.
            mixed: type[_AppCtxGlobals] = type(
                "ConsentGlobals", (_ConsentGlobals, app.app_ctx_globals_class), {"__module__": __name__}
            )
            app.app_ctx_globals_class = mixed
        app.jinja_env.globals["consent"] = current_consent

    @staticmethod
    def middleware(app: Flask) -> ConsentMiddleware:
        """The WSGI middleware installed on ``app``."""
        return app.extensions[EXTENSION_KEY]  # type: ignore[no-any-return]


def _request_state() -> ConsentState | None:
    return request.environ.get(ENVIRON_KEY) if has_request_context() else None


class _ConsentGlobals(_AppCtxGlobals):
    """Flask's ``g`` with ``g.consent``, the request's consent state, looked up when read.

    Mixed into the app's own ``app_ctx_globals_class`` (set yours before ``init_app``).
    """

    def __getattr__(self, name: str) -> Any:
        if name == "consent":
            state = _request_state()
            if state is not None:
                return state
        return super().__getattr__(name)

    def get(self, name: str, default: Any | None = None) -> Any:
        if name == "consent" and name not in self.__dict__:
            state = _request_state()
            return default if state is None else state
        return super().get(name, default)

    def __contains__(self, item: str) -> bool:
        if item == "consent" and item not in self.__dict__:
            return _request_state() is not None
        return super().__contains__(item)


def recorder_from_flask(app: Flask, config: ConsentConfig) -> Recorder | None:
    """The recorder ``COOKIECONSENT_STORE`` asks for.

    By default, when the policy declares data items, records go to SQLite in the app's instance
    folder (``instance/cookieconsent.db``); a path or a ``postgresql://`` URL chooses another store,
    and ``False`` turns recording off.
    """
    target = app.config.get("COOKIECONSENT_STORE")
    if target is False or (target is None and not config.policy.data_items):
        return None
    if target is None:
        Path(app.instance_path).mkdir(parents=True, exist_ok=True)
        target = Path(app.instance_path) / "cookieconsent.db"
    return Recorder(config, target)


def config_from_flask(app: Flask) -> ConsentConfig:
    """Build a :class:`ConsentConfig` from ``COOKIECONSENT_*`` keys of ``app.config``."""
    cfg = app.config
    policy = cfg.get("COOKIECONSENT_POLICY")
    if policy is None:
        raise ConfigurationError(
            "set app.config['COOKIECONSENT_POLICY'] to your policy file's path, or pass config=ConsentConfig(…)"
        )
    if not isinstance(policy, Policy):
        policy = load_policy(policy)
    keys = cfg.get("COOKIECONSENT_SECRET_KEYS")
    if keys is None:
        keys = [*(cfg.get("SECRET_KEY_FALLBACKS") or []), cfg.get("SECRET_KEY")]
        keys = [k for k in keys if k]
        if not keys:
            raise ConfigurationError("set app.config['SECRET_KEY'] or app.config['COOKIECONSENT_SECRET_KEYS']")
    options: dict[str, Any] = {}
    for key, value in cfg.items():
        if key.startswith("COOKIECONSENT_") and key not in _OWN_KEYS:
            options[key.removeprefix("COOKIECONSENT_").lower()] = value
    return ConsentConfig(policy=policy, secret_keys=keys, **options)
