"""The real app in a real browser: headless Debian Chromium uploads a photo and sees four maps."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
import skimage.data
from PIL import Image

from tests.conftest import ROOT

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
pytestmark = pytest.mark.browser


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def server(bundled_model, tmp_path):  # bundled_model: the weights are converted before the server starts
    port = free_port()
    log = (tmp_path / "streamlit.log").open("w")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "streamlit",
            "run",
            "app.py",
            "--server.port",
            str(port),
            "--server.address",
            "127.0.0.1",
            "--server.headless",
            "true",
        ],
        cwd=ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
        env=os.environ.copy(),
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(
                        f"streamlit did not start:\n{(tmp_path / 'streamlit.log').read_text()}"
                    ) from None
                time.sleep(0.5)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=30)
        log.close()


def test_upload_a_photo_and_see_four_maps(server, tmp_path):
    from playwright.sync_api import expect, sync_playwright

    assert Path(CHROMIUM).exists(), "Debian's chromium is missing: run the README's test command"
    photo = tmp_path / "chelsea.jpg"
    Image.fromarray(skimage.data.chelsea()).save(photo)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1600, "height": 1100})
            page.goto(server)
            expect(page.get_by_text("Compare attribution methods").first).to_be_visible(timeout=60_000)
            page.get_by_text("Upload", exact=True).click()
            page.locator("input[type=file]").set_input_files(photo)
            maps = page.locator("[data-testid='stImage'] img")
            expect(maps).to_have_count(5, timeout=240_000)  # the photo as the model sees it, and four maps
            expect(page.get_by_text("Download raw maps (.npz)")).to_be_visible(timeout=60_000)
            assert page.locator("[data-testid='stException']").count() == 0
            for index in range(5):
                assert maps.nth(index).evaluate("img => img.complete && img.naturalWidth > 0")
            text = page.locator("[data-testid='stMain']").inner_text()
            assert "Egyptian Mau" in text or "cat" in text
            # EXPLORER_SCREENSHOT=docs/screenshot.png refreshes the README's picture from this very run.
            page.screenshot(path=os.environ.get("EXPLORER_SCREENSHOT", str(tmp_path / "compare.png")))
        finally:
            browser.close()
