"""Long computations that outlive one script run: feature visualisation and training.

A job runs in a thread of its own, one per name and browser session, so the page stays responsive: the page
polls it from a fragment that reruns every fraction of a second while it runs (:func:`progress_ui`). A Stop
button sets the job's event; a job whose browser session has ended (the tab closed) stops at its next check,
so no thread computes for nobody. Jobs of different sessions share nothing but the compiled model.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import Any

import streamlit as st
from streamlit.runtime import Runtime
from streamlit.runtime.scriptrunner import get_script_run_ctx

POLL_S = 0.5


@dataclass
class Job:
    """What a page knows of a job: how far it is, and its result or error once done."""

    key: Hashable
    """What it computes (the page starts a new job when this changes)."""
    stop_event: threading.Event = field(default_factory=threading.Event)
    fraction: float = 0.0
    message: str = "Starting…"
    partial: Any = None
    """What the job has to show so far (a training's curves)."""
    result: Any = None
    error: str | None = None
    done: bool = False
    started: float = field(default_factory=time.monotonic)

    def report(self, fraction: float, message: str, partial: Any = None) -> None:
        self.fraction, self.message = min(max(fraction, 0.0), 1.0), message
        if partial is not None:
            self.partial = partial

    @property
    def running(self) -> bool:
        return not self.done


@dataclass(frozen=True)
class JobContext:
    """Handed to the work function: report progress, and ask whether to stop."""

    job: Job
    _session_id: str | None

    def report(self, fraction: float, message: str, partial: Any = None) -> None:
        self.job.report(fraction, message, partial)

    def should_stop(self) -> bool:
        if self.job.stop_event.is_set():
            return True
        if self._session_id is not None and Runtime.exists():
            return not Runtime.instance().is_active_session(self._session_id)
        return False


def _state_key(name: str) -> str:
    return f"_job_{name}"


def current_job(name: str) -> Job | None:
    """This session's job under ``name``, running or finished, if any."""
    return st.session_state.get(_state_key(name))


def start_job(name: str, key: Hashable, work: Callable[[JobContext], Any]) -> Job:
    """Start ``work(context)`` in a thread for this session (stopping this session's previous job of that name);
    its return value becomes the job's result, an exception its one-line error."""
    previous = current_job(name)
    if previous is not None:
        previous.stop_event.set()
    job = Job(key)
    script = get_script_run_ctx()
    context = JobContext(job, script.session_id if script is not None else None)

    def run() -> None:
        try:
            job.result = work(context)
        except Exception as error:  # shown in the page as a sentence, never a traceback
            job.error = f"{type(error).__name__}: {error}"
        finally:
            job.done = True

    st.session_state[_state_key(name)] = job
    threading.Thread(target=run, name=f"job-{name}", daemon=True).start()
    return job


def progress_ui(name: str, show: Callable[[Job], None] | None = None, stop_label: str = "Stop") -> None:
    """Draw this session's job: while it runs, a progress bar, ``show(job)`` and a Stop button, redrawn every
    ``POLL_S`` seconds; once it ends, one full rerun so the page draws the result."""
    job = current_job(name)
    if job is None or job.done:
        return

    @st.fragment(run_every=POLL_S)
    def poll() -> None:
        if job.done:
            st.rerun()
        st.progress(job.fraction, text=job.message)
        if show is not None:
            show(job)
        if st.button(stop_label, key=f"stop_{name}", icon=":material/stop_circle:"):
            job.stop_event.set()

    poll()
