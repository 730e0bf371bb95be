"""Attachments on disk, named by their SHA-256, outside any folder the web server serves.

A file is streamed in chunks into a temporary file while it is hashed (never whole in memory),
fsynced, checked by the caller, and only then moved to its final name — before the transaction
that references it. A file that no Adjunto row references is removed: at once when the request
that brought it fails, and by :meth:`Storage.sweep` (after a grace period) when a process died.
"""
from __future__ import annotations

import contextlib
import dataclasses
import errno
import hashlib
import hmac
import itertools
import logging
import os
import re
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path
from typing import BinaryIO, Callable, Iterable, Iterator

from .errors import MPVError, TooLarge

log = logging.getLogger(__name__)

CHUNK = 64 * 1024
_UPLOAD = re.compile(r"up-[A-Za-z0-9_]{1,64}")  # the temporary name :meth:`Storage.receive` gives a file


class StorageError(MPVError):
    """The disk refused the file (full, or an I/O error); nothing was kept."""


@dataclasses.dataclass
class Received:
    """A file streamed to a temporary path, hashed, not yet kept."""

    path: Path
    sha256: str
    size: int
    nombre: str


@dataclasses.dataclass(frozen=True)
class Stored:
    sha256: str
    size: int
    nombre: str
    created: bool  # False when the same content was already stored


