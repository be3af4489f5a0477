"""Questions waiting for the server: kept on disk until it accepts them, each sent exactly once.

When the server cannot be reached, the question the user composed is written here and sent later (also after the
app restarts). Each entry gets its ``Idempotency-Key`` when it is queued, so a resend after a lost answer returns
the ticket the server already made instead of a second one.

Only *redacted, encoded* screenshots are ever passed in (:class:`~desktop.core.question.Attachment`): the
capture layer applies the solid redaction boxes and encodes before anything reaches this module, so unredacted
pixels never touch the disk. The text read on a screenshot is kept with it, and only the lines no redaction box
touches ever get here (:func:`~desktop.core.ocr_text.shareable_text`), so a question sent later carries the same
``ocr_<n>`` parts it would have carried at once.

Layout: ``<root>/<sha256(server URL, account)[:32]>/<enqueue time ns>-<uuid>.question`` — one msgpack file per
entry, written to a temp file and renamed into place (an entry is either complete or absent). Directories are
0700 and files 0600. A queue belongs to one account on one server; :meth:`OfflineQueue.clear` is for sign-out.
"""

from __future__ import annotations

import contextlib
import datetime
import hashlib
import logging
import os
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, Generic, TypeVar

import msgspec
import platformdirs

from desktop.core.api.errors import ApiError, SessionExpired
from desktop.core.geometry import Rect
from desktop.core.ocr_text import OcrUpload
from desktop.core.question import Attachment, Question
from desktop.core.redaction import OcrLine

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = ["DrainResult", "OfflineQueue", "QueuedQuestion", "default_queue_root"]

logger = logging.getLogger(__name__)
_T = TypeVar("_T")

SUFFIX: Final = ".question"
_TEMP_PREFIX: Final = ".incoming-"


def default_queue_root() -> Path:
    """``<user data dir>/techpal/outbox``."""
    return Path(platformdirs.user_data_dir("techpal", appauthor=False)) / "outbox"


class _StoredOcr(msgspec.Struct, frozen=True):
    engine: str
    version: str
    lines: list[tuple[str, int, int, int, int]]  # text, x, y, width, height


class _StoredAttachment(msgspec.Struct, frozen=True):
    filename: str
    media_type: str
    data: bytes
    ocr: _StoredOcr | None = None  # absent in entries queued before the text went with screenshots


class _StoredEntry(msgspec.Struct, frozen=True):
    version: int
    idempotency_key: str
    created_at: datetime.datetime
    description: str
    attachments: list[_StoredAttachment]
    priority: str | None = None
    category: str | None = None
    device: dict[str, Any] | None = None
    failed_code: str | None = None
    failed_message: str | None = None


@dataclass(frozen=True, slots=True)
class QueuedQuestion:
    """One waiting question.

    Attributes:
        entry_id: Stable name of the entry (for :meth:`OfflineQueue.discard`).
        idempotency_key: Sent as ``Idempotency-Key`` on every attempt.
        created_at: When the user asked (UTC).
        question: What will be sent.
        failed_code: Set when the server refused it for good (a 4xx); such entries wait for the user.
        failed_message: The refusal in words, to show next to the entry.
    """

    entry_id: str
    idempotency_key: str
    created_at: datetime.datetime
    question: Question
    failed_code: str | None = None
    failed_message: str | None = None

    @property
    def failed(self) -> bool:
        """Refused by the server; not retried automatically."""
        return self.failed_code is not None

    @property
    def refusal_text(self) -> str:
        """The refusal in words for the user (the chat and the tray notification say the same)."""
        reason = self.failed_message or f"the server refused it ({self.failed_code})"
        return f"A question you asked while offline was not sent: {reason}"


@dataclass(slots=True)
class DrainResult(Generic[_T]):
    """What one :meth:`OfflineQueue.drain` did.

    Attributes:
        sent: Entries the server accepted, with what ``send`` returned (e.g. the new ticket), oldest first.
        failed: Entries the server refused this time (kept, marked failed).
        stopped_by: The transient error that ended the drain early (server down again), if any.
    """

    sent: list[tuple[QueuedQuestion, _T]] = field(default_factory=list)
    failed: list[QueuedQuestion] = field(default_factory=list)
    stopped_by: ApiError | None = None


