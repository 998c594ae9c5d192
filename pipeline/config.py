"""The organisation configuration ``aivurdering.toml`` (read with :mod:`tomllib`, checked with pydantic).

Discovery: an explicit ``--config FILE``; else ``./aivurdering.toml`` in the working folder; else the
built-in defaults. Relative paths in the file (template, output folder) are relative to the file's folder.
Every problem is reported in Danish with the file and the key (``myndighed.cvr``). See
``aivurdering.example.toml`` at the repository root.
"""

from __future__ import annotations

import re
import string
import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from pipeline.errors import ConfigError
from pipeline.textfmt import syntax_error_da

__all__ = [
    "CONFIG_FILE_NAME",
    "NAMING_FIELDS",
    "OrgConfig",
    "check_cvr",
    "discover_config",
    "load_config",
    "parse_config",
    "read_config",
    "validate_pattern",
]

CONFIG_FILE_NAME = "aivurdering.toml"
KLE_RE = re.compile(r"^\d{2}\.\d{2}\.\d{2}$")
FACET_RE = re.compile(r"^[A-ZÆØÅ]\d{2}$")

# Placeholders a file-name pattern may use (pipeline.naming fills them).
NAMING_FIELDS: dict[str, str] = {
    "sagsnummer": "sagsnummer (journalnummer)",
    "titel": "dokumentets titel",
    "system": "AI-systemets navn",
    "version": "dokumentversion, fx 1.0",
    "dato": "brevdato, ÅÅÅÅ-MM-DD",
    "myndighed": "myndighedens navn",
    "kle": "KLE-emnenummer",
    "facet": "handlingsfacet",
}


def check_cvr(value: str) -> bool:
    """CVR: 8 digits, first not 0, weights 2,7,6,5,4,3,2,1, sum mod 11 == 0."""
    if not re.fullmatch(r"[1-9]\d{7}", value):
        return False
    return sum(int(d) * w for d, w in zip(value, (2, 7, 6, 5, 4, 3, 2, 1), strict=True)) % 11 == 0


