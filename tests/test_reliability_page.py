"""docs/reliability.md names, for each case, the test that proves it: every name must exist."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# `test_file.py::test_name`, or `::test_name` continuing the file named last on the line.
REFERENCE = re.compile(r"`(test_\w+\.py)?(?:::(test_\w+))?`")


def named_tests(page: str) -> list[tuple[str, str]]:
    names = []
    for line in page.splitlines():
        current = None
        for file, test in REFERENCE.findall(line):
            current = file or current
            if test:
                names.append((current, test))
    return names


def test_every_test_the_reliability_page_names_exists():
    page = (ROOT / "docs" / "reliability.md").read_text()
    names = named_tests(page)
    assert len(names) > 50
    missing = [
        f"{file}::{test}" for file, test in names
        if not re.search(rf"^(async )?def {test}\(", (ROOT / "tests" / file).read_text(), re.M)
    ]
    assert missing == []
    files = set(re.findall(r"`(test_\w+\.py)", page))
    assert {file for file in files if not (ROOT / "tests" / file).is_file()} == set()


def test_the_readme_links_the_reliability_page():
    assert "(docs/reliability.md)" in (ROOT / "README.md").read_text()
