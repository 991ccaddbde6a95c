"""`/pfs` paths built by Python code, mapped to the datum's scratch root in rewrite mode.

Why: without a private mount namespace (`pfsmount`), `/pfs` is only rewritten where the spec
names it (cmd, stdin, working_dir). Pachyderm's own examples build paths in Python
(`os.path.join("/pfs/stores", ...)`), which would then miss. In rewrite mode the runner puts
this folder first on the datum process's PYTHONPATH, so Python imports this module at start-up
as `sitecustomize`; when `CAPSTONE_PFS_ROOT` names a root other than `/pfs`, it wraps the
file-system entry points Python code reaches (builtins/io `open`, the `os` functions below; and
through them `os.path.exists/isdir/isfile/...`, `os.walk`, `os.makedirs`, `glob`, `shutil` and
`pathlib`) so that a path that is exactly `/pfs` or starts with `/pfs/` (str, bytes or
os.PathLike) is opened under the root instead. Any other sitecustomize on the path still runs.

Limits (literal mode has none of them): non-Python programs that build `/pfs` paths; C
extensions that open paths themselves (e.g. `cv2.imread`, `PIL` is fine: it calls `open`);
`subprocess` arguments and `cwd` built at run time; `python -S`/`-I`. Results that name real
paths (`os.getcwd()` after `os.chdir("/pfs/x")`, `os.path.realpath`, exception messages) show
the scratch root.

Importing this module under its package name patches nothing: the runner only reads its
constants and the tests call `map_path`.
"""

from __future__ import annotations

import builtins
import functools
import io
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT_ENV = "CAPSTONE_PFS_ROOT"  # the datum's `/pfs`: "/pfs" itself when literal
SHIM_DIR = Path(__file__).resolve().parent  # what goes on PYTHONPATH
PFS = "/pfs"
_PATH_KEYWORDS = ("file", "path", "src", "dst")

# os functions and how many leading positional arguments are paths
_OS_FUNCTIONS = {
    "open": 1,
    "stat": 1,
    "lstat": 1,
    "access": 1,
    "listdir": 1,
    "scandir": 1,
    "mkdir": 1,
    "rmdir": 1,
    "remove": 1,
    "unlink": 1,
    "chdir": 1,
    "chmod": 1,
    "utime": 1,
    "readlink": 1,
    "truncate": 1,
    "chown": 1,
    "lchown": 1,
    "listxattr": 1,  # shutil.copystat
    "getxattr": 1,
    "setxattr": 1,
    "removexattr": 1,
    "rename": 2,
    "replace": 2,
    "symlink": 2,
    "link": 2,
}


def map_path(path: Any, root: str) -> Any:
    """`path` with a leading `/pfs` component replaced by `root`; anything else unchanged
    (relative paths, `/pfsx`, file descriptors, None)."""
    text = os.fspath(path) if isinstance(path, os.PathLike) else path
    if isinstance(text, str):
        if text == PFS or text.startswith(PFS + "/"):
            return root + text[len(PFS) :]
    elif isinstance(text, bytes):
        pfs = os.fsencode(PFS)
        if text == pfs or text.startswith(pfs + b"/"):
            return os.fsencode(root) + text[len(pfs) :]
    return path


def _wrap(fn: Callable[..., Any], count: int, root: str) -> Callable[..., Any]:
    @functools.wraps(fn)
    def mapped(*args: Any, **kwargs: Any) -> Any:
        if count:
            args = tuple(map_path(a, root) for a in args[:count]) + args[count:]
        for key in _PATH_KEYWORDS:
            if key in kwargs:
                kwargs[key] = map_path(kwargs[key], root)
        return fn(*args, **kwargs)

    return mapped


def install(root: str) -> None:
    """Route `/pfs` paths to `root` in this interpreter (idempotent)."""
    if getattr(builtins.open, "__wrapped__", None) is not None:
        return
    opener = _wrap(builtins.open, 1, root)
    setattr(builtins, "open", opener)  # noqa: B010 (plain assignment does not type-check)
    setattr(io, "open", opener)  # noqa: B010
    for name, count in _OS_FUNCTIONS.items():
        fn = getattr(os, name, None)
        if fn is not None:
            setattr(os, name, _wrap(fn, count, root))


def _chain() -> None:
    """Run the sitecustomize this module hides (the next one on sys.path), if any."""
    from importlib.machinery import PathFinder
    from importlib.util import module_from_spec

    here = str(SHIM_DIR)
    rest = [p for p in sys.path if os.path.abspath(p or ".") != here]
    spec = PathFinder.find_spec("sitecustomize", rest)
    if spec is not None and spec.loader is not None:
        spec.loader.exec_module(module_from_spec(spec))


if __name__ == "sitecustomize":
    _root = os.environ.get(ROOT_ENV, "")
    if _root and _root != PFS:
        install(_root)
    _chain()
