"""A local run's Ray token is private: ncsweep writes it (mode 600, in a folder of mode 700) before
a local Ray starts, so Ray generates no world-readable one; an existing readable token gets one
warning and is left as it is; nothing is written when token auth is off or the token is in the
environment."""

from __future__ import annotations

import stat

import pytest

from orchestrator.cluster.ray_token import ensure_local_token, token_path


def mode(path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def home(tmp_path, monkeypatch):
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    for var in ("RAY_AUTH_MODE", "RAY_AUTH_TOKEN", "RAY_AUTH_TOKEN_PATH"):
        monkeypatch.delenv(var, raising=False)
    return home


def test_a_new_token_is_private(home):
    said = []
    path = ensure_local_token(said.append)
    assert path == home / ".ray" / "auth_token" == token_path()
    assert mode(path) == 0o600 and mode(path.parent) == 0o700
    token = path.read_text()
    assert len(token) == 64 and int(token, 16) >= 0  # 256 random bits in hex, as Ray's own generator
    assert ensure_local_token(said.append) == path and path.read_text() == token and said == []  # kept, no warning


def test_a_readable_token_gets_one_warning_and_is_left_as_it_is(home):
    path = home / ".ray" / "auth_token"
    path.parent.mkdir()
    path.write_text("abc123")
    path.chmod(0o644)
    said = []
    assert ensure_local_token(said.append) == path
    assert said == [
        f"warning: {path}: the Ray authentication token can be read by other users of this machine (mode 644); "
        f"run: chmod 600 {path}"
    ]
    assert mode(path) == 0o644 and path.read_text() == "abc123"


def test_the_token_path_ray_reads_and_when_none_is_needed(home, monkeypatch, tmp_path):
    monkeypatch.setenv("RAY_AUTH_TOKEN_PATH", str(tmp_path / "secrets" / "ray.token"))
    path = ensure_local_token()
    assert path == tmp_path / "secrets" / "ray.token" and mode(path) == 0o600 and mode(path.parent) == 0o700
    monkeypatch.delenv("RAY_AUTH_TOKEN_PATH")
    for var, value in (("RAY_AUTH_MODE", "disabled"), ("RAY_AUTH_TOKEN", "from-the-environment")):
        monkeypatch.setenv(var, value)
        assert ensure_local_token() is None and not (home / ".ray").exists()
        monkeypatch.delenv(var)


# The console script's end of it (`ncsweep run` in an empty HOME leaves a 600 token in a 700 folder)
# is checked in tests/test_resume_integration.py, whose first driver starts such a local Ray.
