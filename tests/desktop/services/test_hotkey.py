"""The optional global hotkey: without pynput (or on Wayland) the setting is disabled with a reason."""

from __future__ import annotations

import importlib.util

import pytest

from desktop.services.hotkey import NOT_INSTALLED_TEXT, WAYLAND_TEXT, GlobalHotkey, hotkey_support

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("pynput") is not None, reason="these cases describe a machine without pynput"
)


def test_without_pynput_shortcuts_are_unavailable_with_a_reason() -> None:
    support = hotkey_support({"DISPLAY": ":0"})

    assert not support.available
    assert support.reason == NOT_INSTALLED_TEXT


def test_wayland_without_xwayland_is_refused_before_importing_anything(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("sys.platform", "linux")

    support = hotkey_support({"WAYLAND_DISPLAY": "wayland-0"})

    assert support == type(support)(False, WAYLAND_TEXT)


def test_registering_says_why_it_cannot(qapp: object) -> None:
    hotkey = GlobalHotkey()

    assert hotkey.register(None) is None
    assert hotkey.register("<ctrl>+<alt>+h") == NOT_INSTALLED_TEXT
    assert hotkey.spec is None
