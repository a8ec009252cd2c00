"""Running an import (the worker's part, ``tasks.import_run``).

Guarantees:
- rows are written in chunks of ``CHUNK_SIZE``: one lookup of existing contacts and a few
  set-based statements per chunk (``contacts.importwrite``), committed in one transaction
  together with the job's ``next_row`` and counts, so a restart resumes without duplicates;
  large files are cleaned a chunk ahead by a helper process, and on PostgreSQL pipelined
  (``_run_pipelined``, decision 0014);
- every row is cleaned by ``mapping.row_clean`` (``contact_input_clean`` like any other
  entry point); rows not stored, or stored without some values, are listed in a problems
  CSV next to the file with the row's own cells, so it can be fixed and imported again;
- a row never grants consent to an address on the suppression list (stored without its
  consent value, with a warning in the problems CSV);
- any failure of a run marks the job failed with a readable reason.
"""

import concurrent.futures
import csv
import functools
import itertools
import logging
import multiprocessing
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import django
from django.db import DatabaseError, IntegrityError, connection, connections, transaction
from django.db.models import F, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from leadflow.contacts.importwrite import (
    ChunkResult,
    ContactsChanged,
    ImportRow,
    PreparedChunk,
    RowProblem,
    chunk_apply,
    chunk_prepare,
    chunk_write,
)
from leadflow.contacts.models import CustomField
from leadflow.core.actors import Actor
from leadflow.core.errors import ValidationFailed
from leadflow.core.models import Workspace
from leadflow.imports import history
from leadflow.imports.files import SourceFile, source_open
from leadflow.imports.mapping import row_clean
from leadflow.imports.models import ImportJob, ImportKind, ImportStatus
from leadflow.imports.suppressed import CONSENT_GRANTING, suppressed_keep_their_consent

logger = logging.getLogger(__name__)

CHUNK_SIZE = 2500  # rows a transaction; 2,500 measured a little faster than 1,000
# Files with this many rows left are cleaned a chunk ahead by a helper process.
CLEAN_HELPER_MIN_ROWS = 20_000
# Files with this many rows left are written by a second thread on PostgreSQL while the next
# chunk is prepared (see _run_pipelined).
PIPELINE_MIN_ROWS = 20_000

PROBLEM_COLUMNS = ["Import row", "Import result", "Import problems"]


def _errors_write(job: ImportJob, headers: list[str], problems: list[RowProblem]) -> None:
    """Append the chunk's problem rows to the job's problems file: each row's own cells under
    the file's headers (so the file can be fixed and imported again), then its row number,
    whether it was stored, and the reasons ("Column: reason; ...")."""
    if not problems:
        return
    path = Path(job.error_path or f"{job.path.removesuffix('.csv')}.errors.csv")
    new_file = not path.exists()
    width = len(headers)
    with path.open("a", encoding="utf-8", newline="") as file:
        writer = csv.writer(file)
        if new_file:
            writer.writerow([*headers, *PROBLEM_COLUMNS])
        for problem in sorted(problems, key=lambda problem: problem.number):
            cells = [*problem.values[:width], *[""] * (width - len(problem.values))]
            writer.writerow(
                [
                    *cells,
                    problem.number,
                    "stored without these values" if problem.stored else "not imported",
                    "; ".join(f"{column}: {reason}" for column, reason in problem.reasons),
                ]
            )
    if not job.error_path:
        job.error_path = str(path)
        ImportJob.objects.filter(pk=job.pk).update(error_path=job.error_path)


def _errors_trim(job: ImportJob) -> None:
    """Drop problem rows from chunks that did not commit (a crash after the file was
    written), so a resumed run does not list them twice."""
    if not job.error_path or not Path(job.error_path).exists():
        return
    with open(job.error_path, encoding="utf-8", newline="") as file:
        rows = list(csv.reader(file))
    number = -len(PROBLEM_COLUMNS)  # the row number's position, from the end
    kept = [rows[0], *[row for row in rows[1:] if int(row[number]) < job.next_row + 2]]
    if len(kept) < len(rows):
        with open(job.error_path, "w", encoding="utf-8", newline="") as file:
            csv.writer(file).writerows(kept)


