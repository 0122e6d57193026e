"""Background jobs (ui/jobs.py): results, errors as sentences, Stop, and a closed browser session stopping them."""

from __future__ import annotations

import threading
import time

import pytest

from ui import jobs


def run_until_done(job: jobs.Job, timeout_s: float = 10) -> None:
    deadline = time.monotonic() + timeout_s
    while not job.done:
        assert time.monotonic() < deadline
        time.sleep(0.01)


@pytest.fixture
def session_state(monkeypatch):
    state: dict = {}
    monkeypatch.setattr(jobs.st, "session_state", state)
    return state


def test_a_job_reports_and_returns_and_an_error_is_one_line(session_state):
    def work(context: jobs.JobContext) -> int:
        context.report(0.5, "half way", partial="so far")
        return 42

    job = jobs.start_job("demo", "key", work)
    run_until_done(job)
    assert job.result == 42 and job.error is None and job.partial == "so far" and job.fraction == 0.5
    assert jobs.current_job("demo") is job
    failing = jobs.start_job("demo", "other", lambda context: 1 / 0)
    run_until_done(failing)
    assert failing.error == "ZeroDivisionError: division by zero" and failing.result is None


def test_a_new_job_stops_the_previous_one_and_stop_is_seen(session_state):
    started = threading.Event()

    def endless(context: jobs.JobContext) -> str:
        started.set()
        while not context.should_stop():
            time.sleep(0.01)
        return "stopped"

    first = jobs.start_job("demo", 1, endless)
    started.wait(5)
    second = jobs.start_job("demo", 2, endless)
    run_until_done(first)
    assert first.result == "stopped" and not second.done
    second.stop_event.set()
    run_until_done(second)


def test_a_job_whose_browser_session_ended_stops(monkeypatch):
    active = {"session-1": True}

    class FakeRuntime:
        @staticmethod
        def exists() -> bool:
            return True

        @staticmethod
        def instance():
            return FakeRuntime

        @staticmethod
        def is_active_session(session_id: str) -> bool:
            return active.get(session_id, False)

    monkeypatch.setattr(jobs, "Runtime", FakeRuntime)
    context = jobs.JobContext(jobs.Job("key"), "session-1")
    assert not context.should_stop()
    active["session-1"] = False
    assert context.should_stop()
