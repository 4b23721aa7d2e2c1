"""What a program binary is, read from the file (never run): Go's build info, ELF linking.

Every Go binary since Go 1.13 carries its build information (Go's
``runtime/debug.BuildInfo``) in a section ``.go.buildinfo``; since Go 1.18 the
section header is followed by the strings inline.  Layout, as Go's own reader
``debug/buildinfo`` (src/debug/buildinfo/buildinfo.go) parses it:

* 16 bytes: the magic ``"\\xff Go buildinf:"`` (14 bytes), the pointer size,
  and a flags byte (bit 0: big-endian; bit 1: strings inline);
* inline (Go ≥ 1.18): at offset 32, a uvarint length and the version
  (``go1.19.8``), then a uvarint length and the module information;
* pointer form (Go 1.13–1.17): at offset 16 two pointers to Go string
  headers ``(data, len)`` in the binary's memory image, found through the ELF
  program headers;
* the module information starts and ends with a 16-byte sentinel; its lines
  are ``path``, ``mod``, ``dep`` and (Go ≥ 1.18) ``build KEY=VALUE``
  settings: ``CGO_ENABLED``, ``GOOS``, ``GOARCH``, ``DefaultGODEBUG`` (Go ≥ 1.21)...

A binary is dynamically linked when it has a ``PT_INTERP`` program header
(the ELF interpreter, ld.so).  A Go binary built with cgo links libc but still
verifies certificates with its own crypto/x509 on Linux; what changes is how
it resolves names, not its trust store.

Everything here is bounded: only the ELF headers and the build-info section
are read from a memory map of the file.
"""

from __future__ import annotations

import struct
from typing import TYPE_CHECKING

from ..model.binary import BinaryInfo
from ..model.record import record

if TYPE_CHECKING:
    from .rootfs import RootFS

MAGIC = b"\xff Go buildinf:"
# Largest binary looked at (kubelet is ~100 MB, some Go tools 250 MB).
MAX_BINARY = 1 << 30
# Where Go's reader looks for the magic when section headers are stripped.
SEARCH_WINDOW = 64 << 20
_PT_LOAD, _PT_DYNAMIC, _PT_INTERP = 1, 2, 3
_DT_NULL, _DT_NEEDED, _DT_STRTAB = 0, 1, 5


def read_binary(fs: RootFS, path: str) -> BinaryInfo:
    """Identify the program at ``path`` inside ``fs``.  Raises ``OSError``."""
    with fs.mapped(path, MAX_BINARY) as mm:
        if mm is None:
            return BinaryInfo(path)
        return parse_binary(mm, path)


def parse_binary(buf: bytes | memoryview | object, path: str = "") -> BinaryInfo:
    """Identify a binary held in ``buf`` (bytes or a memory map); never raises on garbage."""
    data = memoryview(buf)  # type: ignore[arg-type]
    try:
        return _parse(data, path)
    except (struct.error, IndexError, ValueError, OverflowError, KeyError):
        return BinaryInfo(path, elf=bytes(data[:4]) == b"\x7fELF")


@record
class _Elf:
    """The parts of an ELF file's headers that locate its read-only data."""

    bits: int
    endian: str
    segments: tuple[tuple[int, int, int, int], ...]  # (type, offset, vaddr, filesz)
    sections: tuple[tuple[str, int, int], ...]  # (name, offset, size)


def _elf(d: memoryview) -> _Elf | None:
    if bytes(d[:4]) != b"\x7fELF":
        return None
    bits = {1: 32, 2: 64}[d[4]]
    e = {1: "<", 2: ">"}[d[5]]
    if bits == 64:
        phoff, shoff = struct.unpack_from(e + "QQ", d, 0x20)
        phentsize, phnum, shentsize, shnum, shstrndx = struct.unpack_from(e + "HHHHH", d, 0x36)
    else:
        phoff, shoff = struct.unpack_from(e + "II", d, 0x1C)
        phentsize, phnum, shentsize, shnum, shstrndx = struct.unpack_from(e + "HHHHH", d, 0x2A)
    segments = []
    for i in range(min(phnum, 256)):
        o = phoff + i * phentsize
        if bits == 64:
            ptype, _flags, off, vaddr, _pa, filesz = struct.unpack_from(e + "IIQQQQ", d, o)
        else:
            ptype, off, vaddr, _pa, filesz = struct.unpack_from(e + "IIIII", d, o)
        segments.append((ptype, off, vaddr, filesz))
    raw: list[tuple[int, int, int]] = []
    for i in range(min(shnum, 4096)):
        o = shoff + i * shentsize
        if bits == 64:
            name, _t, _f, _a, off, size = struct.unpack_from(e + "IIQQQQ", d, o)
        else:
            name, _t, _f, _a, off, size = struct.unpack_from(e + "IIIIII", d, o)
        raw.append((name, off, size))
    sections: list[tuple[str, int, int]] = []
    if 0 < shstrndx < len(raw):
        _, stroff, strsize = raw[shstrndx]
        names = bytes(d[stroff : stroff + min(strsize, 1 << 20)])
        for name, off, size in raw:
            end = names.find(b"\0", name)
            sections.append((names[name:end].decode("ascii", "replace"), off, size))
    return _Elf(bits, e, tuple(segments), tuple(sections))


