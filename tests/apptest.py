"""`semsum app` as a real server in a subprocess, and the page driven in headless Chromium: for tests/test_app.py
and benchmarks/app_latency.py."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

CHROMIUM = os.environ.get("SEMSUM_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update"]  # fmt: skip


@dataclass
class AppServer:
    url: str
    tmp: Path  # the server's TMPDIR: request folders and Gradio's cache live here
    log: Path

    def request_folders(self) -> list[Path]:
        """Work folders of requests (each is removed once its request has answered)."""
        return sorted(self.tmp.glob("semsum-request-*"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def app_server(tmp: Path, *options: str, start_timeout: float = 180) -> Iterator[AppServer]:
    """`python -m semsum app OPTIONS` on a free localhost port, with its own TMPDIR; stopped as by Ctrl-C."""
    port = free_port()
    log = tmp / "server.log"
    env = {**os.environ, "TMPDIR": str(tmp), "GRADIO_ANALYTICS_ENABLED": "False", "PYTHONUNBUFFERED": "1"}
    env.pop("SEMSUM_CACHE", None)  # the server keeps the features of uploads in a folder of its own, under TMPDIR
    cmd = [sys.executable, "-m", "semsum", "app", "--port", str(port), *options]
    with log.open("w") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=tmp)
    try:
        deadline = time.monotonic() + start_timeout
        while "semsum app: serving" not in log.read_text():
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"semsum app did not start (exit {proc.poll()}):\n{log.read_text()[-3000:]}")
            time.sleep(0.3)
        url = f"http://127.0.0.1:{port}/"
        with urllib.request.urlopen(url, timeout=30) as page:
            assert page.status == 200
        yield AppServer(url, tmp, log)
    finally:
        proc.send_signal(signal.SIGTERM)  # semsum app closes as on Ctrl-C: Gradio empties its cache
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@contextmanager
def browser_page(url: str, external: list[str]) -> Iterator[Any]:
    """A Playwright page of headless Chromium at `url`; every request to another host is appended to `external`."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.on("request", lambda r: _note_external(r.url, external))
            page.goto(url, wait_until="networkidle")
            yield page
        finally:
            browser.close()


def _note_external(url: str, external: list[str]) -> None:
    if urlparse(url).hostname not in (None, "127.0.0.1"):
        external.append(url)


def summarize_in_page(page: Any, clip: Path | None = None, timeout_s: float = 600) -> float:
    """Upload `clip` (or keep the video already there), press Summarize, wait until a new summary video's length is
    known; seconds from the press."""
    if clip is not None:
        page.locator("#upload input[type=file]").set_input_files(str(clip))
        page.locator("#upload video").wait_for(timeout=120_000)  # the upload is in and previewed
    previous = page.evaluate("() => document.querySelector('#summary video')?.src ?? ''")
    start = time.monotonic()
    page.locator("#summarize").click()
    page.wait_for_function(
        "old => { const v = document.querySelector('#summary video'); return v && v.src !== old && v.readyState >= 1 }",
        arg=previous,
        timeout=timeout_s * 1000,
    )
    return time.monotonic() - start
