"""Take the screenshots of ``trustdoctor serve`` shown in the README and docs/serve.md.

    PYTHONPATH=src python3 bench/serve_screenshots.py [OUTDIR]   (default docs/images)

Runs the real page on 127.0.0.1 with a throwaway PKI and drives Debian's
Chromium through Playwright (the browser tests' set-up): the form, a missing
intermediate (server side), an untrusted root (client side, dark), a Go
error line, and a phone.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "tests"), str(ROOT / "src")]

from playwright.sync_api import sync_playwright  # noqa: E402

from helpers.web import CHROMIUM, CHROMIUM_ARGS, HOST, running  # noqa: E402
from trustdoctor.lab import pki  # noqa: E402

GO_LINE = (
    'Error response from daemon: Get "https://registry.internal.example.com:5000/v2/": '
    "tls: failed to verify certificate: x509: certificate signed by unknown authority"
)


def main(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    h = pki.hierarchy(HOST)
    with running() as s, sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)

        def page(scheme: str = "light", width: int = 1280, height: int = 900, **kw: object):
            ctx = b.new_context(
                viewport={"width": width, "height": height}, color_scheme=scheme, **kw
            )
            pg = ctx.new_page()
            pg.goto(s.url + "/")
            return pg

        def submit(pg) -> None:  # type: ignore[no-untyped-def]
            with pg.expect_navigation():
                pg.click("button.primary")
            pg.evaluate("document.activeElement.blur()")

        pg = page(height=760)
        pg.screenshot(path=str(out / "serve-form.png"))

        pg = page(height=1180)
        pg.fill("#chain", h.leaf.pem.decode())
        pg.click("summary")
        pg.fill("#root", h.root.pem.decode())
        pg.fill("#host", HOST)
        submit(pg)
        pg.screenshot(path=str(out / "serve-server-side.png"))

        pg = page("dark", height=1180)
        pg.fill("#chain", h.fullchain_pem.decode())
        pg.click("summary")
        pg.fill("#host", HOST)
        submit(pg)
        pg.screenshot(path=str(out / "serve-client-side-dark.png"))

        pg = page(height=900)
        pg.fill("#log", GO_LINE)
        submit(pg)
        pg.screenshot(path=str(out / "serve-explain.png"))

        pg = page(width=390, height=844, is_mobile=True, has_touch=True, device_scale_factor=2)
        pg.fill("#chain", h.leaf.pem.decode())
        submit(pg)
        pg.screenshot(path=str(out / "serve-phone.png"))
        b.close()
    for f in sorted(out.glob("serve-*.png")):
        print(f"{f}  {f.stat().st_size // 1024} KiB")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "docs" / "images")