def import_job_run(*, job_id: int, chunks: int | None = None, progress=None) -> ImportJob | None:
    """Process a job from its ``next_row`` to the end (or ``chunks`` chunks, for tests).

    Each chunk locks the job row, checks it is still running at the expected position (a
    cancelled job or a second worker stops this one), writes, and advances ``next_row``
    in the same transaction. ``progress(job)`` is called after each chunk.

    Whatever stops the run (a file that cannot be read to its end, a row the database
    refuses, a bug) marks the job failed with a reason a person can act on; the rows of
    committed chunks stay. Only the loss of the database itself leaves the job running,
    until its stale heartbeat marks it (``import_jobs_stale_fail``).
    """
    job = ImportJob.objects.select_related("workspace", "created_by").filter(pk=job_id).first()
    if job is None or job.status not in (ImportStatus.QUEUED, ImportStatus.RUNNING):
        return job
    now = timezone.now()
    ImportJob.objects.filter(pk=job.pk, status=ImportStatus.QUEUED).update(
        status=ImportStatus.RUNNING, started_at=Coalesce("started_at", Value(now))
    )
    ImportJob.objects.filter(pk=job.pk, status=ImportStatus.RUNNING).update(heartbeat_at=now)
    try:
        return _job_run(job, chunks=chunks, progress=progress)
    except Exception as error:  # the job must not stay "running": see the docstring
        logger.exception("import %s failed", job.pk)
        return _job_fail(job.pk, error) or job


def _failure_reason(error: Exception, row: int) -> str:
    """What stopped a run, in words for the progress page."""
    if isinstance(error, ValidationFailed):
        detail = " ".join(e.message for e in error.errors)
        return f"Stopped at row {row:,}: {detail}"
    text = " ".join(str(error).split())[:300] or type(error).__name__
    if isinstance(error, DatabaseError):
        return (
            f"Stopped at row {row:,}: the database refused the rows from there ({text}). "
            "The rows before it are stored."
        )
    return (
        f"Stopped at row {row:,} by an unexpected error ({type(error).__name__}: {text}). "
        "The rows before it are stored; the details are in the server log."
    )


def _job_fail(job_id: int, error: Exception) -> ImportJob | None:
    """Mark a running (or queued) job failed with the reason ``error`` gives; the job."""
    if connection.in_atomic_block and connection.needs_rollback:
        return None  # a caller's broken transaction: the caller decides
    try:
        job = ImportJob.objects.get(pk=job_id)
        ImportJob.objects.filter(
            pk=job_id, status__in=[ImportStatus.QUEUED, ImportStatus.RUNNING]
        ).update(
            status=ImportStatus.FAILED,
            message=_failure_reason(error, job.next_row + 2),
            finished_at=timezone.now(),
        )
        job.refresh_from_db()
    except Exception:  # the database itself is gone: the stale heartbeat will tell
        logger.exception("import %s: could not record the failure", job_id)
        return None
    return job


def _job_run(job: ImportJob, *, chunks: int | None, progress) -> ImportJob:
    workspace = job.workspace
    actor = (
        Actor(user=job.created_by, label=f"import {job.pk}")
        if job.created_by
        else Actor.system(f"import {job.pk}")
    )
    try:
        source = source_open(job.path)
    except ValidationFailed as failure:
        ImportJob.objects.filter(pk=job.pk).update(
            status=ImportStatus.FAILED,
            message=failure.errors[0].message,
            finished_at=timezone.now(),
        )
        job.refresh_from_db()
        return job
    _errors_trim(job)
    if job.kind == ImportKind.ACTIVITIES:
        return _activities_run(job, source, actor, chunks=chunks, progress=progress)
    definitions = list(CustomField.objects.filter(workspace=workspace))
    position = job.next_row
    left = job.total_rows - position
    cleaned = suppressed_keep_their_consent(
        workspace,
        _chunks_cleaned(
            workspace=workspace,
            job=job,
            source=source,
            definitions=definitions,
            helper=left >= CLEAN_HELPER_MIN_ROWS,
        ),
    )
    commit = functools.partial(
        _chunk_commit,
        job_id=job.pk,
        workspace=workspace,
        definitions=definitions,
        actor=actor,
        headers=source.headers,
    )
    try:
        if (
            left >= PIPELINE_MIN_ROWS
            and connection.vendor == "postgresql"
            and not connection.in_atomic_block  # a caller's transaction keeps every chunk
        ):
            return _run_pipelined(
                job=job,
                commit=commit,
                cleaned=cleaned,
                position=position,
                chunks=chunks,
                progress=progress,
            )
        done_chunks = 0
        while chunks is None or done_chunks < chunks:
            size, rows, failed = next(cleaned, (0, [], []))
            job, result, _ = commit(position=position, size=size, rows=rows, failed=failed)
            if result is None:
                break  # finished, cancelled, or another worker is ahead
            position += size
            done_chunks += 1
            if progress is not None:
                job.refresh_from_db()
                progress(job)
    finally:
        cleaned.close()  # stops the helper process
    job.refresh_from_db()
    return job


