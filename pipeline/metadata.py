"""Journal metadata mapped to the OIO Sag/Dokument models (Model for Sag/Dokument v2.0).

One model, :class:`JournalMetadata`, serialised twice: ``<name>.metadata.json`` (pydantic) and
``<name>.metadata.xml`` (lxml; schema ``pipeline/data/schemas/journal-metadata.xsd``). The same values
fill the Word document's core properties (``docProps/core.xml``), see :func:`core_properties`.
Field-by-field mapping: ``docs/journaling.md``.

Sources: the intake's "1 Sag" answers first, then the organisation configuration (``aivurdering.toml``),
then the assessment. KLE data is never bundled: only the formats are checked (by the intake).
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from pathlib import Path
from typing import Any, Literal

from lxml import etree
from pydantic import BaseModel, ConfigDict, Field, model_validator

from pipeline import __version__
from pipeline.models import Assessment

__all__ = [
    "NS",
    "SCHEMA_VERSION",
    "CoreProperties",
    "FileEntry",
    "JournalMetadata",
    "build_metadata",
    "core_properties",
    "metadata_from_xml",
    "schema_path",
    "to_json",
    "to_valid_xml",
    "to_xml",
    "validate_xml",
    "xml_safe",
]

NS = "urn:aivurdering:journalmetadata:1"
SCHEMA_VERSION = "1.0"

Fremdrift = Literal["Underudarbejdelse", "Endeligt"]
Foelsomhed = Literal["IkkeFortrolige", "Fortrolige", "SaerligFoelsomme"]

# intake code -> (OIO/KMD-style following-class code, Danish marking)
_CONFIDENTIALITY: dict[str, tuple[Foelsomhed, str]] = {
    "ikke_fortroligt": ("IkkeFortrolige", "Ikke fortroligt"),
    "fortroligt": ("Fortrolige", "Fortroligt"),
    "saerligt_foelsomt": ("SaerligFoelsomme", "Særligt følsomt"),
}
_STATUS: dict[str, Fremdrift] = {"kladde": "Underudarbejdelse", "endelig": "Endeligt"}
DPIA_TEXT = {
    "påkrævet": "påkrævet",
    "anbefalet": "anbefalet",
    "ikke_påkrævet": "ikke påkrævet",
    "afklaring": "kræver afklaring",
}
_ROLE_DA = {"udbyder": "udbyder", "idriftsætter": "idriftsætter"}


_XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")


def xml_safe(text: str) -> str:
    """Remove characters XML 1.0 cannot carry (Excel cells sometimes hold them)."""
    return _XML_ILLEGAL.sub("", text)


class _M(BaseModel):
    model_config = ConfigDict(extra="forbid")

    @model_validator(mode="before")
    @classmethod
    def _xml_safe_strings(cls, data: Any) -> Any:
        if isinstance(data, dict):
            return {k: _clean(v) for k, v in data.items()}
        return data


def _clean(value: Any) -> Any:
    if isinstance(value, str):
        return xml_safe(value)
    if isinstance(value, list):
        return [_clean(v) for v in value]
    return value


class Klassifikation(_M):
    """Sag: primærklasse (KLE subject) and handlingsklasse (facet)."""

    system: str = "KLE"
    emnenummer: str | None = None
    handlingsfacet: str | None = None


class Person(_M):
    navn: str
    email: str | None = None


class Myndighed(_M):
    navn: str | None = None
    cvr: str | None = None
    enhed: str | None = None


class Offentlighed(_M):
    """Dokument: offentlighedundtaget (+ hjemmel) and følsomhedsklasse."""

    foelsomhed: Foelsomhed
    markering: str  # "Fortroligt" (the document's marking)
    offentlighedundtaget: bool
    hjemmel: str | None = None


class Version(_M):
    major: int = Field(ge=0)
    minor: int = Field(ge=0)

    @property
    def text(self) -> str:
        return f"{self.major}.{self.minor}"


class FileEntry(_M):
    filnavn: str
    rolle: Literal["hoveddokument", "rendition"]
    format: str  # "docx", "PDF/A-2b"
    mimetype: str
    sha256: str
    stoerrelse: int  # bytes


class Vaerktoej(_M):
    navn: str = "aivurdering"
    version: str
    spoergsmaalskatalog: str
    spoergsmaalskatalog_sha256: str
    kriteriekatalog: str
    kriteriekatalog_sha256: str
    skabelon: str | None = None
    skabelon_sha256: str | None = None
    input_filnavn: str
    input_sha256: str


class Vurdering(_M):
    """The conclusions, also carried as keywords."""

    vurderingsdato: dt.date
    system_navn: str | None = None
    ai_forordningen_klasse: str  # Classification.risk_class
    ai_forordningen_klasse_tekst: str
    hoejrisiko_grundlag: list[str] = Field(default_factory=list)
    roller: list[str] = Field(default_factory=list)
    dpia: str  # DpiaTriage.result
    dpia_tekst: str
    dpia_udfoert: str | None = None
    fria_paakraevet: bool
    samlet_status: str
    naeste_revurdering: dt.date | None = None


class JournalMetadata(_M):
    skemaversion: str = SCHEMA_VERSION
    titel: str
    beskrivelse: str
    sagsnummer: str | None = None
    klassifikation: Klassifikation
    brevdato: dt.date
    dokumenttype: str
    ansvarlig: Person | None = None
    myndighed: Myndighed
    offentlighed: Offentlighed
    version: Version
    fremdrift: Fremdrift
    sprog: Literal["da", "en"] = "da"
    noegleord: list[str] = Field(default_factory=list)
    vurdering: Vurdering
    vaerktoej: Vaerktoej
    filer: list[FileEntry] = Field(default_factory=list)


# ------------------------------------------------------------------------------------------------
# Building
# ------------------------------------------------------------------------------------------------


def _s(value: Any) -> str | None:
    if value is None:
        return None
    text = xml_safe(str(value)).strip()
    return text or None


def parse_version(text: str | None) -> Version:
    """'1.0' -> 1/0; '2' -> 2/0; anything else -> 0.1 (a draft)."""
    match = re.fullmatch(r"\s*(\d{1,3})(?:[.,](\d{1,3}))?\s*", text or "")
    if not match:
        return Version(major=0, minor=1)
    return Version(major=int(match.group(1)), minor=int(match.group(2) or 0))


def _keyword(text: str) -> str:
    # keywords are joined with "; " in core.xml: keep them free of that separator
    return re.sub(r"\s+", " ", text.replace(";", ",")).strip()


def _keywords(meta_fields: dict[str, Any], assessment: Assessment) -> list[str]:
    cls = assessment.classification
    words: list[str] = []
    if meta_fields["sagsnummer"]:
        words.append(f"Sagsnummer {meta_fields['sagsnummer']}")
    k: Klassifikation = meta_fields["klassifikation"]
    if k.emnenummer:
        words.append(f"{k.system} {k.emnenummer}")
    if k.handlingsfacet:
        words.append(f"Handlingsfacet {k.handlingsfacet}")
    words.append(f"AI-forordningen: {cls.risk_class_label}")
    words.extend(f"Højrisikogrundlag: {ref.text}" for ref in cls.high_risk_basis)
    if cls.roles:
        words.append("Rolle: " + " og ".join(_ROLE_DA.get(r, r) for r in cls.roles))
    words.append(f"Konsekvensanalyse (DPIA): {DPIA_TEXT.get(assessment.dpia.result, assessment.dpia.result)}")
    fria = "påkrævet" if assessment.fria.required else "ikke påkrævet"
    words.append(f"Grundrettighedsvurdering (FRIA): {fria}")
    seen: set[str] = set()
    out = []
    for word in (_keyword(w) for w in words):
        if word and word not in seen:
            seen.add(word)
            out.append(word)
    return out


def _facet(value: str | None) -> str | None:
    return value if value and re.fullmatch(r"[A-ZÆØÅ]\d{2}", value) else None


def build_metadata(assessment: Assessment, config: Any = None) -> JournalMetadata:
    """Journal metadata from the assessment (intake answers first) and the organisation configuration."""
    a = assessment.intake.answers
    j = getattr(config, "journalisering", None)
    m = getattr(config, "myndighed", None)
    system_name = _s(a.get("system_name"))
    en = assessment.language == "en"
    name = system_name or ("(unnamed system)" if en else "(unavngivet system)")
    titel = f"Assessment of AI system: {name}" if en else f"Vurdering af AI-system: {name}"
    authority = _s(a.get("authority_name")) or (_s(m.navn) if m else None)
    unit = _s(a.get("unit")) or (_s(m.enhed) if m else None)
    where = ", ".join(p for p in (authority, unit) if p)
    beskrivelse = (
        f"Vurdering af {name} efter AI-forordningen, databeskyttelsesforordningen og dansk forvaltningsret"
        + (f" ({where})" if where else "")
        + "."
    )
    conf_code = _s(a.get("confidentiality")) or (j.offentlighed if j and j.offentlighed else "ikke_fortroligt")
    foelsomhed, markering = _CONFIDENTIALITY.get(conf_code, _CONFIDENTIALITY["ikke_fortroligt"])
    hjemmel = _s(a.get("confidentiality_basis")) or (_s(j.offentlighed_hjemmel) if j else None)
    offentlighed = Offentlighed(
        foelsomhed=foelsomhed,
        markering=markering,
        offentlighedundtaget=foelsomhed != "IkkeFortrolige",
        hjemmel=hjemmel if foelsomhed != "IkkeFortrolige" else None,
    )
    klass = Klassifikation(
        system=(_s(j.klassifikationssystem) if j else None) or "KLE",
        emnenummer=_s(a.get("kle_number")) or (_s(j.emnenummer) if j else None),
        handlingsfacet=_facet(_s(a.get("kle_facet")) or (_s(j.handlingsfacet) if j else None)),
    )
    caseworker = _s(a.get("caseworker")) or (_s(j.sagsbehandler) if j else None)
    ansvarlig = Person(navn=caseworker, email=_s(a.get("caseworker_email"))) if caseworker else None
    brevdato = a.get("document_date")
    if not isinstance(brevdato, dt.date):
        brevdato = assessment.assessment_date
    cvr = _s(a.get("authority_cvr")) or (_s(m.cvr) if m else None)
    cvr = cvr if cvr and re.fullmatch(r"[1-9]\d{7}", cvr) else None  # checked upstream; never break the XSD
    sagsnummer = _s(a.get("case_number"))
    v = assessment.versions
    cls = assessment.classification
    nxt = a.get("next_review_date")
    fields: dict[str, Any] = {
        "titel": titel,
        "beskrivelse": beskrivelse,
        "sagsnummer": sagsnummer,
        "klassifikation": klass,
        "brevdato": brevdato,
        "dokumenttype": (_s(j.dokumenttype) if j else None) or "Internt dokument",
        "ansvarlig": ansvarlig,
        "myndighed": Myndighed(navn=authority, cvr=cvr, enhed=unit),
        "offentlighed": offentlighed,
        "version": parse_version(_s(a.get("document_version"))),
        "fremdrift": _STATUS.get(_s(a.get("document_status")) or "", "Underudarbejdelse"),
        "sprog": assessment.language,
        "vurdering": Vurdering(
            vurderingsdato=assessment.assessment_date,
            system_navn=system_name,
            ai_forordningen_klasse=cls.risk_class,
            ai_forordningen_klasse_tekst=cls.risk_class_label,
            hoejrisiko_grundlag=[ref.text for ref in cls.high_risk_basis],
            roller=list(cls.roles),
            dpia=assessment.dpia.result,
            dpia_tekst=assessment.dpia.result_label,
            dpia_udfoert=assessment.dpia.done,
            fria_paakraevet=assessment.fria.required,
            samlet_status=assessment.overall_status,
            naeste_revurdering=nxt if isinstance(nxt, dt.date) else None,
        ),
        "vaerktoej": Vaerktoej(
            version=v.tool or __version__,
            spoergsmaalskatalog=v.question_catalogue,
            spoergsmaalskatalog_sha256=v.question_catalogue_sha256,
            kriteriekatalog=v.criteria_catalogue,
            kriteriekatalog_sha256=v.criteria_catalogue_sha256,
            skabelon=v.template,
            skabelon_sha256=v.template_sha256,
            input_filnavn=assessment.intake.source.file_name,
            input_sha256=v.input_sha256,
        ),
    }
    fields["noegleord"] = _keywords(fields, assessment)
    return JournalMetadata(**fields)


# ------------------------------------------------------------------------------------------------
# Core properties (docProps/core.xml)
# ------------------------------------------------------------------------------------------------


class CoreProperties(_M):
    title: str
    subject: str
    creator: str
    keywords: str
    description: str
    category: str
    content_status: str
    identifier: str | None = None
    language: str
    version: str
    last_modified_by: str
    created: dt.datetime
    modified: dt.datetime


def core_properties(meta: JournalMetadata) -> CoreProperties:
    """What the Word document's core properties say; the same values as the sidecar files."""
    stamp = dt.datetime.combine(meta.brevdato, dt.time(0, 0), tzinfo=dt.UTC)
    creator = meta.myndighed.navn or "aivurdering"
    return CoreProperties(
        title=meta.titel,
        subject=meta.beskrivelse,
        creator=creator,
        keywords="; ".join(meta.noegleord),
        description=meta.beskrivelse,
        category=meta.dokumenttype,
        content_status=meta.fremdrift,
        identifier=meta.sagsnummer,
        language="en-GB" if meta.sprog == "en" else "da-DK",
        version=meta.version.text,
        last_modified_by=meta.ansvarlig.navn if meta.ansvarlig else creator,
        created=stamp,
        modified=stamp,
    )


