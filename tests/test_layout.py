"""The engine packages stay free of Streamlit, so the CLI, batch jobs and other front ends can use them."""

from __future__ import annotations

import subprocess
import sys

from tests.conftest import ROOT

ENGINE = ("batch", "explainers", "imaging", "introspection", "metrics", "models", "reports")


def test_the_engine_packages_import_no_streamlit():
    script = f"import sys; import {', '.join(ENGINE)}; print('streamlit' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"
