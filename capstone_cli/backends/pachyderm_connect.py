"""Connect to a Pachyderm 2.x cluster the way pachctl does, and check it answers.

pachctl resolves the server from a `--address`-style override, then `$PACHD_ADDRESS`, then the
active context of its config (`$PACH_CONFIG` or `~/.pachyderm/config.json`, `$PACH_CONTEXT` to pick
another context). pachyderm_sdk only reads the config's active context, so this module does the
resolution itself and hands the SDK a finished address plus the context's token and CAs.

Every client gets deadlines on unary calls (a dead pachd fails a call in seconds instead of hanging
a command), and a GetVersion and a WhoAmI round trip before it is returned, so a wrong address, a
1.x server or a missing login is reported once, up front, with the next command to run. GetVersion
alone cannot tell about the login: pachd serves it to anyone (pachd 2.12
src/internal/middleware/auth/interceptor.go:292).
"""

from __future__ import annotations

import json
import os
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
from pachyderm_sdk import Client
from pachyderm_sdk.config import ConfigFile, Context
from pachyderm_sdk.errors import AuthServiceNotActivated

from capstone_cli.backends.pachyderm_local import serves_this_machine
from capstone_cli.errors import (
    AuthError,
    CapstoneError,
    ConflictError,
    NotFoundError,
    PachydermError,
    UnreachableError,
    UsageError,
)

DEFAULT_ADDRESS = "grpc://localhost:30650"  # what `pachctl port-forward` exposes
CONNECT_TIMEOUT_S = 5.0
RPC_TIMEOUT_S = 30.0
SUPPORTED_MAJOR = 2
MIN_MINOR = 8  # CreatePipelineV2 and effective specs arrived in 2.8

UNREACHABLE_CODES = ("UNAVAILABLE", "DEADLINE_EXCEEDED")
AUTH_CODES = ("UNAUTHENTICATED", "PERMISSION_DENIED")
_EXPIRED_TOKEN = "token expiration is in the past"  # INTERNAL, pachd 2.12 src/auth/auth.go:148


@dataclass(frozen=True)
class Target:
    """Where to connect and with what credentials, and where that choice came from."""

    address: str
    source: str  # "flag" | "PACHD_ADDRESS" | "config:<context>" | "default"
    project: str
    session_token: str | None = None
    root_certs: bytes | None = None
    transaction_id: str | None = None

    @property
    def shown(self) -> str:
        """The address as messages show it: credentials in it are redacted."""
        return redact(self.address)

    def scrub(self, text: str) -> str:
        """`text` (an SDK or gRPC message) with the raw address and its secrets redacted."""
        text = text.replace(self.address, self.shown)
        for secret in _secrets(self.address):
            text = text.replace(secret, "***")
        return text


_USERINFO = re.compile(r"^(?P<scheme>[a-zA-Z][a-zA-Z0-9+.-]*://)?(?P<user>[^/@]*)@")


def redact(address: str) -> str:
    """`grpc://user:token@host:30650?x=y` -> `grpc://***@host:30650?***`."""
    shown = _USERINFO.sub(lambda m: f"{m.group('scheme') or ''}***@", address, count=1)
    head, sep, _query = shown.partition("?")
    return head + ("?***" if sep else "")


def _secrets(address: str) -> list[str]:
    found = _USERINFO.match(address)
    secrets = [p for p in found.group("user").split(":") if len(p) >= 3] if found else []
    query = address.partition("?")[2]
    return secrets + ([query] if query else [])


