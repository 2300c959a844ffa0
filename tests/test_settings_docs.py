"""Every setting is documented: each `Settings` field appears in a README configuration table
(as datasette checks its settings against its docs)."""

import re
from pathlib import Path

from qa.settings import Settings


def _documented() -> set[str]:
    names: set[str] = set()
    for line in Path("README.md").read_text(encoding="utf-8").splitlines():
        if line.startswith("| ") and not line.startswith("|---"):
            names |= {n.strip() for n in re.split(r"/", line.split("|")[1])}
    return names


def test_every_setting_is_in_the_readme():
    missing = set(Settings.model_fields) - {"config"} - _documented()
    assert not missing, f"add these settings to the README's configuration tables: {sorted(missing)}"