def validate_pattern(pattern: str) -> str:
    """Check a file-name pattern; return it or raise ValueError with a Danish message."""
    if not pattern.strip():
        raise ValueError("mønsteret må ikke være tomt")
    try:
        parsed = list(string.Formatter().parse(pattern))
    except ValueError as exc:
        raise ValueError(f"ugyldigt mønster ({exc}); brug fx {{sagsnummer}}_{{titel}}_v{{version}}") from exc
    used = [name for _lit, name, _spec, _conv in parsed if name is not None]
    for name, (_lit, _n, spec, conv) in zip(used, [p for p in parsed if p[1] is not None], strict=True):
        if name not in NAMING_FIELDS:
            allowed = ", ".join("{" + k + "}" for k in NAMING_FIELDS)
            raise ValueError(f"ukendt felt {{{name}}}; tilladte felter: {allowed}")
        if spec or conv:
            raise ValueError(f"feltet {{{name}}} må ikke have formatering (':' eller '!')")
    if not used:
        raise ValueError("mønsteret skal indeholde mindst ét felt, fx {sagsnummer} eller {titel}")
    if "/" in pattern or "\\" in pattern:
        raise ValueError("mønsteret må ikke indeholde / eller \\ (mapper)")
    return pattern


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class Myndighed(_Section):
    navn: str | None = None
    cvr: str | None = None
    enhed: str | None = None  # forvaltning/afdeling

    @field_validator("cvr")
    @classmethod
    def _cvr(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        digits = value.replace(" ", "")
        if not check_cvr(digits):
            raise ValueError("CVR-nummeret skal være 8 cifre og bestå modulus 11-kontrollen")
        return digits


class Journalisering(_Section):
    klassifikationssystem: str = "KLE"  # "KLE" (kommuner) or the name of the authority's own journal plan
    emnenummer: str | None = None  # default KLE subject number HH.GG.EE
    handlingsfacet: str | None = None  # default facet, e.g. G01
    dokumenttype: str = "Internt dokument"
    sagsbehandler: str | None = None  # default responsible caseworker when the intake has none
    offentlighed: Literal["ikke_fortroligt", "fortroligt", "saerligt_foelsomt"] | None = None  # default marking
    offentlighed_hjemmel: str | None = None

    @field_validator("handlingsfacet")
    @classmethod
    def _facet(cls, value: str | None) -> str | None:
        if value and not FACET_RE.match(value):
            raise ValueError("handlingsfacetten skal være et stort bogstav og to cifre, fx G01")
        return value or None


class Filnavne(_Section):
    moenster: str = "{sagsnummer}_{titel}_v{version}"
    translitterer: bool = False  # æ→ae, ø→oe, å→aa (and other accents removed)
    maks_laengde: int = Field(default=120, ge=20, le=200)

    @field_validator("moenster")
    @classmethod
    def _pattern(cls, value: str) -> str:
        return validate_pattern(value)


class Output(_Section):
    mappe: Path = Path("outputs")
    pdf: bool = False
    skabelon: Path | None = None  # organisation's own Word template
    pdf_timeout: int = Field(default=300, ge=10, le=7200)  # seconds for one LibreOffice run


class OrgConfig(BaseModel):
    """The validated organisation configuration."""

    model_config = ConfigDict(extra="forbid")

    myndighed: Myndighed = Field(default_factory=Myndighed)
    journalisering: Journalisering = Field(default_factory=Journalisering)
    filnavne: Filnavne = Field(default_factory=Filnavne)
    output: Output = Field(default_factory=Output)
    source: Path | None = Field(default=None, exclude=True)  # the file read, None for defaults

    @property
    def pdf(self) -> bool:
        return self.output.pdf

    @property
    def skabelon(self) -> Path | None:
        return self.output.skabelon

    def output_dir(self) -> Path:
        return self.output.mappe

    def with_naming_pattern(self, pattern: str) -> OrgConfig:
        try:
            validate_pattern(pattern)
        except ValueError as exc:
            raise ConfigError(str(exc), path="--navngivning", entry=pattern) from exc
        return self.model_copy(update={"filnavne": self.filnavne.model_copy(update={"moenster": pattern})})


_MESSAGES_DA: dict[str, str] = {
    "missing": "mangler",
    "extra_forbidden": "ukendt nøgle (stavefejl?)",
    "bool_type": "skal være true eller false",
    "bool_parsing": "skal være true eller false",
    "string_type": "skal være tekst i anførselstegn",
    "int_type": "skal være et heltal",
    "int_parsing": "skal være et heltal",
    "greater_than_equal": "er for lille",
    "less_than_equal": "er for stor",
    "literal_error": "har en ugyldig værdi",
    "model_type": "skal være en sektion [sektion] eller en tabel",
    "path_type": "skal være en sti i anførselstegn",
}


def _danish(err: dict[str, Any]) -> str:
    kind = err.get("type", "")
    if kind == "value_error":
        msg = str(err.get("ctx", {}).get("error", err.get("msg", "")))
        return msg
    text = _MESSAGES_DA.get(kind, err.get("msg", "ugyldig værdi"))
    if kind == "literal_error":
        expected = err.get("ctx", {}).get("expected", "")
        text = f"{text}; tilladt: {expected}"
    if kind in ("greater_than_equal", "less_than_equal"):
        limit = err.get("ctx", {}).get("ge", err.get("ctx", {}).get("le"))
        text = f"{text} (grænse: {limit})"
    return text


def _check_kle(cfg: OrgConfig, path: str) -> None:
    j = cfg.journalisering
    if j.emnenummer and j.klassifikationssystem.upper() == "KLE" and not KLE_RE.match(j.emnenummer):
        raise ConfigError(
            "KLE-emnenummeret skal have formen HH.GG.EE, fx 85.15.00 (eller sæt klassifikationssystem til "
            "jeres egen journalplan)",
            path=path,
            entry="journalisering.emnenummer",
        )


def _resolve_paths(cfg: OrgConfig, base: Path) -> OrgConfig:
    out = cfg.output
    mappe = out.mappe if out.mappe.is_absolute() else base / out.mappe
    skabelon = out.skabelon
    if skabelon is not None and not skabelon.is_absolute():
        skabelon = base / skabelon
    return cfg.model_copy(update={"output": out.model_copy(update={"mappe": mappe, "skabelon": skabelon})})


def parse_config(data: dict[str, Any], path: Path) -> OrgConfig:
    """Validate already parsed TOML data; errors name the file and the key."""
    try:
        cfg = OrgConfig.model_validate(data)
    except ValidationError as exc:
        errors = exc.errors()
        lines = []
        for err in errors:
            key = ".".join(str(p) for p in err.get("loc", ())) or "(rod)"
            lines.append(f"{path}, nøgle '{key}': {_danish(dict(err))}")
        raise ConfigError("konfigurationen er ugyldig:\n  " + "\n  ".join(lines)) from exc
    _check_kle(cfg, str(path))
    if cfg.output.skabelon is not None:
        resolved = _resolve_paths(cfg, path.parent)
        if resolved.output.skabelon and not resolved.output.skabelon.is_file():
            raise ConfigError(
                f"skabelonen {resolved.output.skabelon} findes ikke",
                path=str(path),
                entry="output.skabelon",
            )
    return _resolve_paths(cfg, path.parent).model_copy(update={"source": path})


def read_config(path: Path) -> OrgConfig:
    """Read and validate one configuration file."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError("konfigurationsfilen findes ikke", path=str(path))
    try:
        raw = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError("filen er ikke gemt som UTF-8", path=str(path)) from exc
    except OSError as exc:
        raise ConfigError(f"filen kan ikke læses ({exc.strerror})", path=str(path)) from exc
    try:
        data = tomllib.loads(raw)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"filen er ikke gyldig TOML: {syntax_error_da(exc)}", path=str(path)) from exc
    return parse_config(data, path)


def discover_config(explicit: Path | None = None, cwd: Path | None = None) -> Path | None:
    """The configuration file to use: explicit, else ./aivurdering.toml, else None (defaults)."""
    if explicit is not None:
        return Path(explicit)
    candidate = (cwd or Path.cwd()) / CONFIG_FILE_NAME
    return candidate if candidate.is_file() else None


def load_config(explicit: Path | None = None, cwd: Path | None = None) -> OrgConfig:
    """Discover and read the configuration; the defaults when there is no file."""
    found = discover_config(explicit, cwd)
    if found is None:
        return OrgConfig()
    return read_config(found)
