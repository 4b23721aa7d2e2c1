"""What a program binary says about itself (pure record; read by ``stores/binaries.py``)."""

from __future__ import annotations

from collections.abc import Mapping

from .record import field, record


@record
class BinaryInfo:
    """What a program binary says about itself.

    Attributes:
        path: the path inside the root.
        elf: it is an ELF file.
        dynamic: it has an ELF interpreter (dynamically linked); ``None`` if not ELF.
        go_version: Go's version string (``go1.19.8``) when it is a Go program.
        main: the main package's path (``k8s.io/kubernetes/cmd/kubelet``).
        module: the main module's path and version.
        settings: the ``build`` settings (``CGO_ENABLED``, ``GOOS``, ``DefaultGODEBUG``...).
        needed: the shared libraries it links (ELF ``DT_NEEDED``: ``libssl.so.3``...).
    """

    path: str
    elf: bool = False
    dynamic: bool | None = None
    go_version: str | None = None
    main: str | None = None
    module: str | None = None
    settings: Mapping[str, str] = field(default_factory=dict)
    needed: tuple[str, ...] = ()

    def links(self, prefix: str) -> str | None:
        """The linked library whose name starts with ``prefix`` (``libssl.so``), if any."""
        return next((n for n in self.needed if n.startswith(prefix)), None)

    @property
    def is_go(self) -> bool:
        return self.go_version is not None

    @property
    def cgo(self) -> bool | None:
        """``CGO_ENABLED`` at build time (``None``: not recorded, Go < 1.18)."""
        v = self.settings.get("CGO_ENABLED")
        return None if v is None else v == "1"

    @property
    def go_release(self) -> tuple[int, int] | None:
        """``(1, 19)`` of ``go1.19.8`` (``None`` for a development build)."""
        v = (self.go_version or "").removeprefix("go")
        parts = v.split(".")
        if len(parts) >= 2 and parts[0].isdigit():
            minor = "".join(ch for ch in parts[1] if ch.isdigit())
            if minor:
                return int(parts[0]), int(minor)
        return None