# ------------------------------------------------------------------------------------------------
# Serialisation
# ------------------------------------------------------------------------------------------------


def to_json(meta: JournalMetadata) -> str:
    return meta.model_dump_json(indent=2) + "\n"


def _sub(parent: etree._Element, tag: str, value: Any) -> etree._Element | None:
    if value is None:
        return None
    el = etree.SubElement(parent, f"{{{NS}}}{tag}")
    if isinstance(value, bool):
        el.text = "true" if value else "false"
    elif isinstance(value, dt.date):
        el.text = value.isoformat()
    else:
        el.text = str(value)
    return el


def _model(parent: etree._Element, tag: str, model: BaseModel | None) -> None:
    if model is None:
        return
    el = etree.SubElement(parent, f"{{{NS}}}{tag}")
    for key in type(model).model_fields:
        value = getattr(model, key)
        if isinstance(value, list):
            if not value:
                continue
            box = etree.SubElement(el, f"{{{NS}}}{key}")
            for item in value:
                _sub(box, "vaerdi", item)
        else:
            _sub(el, key, value)


def to_xml(meta: JournalMetadata) -> bytes:
    """The XML sidecar (valid against journal-metadata.xsd)."""
    return _serialise(_xml_tree(meta))


def to_valid_xml(meta: JournalMetadata) -> tuple[bytes, list[str]]:
    """``(to_xml(meta), validate_xml(to_xml(meta)))``, without parsing the XML again when it is valid.

    The tree just built is validated instead of its serialisation re-parsed: the round trip changes
    nothing but the whitespace-only text that pretty printing puts between elements, which the schema
    ignores (element-only content; no mixed content, no whitespace-sensitive element text is touched).
    Only a tree that fails is checked the old way, so the problems (with line numbers) read as before.
    """
    root = _xml_tree(meta)
    xml = _serialise(root)
    if _schema().validate(root):
        return xml, []
    return xml, validate_xml(xml)


