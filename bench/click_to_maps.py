"""How long a person waits in the browser, against the same work done in-process.

    .venv/bin/python bench/click_to_maps.py                  # as a visitor on this machine sees it
    .venv/bin/python bench/click_to_maps.py --browser-nice   # the same, Chromium at the lowest CPU priority
    .venv/bin/python bench/click_to_maps.py --freeze-browser # Chromium stopped while an upload's maps compute

Starts the real app and drives it in headless Chromium:

1. cold start: from launching the server (as ``scripts/start.sh`` does) to the default sample's image and
   predictions, then its four maps, also as a ratio to the same chain of work in one fresh process
   (``bench/cold_chain.py``: imports, model load, traces, maps), and each server phase on a timeline; then a
   second visitor opening the page (a new session) until its four maps are drawn;
2. uploads of five different 224x224 photos: the first map, then all four maps, each next to the same four
   maps computed in this process with ``explainers.explain_many`` right after (warm), as a ratio; then the
   page idle (the trust section under the maps drawn too); the medians and the worst at the end;
3. display changes (colormap, opacity, normalisation): until every map is redrawn.

The server runs with ``EXPLORER_PROFILE`` set, so the app logs each phase (decode, predict, each method,
rendering, ...; see ``ui/profile.py``); after each step the phases that fell in it are printed, and the
rest of the wait is Streamlit, the transfer and the browser's paint. Each upload also prints each method's time
in the app against the same method in-process. ``--freeze-browser`` stops Chromium (SIGSTOP) from the upload's
decoding until its last map is computed, so the app's methods run with no browser beside them on the cores (the
browser's waits are then meaningless; the method times are what it is for). Not a test: nothing asserts.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np
import skimage.data
from PIL import Image
from sklearn.datasets import load_sample_image

import explainers
import imaging
import models
from tests.live_server import CHROMIUM, CHROMIUM_ARGS, streamlit_server
from ui.profile import PROFILE_ENV

PHOTOS = {
    "chelsea": skimage.data.chelsea,
    "astronaut": skimage.data.astronaut,
    "rocket": skimage.data.rocket,
    "coffee": skimage.data.coffee,  # the default sample's photo, but resized here: new content for the app
    "china": lambda: load_sample_image("china.jpg"),
}
MAP_COUNT = len(explainers.DEFAULT_METHODS)
WAIT_MS = 600_000
PICTURES = "[data-testid='stMain'] [data-testid='stImage'] img"  # the main area: images and maps
UNSIGNED_MAPS = sum(not explainers.METHODS[m].signed for m in explainers.DEFAULT_METHODS)
DISPLAY_CHANGES = (  # (setting, new value, maps it redraws: a colormap is for unsigned maps only)
    ("colormap", "viridis", UNSIGNED_MAPS),
    ("opacity", None, MAP_COUNT),
    ("normalisation", "max", MAP_COUNT),
)


def engine_seconds(model, source, pixels: np.ndarray) -> tuple[float, dict[str, float]]:
    """The four default maps in this process, as the app computes them (one warm-up call, then timed): the
    seconds for all four, and each method's."""
    inputs = source.preprocess(imaging.resize_for_model(pixels, source.input_size))
    for _ in range(2):
        started = last = time.perf_counter()
        methods = {}
        for explanation in explainers.explain_many(
            model, inputs, explainers.DEFAULT_METHODS, baseline=source.black_image()
        ):
            now = time.perf_counter()
            methods[explanation.method], last = now - last, now
    return last - started, methods


class Profile:
    """The app's phase log (``EXPLORER_PROFILE``), read back step by step."""

    def __init__(self, path: Path):
        self.path = path
        path.write_text("")

    def between(self, start: float, end: float) -> dict[str, list[float]]:
        """Each phase that ran between ``start`` and ``end``: [wall seconds, CPU seconds], summed."""
        totals: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0])
        for line in self.path.read_text().splitlines():
            entry = json.loads(line)
            if entry["start"] >= start - 0.05 and entry["end"] <= end + 0.05:
                totals[entry["phase"]][0] += entry["end"] - entry["start"]
                totals[entry["phase"]][1] += entry.get("cpu") or 0.0
        return totals

    def print_timeline(self, start: float, end: float) -> None:
        """Each phase that ran between ``start`` and ``end``, in order, as seconds since ``start``."""
        entries = [json.loads(line) for line in self.path.read_text().splitlines()]
        print(f"    {'server phase':40} {'from':>7} {'to':>7}")
        for entry in sorted(entries, key=lambda e: e["start"]):
            if entry["start"] >= start - 0.05 and entry["end"] <= end + 0.05:
                print(f"    {entry['phase']:40} {entry['start'] - start:6.2f}s {entry['end'] - start:6.2f}s")

    def count_since(self, start: float, prefix: str) -> int:
        """How many phases named ``prefix...`` ended after ``start``."""
        entries = (json.loads(line) for line in self.path.read_text().splitlines())
        return sum(entry["end"] >= start and entry["phase"].startswith(prefix) for entry in entries)

    def print_between(self, start: float, end: float, browser_cpu: float | None = None) -> None:
        totals = self.between(start, end)
        print(f"    {'server phase':40} {'wall':>7} {'CPU':>7}")
        for name, (seconds, cpu) in sorted(totals.items(), key=lambda item: -item[1][0]):
            print(f"    {name:40} {seconds:6.2f}s {cpu:6.2f}s")
        rest = end - start - sum(seconds for seconds, _ in totals.values())
        print(f"    {'(the rest: imports, Streamlit, transfer, browser)':40} {rest:6.2f}s")
        if browser_cpu is not None:
            print(f"    {'(the browser, on the same cores)':40} {'':7} {browser_cpu:6.2f}s")


