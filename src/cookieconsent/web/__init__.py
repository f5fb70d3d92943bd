"""The library's own HTTP endpoints, under the configured prefix (``/_consent``).

:mod:`~cookieconsent.web.endpoints` answers the decisions, state, assets and beacons,
:mod:`~cookieconsent.web.privacy` the privacy centre, and :mod:`~cookieconsent.web.replies` holds
what both need to read requests and build replies.
"""
