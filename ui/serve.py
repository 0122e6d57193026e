"""Start the app: ``python -m ui.serve [streamlit options]``, what ``scripts/start.sh`` and the Docker image run.

The same as ``streamlit run app.py``, except that TensorFlow is imported before the server listens and the
default model is loaded and compiled in the background while the server starts and the first browser
connects (``ui.preload``): on a 2-core CPU the first page's image showed about 0.5 s and its four maps
about 0.9 s sooner (``bench/click_to_maps.py``).
"""

from __future__ import annotations

import sys
from pathlib import Path

APP = Path(__file__).resolve().parent.parent / "app.py"


def main(argv: list[str]) -> None:
    # Imported here, in one thread, before the preload thread and the server's threads need them: TensorFlow's
    # import is not safe to race from two threads. Listening first and importing in the background (app.py
    # waiting for it) was tried twice: the server listened 3 s sooner, but on a 2-core CPU the import then shares
    # Python's lock with the server and the browser's page load, and the default sample's maps came no sooner
    # (11.7-12.3 s against 11.7-11.9 s, runs alternated with the code before).
    import explainers  # noqa: F401
    import models
    from ui import preload

    preload.start(models.DEFAULT_MODEL)
    from streamlit.runtime.pages_manager import PagesManager
    from streamlit.web import cli

    # Streamlit runs a ``pages/`` folder as an old-style multipage app until the first run of app.py calls
    # st.navigation: a fresh server's first visitor at a page's address (/layers, a bookmark) got that page
    # alone, without app.py's set-up. app.py always calls st.navigation, so the folder is never the navigation.
    PagesManager.uses_pages_directory = False

    cli.main(["run", str(APP), *argv], prog_name="streamlit")


if __name__ == "__main__":
    main(sys.argv[1:])