class OfflineQueue:
    """The on-disk outbox of one account on one server. Thread-safe; one drain at a time.

    Args:
        root: Directory holding every account's queue (:func:`default_queue_root` in the app).
        server_url: Normalized server URL.
        account: The signed-in user's id.
    """

    def __init__(self, root: Path, server_url: str, account: str) -> None:
        digest = hashlib.sha256(f"{server_url.rstrip('/')}\n{account}".encode()).hexdigest()[:32]
        self.directory = root / digest
        self._lock = threading.Lock()
        self._drain_lock = threading.Lock()
        self._swept = False  # stale temp files are removed once, at the first write

    # -------------------------------------------------------------------------------------------- reading
    def entries(self) -> list[QueuedQuestion]:
        """Every entry, oldest first (failed ones included). Unreadable files are skipped with a warning."""
        if not self.directory.is_dir():
            return []
        result = []
        for path in sorted(self.directory.glob(f"*{SUFFIX}")):
            entry = self._read(path)
            if entry is not None:
                result.append(entry)
        return result

    def pending(self) -> list[QueuedQuestion]:
        """Entries still to be sent automatically, oldest first."""
        return [entry for entry in self.entries() if not entry.failed]

    def __len__(self) -> int:
        return len(self.entries())

    # -------------------------------------------------------------------------------------------- writing
    def enqueue(self, question: Question) -> QueuedQuestion:
        """Store ``question`` (redacted screenshots only) with a fresh Idempotency-Key; returns the entry."""
        entry_id = f"{time.time_ns():020d}-{uuid.uuid4().hex}"
        stored = _StoredEntry(
            version=1,
            idempotency_key=str(uuid.uuid4()),
            created_at=datetime.datetime.now(datetime.UTC),
            description=question.description,
            attachments=[_stored_attachment(a) for a in question.attachments],
            priority=question.priority,
            category=question.category,
            device=question.device,
        )
        with self._lock:
            self._write(entry_id, stored)
        return _to_queued(entry_id, stored)

    def discard(self, entry_id: str) -> None:
        """Delete one entry (the user gave up on a failed question, or it was sent)."""
        with self._lock:
            (self.directory / f"{_checked_id(entry_id)}{SUFFIX}").unlink(missing_ok=True)

    def retry(self, entry_id: str) -> None:
        """Make a failed entry pending again (e.g. after the user fixed their account)."""
        with self._lock:
            path = self.directory / f"{_checked_id(entry_id)}{SUFFIX}"
            stored = self._load(path)
            if stored is not None:
                self._write(entry_id, msgspec.structs.replace(stored, failed_code=None, failed_message=None))

    def clear(self) -> None:
        """Delete the whole queue of this account (after the user confirmed, on sign-out)."""
        with self._lock:
            if not self.directory.is_dir():
                return
            for path in self.directory.iterdir():
                path.unlink(missing_ok=True)
            with contextlib.suppress(OSError):
                self.directory.rmdir()

    # -------------------------------------------------------------------------------------------- sending
    def drain(self, send: Callable[[Question, str], _T]) -> DrainResult[_T]:
        """Send pending entries oldest first with ``send(question, idempotency_key)``; blocking, run in a worker.

        An entry is deleted only after ``send`` returned. A transient failure (server unreachable, 408, 429, 5xx)
        stops the drain and keeps everything for next time; any other :class:`ApiError` 4xx marks that entry
        failed (kept for the user, not retried) and the drain goes on. :class:`SessionExpired` propagates so the
        UI can ask the user to sign in; the entries stay.
        """
        result: DrainResult[_T] = DrainResult()
        with self._drain_lock:
            for entry in self.pending():
                try:
                    answer = send(entry.question, entry.idempotency_key)
                except SessionExpired:
                    raise
                except ApiError as exc:
                    if exc.is_transient:
                        result.stopped_by = exc
                        break
                    logger.warning("queued question %s refused: %s (%s)", entry.entry_id, exc.code, exc.status)
                    result.failed.append(self._mark_failed(entry, exc))
                    continue
                self.discard(entry.entry_id)
                result.sent.append((entry, answer))
        return result

    # -------------------------------------------------------------------------------------------- files
    def _ensure_directory(self) -> None:
        self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.chmod(self.directory, 0o700)  # mkdir's mode is masked by the umask
        if not self._swept:  # a write interrupted by a crash (never a visible entry); not another write in progress
            for stale in self.directory.glob(f"{_TEMP_PREFIX}*"):
                stale.unlink(missing_ok=True)
            self._swept = True

    def _write(self, entry_id: str, stored: _StoredEntry) -> None:
        self._ensure_directory()
        fd, temp_name = tempfile.mkstemp(prefix=_TEMP_PREFIX, dir=self.directory)  # created 0600
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(msgspec.msgpack.encode(stored))
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temp_name, self.directory / f"{entry_id}{SUFFIX}")
        except BaseException:
            Path(temp_name).unlink(missing_ok=True)
            raise

    def _mark_failed(self, entry: QueuedQuestion, error: ApiError) -> QueuedQuestion:
        with self._lock:
            stored = self._load(self.directory / f"{entry.entry_id}{SUFFIX}")
            if stored is None:
                return entry
            stored = msgspec.structs.replace(stored, failed_code=error.code, failed_message=error.message)
            self._write(entry.entry_id, stored)
        return _to_queued(entry.entry_id, stored)

    def _load(self, path: Path) -> _StoredEntry | None:
        try:
            return msgspec.msgpack.decode(path.read_bytes(), type=_StoredEntry)
        except FileNotFoundError:
            return None
        except (OSError, msgspec.DecodeError) as exc:
            logger.warning("skipping unreadable queued question %s: %s", path.name, exc)
            return None

    def _read(self, path: Path) -> QueuedQuestion | None:
        stored = self._load(path)
        if stored is None:
            return None
        try:
            return _to_queued(path.name.removesuffix(SUFFIX), stored)
        except ValueError as exc:  # e.g. a media type a later version no longer accepts
            logger.warning("skipping invalid queued question %s: %s", path.name, exc)
            return None


