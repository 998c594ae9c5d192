"""Broken YAML, TOML and JSON files: a Danish message with the line to look at, no English parser text."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pytest
import yaml

from pipeline.answers_io import load_answers
from pipeline.config import load_config
from pipeline.errors import CatalogueError, ConfigError, InputFileError
from pipeline.questions import parse_catalogue
from pipeline.textfmt import syntax_error_da

ENGLISH = ("expected", "found", "while", "Invalid", "Expecting", "line ")


def english_free(message: str) -> bool:
    return not any(word in message for word in ENGLISH)


def test_toml_error_names_line_and_column(tmp_path: Path) -> None:
    path = tmp_path / "aivurdering.toml"
    path.write_text('[organisation]\nnavn = "Kommune"\nkle = = 3\n', encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    message = str(info.value)
    assert "ikke gyldig TOML: syntaksfejl i linje 3, kolonne 7" in message
    assert english_free(message.split(":", 1)[1])


def test_yaml_answers_error_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "svar.yaml"
    path.write_text("system_name: Chatbot\nunit: [Borgerservice\nphase: drift\n", encoding="utf-8")
    with pytest.raises(InputFileError) as info:
        load_answers(path)
    message = str(info.value)
    assert "ikke gyldig YAML: syntaksfejl i linje" in message
    assert english_free(message.split(":", 1)[1])


def test_json_answers_error_names_line_and_column(tmp_path: Path) -> None:
    path = tmp_path / "svar.json"
    path.write_text('{\n  "system_name": "Chatbot",\n  "unit" "Borgerservice"\n}\n', encoding="utf-8")
    with pytest.raises(InputFileError) as info:
        load_answers(path)
    assert "ikke gyldig JSON: syntaksfejl i linje 3, kolonne 10" in str(info.value)


def test_question_catalogue_yaml_error_is_danish() -> None:
    with pytest.raises(CatalogueError) as info:
        parse_catalogue(b"catalogue:\n  version: 1\n   bad: indent\n", path="q.yaml")
    message = str(info.value)
    assert "ikke gyldig YAML: syntaksfejl i linje 3" in message
    assert english_free(message.split(":", 1)[1])


@pytest.mark.parametrize(
    ("parse", "text", "expected"),
    [
        (tomllib.loads, "a = 1\nb = \n", "syntaksfejl i linje 2, kolonne 5"),
        (json.loads, "[1,\n2,,3]", "syntaksfejl i linje 2, kolonne 3"),
        (yaml.safe_load, "a: 1\n- b\n", "syntaksfejl i linje 2, kolonne 1"),
    ],
)
def test_syntax_error_da_reads_each_parser(parse, text: str, expected: str) -> None:
    with pytest.raises(Exception) as info:
        parse(text)
    assert syntax_error_da(info.value) == expected


def test_syntax_error_da_without_a_place() -> None:
    assert syntax_error_da(ValueError("odd")) == "syntaksfejl (kør med --debug for detaljer)"


def test_organisation_criteria_yaml_error_is_danish(tmp_path: Path) -> None:
    from pipeline.criteria import load_criteria

    folder = tmp_path / "kriterier"
    folder.mkdir()
    (folder / "egne.yaml").write_text("criteria:\n  - id: x\n    title: [ufærdig\n", encoding="utf-8")
    with pytest.raises(CatalogueError) as info:
        load_criteria((folder,))
    message = str(info.value)
    assert "egne.yaml" in message and "ikke gyldig YAML: syntaksfejl i linje" in message
    assert english_free(message.split("ikke gyldig YAML", 1)[1])