def _activities_run(
    job: ImportJob, source: SourceFile, actor: Actor, *, chunks: int | None, progress
) -> ImportJob:
    """An activities (history) import: chunks of ``history.CHUNK_SIZE`` rows, each stored
    by ``history_ingest`` in the transaction that advances ``next_row`` (so a resumed run
    starts after the last committed chunk, and the client ids make a repeat harmless)."""
    reader = source.rows()
    for _ in range(job.next_row):
        next(reader, None)
    position, done_chunks = job.next_row, 0
    while chunks is None or done_chunks < chunks:
        batch = list(itertools.islice(reader, history.CHUNK_SIZE))
        with transaction.atomic():
            locked = ImportJob.objects.select_for_update().get(pk=job.pk)
            if locked.status != ImportStatus.RUNNING or locked.next_row != position:
                break
            if not batch:
                locked.status = ImportStatus.DONE
                locked.finished_at = locked.heartbeat_at = timezone.now()
                locked.save(update_fields=["status", "finished_at", "heartbeat_at"])
                break
            stored, before, problems = history.activities_chunk_write(
                workspace=job.workspace,
                actor=actor,
                headers=source.headers,
                batch=batch,
                start=position,
                mapping=job.mapping,
                options=job.options or {},
            )
            ImportJob.objects.filter(pk=job.pk).update(
                next_row=position + len(batch),
                rows_done=position + len(batch),
                created_count=F("created_count") + stored,
                skipped_count=F("skipped_count") + before,
                failed_count=F("failed_count") + len(problems),
                heartbeat_at=timezone.now(),
            )
            _errors_write(locked, source.headers, problems)
        position += len(batch)
        done_chunks += 1
        if progress is not None:
            job.refresh_from_db()
            progress(job)
    job.refresh_from_db()
    return job


def _chunk_commit(
    *,
    job_id: int,
    position: int,
    size: int,
    rows: list[ImportRow],
    failed: list[RowProblem],
    workspace: Workspace,
    definitions: list[CustomField],
    actor: Actor,
    headers: list[str],
    prepared: PreparedChunk | None = None,
) -> tuple[ImportJob, ChunkResult | None, dict[int, Any]]:
    """One chunk's transaction: lock the job row, check it is still running at ``position``
    (a cancelled job or a second worker stops this one), write the chunk (``prepared``, or
    prepared here under locks), advance ``next_row`` and the counts. An empty chunk finishes
    the job. Returns the job, the chunk's result (None when nothing was written) and
    {contact id: updated_at} of the contacts written from ``prepared``."""
    with transaction.atomic():
        # Only the job row: locking the workspace row too would hold every other write in
        # the workspace (their foreign key checks) until the chunk commits.
        job = ImportJob.objects.select_for_update().get(pk=job_id)
        if job.status != ImportStatus.RUNNING or job.next_row != position:
            return job, None, {}
        if not size:
            job.status = ImportStatus.DONE
            job.finished_at = job.heartbeat_at = timezone.now()
            job.save(update_fields=["status", "finished_at", "heartbeat_at"])
            return job, None, {}
        written: dict[int, Any] = {}
        if prepared is None:
            result = _chunk_process(
                workspace=workspace,
                job=job,
                rows=rows,
                failed=failed,
                definitions=definitions,
                actor=actor,
            )
        else:
            result = prepared.result
            written = chunk_apply(prepared=prepared, actor=actor)
        ImportJob.objects.filter(pk=job.pk).update(
            next_row=position + size,
            rows_done=position + size,
            created_count=F("created_count") + result.created,
            updated_count=F("updated_count") + result.updated,
            skipped_count=F("skipped_count") + result.skipped,
            failed_count=F("failed_count") + len(result.failed),
            warning_count=F("warning_count") + len(result.warned),
            heartbeat_at=timezone.now(),
        )
        _errors_write(job, headers, [*result.failed, *result.warned])
    return job, result, written