def _serialise(root: etree._Element) -> bytes:
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)


def _xml_tree(meta: JournalMetadata) -> etree._Element:
    root = etree.Element(f"{{{NS}}}journalmetadata", nsmap={None: NS})
    root.set("skemaversion", meta.skemaversion)
    _sub(root, "titel", meta.titel)
    _sub(root, "beskrivelse", meta.beskrivelse)
    _sub(root, "sagsnummer", meta.sagsnummer)
    _model(root, "klassifikation", meta.klassifikation)
    _sub(root, "brevdato", meta.brevdato)
    _sub(root, "dokumenttype", meta.dokumenttype)
    _model(root, "ansvarlig", meta.ansvarlig)
    _model(root, "myndighed", meta.myndighed)
    _model(root, "offentlighed", meta.offentlighed)
    _model(root, "version", meta.version)
    _sub(root, "fremdrift", meta.fremdrift)
    _sub(root, "sprog", meta.sprog)
    words = etree.SubElement(root, f"{{{NS}}}noegleord")
    for word in meta.noegleord:
        _sub(words, "ord", word)
    _model(root, "vurdering", meta.vurdering)
    _model(root, "vaerktoej", meta.vaerktoej)
    files = etree.SubElement(root, f"{{{NS}}}filer")
    for entry in meta.filer:
        _model(files, "fil", entry)
    return root


