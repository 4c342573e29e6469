"""The French catalogue is complete and current: a new or changed UI string fails this test."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parent.parent
PLACEHOLDER = re.compile(r"%\((\w+)\)s")


def _read(path: Path, locale: str | None = None) -> Catalog:
    with path.open("rb") as po_file:
        return read_po(po_file, locale=locale)


def _ids(catalog: Catalog) -> set[object]:
    return {message.id for message in catalog if message.id}


def _fresh_extraction(tmp_path: Path) -> Catalog:
    output = tmp_path / "messages.pot"
    command = [
        sys.executable,
        "-m",
        "babel.messages.frontend",
        "extract",
        "-F",
        "babel.cfg",
        "-o",
        str(output),
        "--no-location",
        "--sort-output",
        "--omit-header",
        ".",
    ]
    subprocess.run(command, cwd=ROOT, check=True, capture_output=True)
    return _read(output)


def test_every_interface_string_has_a_current_french_translation(tmp_path: Path) -> None:
    extracted = _fresh_extraction(tmp_path)
    french = _read(ROOT / "app/translations/fr/LC_MESSAGES/messages.po", "fr")
    missing = _ids(extracted) - _ids(french)
    assert not missing, f"run `make messages` and translate: {sorted(map(str, missing))}"
    untranslated = [m.id for m in french if m.id and not _translated(m.string, m.flags)]
    assert not untranslated, f"missing French: {untranslated}"
    stale = _ids(french) - _ids(extracted)
    assert not stale, f"translations for strings no longer in the code: {stale}"


def _forms(value: object) -> list[str]:
    """A catalogue string or id as a list: one item, or singular and plural forms."""
    if isinstance(value, tuple | list):
        return [str(item or "") for item in value]
    return [str(value or "")]


def _translated(string: object, flags: set[str]) -> bool:
    return "fuzzy" not in flags and all(_forms(string))


def test_translations_keep_every_placeholder() -> None:
    french = _read(ROOT / "app/translations/fr/LC_MESSAGES/messages.po", "fr")
    for message in french:
        if not message.id:
            continue
        wanted = set(PLACEHOLDER.findall(_forms(message.id)[-1]))
        for string in _forms(message.string):
            assert set(PLACEHOLDER.findall(string)) == wanted, message.id
