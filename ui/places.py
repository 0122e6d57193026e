"""Places on a page that keep their position from run to run, cleared at once or redrawn in place.

Streamlit matches what a run draws to what the browser shows by position. A place that must lose its old
content at once (the previous image's map while a new one computes) is an ``st.empty()``: an element that
replaces whatever stood there. A place that is only redrawn (a display change) is an ``st.container()``, whose
old children stay until each is replaced, so no frame is blank. Either way :meth:`Place.area` gives a
container at the same position, so the page has the same structure on every run.

Sending ``st.empty()`` and then its container at once would not clear: Streamlit merges the two into the
container, which keeps the old children. So a cleared place holds one element (a progress bar, a notice)
until its content is drawn.
"""

from __future__ import annotations

from streamlit.delta_generator import DeltaGenerator


class Place:
    def __init__(self, parent, *, clear: bool):
        """A place in ``parent`` (``st``, a column, a container); ``clear`` empties it now."""
        self.clear = clear
        self.holder: DeltaGenerator = parent.empty() if clear else parent.container()
        """One element can be put here directly while the place is cleared (``place.holder.progress(...)``)."""

    def area(self) -> DeltaGenerator:
        """A container to draw into: a new one over a cleared place, the place itself otherwise."""
        return self.holder.container() if self.clear else self.holder