class DeadlineInterceptor(
    grpc.UnaryUnaryClientInterceptor,  # type: ignore[misc]
    grpc.UnaryStreamClientInterceptor,  # type: ignore[misc]
    grpc.StreamUnaryClientInterceptor,  # type: ignore[misc]
):
    """Gives calls that carry no deadline a default one.

    pachyderm_sdk's stubs take no `timeout`, so this is the only way to bound a call. Unary
    calls always get `unary_s`; streaming calls get `stream_s`, which is None (no deadline) by
    default because uploads, downloads and `logs --follow` may legitimately run for hours, and is
    set for a short scope with `stream_deadline()` where a stream is a quick poll.
    """

    def __init__(self, unary_s: float | None = RPC_TIMEOUT_S) -> None:
        self.unary_s = unary_s
        self._local = threading.local()

    @property
    def stream_s(self) -> float | None:
        value: float | None = getattr(self._local, "stream_s", None)
        return value

    @contextmanager
    def stream_deadline(self, seconds: float | None) -> Iterator[None]:
        """Bound streaming calls started by this thread inside the block."""
        previous = self.stream_s
        self._local.stream_s = seconds
        try:
            yield
        finally:
            self._local.stream_s = previous

    @contextmanager
    def unary_deadline(self, seconds: float | None) -> Iterator[None]:
        """Give unary calls started by this thread inside the block `seconds` instead, for a
        call that legitimately blocks long (waiting for pachd to finish a commit)."""
        previous = getattr(self._local, "unary_s", None)
        self._local.unary_s = (seconds,)  # a tuple, so None can mean "no deadline"
        try:
            yield
        finally:
            self._local.unary_s = previous

    def _with_timeout(self, details: Any, seconds: float | None) -> Any:
        if details.timeout is not None or seconds is None:
            return details
        return details._replace(timeout=seconds)

    def intercept_unary_unary(self, continuation: Any, details: Any, request: Any) -> Any:
        override: tuple[float | None] | None = getattr(self._local, "unary_s", None)
        seconds = override[0] if override is not None else self.unary_s
        return continuation(self._with_timeout(details, seconds), request)

    def intercept_unary_stream(self, continuation: Any, details: Any, request: Any) -> Any:
        return continuation(self._with_timeout(details, self.stream_s), request)

    def intercept_stream_unary(self, continuation: Any, details: Any, request_iter: Any) -> Any:
        return continuation(self._with_timeout(details, self.stream_s), request_iter)


class DeadlineClient(Client):  # type: ignore[misc]
    """A pachyderm_sdk Client whose channel applies `DeadlineInterceptor`.

    `Client._init_api` is the one place every stub is built from `self._channel` (also after the
    SDK rebuilds the channel for a new token), so wrapping the channel there covers every call.
    """

    def __init__(self, *args: Any, unary_timeout_s: float | None = RPC_TIMEOUT_S, **kw: Any):
        self.deadlines = DeadlineInterceptor(unary_timeout_s)
        super().__init__(*args, **kw)

    def _init_api(self) -> None:
        self._channel = grpc.intercept_channel(self._channel, self.deadlines)  # type: ignore[has-type]
        super()._init_api()


def config_path() -> Path:
    """pachctl's config file: `$PACH_CONFIG`, else `~/.pachyderm/config.json`."""
    env = os.environ.get("PACH_CONFIG")
    return Path(env).expanduser() if env else Path.home() / ".pachyderm" / "config.json"


def _load_context() -> tuple[str, Context] | None:
    """The context pachctl would use, or None when there is no config file."""
    path = config_path()
    if not path.is_file():
        return None
    try:
        config = ConfigFile(json.loads(path.read_text(encoding="utf-8")))
        wanted = os.environ.get("PACH_CONTEXT")
        if wanted:
            config.set_active_context(wanted)
        name = str(config._config_file_data["v2"]["active_context"])
        return name, config.active_context
    except (OSError, ValueError, TypeError, KeyError) as exc:
        raise UsageError(
            f"cannot use pachctl config {path}: {exc}",
            hint="check it with `pachctl config list context`, or set PACHD_ADDRESS",
        ) from exc
    except Exception as exc:  # the SDK's ConfigError has no common base with ours
        raise UsageError(
            f"cannot use pachctl config {path}: {exc}",
            hint="pick a context with `pachctl config set active-context NAME` or PACH_CONTEXT",
        ) from exc


