"""What both middlewares build from a configuration: the engine and the library's endpoints."""

from __future__ import annotations

from cookieconsent.config import ConsentConfig
from cookieconsent.core.engine import Engine
from cookieconsent.records.recorder import Recorder
from cookieconsent.web.endpoints import Endpoints
from cookieconsent.web.privacy import PrivacyCentre


def build(config: ConsentConfig, recorder: Recorder | None) -> tuple[Engine, Endpoints]:
    """Check ``config`` and build the parts a middleware runs, with ``recorder`` attached.

    A recorder with a store also gets the privacy centre (``{prefix}/my-data``), which the banner
    and preference page link to.
    """
    if not isinstance(config, ConsentConfig):
        raise TypeError(
            "config must be a cookieconsent.ConsentConfig; build one with ConsentConfig(policy=…, secret_keys=…)"
        )
    engine = Engine(config)
    pages = engine.pages
    endpoints = Endpoints(engine, pages.renderer)
    if pages.csp is not None:  # where the pages' Content-Security-Policy sends its reports
        endpoints.add_route("csp-report", ("POST",), pages.csp_reports.handle)
    if recorder is not None:
        recorder.attach(engine, endpoints)
        if recorder.store is not None:
            PrivacyCentre(recorder, engine, endpoints, endpoints.renderer)  # sets the renderer's my_data_url
    return engine, endpoints
