"""Benchmark suites: the packaged YAML files, and (in :mod:`.suite`) the code that reads them.

The schema is documented in :mod:`idvid.eval.bench`. Packaged suites sit next to this file
(``default.yaml``, ``smoke.yaml``) with the photos they use in ``faces/`` (copies of the
repository's ``assets/`` photos, so the suites also work from an installed wheel).

    from idvid.eval.suites import load_suite
    suite = load_suite("smoke")            # a packaged name or a path to a YAML file
    for item in suite.items(): ...         # face x prompt x seed, in that nesting order
"""

from idvid.eval.suites.suite import (
    SUITES_DIR,
    Suite,
    SuiteError,
    SuiteFace,
    SuiteItem,
    SuitePrompt,
    load_suite,
    packaged_suites,
    suite_path,
)

__all__ = ["SUITES_DIR", "Suite", "SuiteError", "SuiteFace", "SuiteItem", "SuitePrompt", "load_suite",
           "packaged_suites", "suite_path"]
