"""Atomic outputs: write to a hidden temporary beside the target, then rename.

A crash, an interrupt or a bad input never leaves a half-written file or folder under the
output's name, and an existing one is only replaced when the caller asks for it. Every
file and folder idvid writes goes through :func:`atomic_output`, :func:`atomic_folder` or
:func:`staged_folder`.
"""

from __future__ import annotations

import os
import secrets
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from idvid.errors import ConfigError


def check_output(path: str | os.PathLike, overwrite: bool, suffixes: tuple[str, ...]) -> Path:
    """Refuse a wrong suffix, a folder, a link to nothing, an existing file without
    ``overwrite``, or a place that cannot be written: before any slow work, not after it."""
    path = Path(path)
    try:
        _check_output(path, overwrite, suffixes)
    except OSError as e:  # e.g. a folder on the way that cannot be read
        raise ConfigError(f"cannot write {path}: {e.strerror or e}") from None
    return path


def _check_output(path: Path, overwrite: bool, suffixes: tuple[str, ...]) -> None:
    if path.suffix.lower() not in suffixes:
        raise ConfigError(f"{path}: the output must be a {' or '.join(suffixes)} file")
    if path.is_dir():
        raise ConfigError(f"{path} is a directory; give a file name")
    if path.is_symlink() and not path.exists():
        raise ConfigError(f"{path} is a link to {os.readlink(path)}, which does not exist")
    if path.exists() and not overwrite:
        raise ConfigError(f"{path} exists; pass --overwrite to replace it")
    check_writable_folder(path.parent, path)


def check_writable_folder(folder: str | os.PathLike, target: str | os.PathLike | None = None) -> None:
    """ConfigError unless ``folder`` exists or can be made, and takes new files: the nearest
    existing folder on its path must be a folder a file can be created in (tried, then removed).
    ``target``: what the error calls the output (default: the folder)."""
    target = Path(target or folder)
    existing = Path(folder).absolute()
    try:
        while not existing.exists():
            existing = existing.parent
        is_folder = existing.is_dir()
    except OSError as e:
        raise ConfigError(f"cannot write {target}: {e.strerror or e}") from None
    if not is_folder:
        raise ConfigError(f"cannot write {target}: {existing} is a file, not a folder")
    probe = _reserve_temp(existing / target.name, kind="probe")
    probe.unlink()


@contextmanager
def atomic_output(path: Path, overwrite: bool) -> Iterator[Path]:
    """Yield a temporary path to write; it becomes ``path`` when the block succeeds."""
    make_folder(path.parent)
    tmp = _reserve_temp(path)
    try:
        yield tmp
        _publish(tmp, path, overwrite)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


@contextmanager
def atomic_folder(path: Path, overwrite: bool, temp: Path | None = None) -> Iterator[Path]:
    """Yield a hidden temporary folder to fill; it becomes ``path`` when the block succeeds.

    ``temp``: the temporary's path when several processes fill one folder and must agree on
    it (the caller then publishes from one process); default: a fresh ``.NAME.part-XXXXXXXX``.
    """
    path = Path(path)
    if path.exists() and not overwrite:
        raise ConfigError(f"{path} exists; pass --overwrite to replace it")
    make_folder(path.parent)
    tmp = Path(temp) if temp is not None else path.with_name(f".{path.name}.part-{secrets.token_hex(4)}")
    tmp.mkdir(exist_ok=temp is not None)
    try:
        yield tmp
        publish_folder(tmp, path)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def publish_folder(tmp: Path, path: Path) -> None:
    """Move the finished folder ``tmp`` to ``path``, replacing what is there; the old folder is
    renamed aside first, so ``path`` names a whole folder at every moment but one rename."""
    old = path.with_name(f".{path.name}.old-{secrets.token_hex(4)}")
    if path.exists():
        path.rename(old)
    tmp.rename(path)
    shutil.rmtree(old, ignore_errors=True)


@contextmanager
def staged_folder(path: Path, mode: int = 0o644) -> Iterator[Path]:
    """Yield a hidden staging folder; when the block succeeds, each file in it moves into ``path``
    (made if missing) and replaces the file of that name whole. Files of ``path`` the block did
    not write stay. ``mode``: the published files' permissions."""
    path = Path(path)
    make_folder(path)
    staging = path / f".staging-{secrets.token_hex(4)}"
    staging.mkdir()
    try:
        yield staging
        for file in sorted(p for p in staging.rglob("*") if p.is_file()):
            target = path / file.relative_to(staging)
            target.parent.mkdir(parents=True, exist_ok=True)
            os.chmod(file, mode)
            os.replace(file, target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def make_folder(folder: Path) -> None:
    """Create ``folder`` and its parents; ConfigError (one line) when that is impossible."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise ConfigError(f"cannot create folder {folder}: {e.strerror or e}") from None


def _reserve_temp(path: Path, kind: str = "part") -> Path:
    """Create an empty hidden ``.NAME.part-XXXXXXXX`` file beside ``path`` (``kind`` names it).

    Made with ``O_EXCL`` and mode 0o666 (less the umask), so the finished file gets the
    same permissions as any ordinary new file (``mkstemp`` would make it 0o600).
    """
    while True:
        tmp = path.with_name(f".{path.name}.{kind}-{secrets.token_hex(4)}")
        try:
            os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
            return tmp
        except FileExistsError:
            continue
        except OSError as e:
            raise ConfigError(f"cannot write in {path.parent}: {e.strerror or e}") from None


def _publish(tmp: Path, path: Path, overwrite: bool) -> None:
    """Move the finished ``tmp`` to ``path`` atomically.

    Without ``overwrite``, a hard link refuses to clobber a file that appeared meanwhile;
    filesystems without hard links fall back to check-then-replace.
    """
    if overwrite:
        os.replace(tmp, path)
        return
    try:
        os.link(tmp, path)
    except FileExistsError:
        raise ConfigError(f"{path} exists; pass --overwrite to replace it") from None
    except OSError:
        if path.exists():
            raise ConfigError(f"{path} exists; pass --overwrite to replace it") from None
        os.replace(tmp, path)
        return
    tmp.unlink()
