"""Directory listings with hashes: the definition of a directory's hash and size.

`dircache` computes the same values incrementally and caches them; this is the reference it is
tested against, and what the runner uses for trees it holds in memory.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator

from capstone_cli.engine.inputs import FileInfo


def walk_tree(files: Iterable[tuple[str, bytes, int]]) -> Iterator[FileInfo]:
    """Turn sorted (path, digest, size) file rows into FileInfos with directories.

    Directories come before their contents (`/a/` < `/a/x`) and carry a hash over their
    children's hashes in path order (names excluded, as in Pachyderm) and the total size. The
    whole listing is materialised once because a directory's hash needs all its children.
    """
    rows = list(files)
    # per directory, its children in path order: (True, dir path) or (False, file digest)
    dir_children: dict[str, list[tuple[bool, bytes | str]]] = {"/": []}
    dir_size: dict[str, int] = {"/": 0}
    order: list[tuple[str, bytes | None, int]] = []
    for path, digest, size in rows:
        parts = path.strip("/").split("/")
        parent = "/"
        for i in range(len(parts) - 1):
            d = "/" + "/".join(parts[: i + 1]) + "/"
            if d not in dir_children:
                dir_children[d] = []
                dir_size[d] = 0
                dir_children[parent].append((True, d))
                order.append((d, None, 0))
            parent = d
        dir_children[parent].append((False, digest))
        order.append((path, digest, size))
        for d in _ancestors_with_slash(path):
            dir_size[d] += size
    dir_hash: dict[str, str] = {}
    for d in sorted(dir_children, key=len, reverse=True):
        h = hashlib.blake2b(digest_size=32)
        for is_dir, key in dir_children[d]:
            h.update(bytes.fromhex(dir_hash[key]) if is_dir else key)  # type: ignore[index,arg-type]
        dir_hash[d] = h.hexdigest()
    out = [FileInfo("/", True, dir_hash["/"], dir_size["/"])]
    for path, file_digest, size in order:
        if file_digest is None:
            out.append(FileInfo(path, True, dir_hash[path], dir_size[path]))
        else:
            out.append(FileInfo(path, False, file_digest.hex(), size))
    out.sort(key=lambda f: f.path)
    yield from out


def _ancestors_with_slash(path: str) -> list[str]:
    parts = path.strip("/").split("/")
    return ["/"] + ["/" + "/".join(parts[:i]) + "/" for i in range(1, len(parts))]
