"""Reading a list of targets: forms, problems, duplicates in bounded memory, no leaks."""

from __future__ import annotations

import io
import random

import pytest

from trustdoctor.errors import InputError
from trustdoctor.lab import pki
from trustdoctor.model.target import parse_target
from trustdoctor.sources.targetlist import (
    InputProblem,
    Seen,
    TargetLine,
    from_items,
    parse_line,
    read_target_lines,
    redact,
)


def read(data: bytes) -> list[TargetLine | InputProblem]:
    return list(read_target_lines(io.BytesIO(data), "list.txt"))


def test_plain_lines_with_columns_and_comments() -> None:
    got = read(
        b"# a comment\n\n"
        b"a.example\n"
        b"b.example:8443 servername=api.example connect-to=10.0.0.5  # node 5\n"
        b"smtp://mail.example:587\n"
        b"db.example starttls=postgres\n"
        b"[::1]:8443\tsni=local.example\n"
    )
    assert all(isinstance(g, TargetLine) for g in got)
    ts = [g.target for g in got if isinstance(g, TargetLine)]
    assert [t.display for t in ts] == [
        "https://a.example:443",
        "https://b.example:8443 (via 10.0.0.5:8443)",
        "smtp://mail.example:587",
        "postgres://db.example:5432",
        "https://[::1]:8443",
    ]
    assert ts[1].servername == "api.example" and ts[4].servername == "local.example"
    assert [g.line for g in got] == [3, 4, 5, 6, 7]


def test_the_same_target_as_diagnose() -> None:
    t = parse_line("api.internal:443 servername=x.internal connect-to=10.0.0.1:8443")
    want = parse_target("api.internal:443", servername="x.internal", connect_to="10.0.0.1:8443")
    assert t == want


def test_csv_with_header_and_extra_columns() -> None:
    got = read(
        b"Team,Host,Port,SNI,Connect-To\n"
        b"a,a.example,8443,,\n"
        b'"b, c",10.0.0.9,443,b.example,\n'
        b"d,,,,\n"
        b"e,e.example,x,,\n"
    )
    assert isinstance(got[0], TargetLine) and got[0].target.port == 8443
    assert isinstance(got[1], TargetLine) and got[1].target.servername == "b.example"
    assert isinstance(got[2], InputProblem) and got[2].line == 4 and "no target" in got[2].message
    assert isinstance(got[3], InputProblem) and "not a number" in got[3].message


def test_json_lines() -> None:
    got = read(
        b'{"target": "a.example:8443", "servername": "x.example"}\n'
        b'{"host": "10.0.0.1", "port": 636, "starttls": "ldap"}\n'
        b'{"target": 7}\n'
        b'{"port": 3}\n'
        b"[]\n"
    )
    assert isinstance(got[0], TargetLine) and got[0].target.servername == "x.example"
    assert isinstance(got[1], TargetLine) and got[1].target.starttls == "ldap"
    assert [type(g).__name__ for g in got[2:]] == ["InputProblem"] * 3


@pytest.mark.parametrize(
    "data",
    [
        b"\x00\x01binary",
        b"\xff\xfe\xfd",
        b"-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n",
        b"# a comment first\n-----BEGIN PRIVATE KEY-----\nMIGHAgEAMBMGByqGSM49\n",
        b"x" * 20000 + b"\n",
    ],
)
def test_a_file_that_is_no_list_is_one_input_error(data: bytes) -> None:
    with pytest.raises(InputError) as err:
        read(data)
    assert "not a list of targets" in err.value.message
    assert "MIGH" not in err.value.message


def test_a_pem_block_further_down_is_skipped_whole_and_never_repeated() -> None:
    key = pki.make_cert("k.example").key_pem
    got = read(b"a.example\n" + key + b"b.example\n")
    assert [g.target.host for g in got if isinstance(g, TargetLine)] == ["a.example", "b.example"]
    problems = [g for g in got if isinstance(g, InputProblem)]
    assert len(problems) == 1 and "PRIVATE KEY" in problems[0].message
    body = key.decode().splitlines()[1]
    assert all(body[:20] not in p.message + p.text for p in problems)


def test_base64_is_never_echoed() -> None:
    line = "MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg/x+y"
    got = read(b"a.example\n" + line.encode() + b" extra\n")
    (problem,) = [g for g in got if isinstance(g, InputProblem)]
    assert line[:24] not in problem.message and line[:24] not in problem.text
    assert redact("host.example.com and 0123456789abcdef0123456789abcdef") == (
        "host.example.com and 0123456789abcdef0123456789abcdef"
    )
    assert redact(f"x {line} y") == "x […] y"


def test_a_bad_line_does_not_stop_the_reading() -> None:
    got = read(b"a.example\nnot a target here\nhttp://b.example\nc.example:99999\nd.example\n")
    kinds = [(type(g).__name__, g.line) for g in got]
    assert kinds == [("TargetLine", 1), ("InputProblem", 2), ("InputProblem", 3),
                     ("InputProblem", 4), ("TargetLine", 5)]  # fmt: skip
    assert "list.txt:3:" in got[2].message  # type: ignore[union-attr]


def test_items_given_to_the_api() -> None:
    t = parse_target("x.example")
    got = list(from_items(["a.example servername=b.example", t, "", "bad target x"]))
    assert isinstance(got[0], TargetLine) and got[0].target.servername == "b.example"
    assert isinstance(got[1], TargetLine) and got[1].target is t
    assert isinstance(got[2], InputProblem) and isinstance(got[3], InputProblem)


def test_seen_is_exact_across_merges() -> None:
    seen = Seen()
    targets = [parse_target(f"h{i}.example:{1 + i % 60000}") for i in range(20_000)]
    rnd = random.Random(7)
    rnd.shuffle(targets)
    assert all(seen.add(t) for t in targets)  # every one new
    assert seen.count == 20_000
    # every one is now known, whichever run (or the recent set) holds it
    assert not any(seen.add(t) for t in targets[::97])
    assert seen.add(parse_target("new.example"))
    # Runs are merged as they grow: a handful, not one per batch.
    assert len(seen._runs) <= 5
    # 8 bytes per target in the runs.
    assert sum(r.itemsize * len(r) for r in seen._runs) <= 8 * 20_001


def test_a_final_dot_makes_another_target_shown_with_it() -> None:
    """``host.`` and ``host`` are checked differently by some clients (clients.py
    TRAILING_DOT): two targets, each line and label naming its own form."""
    from trustdoctor.sources.targetlist import read_target_lines

    text = b"leaf.test.:8443\nleaf.test:8443\n127.0.0.1:8443 servername=leaf.test.\n"
    items = list(read_target_lines(io.BytesIO(text), "t.txt"))
    targets = [i.target for i in items]  # type: ignore[union-attr]
    assert [t.label for t in targets] == [
        "https://leaf.test.:8443",
        "https://leaf.test:8443",
        "https://127.0.0.1:8443 servername=leaf.test.",
    ]
    assert [t.checked_name for t in targets] == ["leaf.test.", "leaf.test", "leaf.test."]
    assert len(set(targets)) == 3  # not duplicates of each other
    assert all(t.sni == "leaf.test" for t in targets)  # the SNI drops the dot
