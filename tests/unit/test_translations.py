"""Every string a user reads is translated to Danish, and the compiled catalog is the current one.

After adding or changing a user-facing string:
    pybabel extract -F babel.cfg --no-location --sort-output --omit-header -o webapp/translations/messages.pot .
    pybabel update -i webapp/translations/messages.pot -d webapp/translations -l da --no-fuzzy-matching
    (translate the new entries in webapp/translations/da/LC_MESSAGES/messages.po)
    pybabel compile -d webapp/translations -l da
"""
import re

from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

from engine.settings import PROJECT_ROOT

CATALOG = PROJECT_ROOT / "webapp" / "translations" / "da" / "LC_MESSAGES"
PLACEHOLDER = re.compile(r"%\(\w+\)s")


def _po():
    with open(CATALOG / "messages.po", "rb") as f:
        return read_po(f, locale="da")


def _key(message_id) -> str:
    return message_id if isinstance(message_id, str) else message_id[0]


def _forms(value) -> tuple:
    return (value,) if isinstance(value, str) else tuple(value)


def _done(message) -> bool:
    return bool(message.id) and all(_forms(message.string)) and not message.fuzzy


def _extracted() -> set[str]:
    with open(PROJECT_ROOT / "babel.cfg", encoding="utf-8") as f:
        method_map, options_map = parse_mapping_cfg(f)
    return {message[2] if isinstance(message[2], str) else message[2][0]
            for message in extract_from_dir(str(PROJECT_ROOT), method_map, options_map)}


def test_every_user_facing_string_has_a_danish_translation():
    catalog = _po()
    translated = {_key(m.id) for m in catalog if _done(m)}
    missing = sorted(_extracted() - set(translated))
    assert not missing, f"untranslated (see this test's docstring for the commands): {missing}"


def test_translations_keep_their_placeholders():
    for message in _po():
        if _done(message):
            expected = sorted(PLACEHOLDER.findall(_forms(message.id)[-1]))
            for form in _forms(message.string):
                assert sorted(PLACEHOLDER.findall(form)) == expected, message.id


def test_the_compiled_catalog_matches_the_po_file():
    with open(CATALOG / "messages.mo", "rb") as f:
        compiled = {_key(m.id): _forms(m.string) for m in read_mo(f) if m.id}
    source = {_key(m.id): _forms(m.string) for m in _po() if _done(m)}
    assert compiled == source, "run: pybabel compile -d webapp/translations -l da"