def _chromium_stats() -> Iterator[tuple[int, list[str]]]:
    """(pid, the fields of /proc/pid/stat after the command name) of every Chromium process on this machine."""
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, IndexError, ValueError):
            command, fields = stat.read_text().rsplit(")", 1)
            if "chrom" in command:
                yield int(stat.parent.name), fields.split()


def browser_cpu_seconds() -> float:
    """CPU time used so far by every Chromium process on this machine (the browser shares its cores)."""
    ticks = sum(int(fields[11]) + int(fields[12]) for _, fields in _chromium_stats())  # utime, stime
    return ticks / os.sysconf("SC_CLK_TCK")


def map_sources(page) -> list[str]:
    """The addresses of the map pictures now on the page (each is a new media file when redrawn)."""
    return page.locator(PICTURES).evaluate_all("images => images.map(i => i.src)")


def wait_for_new_maps(page, before: set[str], count: int, also_idle: bool = True) -> None:
    """Until ``count`` pictures are on the page that were not there before (and the app is idle)."""
    from playwright.sync_api import expect

    page.wait_for_function(
        "([pictures, before, count]) => [...document.querySelectorAll(pictures)]"
        ".filter(i => !before.includes(i.src)).length >= count",
        arg=[PICTURES, sorted(before), count],
        timeout=WAIT_MS,
        polling=20,
    )
    if also_idle:
        expect(page.locator("[data-testid='stStatusWidget']")).to_have_count(0, timeout=WAIT_MS)


def print_methods_against_engine(phases: dict[str, list[float]], engine: dict[str, float]) -> None:
    """Each method's seconds in the app (its ``explain`` phase) against the same method in-process."""
    cells = []
    for method, seconds in engine.items():
        in_app = phases.get(f"explain {method}", [0.0])[0]
        cells.append(f"{method} {in_app:.2f}/{seconds:.2f} s")
    print(f"    methods in the app / in-process: {', '.join(cells)}")


def freeze_browser_while_maps_compute(profile: Profile, since: float) -> None:
    """Stop Chromium (SIGSTOP) once the upload's image is decoded, and resume it when its maps are computed."""
    deadline = time.monotonic() + WAIT_MS / 1000
    while not profile.count_since(since, "decode") and time.monotonic() < deadline:
        time.sleep(0.005)
    stopped = [pid for pid, _ in _chromium_stats()]
    for pid in stopped:
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGSTOP)
    try:
        while profile.count_since(since, "explain ") < MAP_COUNT and time.monotonic() < deadline:
            time.sleep(0.01)
    finally:
        for pid in stopped:
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGCONT)


def lower_browser_priority() -> None:
    """Renice every Chromium process to 19, so the server gets the CPU first: as if the browser ran on the
    visitor's own machine. A second, labelled figure (``--browser-nice``), never the headline one."""
    for pid, _ in _chromium_stats():
        with contextlib.suppress(OSError):
            os.setpriority(os.PRIO_PROCESS, pid, 19)


