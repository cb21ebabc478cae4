"""What the scale benchmarks share: each measurement runs in a fresh process (so its peak resident
memory is its own), which prints one JSON line; memory is read from /proc and getrusage."""

from __future__ import annotations

import json
import resource
import subprocess
import sys


def rss_mb() -> float:
    """This process's resident memory now."""
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * resource.getpagesize() / 2**20


def peak_mb() -> float:
    """This process's resident peak so far (Linux reports ru_maxrss in KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def in_subprocess(script: str, *args: object) -> dict:
    """`python SCRIPT --one ARGS...` in a fresh process: the JSON of its last line, or {"error": ...}
    with its last line of stderr."""
    out = subprocess.run([sys.executable, script, "--one", *map(str, args)], capture_output=True, text=True)
    if out.returncode != 0:
        return {"error": out.stderr.strip().splitlines()[-1] if out.stderr.strip() else f"exit {out.returncode}"}
    return json.loads(out.stdout.strip().splitlines()[-1])
