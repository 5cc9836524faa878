"""An import file's rows, read and validated: in this process, or for a large file in a second one.

:func:`open_checked` gives a :class:`Checked`: where the rows come from (``where``,
``sheet_name``, ``total_estimate``), the file's column mapping (``header``) and ``rows``, an
iterator of ``(row number, cleaned values, errors)`` in file order. A row whose key repeats an
earlier row's gets the error “与第 N 行重复”. A file that cannot be read as a whole raises
:class:`~.readers.FileRejected`, at the same point either way.

Why a second process: reading and cleaning the cells is ~10 s of CPU per million target rows,
and the apply's other work (look-ups, building the rows, handing them to the driver) runs in
the importing process under one GIL. A second interpreter (``python -c`` :data:`CHILD`: it sets
Django up but runs no caller's main module and inherits no threads or database connections,
which ``spawn`` and ``fork`` would) reads and
cleans on the other core and sends the checked rows back over a pipe, pickled, a few thousand
at a time (loading them costs ~2 s per million rows here). It is used for files of at least
``SHUANGSUIJI_IMPORT_APART_BYTES`` (16 MB, ~60,000 CSV rows) when the importer's key is its
schema's key column; smaller files, and a machine that cannot start the process, are read
here, with the same code and the same results. Figures: bench/README.md.
"""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings

from . import readers, schemas
from .readers import FileRejected

CheckedRow = tuple[int, dict, schemas.RowErrors]  # (row number, cleaned values, errors)
ROWS_PER_MESSAGE = 5000
DEFAULT_APART_BYTES = 16 * 1024 * 1024
# The second process: Django is set up before this module (which imports the models) is.
CHILD = (
    "import os, django; os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'shuangsuiji.settings'); "
    "django.setup(); from shuangsuiji.transfer.checking import child_main; child_main()"
)


@dataclass
class Checked:
    where: str
    sheet_name: str
    total_estimate: int
    header: schemas.HeaderMap
    rows: Iterator[CheckedRow]


def apart_bytes() -> int:
    """The size from which a file is checked in the second process (setting or environment
    variable ``SHUANGSUIJI_IMPORT_APART_BYTES``; 0 = always)."""
    configured = getattr(settings, "SHUANGSUIJI_IMPORT_APART_BYTES", None)
    if configured is None:
        configured = os.environ.get("SHUANGSUIJI_IMPORT_APART_BYTES", DEFAULT_APART_BYTES)
    return int(configured)


@contextmanager
def open_checked(
    path: Path,
    *,
    filename: str,
    schema: schemas.Schema,
    context: schemas.Context,
    key: Callable[[dict], object] | None = None,
    apart: bool = False,
) -> Iterator[Checked]:
    """The checked rows of ``path``. ``key(values)`` is the duplicate key (default: the
    schema's key column); ``apart`` allows the second process, which only knows that
    default, for a file of at least :func:`apart_bytes`."""
    max_rows = readers.max_rows_setting()
    if apart and Path(path).stat().st_size >= apart_bytes():
        child = _start(path, filename, schema.kind, context, max_rows)
        if child is not None:
            with _from_child(child) as checked:
                yield checked
            return
    with _open(path, filename, schema, max_rows) as (table, header):
        rows = _check(table.rows, schema, header, context, key)
        yield Checked(table.where, table.sheet_name, table.total_estimate, header, rows)


@contextmanager
def _open(path, filename: str, schema: schemas.Schema, max_rows: int):
    """The table and its column mapping (both raise FileRejected as the user should see it)."""
    with readers.open_table(
        path,
        filename=filename,
        sheet_hint=schema.sheet_name,
        is_header=schema.is_header,
        max_rows=max_rows,
    ) as table:
        yield table, schema.map_headers(table.headers, where=table.where)


def _check(cells_rows, schema, header, context, key) -> Iterator[CheckedRow]:
    clean = schema.cleaner(header, context)
    key = key or (lambda values, column=schema.key: values.get(column))
    key_heading = header.headings.get(schema.key) or schema.by_key[schema.key].heading
    seen: dict = {}
    for number, cells in cells_rows:
        values, errors = clean(cells)
        value = key(values)
        if value is not None:
            first = seen.setdefault(value, number)
            if first != number:
                shown = values.get(schema.key) or values.get("name")
                errors.append((key_heading, shown, f"与第 {first} 行重复"))
        yield number, values, errors


# --- the second process ------------------------------------------------------------------------


def _start(path, filename, kind, context, max_rows) -> subprocess.Popen | None:
    root = str(Path(__file__).resolve().parents[2])
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")])),
    }
    # Not a pipe: a chatty child could fill it and stall. Closed by _from_child.
    stderr = tempfile.TemporaryFile()  # noqa: SIM115
    try:
        child = subprocess.Popen(
            [sys.executable, "-c", CHILD],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=stderr,
            env=env,
        )
    except OSError:  # no interpreter to start (e.g. embedded): read here
        stderr.close()
        return None
    child.stderr_file = stderr
    try:
        child.stdin.write(pickle.dumps((str(path), filename, kind, context, max_rows)))
        child.stdin.close()
    except BrokenPipeError:  # it died at once; reading its output reports that
        pass
    return child


@contextmanager
def _from_child(child: subprocess.Popen) -> Iterator[Checked]:
    def receive():
        try:  # one pickle per message (a kept Unpickler would mix up their memos)
            message = pickle.load(child.stdout)
        except (EOFError, pickle.UnpicklingError):
            raise _died(child) from None
        if message[0] == "rejected":
            raise FileRejected(message[1])
        return message

    def rows() -> Iterator[CheckedRow]:
        while (message := receive())[0] == "rows":
            yield from message[1]

    try:
        _, where, sheet_name, total, header = receive()
        yield Checked(where, sheet_name, total, header, rows())
    finally:
        if child.poll() is None:
            child.kill()
        child.wait()
        child.stdout.close()
        child.stderr_file.close()


def _died(child: subprocess.Popen) -> RuntimeError:
    child.wait()
    child.stderr_file.seek(0)
    detail = child.stderr_file.read().decode("utf-8", "replace").strip().splitlines()[-3:]
    return RuntimeError(f"校验进程意外退出（{child.returncode}）：{' '.join(detail)}")


def child_main() -> None:
    """Read and check the file named on stdin; send ("table", …), ("rows", […])…, ("end",)."""
    path, filename, kind, context, max_rows = pickle.load(sys.stdin.buffer)
    out = sys.stdout.buffer
    schema = schemas.get_schema(kind)

    def send(message) -> None:
        pickle.dump(message, out, protocol=pickle.HIGHEST_PROTOCOL)

    try:
        with _open(path, filename, schema, max_rows) as (table, header):
            send(("table", table.where, table.sheet_name, table.total_estimate, header))
            out.flush()  # the importer reports progress from here on
            batch: list[CheckedRow] = []
            for row in _check(table.rows, schema, header, context, None):
                batch.append(row)
                if len(batch) >= ROWS_PER_MESSAGE:
                    send(("rows", batch))
                    batch = []
            send(("rows", batch))
    except FileRejected as exc:
        send(("rejected", exc.message))
    send(("end",))
    out.flush()