def section_span(buf: bytes | memoryview | object, name: str) -> tuple[int, int] | None:
    """Where the section ``name`` (``.rodata``) lies in the ELF file held in ``buf``
    (bytes or a memory map), as ``(start, end)`` file offsets inside it; ``None``
    when the file is no ELF, has no section headers (stripped) or no such
    section, or the headers are garbage."""
    data = memoryview(buf)  # type: ignore[arg-type]
    try:
        elf = _elf(data)
    except (struct.error, IndexError, ValueError, OverflowError, KeyError):
        return None
    if elf is None:
        return None
    for sname, off, size in elf.sections:
        if sname == name and size > 0 and off + size <= len(data):
            return off, off + size
    return None


def _parse(d: memoryview, path: str) -> BinaryInfo:
    elf = _elf(d)
    if elf is None:
        return BinaryInfo(path)
    dynamic = any(t == _PT_INTERP for t, *_ in elf.segments)
    needed = _needed(d, elf)
    start = next((off for name, off, _ in elf.sections if name == ".go.buildinfo"), None)
    if start is None:
        # Section headers stripped: Go's reader searches the data for the
        # magic, 16-byte aligned.
        window = bytes(d[: min(len(d), SEARCH_WINDOW)])
        pos = window.find(MAGIC)
        while pos >= 0 and pos % 16:
            pos = window.find(MAGIC, pos + 1)
        start = pos if pos >= 0 else None
    if start is None or bytes(d[start : start + 14]) != MAGIC:
        return BinaryInfo(path, elf=True, dynamic=dynamic, needed=needed)
    ptr_size, flags = d[start + 14], d[start + 15]
    if flags & 0x2:
        version, pos = _varstring(d, start + 32)
        modinfo, _ = _varstring(d, pos)
    else:
        e = ">" if flags & 0x1 else "<"
        fmt = e + ("Q" if ptr_size == 8 else "I")
        vptr = struct.unpack_from(fmt, d, start + 16)[0]
        mptr = struct.unpack_from(fmt, d, start + 16 + ptr_size)[0]
        version = _gostring(d, elf, vptr, fmt, ptr_size)
        modinfo = _gostring(d, elf, mptr, fmt, ptr_size)
    info = BinaryInfo(path, True, dynamic, version or None, needed=needed)
    return _with_modinfo(info, modinfo)


def _needed(d: memoryview, elf: _Elf) -> tuple[str, ...]:
    """``DT_NEEDED`` entries of the ``PT_DYNAMIC`` segment (names in ``DT_STRTAB``)."""
    dyn = next(((off, size) for t, off, _v, size in elf.segments if t == _PT_DYNAMIC), None)
    if dyn is None:
        return ()
    word = "q" if elf.bits == 64 else "i"
    step = 16 if elf.bits == 64 else 8
    offsets: list[int] = []
    strtab = None
    off, size = dyn
    for pos in range(off, off + min(size, 64 * 1024), step):
        tag, val = struct.unpack_from(elf.endian + word + word.upper(), d, pos)
        if tag == _DT_NULL:
            break
        if tag == _DT_NEEDED:
            offsets.append(val)
        elif tag == _DT_STRTAB:
            strtab = _offset(elf, val)
    if strtab is None:
        return ()
    names = []
    for o in offsets[:256]:
        start = strtab + o
        end = bytes(d[start : start + 256]).find(b"\0")
        names.append(bytes(d[start : start + max(end, 0)]).decode("ascii", "replace"))
    return tuple(names)


def _varstring(d: memoryview, pos: int) -> tuple[str, int]:
    n, shift = 0, 0
    while True:
        b = d[pos]
        pos += 1
        n |= (b & 0x7F) << shift
        if b < 0x80:
            break
        shift += 7
        if shift > 35:
            raise ValueError("bad varint")
    if n > 1 << 20:
        raise ValueError("string too long")
    return bytes(d[pos : pos + n]).decode("utf-8", "replace"), pos + n


def _offset(elf: _Elf, vaddr: int) -> int:
    for ptype, off, base, size in elf.segments:
        if ptype == _PT_LOAD and base <= vaddr < base + size:
            return off + (vaddr - base)
    raise ValueError("address outside the loaded segments")


def _gostring(d: memoryview, elf: _Elf, vaddr: int, fmt: str, ptr_size: int) -> str:
    """A Go string header ``(data, len)`` at ``vaddr``, and its bytes."""
    hdr = _offset(elf, vaddr)
    data = struct.unpack_from(fmt, d, hdr)[0]
    n = struct.unpack_from(fmt, d, hdr + ptr_size)[0]
    if n > 1 << 20:
        raise ValueError("string too long")
    at = _offset(elf, data)
    return bytes(d[at : at + n]).decode("utf-8", "replace")


def _with_modinfo(info: BinaryInfo, mod: str) -> BinaryInfo:
    from ..model.record import replace

    if len(mod) >= 33 and mod[-17] == "\n":
        mod = mod[16:-16]  # the sentinels
    main = module = None
    settings: dict[str, str] = {}
    for line in mod.splitlines():
        kind, _, rest = line.partition("\t")
        if kind == "path":
            main = rest
        elif kind == "mod":
            module = " ".join(rest.split("\t")[:2])
        elif kind == "build":
            key, _, value = rest.partition("=")
            settings[key] = value
    return replace(info, main=main, module=module, settings=settings)
