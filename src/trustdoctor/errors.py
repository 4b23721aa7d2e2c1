"""The one exception tree of trustdoctor.

Every failure that is the tool's (bad input, a server that could not be reached,
an unsafe path) is one of these; a *trust* problem is never an exception, it is a
finding in a diagnosis.  The CLI translates the tree into exit codes at one
boundary (``cli.main``)::

    TrustDoctorError                 exit 3 unless a subclass says otherwise
    ├── UsageError                   exit 2  wrong flags, contradictory options
    ├── InputError                   exit 2  a file/stdin that is not what it must be
    │   └── PrivateKeyInput          exit 2  a private key where a certificate was expected
    ├── UnsafePathError              exit 2  a symlink or tar member escaping a root
    ├── SourceError                  exit 3  a chain source could not deliver
    │   ├── ConnectError             exit 3  DNS, refused, timeout, not TLS, alerts
    │   └── RegistryTrustError       exit 3  an image registry's certificate is not trusted
    ├── TrustStoreError              exit 3  a store could not be read at all
    └── FixError                     exit 3  a fix step could not be carried out

Messages are one line, name the object concerned, and never contain key material.
"""

from __future__ import annotations


class TrustDoctorError(Exception):
    """Base of every error trustdoctor raises on purpose."""

    exit_code: int = 3

    def __init__(self, message: str) -> None:
        # Keep messages on one line: they are printed as ``trustdoctor: <message>``.
        super().__init__(" ".join(message.split()))

    @property
    def message(self) -> str:
        return str(self.args[0])


class UsageError(TrustDoctorError):
    """The command line is wrong (unknown client, contradictory flags...)."""

    exit_code = 2


class InputError(TrustDoctorError):
    """An input file or stream is not usable as certificates."""

    exit_code = 2


class PrivateKeyInput(InputError):
    """A private key was given where certificates were expected; never echoed."""


class UnsafePathError(TrustDoctorError):
    """A path would leave the root it must stay in (symlink, ``..``, absolute tar member)."""

    exit_code = 2


class SourceError(TrustDoctorError):
    """A chain source (network, image, process) could not deliver anything to judge."""

    exit_code = 3


class ConnectError(SourceError):
    """The endpoint could not be reached or did not complete a TLS handshake.

    ``code`` is the stable finding code (``unreachable``, ``not-tls``, ...).
    """

    def __init__(self, message: str, code: str = "unreachable") -> None:
        super().__init__(message)
        self.code = code


class RegistryTrustError(SourceError):
    """The registry an image is pulled from presented a certificate we do not trust.

    Not a crash but the first finding of a diagnosis: ``registry`` is the
    ``host[:port]`` as written in the image reference, ``host``/``port`` where
    the TLS connection went, ``reason`` the verifier's words
    (``unable to get local issuer certificate``, ``Hostname mismatch``...),
    ``verify_code`` OpenSSL's code when known.  ``next_command`` is set by the
    command line (the ``trustdoctor diagnose`` that explains it) and shown
    after the message.
    """

    def __init__(
        self,
        registry: str,
        host: str,
        port: int,
        reason: str,
        verify_code: int | None = None,
        next_command: str | None = None,
    ) -> None:
        text = f"registry {registry}: its TLS certificate is not trusted ({reason})"
        if next_command:
            text += f"; next: {next_command}"
        super().__init__(text)
        self.registry = registry
        self.host = host
        self.port = port
        self.reason = reason
        self.verify_code = verify_code
        self.next_command = next_command


class TrustStoreError(TrustDoctorError):
    """A trust store could not be read at all."""

    exit_code = 3


class FixError(TrustDoctorError):
    """A fix step could not be carried out; nothing half-written is left behind."""

    exit_code = 3