def main() -> None:
    from playwright.sync_api import expect, sync_playwright

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--browser-nice", action="store_true", help="run Chromium at the lowest CPU priority (a labelled variant)"
    )
    parser.add_argument(
        "--freeze-browser",
        action="store_true",
        help="stop Chromium while each upload's maps compute (diagnostic: the methods' times without a browser)",
    )
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="click-to-maps-"))
    profile = Profile(work / "profile.jsonl")
    os.environ[PROFILE_ENV] = str(profile.path)
    source = models.get_source(models.DEFAULT_MODEL)
    model = source.load()  # converts the weights once, so the server starts on a warm cache
    explainers.warm_up(model)
    # The cold start's floor, measured first in a fresh process with nothing beside it (see bench/cold_chain.py).
    chain = subprocess.run(
        [sys.executable, str(Path(__file__).with_name("cold_chain.py"))], capture_output=True, text=True, check=True
    )
    floor = json.loads(chain.stdout.splitlines()[-1])
    paths = {}
    for name, read in PHOTOS.items():
        paths[name] = work / f"{name}.png"
        Image.fromarray(read()).resize((224, 224), Image.Resampling.BILINEAR).save(paths[name])

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1600, "height": 1100})
        if args.browser_nice:
            lower_browser_priority()
            print("Chromium runs at nice 19 here: the browser yields the CPU to the server.")
        started = time.time()
        with streamlit_server(work / "streamlit.log") as url:
            listening = time.time()
            page.goto(url)
            expect(page.get_by_text("as the model sees it")).to_be_visible(timeout=WAIT_MS)
            usable = time.time()
            wait_for_new_maps(page, set(), MAP_COUNT + 1, also_idle=False)
            drawn = time.time()
            wait_for_new_maps(page, set(), MAP_COUNT + 1)
            done = time.time()
            print("cold start (server launched, default sample):")
            print(f"  server listening {listening - started:6.2f} s")
            print(f"  image and predictions shown {usable - started:6.2f} s")
            print(
                f"  four maps drawn {drawn - started:6.2f} s: {(drawn - started) / floor['total']:.2f}x the same work "
                f"in one fresh process ({floor['total']:.2f} s: "
                + ", ".join(f"{name} {seconds:.2f}" for name, seconds in floor["steps"].items())
                + ")"
            )
            print(f"  page idle (trust section drawn) {done - started:6.2f} s")
            profile.print_timeline(started, done)
            visitor = browser.new_page(viewport={"width": 1600, "height": 1100})  # a new session, same server
            started = time.time()
            visitor.goto(url)
            wait_for_new_maps(visitor, set(), MAP_COUNT + 1, also_idle=False)
            print(f"  another visitor opens the page -> four maps drawn {time.time() - started:6.2f} s")
            visitor.close()

            page.get_by_text("Upload", exact=True).click()
            expect(page.get_by_text("Still showing the previous image")).to_be_visible(timeout=60_000)
            expect(page.locator("[data-testid='stStatusWidget']")).to_have_count(0, timeout=WAIT_MS)
            print(f"\n{'upload':10} {'first map':>10} {'four maps':>10} {'engine':>8} {'ratio':>6} {'idle':>8}")
            firsts, ratios = [], []
            for name, path in paths.items():
                before = set(map_sources(page))
                started, browser_before = time.time(), browser_cpu_seconds()
                page.locator("input[type=file]").set_input_files(path)  # replaces the previous upload
                if args.freeze_browser:
                    freeze_browser_while_maps_compute(profile, started)
                wait_for_new_maps(page, before, 2, also_idle=False)  # the image as the model sees it, one map
                first = time.time() - started
                wait_for_new_maps(page, before, MAP_COUNT + 1, also_idle=False)
                waited = time.time() - started
                wait_for_new_maps(page, before, MAP_COUNT + 1)  # and the trust section under them drawn
                expect(page.get_by_text("Download raw maps (.npz)")).to_be_visible(timeout=WAIT_MS)
                finished, browser_used = time.time(), browser_cpu_seconds() - browser_before
                pixels = np.asarray(Image.open(path).convert("RGB"), np.float32)
                reference, reference_methods = engine_seconds(model, source, pixels)
                print(
                    f"{name:10} {first:9.2f}s {waited:9.2f}s {reference:7.2f}s {waited / reference:6.2f} "
                    f"{finished - started:7.2f}s"
                )
                profile.print_between(started, finished, browser_used)
                print_methods_against_engine(profile.between(started, finished), reference_methods)
                firsts.append(first)
                ratios.append(waited / reference)
            print(
                f"uploads: first map median {np.median(firsts):.2f} s (worst {max(firsts):.2f} s); four maps "
                f"median {np.median(ratios):.2f}x the in-process engine (worst {max(ratios):.2f}x)"
            )

            print("\ndisplay change -> every map redrawn")
            page.get_by_role("button", name="Display").click()
            for setting, value, redrawn in DISPLAY_CHANGES:
                before = set(map_sources(page))
                started = time.time()
                if setting == "opacity":
                    page.get_by_role("slider", name="Map opacity").press("ArrowRight")
                else:  # a radio: the colormap's name or the normalisation's description
                    page.get_by_text(imaging.NORMALISATIONS.get(value, value), exact=True).click()
                wait_for_new_maps(page, before, redrawn)
                finished = time.time()
                print(f"  {setting:14} {finished - started:6.2f} s")
                profile.print_between(started, finished)
        browser.close()


if __name__ == "__main__":
    main()
