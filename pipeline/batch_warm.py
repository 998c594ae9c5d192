"""Imported once by the batch's fork server (``multiprocessing`` preload): warm the default caches there.

Every worker process is forked from the fork server, so it starts with the stage modules imported, both
catalogues loaded and the bundled Word template prepared (copy-on-write memory, no start-up work per
worker). Organisation criteria or templates given as options are loaded by each worker's initializer.
Importing this module anywhere else is harmless but pointless. It never raises: a broken catalogue is
reported per file by the workers, with the usual Danish message.
"""

from __future__ import annotations

import contextlib
import gc

with contextlib.suppress(Exception):
    import pipeline.batch
    import pipeline.config
    import pipeline.evaluate
    import pipeline.journal
    import pipeline.run
    import pipeline.validate  # noqa: F401
with contextlib.suppress(Exception):
    from pipeline.questions import load_questions

    load_questions()
with contextlib.suppress(Exception):
    from pipeline.criteria import load_criteria

    load_criteria(()).ref_sets  # noqa: B018 - computed once here, shared by every worker
with contextlib.suppress(Exception):
    from pipeline.render import prepare_template

    prepare_template(None)

# Everything loaded so far lives as long as the process. Freezing it takes it out of the garbage collector's
# view: collections during a report then walk only that report's objects, and the forked workers do not
# write to (and so copy) the shared pages — the use the Python documentation gives for gc.freeze().
gc.freeze()
