"""A power-loss fault layer for SQLite: an apsw VFS that tells what was fsynced from what was
only written, and can cut the power.

Every file opened through :class:`PowerLossVFS` keeps two things besides the real file: its
*durable* image (the content as of its last ``xSync``) and the writes and truncations issued since.
The real file still receives every write, so SQLite reads back what it wrote, as with a page cache.
The power is cut at a chosen mutating operation (the ``cut_at``-th write, sync or truncate over all
files): that operation and every later one fails with an I/O error and reaches nothing. Then
:meth:`PowerLossVFS.lose_power` rewrites each real file as a disk would hold it after the cut:

- ``"drop"``: the durable image only; every unsynced write is lost;
- ``"torn"``: the durable image plus, for each unsynced write in order, a random subset of its
  512-byte sectors (a write torn at sector boundaries, later writes landing while earlier ones did
  not, as a disk cache reorders them); unsynced truncations happen or not at random.

The ``-shm`` wal-index is never synced by SQLite and is rebuilt from the WAL after a crash; the cut
deletes it. Directory entries are taken as durable (files are created once, before the writes this
layer studies). The real ``fsync`` is skipped by default: durability is modelled here, not asked of
the machine, which keeps hundreds of cuts fast.
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import apsw

SECTOR = 512
Mode = Literal["drop", "torn"]


@dataclass
class FileState:
    durable: bytearray
    pending: list[tuple[int, bytes | None]] = field(default_factory=list)
    """(offset, data) for a write, (size, None) for a truncation, in issue order."""

    def fold(self) -> None:
        for position, data in self.pending:
            _apply(self.durable, position, data)
        self.pending.clear()


def _apply(image: bytearray, position: int, data: bytes | None) -> None:
    if data is None:
        del image[position:]
        return
    end = position + len(data)
    if end > len(image):
        image.extend(bytes(end - len(image)))
    image[position:end] = data


def _torn_apply(image: bytearray, position: int, data: bytes, rng: random.Random) -> None:
    start = position
    while start < position + len(data):
        end = min((start // SECTOR + 1) * SECTOR, position + len(data))
        if rng.random() < 0.5:
            _apply(image, start, data[start - position : end - position])
        start = end


class PowerCut(apsw.IOError):
    """The power is off: nothing more reaches the disk."""


class PowerLossVFS(apsw.VFS):
    def __init__(self, name: str = "powerloss", *, real_sync: bool = False) -> None:
        self.name = name
        self.real_sync = real_sync
        self.files: dict[str, FileState] = {}
        self.operations = 0
        """Mutating operations (writes, syncs, truncations) issued since the VFS was made."""
        self.syncs: Counter[str] = Counter()
        """Completed syncs by file suffix: ``db``, ``wal``."""
        self.cut_at: int | None = None
        self.dead = False
        super().__init__(name, "")

    def xOpen(self, name: Any, flags: list[int]) -> PowerLossFile:
        path = name.filename() if isinstance(name, apsw.URIFilename) else name
        key = str(path)
        if key not in self.files and not key.endswith("-shm"):
            existing = Path(key).read_bytes() if Path(key).exists() else b""
            self.files[key] = FileState(bytearray(existing))
        return PowerLossFile(self, name, key, flags)

    def xDelete(self, filename: str, syncdir: bool) -> None:
        if self.dead:
            raise PowerCut("power is off")
        super().xDelete(filename, syncdir)
        self.files.pop(str(filename), None)

    def tick(self) -> None:
        """Count one mutating operation; cut the power when it is the chosen one."""
        if self.dead:
            raise PowerCut("power is off")
        self.operations += 1
        if self.cut_at is not None and self.operations >= self.cut_at:
            self.dead = True
            raise PowerCut(f"power cut at operation {self.operations}")

    def lose_power(self, mode: Mode, rng: random.Random) -> dict[str, int]:
        """Rewrite every file as the disk holds it after the cut; return the unsynced writes
        that were pending per file (the writes at stake). Every connection through this VFS must
        be abandoned first; the VFS is live again afterwards."""
        at_stake: dict[str, int] = {}
        for key, state in self.files.items():
            image = bytearray(state.durable)
            at_stake[Path(key).name] = len(state.pending)
            if mode == "torn":
                for position, data in state.pending:
                    if data is None:
                        if rng.random() < 0.5:
                            _apply(image, position, None)
                    else:
                        _torn_apply(image, position, data, rng)
            with open(key, "wb") as out:
                out.write(image)
        for key in list(self.files):
            Path(f"{key.removesuffix('-wal')}-shm").unlink(missing_ok=True)
        self.files.clear()
        self.dead = False
        self.cut_at = None
        return at_stake


class PowerLossFile(apsw.VFSFile):
    def __init__(self, vfs: PowerLossVFS, name: Any, key: str, flags: list[int]) -> None:
        self._vfs = vfs
        self._state = vfs.files.get(key)
        self._suffix = "wal" if key.endswith("-wal") else "shm" if key.endswith("-shm") else "db"
        super().__init__("", name, flags)

    def xWrite(self, data: Any, offset: int) -> None:
        if self._state is None:  # the wal-index: not durable by design
            super().xWrite(data, offset)
            return
        payload = bytes(data)
        was_alive = not self._vfs.dead
        try:
            self._vfs.tick()
        except PowerCut:
            if was_alive:  # this very write was in flight at the cut: it may land, torn
                self._state.pending.append((offset, payload))
            raise
        self._state.pending.append((offset, payload))
        super().xWrite(payload, offset)

    def xTruncate(self, newsize: int) -> None:
        if self._state is None:
            super().xTruncate(newsize)
            return
        self._vfs.tick()
        self._state.pending.append((newsize, None))
        super().xTruncate(newsize)

    def xSync(self, flags: int) -> None:
        if self._state is None:
            return
        self._vfs.tick()
        if self._vfs.real_sync:
            super().xSync(flags)
        self._state.fold()
        self._vfs.syncs[self._suffix] += 1
