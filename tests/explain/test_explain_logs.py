"""Reading logs: joining multi-line messages, windows, encodings, junk, memory.

All inputs are built here; the big-stream test generates its data on the fly
in a subprocess so the measured peak memory is the reader's alone.
"""

from __future__ import annotations

import io
import os
import random
import subprocess
import sys
import textwrap
import time

import pytest

from helpers import SRC
from trustdoctor.explain import records as logs
from trustdoctor.explain.match import explain, explain_records
from trustdoctor.explain.records import LogStats, records_from_stream

GO_UA = "x509: certificate signed by unknown authority"

JAVA = (
    "2026-11-28 04:08:00 ERROR [main] c.e.Client - call failed\n"
    "org.springframework.web.client.ResourceAccessException: I/O error on GET request for "
    '"https://api.corp.example:9443/v1/x": PKIX path building failed: '
    'sun.security.provider.certpath.'
    "SunCertPathBuilderException: unable to find valid certification path to requested target\n"
    "\tat org.springframework.web.client.RestTemplate.doExecute(RestTemplate.java:791)\n"
    "\tat com.example.Client.call(Client.java:42)\n"
    "Caused by: javax.net.ssl.SSLHandshakeException: PKIX path building failed: "
    "sun.security.provider."
    "certpath.SunCertPathBuilderException: unable to find valid certification path to requested "
    "target\n"
    "\tat java.base/sun.security.ssl.Alert.createSSLException(Alert.java:131)\n"
    "\t... 25 more\n"
    "Caused by: sun.security.provider.certpath.SunCertPathBuilderException: unable to find valid "
    "certification path to requested target\n"
    "\t... 30 more\n"
    "2026-11-28 04:08:01 INFO  [main] c.e.Client - retrying\n"
)

PY_CHAIN = textwrap.dedent("""\
    Traceback (most recent call last):
      File "/app/client.py", line 3, in <module>
        urllib.request.urlopen("https://files.example.org:8443/data.json")
      File "/usr/lib/python3.11/ssl.py", line 1383, in do_handshake
        self._sslobj.do_handshake()
    ssl.SSLCertVerificationError: {TAIL}

    During handling of the above exception, another exception occurred:

    Traceback (most recent call last):
      File "/app/client.py", line 3, in <module>
        urllib.request.urlopen("https://files.example.org:8443/data.json")
      File "/usr/lib/python3.11/urllib/request.py", line 1351, in do_open
        raise URLError(err)
    urllib.error.URLError: <urlopen error {TAIL}>
    next unrelated line
    """).replace(
    "{TAIL}",
    "[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: unable to get local issuer "
    "certificate (_ssl.c:1006)",
)

NODE_EPROTO = (
    "Error: write EPROTO 80AC2110057F0000:error:0A00010B:SSL routines:ssl3_get_record:wrong "
    "version "
    "number:../deps/openssl/openssl/ssl/record/ssl3_record.c:350:\n"
    "\n"
    "    at WriteWrap.onWriteComplete [as oncomplete] (node:internal/stream_base_commons:95:16) {\n"
    "  errno: -71,\n"
    "  code: 'EPROTO',\n"
    "  syscall: 'write'\n"
    "}\n"
)


def test_java_trace_is_one_record_with_the_wrapper_url() -> None:
    res = explain(JAVA)
    assert len(res.matches) == 1
    m = res.matches[0]
    assert (m.stack, m.host, m.port, m.count, m.line) == ("java", "api.corp.example", 9443, 1, 2)


def test_python_chained_traceback_is_one_record() -> None:
    res = explain(PY_CHAIN)
    assert len(res.matches) == 1
    m = res.matches[0]
    # The URL comes from a source line of the traceback; urllib names the stack.
    assert (m.stack, m.host, m.port, m.count) == ("urllib", "files.example.org", 8443, 1)
    assert m.line == 6


