"""Which files of a folder a batch run explains, and the class each belongs to."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import imaging
from imaging.dicom import MAGIC, PREAMBLE_BYTES, is_dicom


@dataclass(frozen=True)
class ImageFile:
    path: str
    """Relative to the folder, with forward slashes: the name the results use."""
    label: str | None
    """The subfolder the file sits in, when the folder is a class-per-subfolder dataset."""


def _is_dicom_file(path: Path) -> bool:
    with path.open("rb") as file:
        return is_dicom(file.read(PREAMBLE_BYTES + len(MAGIC)))


def _candidate(path: Path) -> bool:
    if path.name.startswith(".") or not path.is_file():
        return False
    suffix = path.suffix.lower().lstrip(".")
    return suffix in imaging.IMAGE_EXTENSIONS or (not suffix and _is_dicom_file(path))


def find_images(folder: Path) -> list[ImageFile]:
    """Every file under ``folder`` with an image extension (or none and a DICOM preamble), sorted by path. When
    the images sit in subfolders, each one's first subfolder is its label; files at the top then have none.

    A file with an image extension that does not decode is still listed: the run records why it failed.
    """
    paths = sorted(path for path in folder.rglob("*") if _candidate(path) and not _hidden(path, folder))
    relative = [path.relative_to(folder) for path in paths]
    by_class = any(len(path.parts) > 1 for path in relative)
    return [
        ImageFile(path.as_posix(), path.parts[0] if by_class and len(path.parts) > 1 else None) for path in relative
    ]


def _hidden(path: Path, folder: Path) -> bool:
    return any(part.startswith(".") for part in path.relative_to(folder).parts)
