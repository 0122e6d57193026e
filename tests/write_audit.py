"""Run the Compare page through AppTest with the files in INPUT_DIR uploaded, and print as JSON every path
this process opened for writing.

    python -m tests.write_audit INPUT_DIR

INPUT_DIR holds ``image.png``, ``model.keras``, ``model.h5`` and ``names.txt``. The audit hook is installed
before anything else is imported, so it sees every write made from Python (``open``, ``os.open``, renames,
new folders); writes made inside C libraries are caught by the calling test's scan of the file system.
It runs in its own process because an audit hook cannot be removed.
"""

from __future__ import annotations

import os
import sys

WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_TRUNC
written: set[str] = set()
recording = False  # switched on once the test harness (AppTest makes a folder of its own) is imported


def _record(event: str, args: tuple) -> None:
    if not recording:
        return
    if event == "open":
        path, mode, flags = args
        writing = any(c in mode for c in "wax+") if isinstance(mode, str) else bool((flags or 0) & WRITE_FLAGS)
        if writing and isinstance(path, (str, bytes, os.PathLike)):
            written.add(os.fsdecode(path))
    elif event in ("os.rename", "os.mkdir", "shutil.copyfile", "shutil.move"):
        written.add(os.fsdecode(args[1] if event != "os.mkdir" else args[0]))


sys.addaudithook(_record)

import json  # noqa: E402
from pathlib import Path  # noqa: E402

from streamlit.testing.v1 import AppTest  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent


def main(input_dir: Path) -> None:
    global recording
    recording = True
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=300)
    at.session_state["methods"] = ["gradcam"]
    at.run()
    at.radio(key="image_source").set_value("Upload").run()
    at.file_uploader(key="upload").upload("image.png", (input_dir / "image.png").read_bytes(), "image/png").run()
    at.selectbox(key="model").set_value("upload").run()
    for name in ("model.h5", "model.keras"):
        at.file_uploader(key="model_upload").upload(name, (input_dir / name).read_bytes(), "application/x-hdf5").run()
    names = (input_dir / "names.txt").read_bytes()
    at.file_uploader(key="class_names_upload").upload("names.txt", names, "text/plain").run()
    problems = [e.value for e in (*at.exception, *at.error)]
    maps = [image for image in at.get("image") if "as the model sees it" not in str(image.proto)]
    print(json.dumps({"written": sorted(written), "problems": problems, "maps": len(maps)}))


if __name__ == "__main__":
    main(Path(sys.argv[1]))
