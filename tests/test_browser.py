"""The real app in a real browser (headless Debian Chromium): an upload and its four maps, the Model page,
a change of image mid-computation, four sessions at once, and the upload size limits."""

from __future__ import annotations

import contextlib
import itertools
import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import skimage.data
from PIL import Image

import imaging
import introspection
import models
from tests.live_server import CHROMIUM, CHROMIUM_ARGS, streamlit_server
from ui.profile import PROFILE_ENV

pytestmark = pytest.mark.browser
VIEWPORT = {"width": 1600, "height": 1100}


@pytest.fixture(scope="module")
def server_folder(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("server")


@pytest.fixture(scope="module")
def server(bundled_model, server_folder):  # bundled_model: the weights are converted before the server starts
    profile = {PROFILE_ENV: str(server_folder / "profile.jsonl")}  # the app's phases, for the display test
    with streamlit_server(server_folder / "streamlit.log", env=profile) as url:
        yield url


@contextlib.contextmanager
def chromium() -> Iterator:
    """Headless Debian Chromium through Playwright, closed on exit."""
    from playwright.sync_api import sync_playwright

    assert Path(CHROMIUM).exists(), "Debian's chromium is missing: run the README's test command"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def open_app(browser, server: str):
    """A new session on the app, once the first sample and its four maps are on screen."""
    from playwright.sync_api import expect

    page = browser.new_page(viewport=VIEWPORT)
    page.goto(server)
    expect(page.locator("[data-testid='stImage'] img")).to_have_count(5, timeout=240_000)
    return page


def choose_sample(page, label: str) -> None:
    page.locator("[data-testid='stSelectbox']").filter(has_text="Sample image").click()
    page.get_by_role("option", name=label).click()


def test_a_link_to_the_layers_page_opens_it_on_a_fresh_server_and_hover_names_a_layer(bundled_model, tmp_path):
    """A bookmark of the Layers page is the first visit to a new server: the app's own navigation and page set-up
    (not Streamlit's pages folder), the channel tiles, the gradient-flow chart whose points name their layer, and
    a feature visualisation that shows its progress and stops when asked."""
    from playwright.sync_api import expect

    with streamlit_server(tmp_path / "streamlit.log") as url, chromium() as browser:
        page = browser.new_page(viewport=VIEWPORT)
        page.goto(f"{url}/layers")
        expect(page.get_by_text("never active").first).to_be_visible(timeout=240_000)
        navigation = page.locator("[data-testid='stSidebarNav']")
        expect(navigation.get_by_text("Inside the network")).to_be_visible()
        expect(navigation.get_by_text("Compare methods")).to_be_visible()
        filters = bundled_model.get_layer("stem_conv").kernel.shape[-1]
        pictures = 1 + 48 + 1 + filters  # the image, a page of tiles, one channel, the first layer's filters
        expect(page.locator("[data-testid='stImage'] img")).to_have_count(pictures, timeout=60_000)
        page.get_by_role("tab", name="Gradient flow through all layers").click()
        chart = page.locator("[data-testid='stVegaLiteChart']").filter(has_text="the output (left)").first
        expect(chart).to_be_visible()
        tooltip = page.locator("#vg-tooltip-element")
        box = chart.locator("canvas, svg").first.bounding_box()
        for step in range(120):  # sweep across the plot until the pointer lands on a point
            page.mouse.move(box["x"] + box["width"] * (0.1 + 0.8 * step / 119), box["y"] + box["height"] * 0.45)
            if tooltip.is_visible():
                break
        expect(tooltip).to_be_visible()
        named = re.search(r"layer\s+(\S+)", tooltip.inner_text())
        assert named, tooltip.inner_text()
        assert named.group(1) in {info.path for info in introspection.inspectable_layers(bundled_model)}

        # Feature visualisation runs in the background: its progress moves while the page is polled, and Stop
        # ends it early with the picture so far.
        page.get_by_role("tab", name="Feature visualisation").click()
        page.get_by_role("button", name="Visualise").click()
        progress = page.get_by_text(re.compile(r"Step \d+ of 128"))
        expect(progress).to_be_visible(timeout=60_000)
        first = int(re.search(r"Step (\d+)", progress.inner_text()).group(1))
        expect(page.get_by_text(re.compile(rf"Step (?!{first} )\d+ of 128"))).to_be_visible(timeout=30_000)
        page.get_by_role("button", name="Stop").click()
        expect(page.get_by_text(re.compile(r"stopped after \d+ steps"))).to_be_visible(timeout=60_000)
        expect(page.get_by_text("What the model sees in it")).to_be_visible()


def test_a_copied_link_reopens_the_view_in_a_fresh_browser(server):
    """The address follows the view; pasted into a new browser context (no shared session), it reopens it."""
    from urllib.parse import parse_qs, urlparse

    from playwright.sync_api import expect

    with chromium() as browser:
        first = browser.new_context(viewport=VIEWPORT).new_page()
        first.goto(f"{server}/?methods=gradcam,saliency&sample=chelsea")
        expect(first.locator("[data-testid='stImage'] img")).to_have_count(3, timeout=240_000)
        box = first.locator("[data-testid='stSelectbox']").filter(has_text="Explain class")
        box.click()
        first.keyboard.type("lynx")
        first.keyboard.press("Enter")
        expect(first.get_by_text(re.compile(r"^Grad-CAM · lynx"))).to_be_visible(timeout=120_000)
        first.wait_for_function("() => location.search.includes('target=287')", timeout=30_000)
        link = first.url

        second = browser.new_context(viewport=VIEWPORT).new_page()
        second.goto(link)
        expect(second.get_by_text(re.compile(r"^Grad-CAM · lynx"))).to_be_visible(timeout=240_000)
        expect(second.get_by_text(re.compile(r"^Saliency · lynx"))).to_be_visible(timeout=240_000)
        expect(second.get_by_text("Chelsea the cat, as the model sees it")).to_be_visible()
        assert parse_qs(urlparse(second.url).query) == parse_qs(urlparse(link).query)


def open_offline(browser, path: Path) -> tuple:
    """``path`` in a browser context with no network: every request but the file itself is refused and recorded."""
    context = browser.new_context(viewport=VIEWPORT, offline=True)
    requests: list[str] = []
    context.on("request", lambda request: requests.append(request.url))
    context.route("**/*", lambda route: route.continue_() if route.request.url.startswith("file:") else route.abort())
    page = context.new_page()
    page.goto(path.as_uri())
    return page, requests


ALL_PICTURES_DRAWN = "() => [...document.images].every(image => image.complete && image.naturalWidth > 0)"


def test_the_report_downloads_and_opens_offline_with_the_network_blocked(server, bundled_model, tmp_path):
    """The default view's report, downloaded from the page as HTML and as PDF; the HTML, and a DICOM case's, open
    with the network blocked, every picture drawn and no request made."""
    import subprocess

    from playwright.sync_api import expect

    import cli
    from tests.test_dicom import PHI, dicom_bytes

    with chromium() as browser:
        page = open_app(browser, server)
        downloaded = {}
        for format in ("HTML", "PDF"):
            with page.expect_download(timeout=120_000) as download:
                page.get_by_role("button", name=f"Download report ({format})").click()
            downloaded[format] = tmp_path / download.value.suggested_filename
            download.value.save_as(downloaded[format])
        assert downloaded["HTML"].name == "explanation-report-espresso.html"
        pdf_text = subprocess.run(["pdftotext", str(downloaded["PDF"]), "-"], capture_output=True, text=True).stdout
        assert "Why the model predicted espresso" in pdf_text and "Integrated Gradients" in pdf_text

        report, requests = open_offline(browser, downloaded["HTML"])
        expect(report.get_by_role("heading", name=re.compile(r"^Why the model predicted espresso"))).to_be_visible()
        for method in ("Saliency", "SmoothGrad", "Grad-CAM", "Integrated Gradients"):
            expect(report.get_by_role("heading", name=f"{method} · espresso")).to_be_visible()
        expect(report.locator("img")).to_have_count(5)  # the image as the model saw it, and four maps
        assert report.evaluate(ALL_PICTURES_DRAWN)
        assert requests == [downloaded["HTML"].as_uri()]

        scan = tmp_path / "scan.dcm"
        scan.write_bytes(dicom_bytes("CT_small.dcm", **PHI))
        assert cli.main([str(scan), "--methods", "gradcam,saliency", "--report", str(tmp_path / "case.html")]) == 0
        case, requests = open_offline(browser, tmp_path / "case.html")
        expect(case.get_by_text("patient-identifying DICOM attributes were dropped")).to_be_visible()
        expect(case.locator("img")).to_have_count(3)
        assert case.evaluate(ALL_PICTURES_DRAWN)
        assert requests == [(tmp_path / "case.html").as_uri()]
        assert not any(value in case.content() for value in PHI.values())


def test_two_models_compare_side_by_side_in_aligned_rows(server):
    """The Two models page: a second model picked in the sidebar, each model's predictions, and the same four
    methods in two rows whose maps line up column by column."""
    from playwright.sync_api import expect

    with chromium() as browser:
        page = browser.new_page(viewport=VIEWPORT)
        page.goto(f"{server}/two_models")
        expect(page.get_by_text("Choose a second model in the sidebar")).to_be_visible(timeout=240_000)
        page.locator("[data-testid='stSelectbox']").filter(has_text="Second model").click()
        page.get_by_role("option", name="Fashion-MNIST CNN (bundled, 28x28 grayscale)").click()
        pictures = page.locator("[data-testid='stImage'] img")
        expect(pictures).to_have_count(2 + 2 * 4, timeout=240_000)  # each model's input, then four maps each
        expect(page.get_by_text("The two models' classes differ")).to_be_visible()
        expect(page.get_by_text(re.compile(r"one scale for both models"))).to_be_visible()
        boxes = [pictures.nth(index).bounding_box() for index in range(2, 10)]
        first, second = boxes[:4], boxes[4:]
        for above, below in zip(first, second, strict=True):
            assert abs(above["x"] - below["x"]) < 2 and abs(above["width"] - below["width"]) < 2
            assert below["y"] > above["y"] + above["height"]
        assert all(box["x"] < following["x"] for box, following in itertools.pairwise(first))
        assert page.locator("[data-testid='stException']").count() == 0


def test_changing_the_image_mid_computation_does_not_wedge_the_app(server):
    """Switch photos twice while the maps are still computing: the last choice wins, cleanly."""
    from playwright.sync_api import expect

    with chromium() as browser:
        page = open_app(browser, server)
        maps = page.locator("[data-testid='stImage'] img")
        choose_sample(page, "Chelsea the cat")
        expect(page.get_by_text("Computing…").first).to_be_visible(timeout=60_000)
        # The previous image's trust section has left with its maps: it would read as this image's.
        expect(page.get_by_role("heading", name="How far to trust each map")).to_have_count(0)
        choose_sample(page, "Rocket launch")  # while Chelsea's maps are still being computed
        expect(page.get_by_text("Rocket launch, as the model sees it")).to_be_visible(timeout=120_000)
        expect(page.locator("[data-testid='stStatusWidget']")).to_be_hidden(timeout=240_000)
        expect(maps).to_have_count(5, timeout=60_000)
        assert page.locator("[data-testid='stException']").count() == 0
        expect(page.get_by_role("combobox", name="Explain class")).to_have_value(re.compile(r"^drilling rig · "))


COUNT_PICTURES_EACH_FRAME = """() => {
    window.picturesEachFrame = [];
    const count = () => {
        window.picturesEachFrame.push(document.querySelectorAll("[data-testid='stImage'] img").length);
        requestAnimationFrame(count);
    };
    count();
}"""


def test_a_display_change_redraws_the_maps_and_nothing_else(server, server_folder):
    """The display settings sit beside the maps, in a fragment: a change redraws every map and its colour bar in
    place (never a frame without them), and runs nothing else of the page (no decoding, prediction or map computed
    again; the app's phase log)."""
    import json
    import time

    from playwright.sync_api import expect

    with chromium() as browser:
        page = open_app(browser, server)
        expect(page.locator("[data-testid='stStatusWidget']")).to_have_count(0, timeout=240_000)
        pictures = page.locator("[data-testid='stImage'] img")
        image, *maps = pictures.evaluate_all("images => images.map(i => i.src)")
        bars = page.get_by_role("img", name=re.compile("^colour scale from"))
        expect(bars).to_have_count(4)
        scales = bars.evaluate_all("bars => bars.map(b => b.getAttribute('aria-label'))")
        captions = page.get_by_text(re.compile(r"\d passes")).all_inner_texts()

        page.get_by_role("button", name="Display").click()
        page.evaluate(COUNT_PICTURES_EACH_FRAME)
        changed_at = time.time()
        page.get_by_role("slider", name="Map opacity").press("ArrowRight")
        page.wait_for_function(
            "old => [...document.querySelectorAll(\"[data-testid='stImage'] img\")].filter(i => !old.includes(i.src))"
            ".length == 4",
            arg=[image, *maps],  # exactly the four maps are new pictures: the image is the same one
            timeout=60_000,
        )
        expect(page.locator("[data-testid='stStatusWidget']")).to_have_count(0, timeout=60_000)
        assert pictures.evaluate_all("images => images.map(i => i.src)")[0] == image
        assert page.get_by_text(re.compile(r"\d passes")).all_inner_texts() == captions  # same maps, same timings
        entries = [json.loads(line) for line in (server_folder / "profile.jsonl").read_text().splitlines()]
        ran = {entry["phase"].split()[0] for entry in entries if entry["start"] >= changed_at}
        assert ran == {"render", "trust"}, f"a display change ran {sorted(ran)}"  # the fragment: maps, their trust
        assert min(page.evaluate("window.picturesEachFrame")) == 5, "the maps went blank while being redrawn"

        page.get_by_text(imaging.NORMALISATIONS["max"]).click()
        expect(bars.first).not_to_have_attribute("aria-label", scales[0], timeout=60_000)  # the scale follows
        assert page.locator("[data-testid='stException']").count() == 0


# Each photo's top-1 class with the bundled model (the whole image resized to 224, as the page does).
CONCURRENT_PHOTOS = {
    "chelsea": "Egyptian Mau",
    "coffee": "espresso",
    "rocket": "drilling rig",
    "astronaut": "bobsleigh",
}


def test_four_concurrent_sessions_each_get_maps_of_their_own_image(server, tmp_path):
    """Four browser sessions upload different photos at the same time; each sees only its own four maps.
    Then one of them opens the Model page, and the model it chose is still chosen."""
    from playwright.sync_api import expect

    files = {}
    for name in CONCURRENT_PHOTOS:
        files[name] = tmp_path / f"{name}.png"
        Image.fromarray(getattr(skimage.data, name)()).save(files[name])
    with chromium() as browser:
        pages = {}
        for name in CONCURRENT_PHOTOS:  # separate contexts: separate cookies, separate Streamlit sessions
            page = browser.new_context(viewport=VIEWPORT).new_page()
            page.goto(server)
            pages[name] = page
        for page in pages.values():
            upload = page.get_by_text("Upload", exact=True)
            expect(upload).to_be_visible(timeout=240_000)
            upload.click()
            expect(page.locator("input[type=file]")).to_have_count(1, timeout=60_000)
        for name, page in pages.items():  # all four uploads go in before any maps are done
            page.locator("input[type=file]").set_input_files(files[name])
        for name, page in pages.items():
            expect(page.get_by_text(f"{name}.png, as the model sees it")).to_be_visible(timeout=600_000)
            expect(page.get_by_text("Download raw maps (.npz)")).to_be_visible(timeout=600_000)
            expect(page.locator("[data-testid='stImage'] img")).to_have_count(5, timeout=60_000)
        for name, page in pages.items():
            assert page.locator("[data-testid='stException']").count() == 0, name
            target = page.get_by_role("combobox", name="Explain class")
            expect(target).to_have_value(re.compile(f"^{CONCURRENT_PHOTOS[name]} · "))  # its own top class
            text = page.locator("[data-testid='stMain']").inner_text()
            others = [other for other in CONCURRENT_PHOTOS if other != name]
            assert not any(f"{other}.png" in text for other in others), f"{name} sees another session's image"
            for index in range(5):
                assert (
                    page.locator("[data-testid='stImage'] img")
                    .nth(index)
                    .evaluate("img => img.complete && img.naturalWidth > 0")
                )

        page = pages["chelsea"]
        # EXPLORER_SCREENSHOT=docs/screenshot.png refreshes the README picture (captions show contended times).
        page.screenshot(path=os.environ.get("EXPLORER_SCREENSHOT", str(tmp_path / "compare.png")))
        page.locator("[data-testid='stSidebarNav']").get_by_role("link", name="Model", exact=True).click()
        expect(page.get_by_text("CAM layer:").first).to_be_visible(timeout=60_000)
        expect(page.locator("[data-testid='stDataFrame']").first).to_be_visible(timeout=60_000)
        model_picker = page.locator("[data-testid='stSidebar']").get_by_role("combobox", name="Model")
        expect(model_picker).to_have_value(re.compile("EfficientNet-Lite0"))  # the choice survived the page change
        assert page.locator("[data-testid='stException']").count() == 0


def test_upload_limits_are_the_ones_the_page_states(server, tmp_path):
    """An image over its limit is refused in the browser and the previous maps stay; a model file over the
    image limit but under its own (200 MB) is accepted by the server, which once refused it with HTTP 413."""
    import keras
    from playwright.sync_api import expect

    huge_image = tmp_path / "huge.png"
    huge_image.write_bytes(b"\x89PNG" + bytes(imaging.MAX_IMAGE_BYTES + 1024))
    big_model = tmp_path / "big.keras"
    inputs = keras.Input((32, 32, 3))
    x = keras.layers.Conv2D(8, 3, activation="relu", name="conv")(inputs)
    x = keras.layers.GlobalAveragePooling2D()(x)
    x = keras.layers.Dense(3700, activation="relu")(x)  # 14 M parameters: a 55 MB file
    x = keras.layers.Dense(3700, activation="relu")(x)
    keras.Model(inputs, keras.layers.Dense(3, activation="softmax")(x)).save(big_model)
    assert imaging.MAX_IMAGE_BYTES < big_model.stat().st_size < models.MAX_MODEL_BYTES

    with chromium() as browser:
        page = open_app(browser, server)
        maps = page.locator("[data-testid='stImage'] img")
        sidebar = page.locator("[data-testid='stSidebar']")
        sidebar.get_by_text("Upload", exact=True).click()
        expect(page.get_by_text("Still showing the previous image, Coffee cup")).to_be_visible(timeout=60_000)
        image_upload = page.locator("[data-testid='stFileUploader']").filter(has_text="Your image")
        image_upload.locator("input[type=file]").set_input_files(huge_image)
        limit = imaging.MAX_IMAGE_BYTES >> 20
        expect(sidebar.get_by_text(re.compile(f"File must be {limit}.0MB or smaller"))).to_be_visible()
        expect(maps).to_have_count(5)  # the sample's maps are still there

        sidebar.get_by_role("combobox", name="Model").click()
        page.get_by_role("option", name="Your own model (.keras or .h5)…").click()
        model_upload = page.locator("[data-testid='stFileUploader']").filter(has_text="Model file")
        expect(model_upload).to_be_visible(timeout=60_000)
        model_upload.locator("input[type=file]").set_input_files(big_model)
        expect(sidebar.get_by_text("Guessed 0..1")).to_be_visible(timeout=120_000)
        expect(sidebar.get_by_text("status code 413")).to_have_count(0)
        target = page.get_by_role("combobox", name="Explain class")
        expect(target).to_have_value(re.compile("^class "), timeout=120_000)  # the uploaded model's classes
        assert page.locator("[data-testid='stException']").count() == 0
