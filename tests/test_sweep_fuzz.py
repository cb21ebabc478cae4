"""Sweep files mutated as a fuzzer would (a value swapped for null, a negative or huge number, an
infinity or NaN, a boolean, unicode, a nested list; a key dropped or misspelled; every tenth file
random bytes), through `ncsweep validate --no-data-check`: every outcome is exit 0, or exit 2 with
one line per problem naming the file, never a traceback. Seeded (derandomized), so CI sees the same
few hundred files every run."""

from __future__ import annotations

import contextlib
import io
import tempfile
from pathlib import Path

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from orchestrator.cli.parser import main

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = sorted((ROOT / "sweeps").rglob("*.yaml"))
VALUES = st.one_of(
    st.none(),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.sampled_from([-1, -0.5, 0, 10**12, 1e300, float("inf"), float("-inf"), float("nan")]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
    st.text(max_size=12),
    st.sampled_from(["ce", "bce", "stages", "timm:nope", "\u00e9\u4e2d\U0001f600", ""]),
    st.lists(st.lists(st.integers(-3, 3), max_size=3), max_size=3),
    st.dictionaries(st.text(max_size=4), st.integers(-2, 2), max_size=2),
)


def locations(tree, at=()):
    """Every (container path, key or index) in a YAML tree."""
    if isinstance(tree, dict):
        for key, value in tree.items():
            yield (*at, key)
            yield from locations(value, (*at, key))
    elif isinstance(tree, list):
        for i, value in enumerate(tree):
            yield (*at, i)
            yield from locations(value, (*at, i))


@st.composite
def mutated_files(draw) -> bytes:
    if draw(st.integers(0, 9)) == 0:
        return draw(st.binary(max_size=400))
    tree = yaml.safe_load(draw(st.sampled_from(SHIPPED)).read_text())
    where = draw(st.sampled_from(list(locations(tree))))
    parent = tree
    for part in where[:-1]:
        parent = parent[part]
    last = where[-1]
    action = draw(st.sampled_from(["replace", "replace", "drop", "misspell"]))
    if action == "replace":
        parent[last] = draw(VALUES)
    elif action == "drop":
        del parent[last]
    elif isinstance(parent, dict):  # misspell a key: a letter doubled or a typo'd suffix
        parent[f"{last}{draw(st.sampled_from(['x', 's', '_', 'é']))}"] = parent.pop(last)
    else:
        parent.insert(last, draw(VALUES))
    return yaml.safe_dump(tree, allow_unicode=True).encode()


@settings(
    max_examples=300, derandomize=True, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow]
)
@given(mutated_files())
def test_validate_answers_every_mutated_sweep_with_exit_0_or_one_line_per_problem(content):
    with tempfile.TemporaryDirectory() as scratch:
        path = Path(scratch) / "mutated.yaml"
        path.write_bytes(content)
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main(["validate", str(path), "--no-data-check"])  # an exception here fails the test
    lines = err.getvalue().splitlines()
    if code == 0:
        assert lines == [] and out.getvalue().startswith(f"{path}: ")
    else:
        assert code == 2 and lines, (code, out.getvalue(), err.getvalue())
        assert lines[0].startswith(f"error: {path}: ") and all(
            line.startswith((f"error: {path}: ", f"{path}: ")) for line in lines
        ), lines
        assert "Traceback" not in err.getvalue()
