"""The rewrite-mode `/pfs` shim (#14): which paths it maps, and that a real Python process
started with it on PYTHONPATH finds `/pfs/...` files under its scratch root through each file
system entry point the shim documents."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path, PurePosixPath

import pytest

from capstone_cli.engine.worker.pfsshim.sitecustomize import ROOT_ENV, SHIM_DIR, map_path

ROOT = "/tmp/scratch/slot0"


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/pfs", ROOT),
        ("/pfs/", ROOT + "/"),
        ("/pfs/stores/1.txt", ROOT + "/stores/1.txt"),
        ("/pfs/out", ROOT + "/out"),
        (b"/pfs", ROOT.encode()),
        (b"/pfs/in/a", ROOT.encode() + b"/in/a"),
        (PurePosixPath("/pfs/in/a"), ROOT + "/in/a"),
        (Path("/pfs"), ROOT),
        # not a /pfs path: returned as it came, the same object
        ("/pfsx/a", "/pfsx/a"),
        ("/pfs.txt", "/pfs.txt"),
        ("pfs/in", "pfs/in"),
        ("./pfs/in", "./pfs/in"),
        ("/tmp/pfs/in", "/tmp/pfs/in"),
        ("//pfs/in", "//pfs/in"),
        (b"/pfsx", b"/pfsx"),
        ("", ""),
        (3, 3),  # a file descriptor
        (None, None),
    ],
)
def test_map_path(path: object, expected: object) -> None:
    assert map_path(path, ROOT) == expected


def test_an_unmapped_path_like_object_is_passed_through_unchanged() -> None:
    path = Path("/data/x")
    assert map_path(path, ROOT) is path


def _python(code: str, root: Path, extra_path: str = "") -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    env[ROOT_ENV] = str(root)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(SHIM_DIR), extra_path) if p)
    return subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=False
    )


@pytest.fixture
def root(tmp_path: Path) -> Path:
    """A scratch root laid out like a datum's `/pfs`."""
    root = tmp_path / "root"
    (root / "stores").mkdir(parents=True)
    (root / "stores" / "1.txt").write_text("store one\n")
    (root / "stores" / "2.txt").write_text("store two\n")
    (root / "out").mkdir()
    return root


@pytest.mark.parametrize(
    ("code", "printed"),
    [
        ("print(open('/pfs/stores/1.txt').read(), end='')", "store one\n"),
        ("import io; print(io.open(b'/pfs/stores/2.txt').read(), end='')", "store two\n"),
        (
            "import os; fd = os.open('/pfs/stores/1.txt', os.O_RDONLY); print(os.read(fd, 5))",
            "b'store'\n",
        ),
        ("import os; print(os.stat('/pfs/stores/1.txt').st_size)", "10\n"),
        ("import os; print(os.lstat('/pfs').st_mode > 0)", "True\n"),
        ("import os; print(sorted(os.listdir('/pfs')))", "['out', 'stores']\n"),
        (
            "import os; print(sorted(e.name for e in os.scandir('/pfs/stores')))",
            "['1.txt', '2.txt']\n",
        ),
        ("import os; print([d for d, _, f in os.walk('/pfs') if f])", "['/pfs/stores']\n"),
        (
            "import os.path as p; print(p.exists('/pfs/stores/1.txt'), p.isdir('/pfs/out'),"
            " p.isfile('/pfs/stores/2.txt'), p.getsize('/pfs/stores/1.txt'), p.exists('/pfs/no'))",
            "True True True 10 False\n",
        ),
        (
            "import glob; print(sorted(glob.glob('/pfs/stores/*.txt')))",
            "['/pfs/stores/1.txt', '/pfs/stores/2.txt']\n",
        ),
        (
            "import pathlib; p = pathlib.Path('/pfs/stores'); "
            "print(sorted(c.name for c in p.iterdir()), (p / '1.txt').read_text(), end='')",
            "['1.txt', '2.txt'] store one\n",
        ),
        (
            "import pathlib; print(sorted(str(c) for c in pathlib.Path('/pfs').glob('*/2.txt')))",
            "['/pfs/stores/2.txt']\n",
        ),
        (
            "import os, shutil; os.makedirs('/pfs/out/a/b'); "
            "shutil.copy('/pfs/stores/1.txt', '/pfs/out/a/b/c.txt'); "
            "shutil.copytree('/pfs/stores', '/pfs/out/tree'); "
            "print(open('/pfs/out/a/b/c.txt').read() + open('/pfs/out/tree/2.txt').read(), end='')",
            "store one\nstore two\n",
        ),
        (
            "import os; open('/pfs/out/x', 'w').write('x');"
            " os.rename('/pfs/out/x', '/pfs/out/y'); os.replace('/pfs/out/y', '/pfs/out/z');"
            " os.symlink('/pfs/stores/1.txt', '/pfs/out/l');"
            " print(open('/pfs/out/l').read(), os.path.islink('/pfs/out/l'), end=' ');"
            " os.remove('/pfs/out/z'); os.unlink('/pfs/out/l'); os.mkdir('/pfs/out/d');"
            " os.rmdir('/pfs/out/d'); print(os.listdir('/pfs/out'))",
            "store one\n True []\n",
        ),
        (
            "import os, shutil; os.makedirs('/pfs/out/m/n');"
            " shutil.move('/pfs/out/m', '/pfs/out/k'); shutil.rmtree('/pfs/out/k');"
            " print(os.listdir('/pfs/out'))",
            "[]\n",
        ),
        ("import os; os.chdir('/pfs/stores'); print(open('2.txt').read(), end='')", "store two\n"),
        ("import os; print(os.path.exists('/pfsx'), os.path.exists('/pfs'))", "False True\n"),
    ],
)
def test_python_code_building_pfs_paths_finds_the_scratch_root(
    root: Path, code: str, printed: str
) -> None:
    done = _python(code, root)
    assert done.returncode == 0, done.stderr
    assert done.stdout == printed


def test_with_the_literal_root_nothing_is_patched(root: Path) -> None:
    done = _python("import builtins; print(hasattr(builtins.open, '__wrapped__'))", Path("/pfs"))
    assert done.stdout == "False\n", done.stderr


def test_an_existing_sitecustomize_still_runs(root: Path, tmp_path: Path) -> None:
    other = tmp_path / "other"
    other.mkdir()
    (other / "sitecustomize.py").write_text("import builtins\nbuiltins.CHAINED = 'yes'\n")
    done = _python(
        "import builtins; print(builtins.CHAINED, open('/pfs/stores/1.txt').read(), end='')",
        root,
        str(other),
    )
    assert done.stdout == "yes store one\n", done.stderr