class Storage:
    def __init__(self, root: Path, fsync: bool = True):
        self.root = Path(root)
        self.tmp = self.root / "tmp"
        self.tmp.mkdir(parents=True, exist_ok=True)
        self.fsync = fsync
        self._lock = threading.Lock()
        self._in_flight: Counter[str] = Counter()

    def path(self, sha256: str) -> Path:
        if len(sha256) != 64 or not all(c in "0123456789abcdef" for c in sha256):
            raise ValueError("sha256 inválido")
        return self.root / sha256[:2] / sha256[2:4] / sha256

    def receive(self, stream: BinaryIO, nombre: str, max_bytes: int,
                read: Callable[[BinaryIO, int], bytes] | None = None) -> Received:
        """Stream ``stream`` into a temporary file while hashing it.

        :raise TooLarge: past ``max_bytes`` (the partial file is removed).
        :raise StorageError: the disk failed (full, I/O error); nothing is left behind.
        """
        read = read or (lambda s, n: s.read(n))
        digest, size = hashlib.sha256(), 0
        fd, tmp_name = tempfile.mkstemp(dir=self.tmp, prefix="up-")
        tmp = Path(tmp_name)
        try:
            with os.fdopen(fd, "wb") as out:
                while True:
                    chunk = read(stream, CHUNK)
                    if not chunk:
                        break
                    size += len(chunk)
                    if size > max_bytes:
                        raise TooLarge(f"El archivo «{nombre}» supera el tamaño máximo de {_mb(max_bytes)}.",
                                       {})
                    digest.update(chunk)
                    out.write(chunk)
                out.flush()
                if self.fsync:
                    os.fsync(out.fileno())
        except TooLarge:
            tmp.unlink(missing_ok=True)
            raise
        except OSError as exc:
            tmp.unlink(missing_ok=True)
            raise _storage_error(exc, nombre) from exc
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        return Received(tmp, digest.hexdigest(), size, nombre)

    def waiting(self, name: str, sha256: str, nombre: str) -> Received | None:
        """A file received earlier and left waiting under its temporary ``name`` (a form's confirmation step
        carries it), when it is there and still hashes to ``sha256``, which only whoever sent it was shown; None
        otherwise (gone: swept after the grace period, or used)."""
        if not isinstance(name, str) or not _UPLOAD.fullmatch(name):
            return None
        path = self.tmp / name
        try:
            with path.open("rb") as f:
                digest = hashlib.file_digest(f, "sha256").hexdigest()
        except OSError:
            return None
        if not hmac.compare_digest(digest, str(sha256)):
            return None
        return Received(path, digest, path.stat().st_size, nombre)

    def keep(self, received: Received) -> Stored:
        """Move a received file to its SHA-256 name (durably); the caller then references it."""
        final = self.path(received.sha256)
        moved = False
        with self._lock:
            self._in_flight[received.sha256] += 1
            try:
                if final.exists():
                    # Fresh again: a sweep in another process gives the file its whole grace period
                    # before it may see the row this request is about to write.
                    os.utime(final)
                    received.path.unlink(missing_ok=True)
                    return Stored(received.sha256, received.size, received.nombre, created=False)
                final.parent.mkdir(parents=True, exist_ok=True)
                os.replace(received.path, final)
                moved = True
                if self.fsync:
                    _fsync_dir(final.parent)
            except OSError as exc:
                self._in_flight[received.sha256] -= 1
                received.path.unlink(missing_ok=True)
                if moved:  # created by this request a moment ago: nothing references it
                    final.unlink(missing_ok=True)
                raise _storage_error(exc, received.nombre) from exc
        return Stored(received.sha256, received.size, received.nombre, created=True)

    def release(self, stored: Iterable[Stored], referenced: Callable[[str], bool], failed: bool):
        """End a request's hold on its files; when it failed, delete those it created that nothing references."""
        with self._lock:
            for item in stored:
                self._in_flight[item.sha256] -= 1
                if self._in_flight[item.sha256] <= 0:
                    del self._in_flight[item.sha256]
                    if failed and item.created and not referenced(item.sha256):
                        self.path(item.sha256).unlink(missing_ok=True)

    @contextlib.contextmanager
    def kept(self, received: list[Received], referenced: Callable[[str], bool]) -> Iterator[list[Stored]]:
        """Keep ``received`` for the duration of a unit of work that references them.

        When the block raises, the files it brought that no row references are removed again;
        either way no temporary file is left behind.
        """
        stored: list[Stored] = []
        failed = True
        try:
            for item in received:  # one by one: when the second fails, the first is released too
                stored.append(self.keep(item))
            yield stored
            failed = False
        finally:
            self.discard(r for r in received if r.path.exists())
            self.release(stored, referenced, failed)

    @staticmethod
    def discard(received: Iterable[Received]):
        for item in received:
            item.path.unlink(missing_ok=True)

    def open(self, sha256: str) -> BinaryIO:
        return self.path(sha256).open("rb")

    def check(self, sha256: str) -> str | None:
        """None when the stored file still hashes to its name; else what is wrong with it, in Spanish."""
        try:
            with self.open(sha256) as f:
                digest = hashlib.file_digest(f, "sha256").hexdigest()
        except FileNotFoundError:
            return "falta el archivo"
        except OSError as exc:
            return f"no se pudo leer ({exc.strerror or exc})"
        return None if digest == sha256 else f"el contenido cambió (su SHA-256 es {digest})"

    def sweep(self, referenced: Callable[[list[str]], set[str]], grace_seconds: float = 3600.0,
              batch: int = 500) -> list[str]:
        """Remove the files older than ``grace_seconds`` that no row references: uploads a request
        never finished (``tmp/up-*``) and stored files that no Adjunto names (a process died between
        keeping them and committing). ``referenced(names)`` returns which of ``names`` some row
        references; it is asked once per ``batch`` files, and again for each file before it goes.

        A file a request of this process holds is never removed; one kept or reused by another
        process is fresh (see :meth:`keep`), so the grace period covers it until its row commits.
        Returns the names removed (``up-…`` for uploads, the SHA-256 for stored files).
        """
        cutoff = time.time() - grace_seconds
        removed = []
        for path in self.tmp.glob("up-*"):
            if _older(path, cutoff):
                path.unlink(missing_ok=True)
                removed.append(path.name)
        old = (p.name for p in self.root.glob("??/??/*") if len(p.name) == 64 and _older(p, cutoff))
        while names := list(itertools.islice(old, batch)):
            known = referenced(names)
            for name in names:
                if name in known:
                    continue
                with self._lock:  # asked again: a request may have committed a row for it meanwhile
                    if self._in_flight.get(name) or referenced([name]):
                        continue
                    self.path(name).unlink(missing_ok=True)
                removed.append(name)
        return removed


def _older(path: Path, cutoff: float) -> bool:
    try:
        return path.stat().st_mtime < cutoff
    except FileNotFoundError:  # removed meanwhile (a request that failed cleans up after itself)
        return False


def _fsync_dir(path: Path):
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _mb(n: int) -> str:
    return f"{n / (1024 * 1024):g} MB"


def _storage_error(exc: OSError, nombre: str) -> StorageError:
    log.error("Storage failure for %r: %r", nombre, str(exc))
    if exc.errno == errno.ENOSPC:
        return StorageError("El servidor no tiene espacio para guardar el archivo. No se registró nada; "
                            "inténtelo más tarde o comuníquese con la municipalidad.")
    return StorageError("No se pudo guardar el archivo por un error del disco. No se registró nada; "
                        "inténtelo de nuevo en unos minutos.")
