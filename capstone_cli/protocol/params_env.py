"""How a stage's parameters reach its worker: one JSON object in one environment variable.

The rendered spec sets it in `transform.env` (`capstone_cli.specs.stages`), and the worker reads
it (`workers.runtime`), so a change of parameters is a change of the spec, and Pachyderm (or the
embedded engine) reprocesses exactly the stages whose parameters changed.
"""

from __future__ import annotations

PARAMS_ENV = "CAPSTONE_PARAMS"
