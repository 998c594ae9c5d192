"""Reading workbooks made from an earlier template version.

Every template version this release can read is either the current one
(:data:`pipeline.workbook.TEMPLATE_VERSION`) or has a :class:`Migration` in :data:`MIGRATIONS` that maps
its question ids and option codes to the current catalogue. Anything else is refused with a message
naming both versions, so an old workbook is never read silently with the wrong meaning.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from pipeline.errors import InputFileError
from pipeline.workbook import TEMPLATE_VERSION

__all__ = ["MIGRATIONS", "Migration", "resolve_migration"]


@dataclass(frozen=True)
class Migration:
    """How to read a workbook of template version ``from_version`` with the current catalogue."""

    from_version: str
    renamed_questions: dict[str, str] = field(default_factory=dict)  # old id -> new id
    renamed_options: dict[str, dict[str, str]] = field(default_factory=dict)  # new question id -> old -> new
    dropped_questions: frozenset[str] = frozenset()  # old ids that are ignored without a warning

    def question_id(self, old: str) -> str:
        return self.renamed_questions.get(old, old)

    def option_code(self, question_id: str, old: str) -> str:
        return self.renamed_options.get(question_id, {}).get(old, old)


# Template version -> migration. Add an entry whenever TEMPLATE_VERSION changes and old workbooks can
# still be read with a mapping; leave it out to refuse them.
MIGRATIONS: dict[str, Migration] = {}


def _key(version: str) -> tuple[int, ...]:
    try:
        return tuple(int(p) for p in version.split("."))
    except ValueError:
        return (0,)


def resolve_migration(version: str | None, *, path: str) -> Migration | None:
    """None for the current version, the migration for a known older one; otherwise refuse.

    Raises:
        InputFileError: the version is unknown, newer than this release, or too old to migrate.
    """
    if version == TEMPLATE_VERSION:
        return None
    if version and version in MIGRATIONS:
        return MIGRATIONS[version]
    if not version:
        raise InputFileError(
            "intakearket mangler oplysning om skabelonversion, så det kan ikke læses sikkert.",
            path=path,
            hint="Hent en ny skabelon med 'aivurdering template' og flyt svarene over.",
        )
    if _key(version) > _key(TEMPLATE_VERSION):
        raise InputFileError(
            f"intakearket er lavet med skabelonversion {version}, som er nyere end den, denne version af "
            f"aivurdering kan læse (skabelonversion {TEMPLATE_VERSION}).",
            path=path,
            hint="Opdatér aivurdering til den nyeste version.",
        )
    raise InputFileError(
        f"intakearket er lavet med skabelonversion {version}, men denne version af aivurdering læser "
        f"skabelonversion {TEMPLATE_VERSION}, og der findes ingen automatisk overførsel fra {version}.",
        path=path,
        hint="Hent en ny skabelon med 'aivurdering template' og flyt svarene over "
        "('aivurdering export' og 'aivurdering fill' kan hjælpe).",
    )
