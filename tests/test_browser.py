"""The real app in a real browser: headless Debian Chromium uploads a photo, sees four maps, opens the Model page."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
import skimage.data
from PIL import Image

from tests.live_server import CHROMIUM, CHROMIUM_ARGS, streamlit_server

pytestmark = pytest.mark.browser


@pytest.fixture
def server(bundled_model, tmp_path):  # bundled_model: the weights are converted before the server starts
    with streamlit_server(tmp_path / "streamlit.log") as url:
        yield url


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
            upload = page.get_by_text("Upload", exact=True)
            expect(upload).to_be_visible(timeout=120_000)  # drawn once the model has loaded
            upload.click()
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

            page.locator("[data-testid='stSidebarNav'] a").filter(has_text="Model").click()
            expect(page.get_by_text("CAM layer:").first).to_be_visible(timeout=60_000)
            expect(page.locator("[data-testid='stDataFrame']").first).to_be_visible(timeout=60_000)
            sidebar = page.locator("[data-testid='stSidebar']")
            model_picker = sidebar.get_by_role("combobox", name="Model")
            expect(model_picker).to_have_value(re.compile("EfficientNet-Lite0"))  # the choice survived the page change
            assert page.locator("[data-testid='stException']").count() == 0
        finally:
            browser.close()


def choose_sample(page, label: str) -> None:
    page.locator("[data-testid='stSelectbox']").filter(has_text="Sample image").click()
    page.get_by_role("option", name=label).click()


def test_changing_the_image_mid_computation_does_not_wedge_the_app(server):
    """Switch photos twice while the maps are still computing: the last choice wins, cleanly."""
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1600, "height": 1100})
            page.goto(server)
            maps = page.locator("[data-testid='stImage'] img")
            expect(maps).to_have_count(5, timeout=240_000)  # the first sample, fully computed
            choose_sample(page, "Chelsea the cat")
            expect(page.get_by_text("Computing…").first).to_be_visible(timeout=60_000)
            choose_sample(page, "Rocket launch")  # while Chelsea's maps are still being computed
            expect(page.get_by_text("Rocket launch, as the model sees it")).to_be_visible(timeout=120_000)
            expect(page.locator("[data-testid='stStatusWidget']")).to_be_hidden(timeout=240_000)
            expect(maps).to_have_count(5, timeout=60_000)
            assert page.locator("[data-testid='stException']").count() == 0
            assert "drilling rig" in page.locator("[data-testid='stMain']").inner_text()
        finally:
            browser.close()
