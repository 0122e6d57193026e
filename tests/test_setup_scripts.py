"""The README's first command installs the TensorFlow build the machine can use, and never both builds."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def resolved(requirements: str, env: dict[str, str], path: str | None = None) -> list[str]:
    environment = {k: v for k, v in os.environ.items() if k != "EXPLORER_GPU"} | env
    if path is not None:
        environment["PATH"] = path
    result = subprocess.run(
        ["bash", "scripts/requirements.sh", requirements], cwd=ROOT, env=environment, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    return [line for line in result.stdout.splitlines() if line and not line.startswith("#")]


def tensorflow_lines(lines: list[str]) -> list[str]:
    return [line for line in lines if line.split("==")[0].split("[")[0] in ("tensorflow", "tensorflow-cpu")]


@pytest.mark.parametrize("requirements", ["requirements.txt", "requirements-dev.txt"])
def test_the_gpu_build_replaces_the_cpu_build_at_the_same_version(requirements):
    cpu = resolved(requirements, {"EXPLORER_GPU": "0"})
    gpu = resolved(requirements, {"EXPLORER_GPU": "1"})
    version = tensorflow_lines(cpu)[0].split("==")[1]
    assert tensorflow_lines(cpu) == [f"tensorflow-cpu=={version}"]
    assert tensorflow_lines(gpu) == [f"tensorflow[and-cuda]=={version}"]
    assert [line for line in cpu if "tensorflow" not in line] == [line for line in gpu if "tensorflow" not in line]
    assert not any(line.startswith("-r") for line in cpu)  # the dev file's include is expanded
    if requirements == "requirements-dev.txt":
        assert any(line.startswith("pytest==") for line in cpu) and any(line.startswith("keras==") for line in cpu)


def test_a_visible_nvidia_gpu_selects_the_cuda_build(tmp_path):
    for name, status in (("present", 0), ("broken", 9)):
        folder = tmp_path / name
        folder.mkdir()
        fake = folder / "nvidia-smi"
        fake.write_text(f"#!/bin/sh\nexit {status}\n")
        fake.chmod(0o755)
        lines = tensorflow_lines(resolved("requirements.txt", {}, path=f"{folder}:/usr/bin:/bin"))
        assert lines[0].startswith("tensorflow[and-cuda]==" if status == 0 else "tensorflow-cpu==")
    assert tensorflow_lines(resolved("requirements.txt", {}, path="/usr/bin:/bin"))[0].startswith("tensorflow-cpu==")
