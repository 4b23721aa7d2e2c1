"""The network options shared by ``diagnose``, ``fix --for`` and ``bundle``: how to reach
the target (``--servername``, ``--connect-to``, ``--starttls``) and ``--timeout``/``--proxy``."""

from __future__ import annotations

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
