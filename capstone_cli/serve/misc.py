"""The small services: version, transactions, metadata.

Version: pachyderm_sdk and pachctl refuse a server whose major.minor differs from theirs, so the
server reports the 2.12 line it implements, with `additional` saying it is capstone (so the
pachyderm backend, dialling it on loopback, lets a TSV name this machine's images).
Transactions: recorded requests, run at finish (kept in memory: a restarted server forgets open
transactions). Metadata: repo metadata, kept in memory for the server's life.
"""

from __future__ import annotations

import dataclasses
import threading
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from pachyderm_sdk.api import metadata, pfs, transaction, version

from capstone_cli.backends.pachyderm_local import SERVE_MARK
from capstone_cli.errors import NotFoundError
from capstone_cli.serve import registry
from capstone_cli.serve.home import Home, repo_key
from capstone_cli.serve.status import UnimplementedError

EMPTY = pfs.betterproto_lib_google_protobuf.Empty
PACHD_VERSION = (2, 12, 2)
TXN_HEADER = "pach-transaction"  # the metadata key pachyderm_sdk and pachctl send


class VersionService:
    def get_version(self, _req: Any, _ctx: Any) -> version.Version:
        major, minor, micro = PACHD_VERSION
        return version.Version(major=major, minor=minor, micro=micro, additional=SERVE_MARK)


class TransactionService:
    """pachd's transactions: a request sent with the `pach-transaction` header is recorded, not
    run, when it is one a TransactionRequest can hold; FinishTransaction runs the recorded
    requests in order, DeleteTransaction drops them."""

    def __init__(self, dispatch: Callable[[str, Any], Any]) -> None:
        self.dispatch = dispatch  # (field name, request) -> runs it on the right service
        self.lock = threading.Lock()
        self.open: dict[str, transaction.TransactionInfo] = {}
        self.fields = {f.name for f in dataclasses.fields(transaction.TransactionRequest)}

    def deferring(self, fn: Callable[..., Any], method: Any) -> Callable[..., Any]:
        """`fn`, or for a transactional method `fn` that records the request when the call
        carries a transaction ID."""
        field = registry.snake(method.name)
        if field not in self.fields:
            return fn

        def maybe_deferred(request: Any, ctx: Any) -> Any:
            txn = dict(ctx.invocation_metadata()).get(TXN_HEADER) if ctx is not None else None
            if not txn:
                return fn(request, ctx)
            with self.lock:
                info = self._get(transaction.Transaction(id=txn))
                info.requests.append(transaction.TransactionRequest(**{field: request}))
            if field == "start_commit":  # pachd answers with the commit to be
                return pfs.Commit(repo=request.branch.repo, branch=request.branch)
            return method.response()

        return maybe_deferred

    def _get(self, txn: transaction.Transaction) -> transaction.TransactionInfo:
        info = self.open.get(txn.id)
        if info is None:
            raise NotFoundError(f"transaction {txn.id} not found")
        return info

    def start_transaction(self, _req: Any, _ctx: Any) -> transaction.Transaction:
        txn = transaction.Transaction(id=uuid.uuid4().hex)
        with self.lock:
            self.open[txn.id] = transaction.TransactionInfo(
                transaction=txn, started=datetime.now(UTC)
            )
        return txn

    def inspect_transaction(self, req: Any, _ctx: Any) -> transaction.TransactionInfo:
        return self._get(req.transaction)

    def list_transaction(self, _req: Any, _ctx: Any) -> transaction.TransactionInfos:
        return transaction.TransactionInfos(transaction_info=list(self.open.values()))

    def delete_transaction(self, req: Any, _ctx: Any) -> Any:
        with self.lock:
            self._get(req.transaction)
            self.open.pop(req.transaction.id, None)
        return EMPTY()

    def finish_transaction(self, req: Any, _ctx: Any) -> transaction.TransactionInfo:
        with self.lock:
            info = self._get(req.transaction)
            self.open.pop(req.transaction.id, None)
        return self._run(info)

    def batch_transaction(self, req: Any, _ctx: Any) -> transaction.TransactionInfo:
        txn = transaction.Transaction(id=uuid.uuid4().hex)
        info = transaction.TransactionInfo(
            transaction=txn, requests=list(req.requests), started=datetime.now(UTC)
        )
        return self._run(info)

    def _run(self, info: transaction.TransactionInfo) -> transaction.TransactionInfo:
        """Run the requests in order (each its own store transaction: not atomic as pachd's)."""
        for r in info.requests:
            for f in dataclasses.fields(r):
                value = getattr(r, f.name)
                if transaction.betterproto.serialized_on_wire(value):
                    result = self.dispatch(f.name, value)
                    commit = result if isinstance(result, pfs.Commit) else None
                    info.responses.append(transaction.TransactionResponse(commit=commit))
        return info


class MetadataService:
    def __init__(self, home: Home) -> None:
        self.home = home

    def edit_metadata(self, req: metadata.EditMetadataRequest, _ctx: Any) -> Any:
        store = self.home.store
        for edit in req.edits:
            target, picker = metadata.betterproto.which_one_of(edit, "target")
            if target != "repo":
                raise UnimplementedError(f"metadata of a {target} is not served (repos only)")
            name = repo_key(picker.name)
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
