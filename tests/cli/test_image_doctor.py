"""`capstone image map|list|unmap` and `capstone doctor`: --json shapes and exit codes."""

from __future__ import annotations

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
    monkeypatch.delenv("CAPSTONE_PFS_MODE")
    assert run_cli("doctor", "--json").json()["pfs"]["mode"] in ("literal", "rewrite")
    assert run_cli("status", "--json").json()["pfs"]["mode"] in ("literal", "rewrite")
