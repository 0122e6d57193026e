"""How the app runs inside Streamlit: what Streamlit does between runs that a served model cannot afford."""

from __future__ import annotations

import sys


def keep_compiled_models_between_runs() -> None:
    """Stop Streamlit from calling ``keras.backend.clear_session()`` after every script run.

    Streamlit resets "problem modules" after each run (``_clean_problem_modules`` in its script runner).
    For TensorFlow that empties the eager kernel cache, so every rerun re-instantiated and re-optimised each
    compiled function and oneDNN rebuilt its primitives: 0.3-0.5 s on the first pass of every run, and every
    map about twice its in-process time (measured with ``bench/click_to_maps.py``). This app caches its models
    on purpose and never builds one per run, so there is nothing to clear. Matplotlib figures are still closed,
    as Streamlit does. A no-op if Streamlit's runner no longer has that hook.
    """
    from streamlit.runtime.scriptrunner import script_runner

    current = getattr(script_runner, "_clean_problem_modules", None)
    if current is None or getattr(current, "keeps_compiled_models", False):
        return

    def close_figures_only() -> None:
        pyplot = sys.modules.get("matplotlib.pyplot")
        if pyplot is not None:
            pyplot.close("all")

    close_figures_only.keeps_compiled_models = True
    close_figures_only.replaces = current
    script_runner._clean_problem_modules = close_figures_only
