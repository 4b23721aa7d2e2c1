"""The page in a real browser: Playwright for Python driving Debian's Chromium.

Skipped, with the reason, where ``/usr/bin/chromium`` or the ``playwright``
package is missing (``.ci/run`` installs both).  Playwright starts Chromium
with a fresh temporary profile; every page talks only to the application on
127.0.0.1.
"""

from __future__ import annotations

import base64
import time
from collections.abc import Iterator
from typing import Any

import pytest

from helpers.web import CHROMIUM, CHROMIUM_ARGS, HOST, chromium_or_skip, running
from trustdoctor.lab import pki
from trustdoctor.web.settings import WEB_CLIENTS

pytestmark = pytest.mark.slow

GO_LINE = (
    'Error response from daemon: Get "https://registry.internal.example.com:5000/v2/": '
    "tls: failed to verify certificate: x509: certificate signed by unknown authority"
)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    sync_api = chromium_or_skip()
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


@pytest.fixture(scope="module")
def server():
    with running() as s:
        yield s


@pytest.fixture(scope="module")
def h() -> pki.Hierarchy:
    return pki.hierarchy(HOST)


@pytest.fixture
def page(browser, server):
    ctx = browser.new_context(viewport={"width": 1280, "height": 900})
    pg = ctx.new_page()
    pg.problems = []  # console errors (CSP violations show up there) and page errors
    pg.on("console", lambda m: pg.problems.append(m.text) if m.type == "error" else None)
    pg.on("pageerror", lambda e: pg.problems.append(str(e)))
    pg.on("dialog", lambda d: (pg.problems.append("dialog: " + d.message), d.dismiss()))
    pg.goto(server.url + "/")
    yield pg
    assert pg.problems == []
    ctx.close()


def _submit(pg: Any) -> None:
    with pg.expect_navigation():
        pg.click("button.primary")


def _verdict(pg: Any) -> str:
    return " ".join(pg.inner_text(".verdict").split())


def test_missing_intermediate_shows_server_side_and_the_missing_link(page, h):
    page.fill("#chain", h.leaf.pem.decode())
    page.click("summary")
    page.fill("#root", h.root.pem.decode())
    page.fill("#host", HOST)
    _submit(page)
    verdict = _verdict(page)
    assert "Not trusted: server side" in verdict
    assert "the server omits the intermediate 'Example Internal Issuing CA'" in verdict
    links = page.locator("ol.chain > li")
    assert links.count() == 2
    assert "sent by the server" in links.nth(0).inner_text()
    missing = page.locator("ol.chain > li.missing")
    assert missing.count() == 1 and "Example Internal Issuing CA" in missing.inner_text()
    assert "missing" in missing.inner_text().lower()
    # Dashed, in the "bad" colour: drawn as missing, not only said.
    assert missing.evaluate("e => getComputedStyle(e).borderTopStyle") == "dashed"
    rows = page.locator("table.clients tbody tr")
    assert rows.count() == len(WEB_CLIENTS)
    assert "x509: certificate signed by unknown authority" in rows.nth(0).inner_text()
    assert "UNABLE_TO_VERIFY_LEAF_SIGNATURE" in page.inner_text("table.clients")
    # Above the fold: the verdict is in the first screen.
    box = page.locator(".verdict").bounding_box()
    assert box is not None and box["y"] + box["height"] < 900


def test_untrusted_root_without_and_with_the_root(page, h):
    page.fill("#chain", h.fullchain_pem.decode())
    page.click("summary")
    page.fill("#host", HOST)
    _submit(page)
    assert "Not trusted: client side" in _verdict(page)
    assert "Example Internal Root CA" in _verdict(page)
    # The form comes back filled in: add the root and ask again.
    assert "BEGIN CERTIFICATE" in page.input_value("#chain")
    page.fill("#root", h.root.pem.decode())
    _submit(page)
    verdict = _verdict(page)
    assert "Trusted" in verdict and "Not trusted" not in verdict
    anchor = page.locator("ol.chain > li.anchor")
    assert anchor.count() == 1 and "pasted root" in anchor.inner_text()
    assert page.locator("ol.chain > li.missing").count() == 0


def test_go_error_line_and_its_causes(page):
    page.fill("#log", GO_LINE)
    _submit(page)
    match = page.locator("article.match")
    assert match.count() == 1
    text = match.inner_text()
    assert "registry.internal.example.com:5000" in text
    causes = [c.split(" — ")[0] for c in match.locator("ol.causes > li").all_inner_texts()]
    assert causes[:2] == ["untrusted-root", "missing-intermediate"]
    assert "docker (Go crypto/x509)" in text  # who printed it
    assert (
        "trustdoctor diagnose registry.internal.example.com:5000 "
        "--registry registry.internal.example.com:5000 --client docker"
    ) in text


def test_upload_a_der_file(page, h, tmp_path):
    der = tmp_path / "leaf.der"
    der.write_bytes(h.leaf.der)
    page.set_input_files("#chain_file", str(der))
    page.click("summary")
    page.fill("#host", HOST)
    _submit(page)
    assert "Not trusted" in _verdict(page)
    assert "registry.internal.example.com" in page.inner_text("ol.chain")