def _read(el: etree._Element, model: type[BaseModel]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for child in el:
        key = etree.QName(child).localname
        field = model.model_fields.get(key)
        if field is None:
            continue
        if len(child):
            out[key] = [c.text or "" for c in child]
        else:
            out[key] = child.text or ""
    return out


def metadata_from_xml(data: bytes) -> JournalMetadata:
    """Read an XML sidecar back (for round-trip checks and re-import)."""
    root = etree.fromstring(data, parser=etree.XMLParser(resolve_entities=False, no_network=True))
    q = f"{{{NS}}}"
    fields: dict[str, Any] = {"skemaversion": root.get("skemaversion")}
    nested: dict[str, type[BaseModel]] = {
        "klassifikation": Klassifikation,
        "ansvarlig": Person,
        "myndighed": Myndighed,
        "offentlighed": Offentlighed,
        "version": Version,
        "vurdering": Vurdering,
        "vaerktoej": Vaerktoej,
    }
    for child in root:
        key = etree.QName(child).localname
        if key in nested:
            fields[key] = _read(child, nested[key])
        elif key == "noegleord":
            fields[key] = [c.text or "" for c in child.iter(f"{q}ord")]
        elif key == "filer":
            fields[key] = [_read(c, FileEntry) for c in child.iter(f"{q}fil")]
        else:
            fields[key] = child.text
    return JournalMetadata.model_validate(fields)


def schema_path() -> Path:
    return Path(__file__).parent / "data" / "schemas" / "journal-metadata.xsd"


@functools.lru_cache(maxsize=1)
def _schema() -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(str(schema_path())))


def validate_xml(data: bytes) -> list[str]:
    """Problems found by validating an XML sidecar against journal-metadata.xsd (empty: valid)."""
    schema = _schema()
    doc = etree.fromstring(data, parser=etree.XMLParser(resolve_entities=False, no_network=True))
    if schema.validate(doc):
        return []
    return [f"linje {e.line}: {e.message}" for e in schema.error_log]
