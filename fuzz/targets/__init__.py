"""The fuzz targets: one module per parser, each runnable as ``python -m fuzz.targets.<name>``.

Importing this package imports :mod:`fuzz.common` first, which imports the library under atheris'
coverage instrumentation: whatever a target then imports from ``cookieconsent`` is instrumented.
"""

from __future__ import annotations

import fuzz.common  # noqa: F401