def _wait_until(page, expression: str, timeout: float = 10.0) -> None:
    """Poll ``expression`` until it is true.  (Playwright's wait_for_function
    evaluates a string predicate with eval() while it polls, which the page's
    Content-Security-Policy rightly refuses: it fails whenever it has to wait.)"""
    deadline = time.monotonic() + timeout
    while not page.evaluate(expression):
        if time.monotonic() > deadline:
            pytest.fail(f"still false after {timeout:g} s: {expression}")
        time.sleep(0.02)


def test_dropping_files_on_the_text_areas(page, h):
    """A PEM dropped on the chain box fills it; a DER goes to the file input."""

    def drop(selector: str, name: str, data: bytes) -> None:
        handle = page.evaluate_handle(
            """([name, b64]) => {
                const bytes = Uint8Array.from(atob(b64), c => c.charCodeAt(0));
                const dt = new DataTransfer();
                dt.items.add(new File([bytes], name));
                return dt;
            }""",
            [name, base64.b64encode(data).decode()],
        )
        page.dispatch_event(selector, "drop", {"dataTransfer": handle})

    drop("#chain", "full.pem", h.fullchain_pem)
    _wait_until(page, "document.querySelector('#chain').value.includes('BEGIN')")
    assert page.input_value("#chain").count("BEGIN CERTIFICATE") == 2
    drop("#chain", "leaf.der", h.leaf.der)
    _wait_until(page, "document.querySelector('#chain_file').files.length === 1")
    assert page.evaluate("document.querySelector('#chain_file').files[0].name") == "leaf.der"


def test_keyboard_only(page, h, browser, server):
    """Tab to the chain, type it, Tab to the button, Enter; the focus lands on the
    answer; Tab reaches the copy buttons; Enter copies."""
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=server.url)
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.className") == "skip"
    page.keyboard.press("Enter")  # skip to the form
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "chain"
    page.keyboard.insert_text(h.leaf.pem.decode())
    for _ in range(20):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.classList.contains('primary')"):
            break
    else:
        pytest.fail("the Diagnose button is not reachable with Tab")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "results"
    assert "Not trusted: server side" in _verdict(page)
    for _ in range(80):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.classList.contains('copy')"):
            break
    else:
        pytest.fail("no copy button reachable with Tab")
    target = page.evaluate("document.activeElement.dataset.copy")
    page.keyboard.press("Enter")
    _wait_until(page, "document.activeElement.textContent === 'Copied'")
    copied = page.evaluate("navigator.clipboard.readText()")
    assert copied == page.inner_text(f"#{target}")
    assert "fullchain.pem" in copied


def test_hostile_text_stays_text_in_the_browser(page):
    from cryptography import x509
    from cryptography.x509.oid import NameOID

    evil = pki.make_cert(
        x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "<img src=x onerror=alert(1)>")]),
        ca=False,
        dns=["<script>alert(2)</script>.example"],
    )
    page.fill("#chain", evil.pem.decode())
    page.fill("#log", "<script>alert(3)</script> x509: certificate signed by unknown authority")
    _submit(page)
    assert "<img src=x onerror=alert(1)>" in page.inner_text("ol.chain")
    assert page.locator("ol.chain img").count() == 0
    assert page.evaluate("document.scripts.length") == 1
    # (the page fixture asserts no dialog opened and no CSP violation was reported)


def test_without_javascript_the_form_still_answers(browser, server, h):
    ctx = browser.new_context(java_script_enabled=False)
    pg = ctx.new_page()
    pg.goto(server.url + "/")
    pg.fill("#chain", h.fullchain_pem.decode())
    with pg.expect_navigation():
        pg.click("button.primary")
    assert "Not trusted: client side" in " ".join(pg.inner_text(".verdict").split())
    assert pg.locator("button.copy:visible").count() == 0  # nothing that needs a script
    ctx.close()


def test_phone_and_dark_mode(browser, server, h, tmp_path):
    ctx = browser.new_context(
        viewport={"width": 390, "height": 844}, color_scheme="dark", is_mobile=True,
        has_touch=True, device_scale_factor=2,
    )  # fmt: skip
    pg = ctx.new_page()
    pg.goto(server.url + "/")
    pg.fill("#chain", h.leaf.pem.decode())
    with pg.expect_navigation():
        pg.click("button.primary")
    # Nothing wider than the screen; the verdict in the first screen; dark colours.
    assert pg.evaluate("document.documentElement.scrollWidth") <= 390
    box = pg.locator(".verdict").bounding_box()
    assert box is not None and box["y"] < 844
    bg = pg.evaluate("getComputedStyle(document.body).backgroundColor")
    assert bg == "rgb(19, 21, 24)"
    # The chain stacks vertically on a phone.
    first, second = (pg.locator("ol.chain > li").nth(i).bounding_box() for i in (0, 1))
    assert first is not None and second is not None and second["y"] > first["y"] + first["height"]
    pg.screenshot(path=str(tmp_path / "phone.png"), full_page=True)
    assert (tmp_path / "phone.png").stat().st_size > 10_000
    ctx.close()


def test_form_controls_are_labelled(page):
    unlabelled = page.evaluate(
        """() => [...document.querySelectorAll('input, textarea, select')]
              .filter(e => e.type !== 'hidden' && !(e.labels && e.labels.length))
              .map(e => e.name)"""
    )
    assert unlabelled == []
    assert page.evaluate("document.documentElement.lang") == "en"
    assert page.evaluate("document.title").endswith("trustdoctor")