def _checked_id(entry_id: str) -> str:
    if not entry_id or "/" in entry_id or "\\" in entry_id or entry_id.startswith("."):
        raise ValueError(f"not a queue entry id: {entry_id!r}")
    return entry_id


def _stored_attachment(attachment: Attachment) -> _StoredAttachment:
    ocr = attachment.ocr
    stored_ocr = None
    if ocr is not None:
        lines = [(ln.text, ln.box.x, ln.box.y, ln.box.width, ln.box.height) for ln in ocr.lines]
        stored_ocr = _StoredOcr(ocr.engine, ocr.version, lines)
    return _StoredAttachment(attachment.filename, attachment.media_type, attachment.data, stored_ocr)


def _attachment(stored: _StoredAttachment) -> Attachment:
    ocr = None
    if stored.ocr is not None:
        lines = tuple(OcrLine(text, Rect(x, y, w, h)) for text, x, y, w, h in stored.ocr.lines)
        ocr = OcrUpload(stored.ocr.engine, stored.ocr.version, lines)
    return Attachment(stored.filename, stored.data, stored.media_type, ocr)


def _to_queued(entry_id: str, stored: _StoredEntry) -> QueuedQuestion:
    question = Question(
        description=stored.description,
        attachments=tuple(_attachment(a) for a in stored.attachments),
        priority=stored.priority,
        category=stored.category,
        device=stored.device,
    )
    return QueuedQuestion(
        entry_id=entry_id,
        idempotency_key=stored.idempotency_key,
        created_at=stored.created_at,
        question=question,
        failed_code=stored.failed_code,
        failed_message=stored.failed_message,
    )
