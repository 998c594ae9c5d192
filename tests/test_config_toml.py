"""aivurdering.toml: discovery, validation with Danish messages naming file and key, config check."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from pipeline.cli import cli
from pipeline.config import OrgConfig, check_cvr, discover_config, load_config, read_config
from pipeline.errors import EXIT_CATALOGUE, ConfigError, exit_code_for

REPO = Path(__file__).resolve().parents[1]


def write(tmp_path: Path, text: str, name: str = "aivurdering.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_example_file_is_valid_and_complete() -> None:
    cfg = read_config(REPO / "aivurdering.example.toml")
    assert cfg.myndighed.cvr == "29189846"
    assert cfg.journalisering.emnenummer == "85.15.00"
    assert cfg.filnavne.moenster == "{sagsnummer}_{titel}_v{version}"
    assert cfg.output.mappe == REPO / "outputs"  # relative to the file's folder


def test_defaults_when_no_file(tmp_path: Path) -> None:
    assert discover_config(None, cwd=tmp_path) is None
    cfg = load_config(None, cwd=tmp_path)
    assert cfg == OrgConfig()
    assert cfg.pdf is False


def test_discovers_file_in_working_folder(tmp_path: Path) -> None:
    write(tmp_path, '[myndighed]\nnavn = "Region Test"\n')
    assert discover_config(None, cwd=tmp_path) == tmp_path / "aivurdering.toml"
    assert load_config(None, cwd=tmp_path).myndighed.navn == "Region Test"


def test_explicit_missing_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="findes ikke") as info:
        load_config(tmp_path / "nope.toml")
    assert exit_code_for(info.value) == EXIT_CATALOGUE


@pytest.mark.parametrize(
    ("text", "key", "fragment"),
    [
        ('[myndighed]\ncvr = "12345678"\n', "myndighed.cvr", "modulus 11"),
        ('[myndighed]\nnavm = "x"\n', "myndighed.navm", "ukendt nøgle"),
        ('[output]\npdf = "ja"\n', "output.pdf", "true eller false"),
        ('[filnavne]\nmoenster = "{sagsnr}"\n', "filnavne.moenster", "ukendt felt {sagsnr}"),
        ('[filnavne]\nmoenster = "{titel:>10}"\n', "filnavne.moenster", "formatering"),
        ('[filnavne]\nmaks_laengde = 5\n', "filnavne.maks_laengde", "for lille"),
        ('[journalisering]\nhandlingsfacet = "g1"\n', "journalisering.handlingsfacet", "G01"),
        ('[journalisering]\nemnenummer = "85.15"\n', "journalisering.emnenummer", "HH.GG.EE"),
        ('[output]\nskabelon = "findes-ikke.docx"\n', "output.skabelon", "findes ikke"),
        ('[journalisering]\noffentlighed = "hemmelig"\n', "journalisering.offentlighed", "tilladt"),
    ],
)
def test_invalid_values_name_file_and_key_in_danish(tmp_path: Path, text: str, key: str, fragment: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        read_config(path)
    message = str(info.value)
    assert str(path) in message
    assert key in message
    assert fragment in message


def test_own_journal_plan_skips_kle_format(tmp_path: Path) -> None:
    path = write(tmp_path, '[journalisering]\nklassifikationssystem = "Statens journalplan"\nemnenummer = "2.1.4"\n')
    assert read_config(path).journalisering.emnenummer == "2.1.4"


def test_broken_toml_and_non_utf8(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="ikke gyldig TOML"):
        read_config(write(tmp_path, "[myndighed\n"))
    bad = tmp_path / "latin1.toml"
    bad.write_bytes('[myndighed]\nnavn = "Tårnby"\n'.encode("latin-1"))
    with pytest.raises(ConfigError, match="UTF-8"):
        read_config(bad)


def test_cvr_check() -> None:
    assert check_cvr("29189846")
    assert not check_cvr("29189847")
    assert not check_cvr("02918984")
    assert not check_cvr("2918984")


def test_config_check_command(tmp_path: Path) -> None:
    runner = CliRunner()
    good = runner.invoke(cli, ["config", "check", str(REPO / "aivurdering.example.toml")])
    assert good.exit_code == 0, good.output
    assert "konfigurationen er gyldig" in good.output
    assert "29189846" in good.output
    bad = runner.invoke(cli, ["config", "check", str(write(tmp_path, '[myndighed]\ncvr = "1"\n'))])
    assert bad.exit_code == EXIT_CATALOGUE
    assert "myndighed.cvr" in bad.output
    assert "Traceback" not in bad.output