def test_node_error_with_blank_line_before_its_stack() -> None:
    m = explain(NODE_EPROTO).matches[0]
    assert (m.stack, m.error_class) == ("node", "not-tls")


def test_crlf_ansi_nul_and_latin1() -> None:
    text = (
        b"\x1b[31mERROR\x1b[0m caf\xe9 d\xe9j\xe0 vu\r\n"
        b'\x1b[1mGet "https://reg.example/v2/": x509: certificate signed by\x1b[0m unknown '
        b'authority\r\n'
        b"\xff\xfe garbage \x00\x01\x02 x509: certificate has\x00 expired or is not yet valid\r\n"
    )
    res = explain(text)
    got = [(m.error_class, m.host, m.line) for m in res.matches]
    assert got == [("unknown-issuer", "reg.example", 2), ("validity", None, 3)]


@pytest.mark.parametrize("codec", ["utf-16", "utf-16-le", "utf-16-be"])
def test_utf16_logs(codec: str) -> None:
    # PowerShell's ">" writes UTF-16LE with a BOM; without a BOM it is sniffed.
    text = 'line one\r\nGet "https://reg.example/v2/": ' + GO_UA + "\r\nlast\r\n"
    data = text.encode(codec)
    res = explain_records(records_from_stream(io.BytesIO(data)))
    assert [(m.host, m.line) for m in res.matches] == [("reg.example", 2)]


def test_line_numbers_and_repeats_fold() -> None:
    lines = [f"2026-11-28 info request {i} ok" for i in range(5000)]
    lines[4321] = f'Get "https://a.example/": {GO_UA}'
    lines[4800] = f'Get "https://a.example/": {GO_UA}'
    lines[4900] = f'Get "https://b.example:8443/": {GO_UA}'
    res = explain("\n".join(lines))
    assert [(m.host, m.line, m.count) for m in res.matches] == [
        ("a.example", 4322, 2),
        ("b.example", 4901, 1),
    ]
    assert res.lines == 5000
    # The same lines as an iterable of str give the same answer.
    assert explain(iter(lines)).matches == res.matches


def _records(data: bytes, chunk: int) -> list[tuple[int, tuple[tuple[int, str], ...]]]:
    return [(r.line, r.lines) for r in records_from_stream(io.BytesIO(data), chunk_size=chunk)]


def test_block_boundaries_do_not_change_records() -> None:
    rnd = random.Random(3)
    parts = [
        JAVA,
        PY_CHAIN,
        NODE_EPROTO,
        "plain line\n",
        "  indented line\n",
        "\n",
        f'Get "https://c.example/": {GO_UA}\n',
        "npm ERR! code CERT_HAS_EXPIRED\n",
        "npm ERR! request to https://registry.npmjs.org/x failed, reason: certificate has "
        "expired\n",
    ]
    data = "".join(rnd.choice(parts) for _ in range(400)).encode()
    want = _records(data, logs.CHUNK)
    assert len(want) > 100
    for chunk in (37, 512, 4096, 65536):
        assert _records(data, chunk) == want, chunk


def test_prefilter() -> None:
    text = "nothing about secure transport here\nnor here\n"
    assert list(logs.records_from_text(text)) == []
    assert len(list(logs.records_from_text(text, prefilter=False))) == 2
    # Bare OpenSSL phrases carry a needle of their own ("mismatch", "too weak"...).
    m = explain("hostname mismatch").matches
    assert m and m[0].error_class == "hostname-mismatch"


# -- very long lines, junk ---------------------------------------------------------


def test_ten_megabyte_line() -> None:
    filler = b"x" * (5 * 1024 * 1024)
    msg = f'Get "https://deep.example/": {GO_UA}'.encode()
    data = b'{"log":"' + filler + msg + filler + b'"}\nnext\n'
    st = LogStats()
    t = time.perf_counter()
    res = explain_records(records_from_stream(io.BytesIO(data), st), st)
    assert time.perf_counter() - t < 5
    assert [(m.host, m.line) for m in res.matches] == [("deep.example", 1)]
    assert st.overlong == 1 and res.lines == 2


