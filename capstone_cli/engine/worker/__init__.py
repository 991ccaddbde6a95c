"""How one datum's process runs: its `/pfs` (scratch layout, mount namespace or rewriting),
process start and reaping, datum batching over NextDatum, collecting `/pfs/out`.

Scheduling (jobs, pipelines, branches, propagation) lives in `engine.run`, which calls in here.
"""
