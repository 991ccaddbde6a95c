"""The small services: version, transactions, metadata.

Version: pachyderm_sdk and pachctl refuse a server whose major.minor differs from theirs, so the
server reports the 2.12 line it implements. Transactions: requests run as they arrive (the
transaction header is not honoured yet); the transaction records exist so clients that start,
inspect and finish one work. Metadata: repo metadata, kept in memory for the server's life.
"""

from __future__ import annotations

import dataclasses
import threading
import uuid
from collections.abc import Callable
from typing import Any

from pachyderm_sdk.api import metadata, pfs, transaction, version

from capstone_cli.errors import NotFoundError
from capstone_cli.serve.home import Home, repo_of
from capstone_cli.serve.status import UnimplementedError

EMPTY = pfs.betterproto_lib_google_protobuf.Empty
PACHD_VERSION = (2, 12, 2)


class VersionService:
    def get_version(self, _req: Any, _ctx: Any) -> version.Version:
        major, minor, micro = PACHD_VERSION
        return version.Version(major=major, minor=minor, micro=micro, additional="capstone")


class TransactionService:
    def __init__(self, dispatch: Callable[[str, Any], Any]) -> None:
        self.dispatch = dispatch  # (field name, request) -> runs it on the right service
        self.lock = threading.Lock()
        self.open: dict[str, transaction.TransactionInfo] = {}

    def _get(self, txn: transaction.Transaction) -> transaction.TransactionInfo:
        info = self.open.get(txn.id)
        if info is None:
            raise NotFoundError(f"transaction {txn.id} not found")
        return info

    def start_transaction(self, _req: Any, _ctx: Any) -> transaction.Transaction:
        txn = transaction.Transaction(id=uuid.uuid4().hex)
        with self.lock:
            self.open[txn.id] = transaction.TransactionInfo(transaction=txn)
        return txn

    def inspect_transaction(self, req: Any, _ctx: Any) -> transaction.TransactionInfo:
        return self._get(req.transaction)

    def list_transaction(self, _req: Any, _ctx: Any) -> transaction.TransactionInfos:
        return transaction.TransactionInfos(transaction_info=list(self.open.values()))

    def delete_transaction(self, req: Any, _ctx: Any) -> Any:
        self._get(req.transaction)
        with self.lock:
            self.open.pop(req.transaction.id, None)
        return EMPTY()

    def finish_transaction(self, req: Any, _ctx: Any) -> transaction.TransactionInfo:
        info = self._get(req.transaction)
        with self.lock:
            self.open.pop(req.transaction.id, None)
        return info

    def batch_transaction(self, req: Any, ctx: Any) -> transaction.TransactionInfo:
        txn = transaction.Transaction(id=uuid.uuid4().hex)
        responses = []
        for r in req.requests:
            for f in dataclasses.fields(r):
                value = getattr(r, f.name)
                if transaction.betterproto.serialized_on_wire(value):
                    self.dispatch(f.name, value)
            responses.append(transaction.TransactionResponse())
        return transaction.TransactionInfo(
            transaction=txn, requests=list(req.requests), responses=responses
        )


class MetadataService:
    def __init__(self, home: Home) -> None:
        self.home = home

    def edit_metadata(self, req: metadata.EditMetadataRequest, _ctx: Any) -> Any:
        store = self.home.store
        for edit in req.edits:
            target, picker = metadata.betterproto.which_one_of(edit, "target")
            if target != "repo":
                raise UnimplementedError(f"metadata of a {target} is not served (repos only)")
            name = repo_of(picker.name)
            store.get_repo(name)
            md = self.home.metadata.setdefault(("repo", name), {})
            op, value = metadata.betterproto.which_one_of(edit, "op")
            if op in ("add_key", "edit_key"):
                md[value.key] = value.value
            elif op == "delete_key":
                md.pop(value.key, None)
            elif op == "replace":
                md.clear()
                md.update(value.replacement)
        return metadata.EditMetadataResponse()
