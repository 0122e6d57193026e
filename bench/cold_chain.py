"""The floor of a cold start: the work a fresh server must do before the default sample's maps exist, done in one
fresh process with no server and no browser beside it.

    .venv/bin/python bench/cold_chain.py        # prints one JSON object: seconds per step and their total

Each step waits for the one before: importing TensorFlow, the engine and the app's cache, loading the default model
(its weights already converted), then what the server's preload does (``ui.preload.compute_landing_view``):
predicting the first sample (which traces the forward pass), tracing the gradient function, and the default
methods' maps for the top class. ``bench/click_to_maps.py`` runs it before starting the app and
prints the browser's cold start as a ratio to this total.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def main() -> None:
    import os
    import tempfile

    log = Path(tempfile.mkdtemp(prefix="cold-chain-")) / "profile.jsonl"
    os.environ["EXPLORER_PROFILE"] = str(log)  # the preload's phases, as the server logs them
    started = time.perf_counter()
    import models
    from ui import cache, preload  # noqa: F401 (the server has these imported too when the preload runs)

    steps = {"import": time.perf_counter() - started}
    model = models.get_source(models.DEFAULT_MODEL).load()
    steps["load"] = time.perf_counter() - started - steps["import"]
    preload.compute_landing_view(models.DEFAULT_MODEL, model)
    for line in log.read_text().splitlines():
        entry = json.loads(line)
        steps[entry["phase"].removeprefix("preload: ")] = entry["end"] - entry["start"]
    steps = {name: round(seconds, 3) for name, seconds in steps.items()}
    print(json.dumps({"steps": steps, "total": round(time.perf_counter() - started, 3)}))


if __name__ == "__main__":
    main()