@dataclass
class _InFlight:
    future: Future
    size: int
    rows: list[ImportRow]
    failed: list[RowProblem]
    snapshot: list
    notes: dict


def _in_writer_thread(commit, **arguments):
    try:
        return commit(**arguments)
    except (IntegrityError, ContactsChanged) as error:
        logger.info(
            "import chunk at row %s written again under locks: %s",
            arguments["position"] + 2,
            error,
        )
        return None  # written again by the caller


def _run_pipelined(*, job, commit, cleaned, position, chunks, progress) -> ImportJob:
    """The chunks of a large file on PostgreSQL, one being written (and committed) by a
    writer thread on its own connection while this thread prepares the next: the lookup,
    resolution, companies and tags of chunk N+1 overlap the statements and commit of
    chunk N (decision 0014).

    Chunk N+1's contacts are read without locks while N is uncommitted and overlaid with
    N's own copies of the contacts it writes; every contact N+1 updates must still have
    the updated_at it was read with, else (another writer changed it) or on a unique
    violation (another writer created one of its new contacts), the chunk's transaction is
    rolled back, the chunk written again the usual way under locks, and the next one
    prepared afresh. Companies and tags found missing are committed as they are prepared.
    """
    workspace, definitions = commit.keywords["workspace"], commit.keywords["definitions"]

    def prepare(rows, failed, overlay, notes_ahead=None) -> PreparedChunk:
        return chunk_prepare(
            workspace=workspace,
            options=job.options or {},
            activity_data={"import_job": job.pk},
            rows=rows,
            definitions=definitions,
            actor=commit.keywords["actor"],
            result=ChunkResult(failed=list(failed)),
            lock=False,
            overlay=overlay,
            notes_ahead=notes_ahead,
        )

    writer = ThreadPoolExecutor(1, thread_name_prefix="import-writer")
    flight: _InFlight | None = None
    done_chunks = 0
    try:
        while True:
            more = chunks is None or done_chunks + (flight is not None) < chunks
            size, rows, failed = next(cleaned, (0, [], [])) if more else (0, [], [])
            prepared = (
                prepare(
                    rows,
                    failed,
                    flight.snapshot if flight else None,
                    flight.notes if flight else None,
                )
                if size
                else None
            )
            if flight is not None:
                outcome = flight.future.result()
                if outcome is None:
                    outcome = commit(
                        position=position, size=flight.size, rows=flight.rows, failed=flight.failed
                    )
                    if prepared is not None:
                        prepared = prepare(rows, failed, None)
                elif prepared is not None:
                    prepared.reread(outcome[2])
                job, result, _ = outcome
                if result is None:
                    return job  # cancelled, or another worker is ahead
                position += flight.size
                done_chunks += 1
                flight = None
                if progress is not None:
                    job.refresh_from_db()
                    progress(job)
            if not more:
                break
            if prepared is None:
                job, _, _ = commit(position=position, size=0, rows=[], failed=[])
                break
            snapshot = prepared.snapshot()  # before the writer thread touches the contacts
            flight = _InFlight(
                future=writer.submit(
                    _in_writer_thread,
                    commit,
                    position=position,
                    size=size,
                    rows=rows,
                    failed=failed,
                    prepared=prepared,
                ),
                size=size,
                rows=rows,
                failed=failed,
                snapshot=snapshot,
                notes=prepared.notes(),
            )
    finally:
        if flight is not None:
            concurrent.futures.wait([flight.future])  # never leave a chunk half-way
        writer.submit(connections.close_all).result()  # the writer thread's connection
        writer.shutdown()
    job.refresh_from_db()
    return job


