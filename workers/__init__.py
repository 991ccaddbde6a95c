"""Pipeline code that runs inside each datum: the tutorial-201 captioning stages.

Each stage is runnable as `python -m workers.<stage> --out /pfs/out`. Inputs come from the
environment variables Pachyderm sets (one per input name), so the same code runs in a Pachyderm
container and under capstone's embedded engine. TensorFlow is imported only by the stages that
need it, and only inside the worker process.
"""
