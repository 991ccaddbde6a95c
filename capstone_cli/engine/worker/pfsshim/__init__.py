"""The `/pfs` path shim for Python datum processes in rewrite mode (see `sitecustomize`).

This folder holds only the shim, so that it alone can be put on a worker's PYTHONPATH.
"""