def test_message_across_a_window_boundary() -> None:
    msg = f'Get "https://edge.example/": {GO_UA}'.encode()
    for shift in range(0, len(msg), 7):
        pad = b"y" * (logs.MAX_LINE - shift)
        res = explain_records(records_from_stream(io.BytesIO(pad + msg + b"z" * 100)))
        assert [m.host for m in res.matches] == ["edge.example"], shift


def test_binary_junk() -> None:
    rnd = random.Random(9)
    junk = bytes(rnd.getrandbits(8) for _ in range(2 * 1024 * 1024))
    t = time.perf_counter()
    res = explain_records(records_from_stream(io.BytesIO(junk)))
    res2 = explain_records(records_from_stream(io.BytesIO(junk.replace(b"\n", b""))))
    assert time.perf_counter() - t < 10
    assert not res.matches and not res2.matches
    # An error line after the junk is still found.
    tail = b"\n" + f'Get "https://after.example/": {GO_UA}'.encode() + b"\n"
    res3 = explain_records(records_from_stream(io.BytesIO(junk + tail)))
    assert [m.host for m in res3.matches] == ["after.example"]


# -- bounded memory -------------------------------------------------------------------

_BIG = r"""
import resource, sys
from trustdoctor.explain.match import explain_records
from trustdoctor.explain.records import LogStats, records_from_stream

TOTAL = int(sys.argv[1])
LONG = sys.argv[2] == "long"
ERR = b'Get "https://big.example/": x509: certificate signed by unknown authority\n'
LINE = b"2026-11-28T04:08:00Z INFO request served in 12ms user=alice path=/api/v1/items\n"
BLOCK = LINE * 4000 + ERR

class Gen:
    def __init__(self):
        self.left = TOTAL
    def read(self, n=-1):
        if self.left <= 0:
            return b""
        if LONG:
            out = b"z" * min(n, self.left)
            if self.left - len(out) <= 0:
                out = out[:-len(ERR)] + ERR
        else:
            out = BLOCK * max(1, n // len(BLOCK))
            out = out[: self.left]
        self.left -= len(out)
        return out

st = LogStats()
res = explain_records(records_from_stream(Gen(), st), st)
# VmHWM is this process's own peak; ru_maxrss would include the peak of the
# (large) pytest process it was forked from, which Linux carries over exec.
try:
    status = open("/proc/self/status").read().splitlines()
    peak = next(int(x.split()[1]) for x in status if x.startswith("VmHWM")) // 1024
except (OSError, StopIteration):
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
print(peak, st.bytes, sum(m.count for m in res.matches), len(res.matches))
"""


def _run_big(total: int, kind: str) -> tuple[int, int, int, int]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        p
        for p in (str(SRC), env.get("PYTHONPATH", ""))
        if p
    )
    out = subprocess.run(
        [sys.executable, "-c", _BIG, str(total), kind],
        capture_output=True,
        text=True,
        timeout=600,
        env=env,
        check=True,
    ).stdout.split()
    peak, nbytes, occurrences, distinct = (int(x) for x in out)
    return peak, nbytes, occurrences, distinct


@pytest.mark.slow
def test_big_log_streams_in_bounded_memory() -> None:
    total = 256 * 1024 * 1024
    peak_mb, nbytes, occurrences, distinct = _run_big(total, "lines")
    assert nbytes == total
    assert distinct == 1 and occurrences > 700  # one error per 4001 lines, all folded
    assert peak_mb < 80, f"peak RSS {peak_mb} MB for a {total >> 20} MB log"


@pytest.mark.slow
def test_one_huge_line_streams_in_bounded_memory() -> None:
    total = 64 * 1024 * 1024
    peak_mb, nbytes, _occurrences, distinct = _run_big(total, "long")
    assert nbytes == total and distinct == 1
    assert peak_mb < 80, f"peak RSS {peak_mb} MB for a {total >> 20} MB single line"
