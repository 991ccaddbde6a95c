"""`capstone image map|list|unmap` and `capstone doctor`: --json shapes and exit codes."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from tests.clirunner import RunCli


def test_image_map_list_unmap(run_cli: RunCli, tmp_path: Path) -> None:
    assert run_cli("image", "list", "--json").json() == []
    run_cli("image", "map", "pachyderm/example-group:2.1.0", str(tmp_path))
    run_cli("image", "map", "ubuntu", str(tmp_path))
    assert run_cli("image", "list", "--json").json() == [
        {"image": "pachyderm/example-group", "tag": "2.1.0", "dir": str(tmp_path.resolve())},
        {"image": "ubuntu", "tag": None, "dir": str(tmp_path.resolve())},
    ]
    assert "(any)" in run_cli("image", "list").stdout
    run_cli("image", "unmap", "pachyderm/example-group")
    assert [m["image"] for m in run_cli("image", "list", "--json").json()] == ["ubuntu"]


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (("map", "img", "/no/such/dir"), 4, "directory not found"),
        (("unmap", "img:1"), 4, "is not mapped"),
        (("map", "bad name", "."), 2, "invalid image reference"),
    ],
)
def test_image_bad_input(run_cli: RunCli, args: tuple[str, ...], code: int, message: str) -> None:
    result = run_cli("image", *args, code=code)
    assert message in result.stderr and "hint:" in result.stderr
    assert len([line for line in result.stderr.splitlines() if line.startswith("error:")]) == 1


def test_doctor_and_status_say_the_pfs_mode(
    run_cli: RunCli, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CAPSTONE_PFS_MODE", "rewrite")
    rewrite = {"mode": "rewrite", "reason": "CAPSTONE_PFS_MODE=rewrite"}
    assert run_cli("doctor", "--json").json()["pfs"] == rewrite
    assert run_cli("status", "--json").json()["pfs"] == rewrite
    line = "/pfs: rewritten to a scratch dir (CAPSTONE_PFS_MODE=rewrite)"
    doctor = run_cli("doctor").stdout
    assert line in doctor and "mapped by a shim" in doctor
    assert line in run_cli("status").stdout
    hint = "install proot (Debian/Ubuntu: apt-get install proot) for C programs"
    assert hint in " ".join(doctor.split())  # the terminal's width wraps it
    monkeypatch.delenv("CAPSTONE_PFS_MODE")
    modes = ("literal", "proot", "rewrite")
    assert run_cli("doctor", "--json").json()["pfs"]["mode"] in modes
    assert run_cli("status", "--json").json()["pfs"]["mode"] in modes


def test_doctor_and_status_say_the_proot_mode(
    run_cli: RunCli, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Forced proot: its line names the executable and the reason; without proot on PATH the
    mode is rewrite, saying why and how to install it."""
    monkeypatch.setenv("CAPSTONE_PFS_MODE", "proot")
    proot = shutil.which("proot")
    if proot is None:
        pytest.skip("proot is not installed (.ci/run installs it)")
    proot = os.path.abspath(proot)
    assert run_cli("doctor", "--json").json()["pfs"] == {
        "mode": "proot",
        "reason": "CAPSTONE_PFS_MODE=proot",
    }
    line = f"/pfs: through proot (ptrace path translation, {proot}): CAPSTONE_PFS_MODE=proot"
    doctor = run_cli("doctor").stdout
    assert line in doctor and "goes through ptrace" in doctor
    assert line in run_cli("status").stdout
    monkeypatch.setenv("PATH", str(tmp_path))  # no proot there
    pfs = run_cli("doctor", "--json").json()["pfs"]
    assert pfs["mode"] == "rewrite" and "proot is not installed (not on PATH)" in pfs["reason"]
    assert "apt-get install proot" in run_cli("doctor").stdout
