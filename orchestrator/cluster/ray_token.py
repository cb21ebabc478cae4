"""The Ray authentication token of a local run, kept private.

A local Ray (ray.init without an address) turns token authentication on by itself and, when no
token exists, generates one and writes it to ~/.ray/auth_token with the process umask: mode 644
on most machines, readable by every user of a shared login node. That token is what keeps other
users from running code on this user's Ray (whose ports listen on the machine's address), and
`ncsweep submit` / `jobs` read the same file. So before a local Ray starts, ncsweep writes the
token itself: 256 random bits (secrets.token_hex(32), as Ray's own generator), mode 600, in a
folder created with mode 700, at the path Ray reads (RAY_AUTH_TOKEN_PATH, else
~/.ray/auth_token); Ray then finds it and generates nothing. An existing token file that others can
read gets one warning line; ncsweep never changes the user's file.
"""

from __future__ import annotations

import os
import secrets
import stat
import sys
from pathlib import Path


def token_path() -> Path:
    """Where Ray reads its token file: RAY_AUTH_TOKEN_PATH, else ~/.ray/auth_token."""
    configured = os.environ.get("RAY_AUTH_TOKEN_PATH")
    return Path(configured).expanduser() if configured else Path.home() / ".ray" / "auth_token"


def warn_if_readable(path: Path, say=None) -> bool:
    """One warning line when the token file can be read by its group or by others."""
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        line = (
            f"warning: {path}: the Ray authentication token can be read by other users of this machine (mode "
            f"{mode:o}); run: chmod 600 {path}"
        )
        (say or (lambda text: print(text, file=sys.stderr, flush=True)))(line)
        return True
    return False


def ensure_local_token(say=None) -> Path | None:
    """Before a local Ray starts: make sure the token it will use exists and is private.

    Nothing to do when token auth is off (RAY_AUTH_MODE=disabled) or the token comes from the
    environment (RAY_AUTH_TOKEN). Returns the token file, or None."""
    if os.environ.get("RAY_AUTH_MODE", "").lower() == "disabled" or os.environ.get("RAY_AUTH_TOKEN"):
        return None
    path = token_path()
    if path.exists():
        warn_if_readable(path, say)
        return path
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)  # a folder that exists keeps its mode
    # O_EXCL: never overwrite a token another process wrote meanwhile; 0o600 from the first byte.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(secrets.token_hex(32))
        f.flush()
        os.fsync(f.fileno())
    return path
