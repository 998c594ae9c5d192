"""aivurdering: assess an AI system for a Danish public authority.

The package is laid out by stage; each stage is a module with typed hand-offs:

intake template (``workbook``) -> read (``intake``) -> validate (``validate``) ->
evaluate (``evaluate``) -> render (``render``) -> journal (``journal``).

The command line (``cli``) is a thin shell over these stages.
"""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__"]
