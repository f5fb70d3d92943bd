"""Enforcement, free of any web framework and of I/O.

:mod:`~cookieconsent.core.cookie` reads and writes cookies, :mod:`~cookieconsent.core.engine` decides
a request's consent state, :mod:`~cookieconsent.core.exchange` carries one response through every
edit, :mod:`~cookieconsent.core.pages` and :mod:`~cookieconsent.core.csp` add what an HTML page needs.
The adapters (:mod:`cookieconsent.asgi`, :mod:`cookieconsent.wsgi`) only translate to and from these.
"""