def _chunk_rows_clean(
    workspace: Workspace,
    headers: list[str],
    batch: list[list[str]],
    start: int,
    mapping: dict[str, str],
    options: dict,
    definitions: list[CustomField],
) -> tuple[list[ImportRow], list[RowProblem]]:
    """The chunk's clean rows (with the values left out of them) and the rows that cannot
    be stored. It reads no database: it may run in the helper process."""
    rows: list[ImportRow] = []
    failed: list[RowProblem] = []
    # A row's cells go along only when the problems file may need them: the helper process
    # sends the rows back pickled, and most rows have no problem.
    required = any(definition.required for definition in definitions)
    for offset, row in enumerate(batch):
        number = start + offset + 2
        try:
            clean, warnings = row_clean(workspace, headers, row, mapping, options, definitions)
        except ValidationFailed as failure:
            reasons = [(e.field, e.message) for e in failure.errors]
            failed.append(RowProblem(number=number, values=row, reasons=reasons))
            continue
        # A row that grants consent may be held back from it (a suppressed address,
        # ``imports.suppressed``): its cells go along for the problems file.
        granting = clean.get("consent_status") in CONSENT_GRANTING
        values = row if warnings or required or granting else []
        rows.append(ImportRow(number=number, clean=clean, values=values, warnings=warnings))
    return rows, failed


def _chunks_cleaned(
    *,
    workspace: Workspace,
    job: ImportJob,
    source: SourceFile,
    definitions: list[CustomField],
    helper: bool,
) -> Iterator[tuple[int, list[ImportRow], list[RowProblem]]]:
    """(rows read, clean rows, errors) for each chunk from the job's ``next_row`` on.

    With ``helper``, a second process cleans the next chunk while this one is written:
    cleaning (email and phone parsing) is about half the work and the write mostly waits
    on the database, so on two cores they overlap (decision 0013).
    """
    reader = source.rows()
    for _ in range(job.next_row):
        next(reader, None)
    arguments = (workspace, source.headers)
    settings_ = (job.mapping, job.options, definitions)

    def batches() -> Iterator[tuple[int, list[list[str]]]]:
        position = job.next_row
        while batch := list(itertools.islice(reader, CHUNK_SIZE)):
            yield position, batch
            position += len(batch)

    if not helper:
        for start, batch in batches():
            yield len(batch), *_chunk_rows_clean(*arguments, batch, start, *settings_)
        return
    context = multiprocessing.get_context("spawn")  # no fork of an open connection
    with ProcessPoolExecutor(1, mp_context=context, initializer=django.setup) as pool:
        pending: deque = deque()
        try:
            for start, batch in batches():
                future = pool.submit(_chunk_rows_clean, *arguments, batch, start, *settings_)
                pending.append((len(batch), future))
                if len(pending) > 1:  # one chunk cleaned ahead
                    size, future = pending.popleft()
                    yield size, *future.result()
            while pending:
                size, future = pending.popleft()
                yield size, *future.result()
        finally:
            pool.shutdown(wait=False, cancel_futures=True)


def _chunk_process(
    *,
    workspace: Workspace,
    job: ImportJob,
    rows: list[ImportRow],
    failed: list[RowProblem],
    definitions: list[CustomField],
    actor: Actor,
) -> ChunkResult:
    result = ChunkResult(failed=list(failed))
    arguments = {
        "workspace": workspace,
        "options": job.options or {},
        "activity_data": {"import_job": job.pk},
        "rows": rows,
        "definitions": definitions,
        "actor": actor,
        "result": result,
    }
    try:
        with transaction.atomic():
            chunk_write(**arguments)
    except IntegrityError:
        # A concurrent writer created one of the contacts after the lookup (the insert
        # waited for it, then hit the unique constraint): look up and write again.
        result.created = result.updated = result.skipped = 0
        result.failed, result.warned = list(failed), []
        chunk_write(**arguments)
    return result
