"""Danish display labels for the codes in :mod:`pipeline.models` (one place for every output)."""

from __future__ import annotations

STATUS_LABELS = {
    "opfyldt": "Opfyldt",
    "delvist_opfyldt": "Delvist opfyldt",
    "ikke_opfyldt": "Ikke opfyldt",
    "ikke_relevant": "Ikke relevant",
    "kraever_afklaring": "Kræver afklaring",
}
LEVEL_LABELS = {"lav": "Lav", "middel": "Middel", "hoej": "Høj", "kritisk": "Kritisk"}

__all__ = ["LEVEL_LABELS", "STATUS_LABELS"]
