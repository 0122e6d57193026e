"""How long a person waits: from choosing a 224x224 photo to seeing four maps in the browser.

    .venv/bin/python bench/click_to_maps.py

Starts the real app, uploads two different 224x224 photos in headless Chromium (the first after the
page's own sample, so the model is loaded and traced, the second warm), and prints each wait next to
a reference run in this process: the same four maps computed with ``explainers.explain`` directly.
The ratio is the app's own overhead (Streamlit, rendering, transfer, and on a small machine the
browser's share of the CPU). Not a test: nothing asserts.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np
import skimage.data
from PIL import Image

import explainers
import imaging
import models
from tests.live_server import CHROMIUM, CHROMIUM_ARGS, streamlit_server

PHOTOS = {"chelsea": skimage.data.chelsea, "astronaut": skimage.data.astronaut}


def engine_seconds(model, source, pixels: np.ndarray) -> float:
    inputs = source.preprocess(imaging.resize_for_model(pixels, source.input_size))
    started = time.perf_counter()
    for method in explainers.DEFAULT_METHODS:
        explainers.explain(model, inputs, method, baseline=source.black_image())
    return time.perf_counter() - started


def main() -> None:
    from playwright.sync_api import expect, sync_playwright

    work = Path(tempfile.mkdtemp(prefix="click-to-maps-"))
    source = models.get_source(models.DEFAULT_MODEL)
    model = source.load()
    explainers.warm_up(model)
    paths = {}
    for name, read in PHOTOS.items():
        paths[name] = work / f"{name}.png"
        Image.fromarray(read()).resize((224, 224), Image.Resampling.BILINEAR).save(paths[name])

    with streamlit_server(work / "streamlit.log") as url, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1600, "height": 1100})
        started = time.perf_counter()
        page.goto(url)
        maps = page.locator("[data-testid='stImage'] img")
        expect(maps).to_have_count(5, timeout=600_000)
        print(f"open the page, sample photo, model load and four maps: {time.perf_counter() - started:6.2f} s")
        page.get_by_text("Upload", exact=True).click()
        expect(maps).to_have_count(0, timeout=60_000)
        print(f"{'photo':10} {'browser s':>10} {'engine s':>10} {'ratio':>6}")
        for name, path in paths.items():
            started = time.perf_counter()
            page.locator("input[type=file]").set_input_files(path)  # replaces the previous upload
            expect(page.get_by_text(f"{path.name}, as the model sees it")).to_be_visible(timeout=600_000)
            expect(page.locator("[data-testid='stStatusWidget']")).to_be_hidden(timeout=600_000)
            expect(maps).to_have_count(5, timeout=600_000)
            expect(page.get_by_text("Download raw maps (.npz)")).to_be_visible(timeout=600_000)
            waited = time.perf_counter() - started
            reference = engine_seconds(model, source, np.asarray(Image.open(path).convert("RGB"), np.float32))
            print(f"{name:10} {waited:10.2f} {reference:10.2f} {waited / reference:6.2f}")
        browser.close()


if __name__ == "__main__":
    main()
