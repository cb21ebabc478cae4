"""The README is a first screen and the reference lives in docs/: the README stays short, every
link between them resolves, and nothing points outside the repository for the spec."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
LINK = re.compile(r"\]\(([^)#\s]+)(#[^)\s]*)?\)")


def anchors(page: Path) -> set[str]:
    """GitHub's anchors of a page's headings: lowercase, punctuation dropped, spaces to dashes."""
    out = set()
    for heading in re.findall(r"(?m)^#+ (.+)$", page.read_text()):
        out.add(re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-"))
    return out


def test_the_readme_is_a_first_screen():
    lines = (ROOT / "README.md").read_text().splitlines()
    assert len(lines) <= 200, len(lines)
    assert lines[2:5] == ["```bash", lines[3], lines[4]] and "make quickstart" in lines[3] and "make test" in lines[4]


def test_every_link_of_the_readme_and_the_docs_resolves():
    broken = []
    for page in PAGES:
        for target, anchor in LINK.findall(page.read_text()):
            if "://" in target:
                continue
            path = (page.parent / target).resolve()
            if not path.exists():
                broken.append(f"{page.relative_to(ROOT)}: {target}")
            elif anchor and path.suffix == ".md" and anchor[1:] not in anchors(path):
                broken.append(f"{page.relative_to(ROOT)}: {target}{anchor}")
    assert not broken, broken


def test_every_docs_page_is_linked_from_the_readme():
    readme = (ROOT / "README.md").read_text()
    for page in PAGES[1:]:
        assert f"(docs/{page.name})" in readme, page.name


def test_code_pointing_at_a_docs_anchor_finds_it():
    """`docs/science.md#claims` in a comment or a printed line names a heading that exists."""
    files = subprocess.run(
        ["git", "ls-files", "*.py", "*.yaml", "*.md"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    missing = []
    for name in files:
        text = (ROOT / name).read_text()
        for page, anchor in re.findall(r"docs/(\w+\.md)#([\w-]+)", text):
            if anchor not in anchors(ROOT / "docs" / page):
                missing.append(f"{name}: docs/{page}#{anchor}")
    assert not missing, missing


def test_nothing_refers_to_the_spec_outside_the_repository():
    found = subprocess.run(
        ["git", "grep", "-nE", r"\.\./shared|PAPER\.md|DESIGN\.md"], cwd=ROOT, capture_output=True, text=True
    )
    assert found.stdout == "", found.stdout
