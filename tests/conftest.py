"""Root of the test suite: process-wide environment, then the one fixture layer in ``tests/fixtures``.

Qt fixes its platform per process, so this runs before anything imports Qt: widget tests render offscreen here,
and the tests marked ``xserver`` run in a second pytest process that ``scripts/with-xserver.sh`` points at Xvfb.
"""

from __future__ import annotations

import inspect
import os
import tempfile

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
if not os.environ.get("XDG_RUNTIME_DIR"):
    # Qt and platformdirs warn without one, and warnings are errors here.
    os.environ["XDG_RUNTIME_DIR"] = tempfile.mkdtemp(prefix="techpal-xdg-")  # mkdtemp makes it 0700
# A developer's real keys and configuration must never leak into a test run.
for _name in [n for n in os.environ if n.startswith(("TECHPAL_", "OPENAI_", "STRIPE_"))]:
    del os.environ[_name]

pytest_plugins = [  # a module imported by another must be listed before it (assertion rewriting)
    "tests.fixtures.db",
    "tests.fixtures.server",
    "tests.fixtures.fake_server",
    "tests.fixtures.qt",
    "tests.fixtures.desktop_app",
    "tests.fixtures.mail",
    "tests.fixtures.auth",
    "tests.fixtures.kb",
    "tests.fixtures.images",
    "tests.fixtures.openai_api",
    "tests.fixtures.screens",
    "tests.fixtures.resolution",
    "tests.fixtures.tickets",
    "tests.fixtures.stripe_api",
    "tests.fixtures.oidc_issuer",
    "tests.fixtures.browser",
    "tests.fixtures.s3",
]


@pytest.fixture(scope="session")
def anyio_backend() -> str:
    """Async tests run on asyncio, the loop the server runs on."""
    return "asyncio"


@pytest.hookimpl(tryfirst=True)
def pytest_pycollect_makeitem(collector: pytest.Collector, name: str, obj: object) -> None:
    """Run every ``async def`` test on anyio's asyncio backend without a marker on each."""
    is_test = isinstance(collector, pytest.Module | pytest.Class) and collector.istestfunction(obj, name)
    if is_test and inspect.iscoroutinefunction(obj):
        pytest.mark.usefixtures("anyio_backend")(obj)
