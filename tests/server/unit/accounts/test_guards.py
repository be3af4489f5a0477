"""``require_role``: the dependency that admits only agents or admins."""

from __future__ import annotations

import datetime
import uuid

import pytest

from server.db.models import User
from server.domain.accounts.guards import require_role
from server.domain.accounts.services import Principal
from server.lib.exceptions import PermissionDenied


def principal(role: str) -> Principal:
    now = datetime.datetime.now(datetime.UTC)
    user = User(name="x", email="x@example.com", username="xxx", password_hash="-", role=role, age_confirmed_at=now)
    return Principal(user=user, session_id=uuid.uuid4())


@pytest.mark.parametrize(("role", "allowed"), [("user", False), ("agent", True), ("admin", True)])
async def test_require_role(role: str, allowed: bool) -> None:
    check = require_role("agent", "admin")
    if allowed:
        assert (await check(principal(role))).user.role == role
    else:
        with pytest.raises(PermissionDenied) as denied:
            await check(principal(role))
        assert denied.value.code == "role_required"