def resolve_target(address: str | None = None, project: str | None = None) -> Target:
    """Decide address, credentials and project without touching the network.

    The context's CA certificates go only with the context's own address: like pachctl, an
    address from PACHD_ADDRESS (or the flag), typically a plaintext `pachctl port-forward`, is
    dialled without them (pachd 2.12 src/internal/client/client.go:429-445), or the TLS
    handshake with a plaintext port would fail. The session token still applies (:624-626).
    """
    loaded = _load_context()
    context = loaded[1] if loaded else None
    env_address = os.environ.get("PACHD_ADDRESS")
    if address:
        chosen, source = address, "flag"
    elif env_address:
        chosen, source = env_address, "PACHD_ADDRESS"
    elif loaded and context is not None:
        chosen, source = context.active_pachd_address, f"config:{loaded[0]}"
    else:
        chosen, source = DEFAULT_ADDRESS, "default"
    return Target(
        address=chosen,
        source=source,
        project=project or (context.project if context and context.project else "default"),
        session_token=context.session_token if context else None,
        root_certs=context.server_cas_decoded if context and source.startswith("config") else None,
        transaction_id=context.active_transaction if context else None,
    )


def make_client(target: Target, unary_timeout_s: float | None = RPC_TIMEOUT_S) -> DeadlineClient:
    """Build (lazily; nothing connects yet) a client for `target`."""
    address = target.address if "://" in target.address else f"grpc://{target.address}"
    try:
        client: DeadlineClient = DeadlineClient.from_pachd_address(
            address,
            auth_token=target.session_token,
            root_certs=target.root_certs,
            transaction_id=target.transaction_id,
        )
    except ValueError as exc:
        raise UsageError(
            f"invalid pachd address {target.shown!r}: {target.scrub(str(exc))}",
            hint="use host:port or grpc://host:port (grpcs:// for TLS)",
        ) from exc
    client.deadlines.unary_s = unary_timeout_s
    return client


RPC_FAILURES: tuple[type[BaseException], ...] = (grpc.RpcError, ConnectionError)
"""What a failed call raises: grpc errors, and the ConnectionError (with the grpc error as its
cause) that pachyderm_sdk's interceptor substitutes for UNAVAILABLE and auth-not-activated."""


def rpc_status(exc: BaseException) -> tuple[str, str]:
    """(status code name, server message) of a failed call.

    pachyderm_sdk turns pachd's "the auth service is not activated" (code UNIMPLEMENTED, pachd
    2.12 src/auth/auth.go:126) into AuthServiceNotActivated, a ConnectionError with no cause;
    it is told apart from a real connection failure here.
    """
    if isinstance(exc, AuthServiceNotActivated):
        return "UNIMPLEMENTED", str(exc).strip()
    if isinstance(exc, ConnectionError) and not callable(getattr(exc, "code", None)):
        cause = exc.__cause__
        if cause is not None and callable(getattr(cause, "code", None)):
            return rpc_status(cause)
        return "UNAVAILABLE", str(exc).strip()
    code = getattr(exc, "code", None)
    details = getattr(exc, "details", None)
    name = "UNKNOWN"
    if callable(code):
        status = code()
        name = getattr(status, "name", str(status))
    message = details() if callable(details) else None
    return name, str(message or exc)


def rpc_error(exc: BaseException, what: str, not_found_hint: str | None = None) -> CapstoneError:
    """The capstone error for a failed pachd call made while doing `what`."""
    code, message = rpc_status(exc)
    lowered = message.lower()
    text = f"{what}: {message}"
    if code == "NOT_FOUND" or (code == "UNKNOWN" and "not found" in lowered):
        return NotFoundError(text, hint=not_found_hint)
    if code == "ALREADY_EXISTS" or (code == "UNKNOWN" and "already exists" in lowered):
        return ConflictError(text, hint="inspect what exists with `capstone status`")
    if code in UNREACHABLE_CODES:
        return UnreachableError(
            f"{what}: pachd is unreachable: {message}",
            hint="check `pachctl port-forward` and PACHD_ADDRESS, then run the command again",
        )
    if code in AUTH_CODES:
        return AuthError(
            f"{what}: {code.lower().replace('_', ' ')}: {message}",
            hint="log in with `pachctl auth login`, or ask for access to the project",
        )
    return PachydermError(f"{what}: {message} ({code})")


