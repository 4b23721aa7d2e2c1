"""The network options shared by ``diagnose``, ``fix --for`` and ``bundle``: how to reach
the target (``--servername``, ``--connect-to``, ``--starttls``) and ``--timeout``/``--proxy``."""

from __future__ import annotations

import _socket  # (its constants; socket.py's enums cost ~4 ms of start-up: sources/wire.py)
import argparse
import math

# Longest --timeout accepted; sources/network.py enforces the same bound.
MAX_TIMEOUT = 86400.0


def parse_timeout(text: str) -> float:
    """``--timeout``: a finite number of seconds in (0, MAX_TIMEOUT]."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if not math.isfinite(value) or not 0 < value <= MAX_TIMEOUT:
        raise argparse.ArgumentTypeError(
            f"must be between 0 and {MAX_TIMEOUT:g} seconds, not {text!r}"
        )
    return value


def add_network_arguments(
    p: argparse._ActionsContainer, *, timeout_help: str, proxy_help: str
) -> None:
    """``--timeout SECONDS`` (default 10) and ``--proxy URL``, with each command's help."""
    p.add_argument(
        "--timeout", type=parse_timeout, default=10.0, metavar="SECONDS", help=timeout_help
    )
    p.add_argument("--proxy", metavar="URL", help=proxy_help)


def add_target_arguments(p: argparse._ActionsContainer) -> None:
    """``--servername``, ``--connect-to`` and ``--starttls``."""
    p.add_argument(
        "--servername", metavar="NAME", help="SNI and the name checked (default: the host)"
    )
    p.add_argument(
        "--connect-to",
        metavar="ADDRESS[:PORT]",
        help="connect there but keep the name (like curl --resolve / --connect-to)",
    )
    p.add_argument(
        "--starttls",
        metavar="PROTO",
        help="speak PROTO before TLS: smtp, imap, pop3, ftp, postgres, ldap",
    )


def add_family_arguments(p: argparse.ArgumentParser) -> None:
    """``-4`` / ``-6`` (together: a usage error), as ``family`` (0: either)."""
    family = p.add_mutually_exclusive_group()
    family.add_argument(
        "-4", dest="family", action="store_const", const=_socket.AF_INET, default=0,
        help="IPv4 only",
    )  # fmt: skip
    family.add_argument(
        "-6", dest="family", action="store_const", const=_socket.AF_INET6, help="IPv6 only"
    )


def add_endpoint_judging_arguments(p: argparse.ArgumentParser) -> None:
    """``--client``, ``--trust``, ``--intermediates`` and ``--at`` as ``diagnose`` and
    ``scan`` both take them (a scan judges each target as ``diagnose`` would)."""
    p.add_argument(
        "--client",
        action="append",
        default=[],
        metavar="NAME",
        help="client model(s), repeatable or comma-separated: go, openssl, curl, python, "
        "requests, httpx, node, java, docker, containerd, crio, podman, kubelet, webpki "
        "(default: the clients found on this host, or in --root/--image/--pid)",
    )
    p.add_argument(
        "--trust",
        action="append",
        default=[],
        metavar="PATH",
        help="judge against these anchors (file or directory) instead of the clients' stores",
    )
    p.add_argument(
        "--intermediates",
        action="append",
        default=[],
        metavar="PATH",
        help="extra untrusted intermediates (as if fetched: what the server should send)",
    )
    p.add_argument("--at", metavar="ISO-8601", help="judge at this time instead of now")
