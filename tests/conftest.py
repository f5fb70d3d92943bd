"""Shared fixtures: the two demo apps behind one client interface, small policies, stores and PostgreSQL.

The helpers behind them (the client and visitor, the demo apps, the policies) are in ``tests/harness.py``.
"""

from __future__ import annotations

import importlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from cookieconsent import ConsentConfig
from cookieconsent.policy.model import Policy, parse_policy
from tests.harness import APPS, SECRET, AppClient, FaultyStore, Visitor, small_policy_data
from tests.pg import PgCluster, pg_cluster_running

# The demo apps record into SQLite; in tests, into a file of their own.
os.environ.setdefault("COOKIECONSENT_STORE", os.path.join(tempfile.mkdtemp(prefix="cc-test-"), "records.db"))


@pytest.fixture
def policy() -> Policy:
    return parse_policy(small_policy_data())


@pytest.fixture
def config(policy: Policy) -> ConsentConfig:
    return ConsentConfig(policy=policy, secret_keys=[SECRET])


# -- the demo apps, and small sites behind either adapter ------------------------------------------


@pytest.fixture(params=sorted(APPS), scope="session")
def app_kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(scope="session")
def demo_app(app_kind: str) -> Any:
    return importlib.import_module(APPS[app_kind]).app


@pytest.fixture
def client(app_kind: str, demo_app: Any) -> AppClient:
    return AppClient(app_kind, demo_app)


@pytest.fixture
def visitor(client: AppClient) -> Visitor:
    return client.visitor()


@pytest.fixture(params=["asgi", "wsgi"])
def kind(request: pytest.FixtureRequest) -> str:
    """Which middleware a small site is behind (``tests.harness.make_site``)."""
    return str(request.param)


# -- stores ----------------------------------------------------------------------------------------


@pytest.fixture
def store(tmp_path: Path) -> Iterator[FaultyStore]:
    """A SQLite store of the test's own, which the test may switch off, slow down or fill up."""
    s = FaultyStore(tmp_path / "records.db", timeout=1)
    yield s
    s.close()


# -- PostgreSQL ------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[PgCluster]:
    """One throwaway cluster for the whole session (tests that stop a server start their own)."""
    with pg_cluster_running() as cluster:
        yield cluster


@pytest.fixture
def own_pg_cluster() -> Iterator[PgCluster]:
    """A cluster for one test alone, for tests that stop and start the server."""
    with pg_cluster_running() as cluster:
        yield cluster
