"""The trust-context options shared by ``stores``, ``chain`` and ``diagnose``.

``--root DIR | --image IMAGE | --pid PID`` say where the client's files are
(``--image``: an archive, an OCI layout directory or a registry reference,
with ``--platform`` and ``--insecure-registry`` for pulls);
``--env KEY=VALUE`` (repeatable) and ``--env-file FILE`` give its environment
(otherwise: the tool's own for ``/``, the process's for ``--pid``, the image
config's for ``--image``, and an empty one for another root; for ``--pid`` and
``--image`` the given values are applied on top); ``--registry`` names the
registry (``host[:port]`` as in the image reference) for docker/containerd/crio.
"""

from __future__ import annotations

import argparse
import datetime as dt
import re

from ..errors import InputError, UsageError

TYPE_CHECKING = False  # typing's constant, without importing typing (model/record.py)
if TYPE_CHECKING:
    from ..api.context import TrustOptions
    from ..sources.registry import PullOptions

_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
MAX_ENV_FILE = 1024 * 1024


def _pid(text: str) -> int:
    try:
        value = int(text, 10)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a process id: {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"not a process id: {text!r}")
    return value


def add_trust_context_arguments(parser: argparse.ArgumentParser) -> None:
    """Add ``--root/--image/--pid``, ``--env``, ``--env-file`` and ``--registry``."""
    g = parser.add_argument_group(
        "client trust context (where the client's files and environment are)"
    )
    where = g.add_mutually_exclusive_group()
    where.add_argument(
        "--root", metavar="DIR", help="a filesystem root: a mounted image, a chroot (default: /)"
    )
    where.add_argument(
        "--image",
        metavar="IMAGE",
        help="a container image: a `docker save` or OCI archive (.tar, .tar.gz), an OCI "
        "image layout directory, or a reference [REGISTRY/]REPO[:TAG|@DIGEST] pulled from its "
        "registry (only the trust files are read; see docs/stores-inputs.md)",
    )
    g.add_argument(
        "--binary",
        metavar="PATH",
        help="the program the client is (in the root): a Go program is judged as its own Go "
        "release does (read from its build info, never run)",
    )
    where.add_argument(
        "--pid",
        metavar="PID",
        type=_pid,
        help="a running process: its root, environment, start time",
    )
    g.add_argument(
        "--env",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="an environment variable of the client (repeatable)",
    )
    g.add_argument("--env-file", metavar="FILE", help="KEY=VALUE lines (like docker --env-file)")
    g.add_argument(
        "--started",
        metavar="ISO-8601",
        help="when the client process started (a daemon on --root: a store changed after it "
        "needs a restart); --pid reads it from the process",
    )
    g.add_argument(
        "--platform",
        metavar="OS/ARCH[/VARIANT]",
        help="with --image: the image of a multi-platform image to read (default: the host's)",
    )
    g.add_argument(
        "--insecure-registry",
        action="store_true",
        help="with --image REF: pull over plain HTTP (loopback test registries only)",
    )
    g.add_argument(
        "--registry",
        metavar="HOST[:PORT]",
        help="registry of the image reference (docker, containerd, crio; default for "
        "diagnose: the target)",
    )


class _ServerHelp(argparse._AppendAction):
    """``--server``'s help names the servers of ``fixes.tables``, read only when
    help is printed (the table and the distribution families it builds on are
    not needed to run a command)."""

    @property
    def help(self) -> str:
        from ..fixes.tables import SERVER_ORDER

        return f"server software for server-side fixes: {', '.join(SERVER_ORDER)} (default: all)"

    @help.setter
    def help(self, value: object) -> None:
        pass


def add_server_argument(parser: argparse.ArgumentParser) -> None:
    """``--server NAME`` (repeatable, comma-separated): narrow server-side plans."""
    parser.add_argument("--server", action=_ServerHelp, default=[], metavar="NAME")


def servers_from_args(args: argparse.Namespace) -> tuple[str, ...]:
    values = getattr(args, "server", None) or []
    return tuple(n.strip().lower() for v in values for n in v.split(",") if n.strip())


def parse_env_file(text: str, name: str) -> dict[str, str]:
    """``KEY=VALUE`` lines; ``#`` comments, blank lines and ``export`` prefixes allowed."""
    out: dict[str, str] = {}
    for n, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("export "):
            line = line[7:].lstrip()
        key, sep, value = line.partition("=")
        key = key.strip()
        if not sep or not _KEY.match(key):
            raise InputError(f"{name}: line {n}: expected KEY=VALUE")
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
            value = value[1:-1]
        out[key] = value
    return out


def env_from_args(args: argparse.Namespace) -> dict[str, str] | None:
    """The environment given on the command line, or ``None`` when none was given."""
    env: dict[str, str] | None = None
    path = getattr(args, "env_file", None)
    if path:
        from ..sources.files import read_source

        data = read_source(path, max_bytes=MAX_ENV_FILE)
        env = parse_env_file(data.decode("utf-8", "replace"), path)
    for item in getattr(args, "env", None) or []:
        key, sep, value = item.partition("=")
        if not sep or not _KEY.match(key):
            raise UsageError(f"--env {item!r}: expected KEY=VALUE")
        env = env if env is not None else {}
        env[key] = value
    return env


def options_from_args(args: argparse.Namespace) -> TrustOptions:
    """The :class:`~trustdoctor.api.context.TrustOptions` the command line describes."""
    from ..api.context import TrustOptions

    return TrustOptions(
        root=getattr(args, "root", None) or "/",
        image=getattr(args, "image", None),
        pid=getattr(args, "pid", None),
        env=env_from_args(args),
        registry=getattr(args, "registry", None),
        trust=tuple(getattr(args, "trust", None) or ()),
        started=_started(args),
        password=password_from_args(args),
        servers=servers_from_args(args),
        dockerfile=getattr(args, "dockerfile", None),
        pull=pull_options_from_args(args),
        binary=getattr(args, "binary", None),
    )


def _started(args: argparse.Namespace) -> dt.datetime | None:
    text = getattr(args, "started", None)
    if not text:
        return None
    from ..api.context import parse_time

    return parse_time(text, "--started")


def password_from_args(args: argparse.Namespace) -> bytes | None:
    """``--password`` or ``--password-file`` (PKCS#12), when the command has them."""
    if getattr(args, "password", None) is not None:
        return str(args.password).encode()
    if getattr(args, "password_file", None):
        from ..sources.files import read_source

        return read_source(args.password_file, max_bytes=4096).rstrip(b"\r\n")
    return None


def pull_options_from_args(args: argparse.Namespace) -> PullOptions | None:
    """``--platform``/``--insecure-registry`` as pull options (``None`` without ``--image``)."""
    platform = getattr(args, "platform", None)
    insecure = bool(getattr(args, "insecure_registry", False))
    if getattr(args, "image", None) is None:
        if platform or insecure:
            raise UsageError("--platform and --insecure-registry go with --image")
        return None
    from ..sources.imageref import parse_platform
    from ..sources.registry import PullOptions

    return PullOptions(
        platform=parse_platform(platform) if platform else None, insecure_registry=insecure
    )
