"""Read a PyTorch ``state_dict`` file without torch and without trusting its pickles.

PyTorch checkpoints are pickles, and a pickle can name any importable callable (``os.system``
included) for the loader to run. This reader accepts only the handful of globals a plain
``state_dict`` of float and integer tensors needs, and maps each to a harmless stand-in of its
own: nothing named in the file is ever imported or called. Anything else raises
:class:`UnsafePickleError` before a single object is built.

Only the legacy (pre-1.6) serialization that the bundled EfficientNet-Lite0 weights use is
supported: a magic-number pickle, a protocol-version pickle, a system-info pickle, the payload
pickle whose tensors refer to storages by persistent id, a pickle listing the storage keys, and
then each storage's raw little-endian bytes behind an int64 element count.
"""

from __future__ import annotations

import io
import pickle
import struct
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

import numpy as np

LEGACY_MAGIC = 0x1950A86A20F9469CFC6C
LEGACY_PROTOCOL_VERSION = 1001

_STORAGE_DTYPES = {
    "FloatStorage": np.dtype("<f4"),
    "DoubleStorage": np.dtype("<f8"),
    "HalfStorage": np.dtype("<f2"),
    "LongStorage": np.dtype("<i8"),
    "IntStorage": np.dtype("<i4"),
}


class UnsafePickleError(ValueError):
    """The file names a global outside the allow-list; nothing from it was executed."""


class UnsupportedWeightsError(ValueError):
    """The file is not a legacy PyTorch state_dict this reader understands."""


@dataclass(frozen=True)
class _StorageType:
    dtype: np.dtype


@dataclass
class _StorageRef:
    key: str
    dtype: np.dtype
    numel: int
    data: np.ndarray | None = None


@dataclass(frozen=True)
class _TensorRef:
    storage: _StorageRef
    offset: int
    shape: tuple[int, ...]
    stride: tuple[int, ...]

    def to_numpy(self) -> np.ndarray:
        if self.storage.data is None:
            raise UnsupportedWeightsError(f"storage {self.storage.key} has no data")
        flat = self.storage.data
        itemsize = flat.dtype.itemsize
        needed = self.offset + sum((n - 1) * s for n, s in zip(self.shape, self.stride, strict=True)) + 1
        if any(n == 0 for n in self.shape):
            return np.zeros(self.shape, flat.dtype)
        if self.offset < 0 or needed > flat.size:
            raise UnsupportedWeightsError("a tensor points outside its storage")
        view = np.lib.stride_tricks.as_strided(
            flat[self.offset :],
            shape=self.shape,
            strides=tuple(s * itemsize for s in self.stride),
            writeable=False,
        )
        return np.ascontiguousarray(view)


def _rebuild_tensor(storage, offset, shape, stride, requires_grad=False, hooks=None, *_):
    if not isinstance(storage, _StorageRef):
        raise UnsupportedWeightsError("a tensor is not backed by a storage")
    return _TensorRef(storage, int(offset), tuple(int(n) for n in shape), tuple(int(s) for s in stride))


def _allowed_globals() -> dict[tuple[str, str], object]:
    allowed: dict[tuple[str, str], object] = {
        ("collections", "OrderedDict"): OrderedDict,
        ("torch._utils", "_rebuild_tensor_v2"): _rebuild_tensor,
    }
    for name, dtype in _STORAGE_DTYPES.items():
        allowed[("torch", name)] = _StorageType(dtype)
    return allowed


class _RestrictedUnpickler(pickle.Unpickler):
    def __init__(self, file: io.BufferedIOBase, storages: dict[str, _StorageRef] | None = None):
        super().__init__(file)
        self._allowed = _allowed_globals()
        self._storages = storages

    def find_class(self, module: str, name: str):
        try:
            return self._allowed[(module, name)]
        except KeyError:
            raise UnsafePickleError(
                f"refusing to load {module}.{name}: only plain tensor state_dicts are accepted"
            ) from None

    def persistent_load(self, pid):
        if self._storages is None:
            raise UnsupportedWeightsError("unexpected persistent id outside the payload")
        if not (isinstance(pid, tuple) and len(pid) >= 5 and pid[0] == "storage"):
            raise UnsupportedWeightsError(f"unsupported persistent id {pid!r}")
        _, storage_type, key, _location, numel = pid[:5]
        if len(pid) > 5 and pid[5] is not None:
            raise UnsupportedWeightsError("storage views are not supported")
        if not isinstance(storage_type, _StorageType):
            raise UnsupportedWeightsError(f"unsupported storage type {storage_type!r}")
        ref = self._storages.setdefault(str(key), _StorageRef(str(key), storage_type.dtype, int(numel)))
        return ref


def safe_load(data: bytes | bytearray | memoryview) -> object:
    """Unpickle ``data`` with the allow-list only (for one standalone pickle, e.g. in tests)."""
    return _RestrictedUnpickler(io.BytesIO(bytes(data))).load()


def load_state_dict(path: str | Path) -> OrderedDict[str, np.ndarray]:
    """Return the tensors of a legacy PyTorch ``state_dict`` file as numpy arrays, by key."""
    raw = Path(path).read_bytes()
    if raw[:2] == b"PK":
        raise UnsupportedWeightsError("zip-format PyTorch files are not supported, only the legacy format")
    stream = io.BytesIO(raw)
    try:
        magic = _RestrictedUnpickler(stream).load()
        protocol = _RestrictedUnpickler(stream).load()
        if magic != LEGACY_MAGIC or protocol != LEGACY_PROTOCOL_VERSION:
            raise UnsupportedWeightsError("not a legacy PyTorch weights file")
        _RestrictedUnpickler(stream).load()  # system info: endianness and type sizes
        storages: dict[str, _StorageRef] = {}
        payload = _RestrictedUnpickler(stream, storages).load()
        storage_keys = _RestrictedUnpickler(stream).load()
    except (pickle.UnpicklingError, EOFError, struct.error) as error:
        raise UnsupportedWeightsError(f"corrupt weights file: {error}") from error

    for key in storage_keys:
        ref = storages.get(str(key))
        if ref is None:
            raise UnsupportedWeightsError(f"storage {key} is listed but never used")
        header = stream.read(8)
        if len(header) != 8:
            raise UnsupportedWeightsError("weights file is truncated")
        (numel,) = struct.unpack("<q", header)
        nbytes = numel * ref.dtype.itemsize
        if numel != ref.numel or nbytes > len(raw) - stream.tell():
            raise UnsupportedWeightsError(f"storage {key} has an inconsistent size")
        ref.data = np.frombuffer(stream.read(nbytes), dtype=ref.dtype)

    if not isinstance(payload, OrderedDict):
        raise UnsupportedWeightsError("the payload is not a state_dict")
    state: OrderedDict[str, np.ndarray] = OrderedDict()
    for name, tensor in payload.items():
        if not isinstance(tensor, _TensorRef):
            raise UnsupportedWeightsError(f"entry {name!r} is not a tensor")
        state[str(name)] = tensor.to_numpy()
    return state