@contextmanager
def rpc(what: str, not_found_hint: str | None = None) -> Iterator[None]:
    """Map any pachd failure inside the block to a capstone error (see `rpc_error`)."""
    try:
        yield
    except RPC_FAILURES as exc:
        raise rpc_error(exc, what, not_found_hint) from exc


def connection_error(exc: BaseException, target: Target) -> CapstoneError:
    """Map a failed first call to an error whose hint fixes the connection."""
    code, message = rpc_status(exc)
    message = target.scrub(message)
    where = f"{target.shown} (from {target.source})"
    if code in UNREACHABLE_CODES:
        return UnreachableError(
            f"cannot reach pachd at {where}: {message}",
            hint="start `pachctl port-forward`, or point PACHD_ADDRESS (or --pachd-address)"
            " at pachd",
        )
    if code in AUTH_CODES or _EXPIRED_TOKEN in message:
        return AuthError(
            f"pachd at {where} refused the request ({code}): {message}",
            hint="log in with `pachctl auth login` (or set PACH_PYTHON_AUTH_TOKEN)"
            if code != "PERMISSION_DENIED"
            else "ask a cluster admin for access, or `pachctl auth login` as a user who has it",
        )
    return PachydermError(f"pachd at {where} failed: {code}: {message}")


def check_version(client: Client, target: Target, timeout_s: float = CONNECT_TIMEOUT_S) -> str:
    """GetVersion, then WhoAmI, each with a short deadline; the version's `additional` tag,
    which says what kind of server answered (`pachyderm_local.SERVE_MARK`)."""
    deadlines = getattr(client, "deadlines", None)
    scope = deadlines.unary_deadline(timeout_s) if deadlines is not None else nullcontext()
    with scope:
        try:
            version = client.get_version()
        except RPC_FAILURES as exc:
            raise connection_error(exc, target) from exc
        major, minor = int(version.major), int(version.minor)
        additional = str(version.additional or "")
        text = f"{major}.{minor}.{int(version.micro)}{additional}"
        if major != SUPPORTED_MAJOR or minor < MIN_MINOR:
            raise PachydermError(
                f"pachd at {target.shown} is version {text}; capstone needs "
                f"{SUPPORTED_MAJOR}.{MIN_MINOR} or newer {SUPPORTED_MAJOR}.x",
                hint="upgrade the cluster, or use `--backend embedded`",
            )
        check_login(client, target)
    return additional


def check_login(client: Client, target: Target) -> None:
    """WhoAmI: the one call that needs no permission but does check the token when auth is on.

    A cluster without auth answers "the auth service is not activated" (UNIMPLEMENTED, pachd 2.12
    auth/server/api_server.go:832-835, auth/auth.go:126), and a server with no auth service
    at all a plain UNIMPLEMENTED: both mean every call is allowed.
    """
    try:
        client.auth.who_am_i()
    except RPC_FAILURES as exc:
        if rpc_status(exc)[0] != "UNIMPLEMENTED":
            raise connection_error(exc, target) from exc


@dataclass(frozen=True)
class Connection:
    """A checked client, its project, and whether the server runs on this machine."""

    client: Client
    project: str
    local: bool


def open_connection(
    address: str | None = None,
    project: str | None = None,
    *,
    timeout_s: float = CONNECT_TIMEOUT_S,
    rpc_timeout_s: float | None = RPC_TIMEOUT_S,
) -> Connection:
    """Connect to pachd once GetVersion and WhoAmI have answered."""
    target = resolve_target(address, project)
    client = make_client(target, rpc_timeout_s)
    additional = check_version(client, target, timeout_s)
    local = serves_this_machine(target.address, additional)
    return Connection(client, target.project, local)


def connect(
    address: str | None = None,
    project: str | None = None,
    *,
    timeout_s: float = CONNECT_TIMEOUT_S,
    rpc_timeout_s: float | None = RPC_TIMEOUT_S,
) -> tuple[Client, str]:
    """Connect to pachd and return (client, project) once GetVersion and WhoAmI have answered."""
    opened = open_connection(address, project, timeout_s=timeout_s, rpc_timeout_s=rpc_timeout_s)
    return opened.client, opened.project
