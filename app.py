"""Explanation Explorer: see why a Keras image classifier predicted what it did.

Run with ``scripts/start.sh`` (``python -m ui.serve``, which preloads the default model; ``streamlit run app.py``
works too). This entry page only sets up the app and its navigation;
each page lives in ``pages/`` and draws the sidebar's model section itself (``ui.model_choice``).
"""

import streamlit as st

from ui.runtime import keep_compiled_models_between_runs


def main() -> None:
    st.set_page_config(page_title="Explanation Explorer", page_icon=":material/image_search:", layout="wide")
    keep_compiled_models_between_runs()
    navigation = st.navigation(
        [
            st.Page("pages/compare.py", title="Compare methods", icon=":material/compare:", default=True),
            st.Page("pages/two_models.py", title="Two models", icon=":material/splitscreen:"),
            st.Page("pages/dataset.py", title="Dataset", icon=":material/dataset:"),
            st.Page("pages/layers.py", title="Inside the network", icon=":material/layers:"),
            st.Page("pages/training.py", title="Watch a CNN learn", icon=":material/model_training:"),
            st.Page("pages/model.py", title="Model", icon=":material/account_tree:"),
        ]
    )
    navigation.run()


main()
