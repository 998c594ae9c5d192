"""File names from the configurable pattern: safe for Windows and ESDH imports."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.naming import RESERVED_NAMES, build_name, safe_component, transliterate

PATTERN = "{sagsnummer}_{titel}_v{version}"
FORBIDDEN = re.compile(r'[<>:"/\\|?*\x00-\x1f\x7f]')


def assert_safe(name: str, max_chars: int = 120) -> None:
    assert name, "empty name"
    assert not FORBIDDEN.search(name), name
    assert ".." not in name
    assert not name.startswith(".")
    assert not name.endswith((".", " "))
    assert len(name) <= max_chars
    assert len((name + ".metadata.json").encode("utf-8")) <= 255
    assert name.split(".", 1)[0].upper() not in RESERVED_NAMES
    assert all(ch.isprintable() for ch in name)


def test_hostile_case_number_and_reserved_title() -> None:
    name = build_name(PATTERN, {"sagsnummer": "../../x", "titel": "CON", "version": "1.0"})
    assert_safe(name)
    assert name == "x_CON_v1.0"


@pytest.mark.parametrize("reserved", ["CON", "con", "PRN", "AUX", "NUL", "COM1", "lpt9", "CON.txt", "nul.docx"])
def test_reserved_names_alone_are_changed(reserved: str) -> None:
    name = build_name("{titel}", {"titel": reserved})
    assert_safe(name)
    assert name.split(".", 1)[0].upper() not in RESERVED_NAMES


def test_500_characters_and_emoji_are_cut_but_keep_case_number_and_version() -> None:
    fields = {"sagsnummer": "85.15.00-G01-12-26", "titel": "Rapport " + "ø" * 500 + " 🤖🔥", "version": "2.1"}
    name = build_name(PATTERN, fields)
    assert_safe(name)
    assert name.startswith("85.15.00-G01-12-26_Rapport_")
    assert name.endswith("_v2.1")
    assert "🤖" not in name and "🔥" not in name


def test_all_fields_huge_stays_within_limits() -> None:
    name = build_name(PATTERN, {"sagsnummer": "a" * 500, "titel": "ø" * 500, "version": "2.1"}, max_length=60)
    assert_safe(name, max_chars=60)


def test_control_characters_and_separators_removed() -> None:
    name = build_name(PATTERN, {"sagsnummer": "C:\\sager\\12\x00\x07", "titel": "a/b\tc\nd", "version": "1"})
    assert_safe(name)
    assert "sager" in name and "a_b_c_d" in name


def test_empty_fields_leave_no_dangling_separators_and_all_empty_falls_back() -> None:
    assert build_name(PATTERN, {"titel": "Borgerchat", "version": "1.0"}) == "Borgerchat_v1.0"
    assert build_name(PATTERN, {"sagsnummer": "..", "titel": "🤖", "version": ""}) == "konsekvensanalyse"


def test_danish_letters_kept_or_transliterated() -> None:
    fields = {"titel": "Tale til tekst på Ærø, Øster Åby", "version": "1.0"}
    kept = build_name("{titel}_v{version}", fields)
    assert "på_Ærø" in kept and "Øster_Åby" in kept
    translit = build_name("{titel}_v{version}", fields, translit=True)
    assert translit == "Tale_til_tekst_paa_Aeroe,_Oester_Aaby_v1.0"
    assert translit.isascii()


def test_transliterate_removes_other_accents() -> None:
    assert transliterate("Café Müller æøå ÆØÅ") == "Cafe Muller aeoeaa AeOeAa"


def test_unknown_pattern_field_is_refused() -> None:
    with pytest.raises(ValueError, match="ukendt felt"):
        build_name("{sagsnummer}_{titel.__class__}", {"sagsnummer": "1"})


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=300), st.text(max_size=300), st.text(max_size=20))
def test_any_input_gives_a_safe_name(case: str, title: str, version: str) -> None:
    for translit in (False, True):
        name = build_name(PATTERN, {"sagsnummer": case, "titel": title, "version": version}, translit=translit)
        assert_safe(name)


@given(st.text(max_size=100))
def test_component_never_contains_separator(value: str) -> None:
    assert not FORBIDDEN.search(safe_component(value))
