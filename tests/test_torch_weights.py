"""The restricted reader refuses every global it does not expect, without running it."""

from __future__ import annotations

import os
import pickle
import struct

import numpy as np
import pytest

from models.efficientnet_lite import weights_path
from models.torch_weights import (
    LEGACY_MAGIC,
    LEGACY_PROTOCOL_VERSION,
    UnsafePickleError,
    UnsupportedWeightsError,
    load_state_dict,
    safe_load,
)


class _RunsShell:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_refuses_os_system_without_running_it(tmp_path):
    marker = tmp_path / "pwned"
    payload = pickle.dumps(_RunsShell(marker), protocol=2)
    assert b"system" in payload
    pickle.loads(payload)  # the same bytes do run under the standard unpickler...
    assert marker.exists()
    marker.unlink()
    with pytest.raises(UnsafePickleError, match=r"posix\.system|os\.system"):
        safe_load(payload)  # ...and are refused by ours
    assert not marker.exists()


@pytest.mark.parametrize("name", ["builtins.eval", "subprocess.Popen", "numpy.load", "torch.load"])
def test_refuses_any_other_global(name):
    module, attribute = name.rsplit(".", 1)
    payload = b"\x80\x02c" + f"{module}\n{attribute}\n".encode() + b")R."
    with pytest.raises(UnsafePickleError):
        safe_load(payload)


def _legacy_file(payload: bytes) -> bytes:
    parts = [
        pickle.dumps(LEGACY_MAGIC, protocol=2),
        pickle.dumps(LEGACY_PROTOCOL_VERSION, protocol=2),
        pickle.dumps({"little_endian": True}, protocol=2),
        payload,
        pickle.dumps([], protocol=2),
    ]
    return b"".join(parts)


def test_state_dict_file_with_unsafe_payload_is_refused(tmp_path):
    marker = tmp_path / "pwned"
    path = tmp_path / "evil.pth"
    path.write_bytes(_legacy_file(pickle.dumps(_RunsShell(marker), protocol=2)))
    with pytest.raises(UnsafePickleError):
        load_state_dict(path)
    assert not marker.exists()


def test_truncated_and_foreign_files_give_clear_errors(tmp_path):
    real = weights_path().read_bytes()
    truncated = tmp_path / "truncated.pth"
    truncated.write_bytes(real[: len(real) // 2])
    with pytest.raises(UnsupportedWeightsError, match=r"truncated|inconsistent|corrupt"):
        load_state_dict(truncated)
    zipped = tmp_path / "new.pth"
    zipped.write_bytes(b"PK\x03\x04rest")
    with pytest.raises(UnsupportedWeightsError, match="zip"):
        load_state_dict(zipped)


def _text(value: str) -> bytes:
    encoded = value.encode()
    return b"X" + struct.pack("<I", len(encoded)) + encoded


def test_reads_tensors_with_their_strides(tmp_path):
    """A hand-written legacy file: one 2x3 float tensor stored transposed (strides (1, 2))."""
    values = np.arange(6, dtype="<f4")
    ordered_dict = b"ccollections\nOrderedDict\n)R"
    storage = b"(" + _text("storage") + b"ctorch\nFloatStorage\n" + _text("0") + _text("cpu") + b"K\x06Nt" + b"Q"
    tensor = (
        b"ctorch._utils\n_rebuild_tensor_v2\n("
        + storage
        + b"K\x00"
        + b"(K\x02K\x03t"
        + b"(K\x01K\x02t"
        + b"\x89"
        + ordered_dict
        + b"tR"
    )
    payload = b"\x80\x02" + ordered_dict + b"(" + _text("w") + tensor + b"u."
    data = _legacy_file(payload)[: -len(pickle.dumps([], protocol=2))]
    data += pickle.dumps(["0"], protocol=2) + struct.pack("<q", 6) + values.tobytes()
    path = tmp_path / "strided.pth"
    path.write_bytes(data)
    state = load_state_dict(path)
    assert list(state) == ["w"]
    np.testing.assert_array_equal(state["w"], values.reshape(3, 2).T)
