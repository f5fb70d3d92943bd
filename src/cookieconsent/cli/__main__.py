"""``python -m cookieconsent.cli``: the ``cookieconsent`` command."""

from __future__ import annotations

from cookieconsent.cli import main

raise SystemExit(main())
