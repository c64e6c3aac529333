"""Where the ground-truth files are: ``shared/groundtruth/`` beside the checkout (or
``$GIGAFLEET_GROUNDTRUTH``) when present, else the copies packaged in ``validate/data``."""

from __future__ import annotations

import contextlib
import csv
import os
from collections.abc import Iterator
from pathlib import Path

from gigafleet.errors import GigafleetError
from gigafleet.numbers import MIN_MAGNITUDE, sane

PACKAGED = Path(__file__).parent / "data"


def groundtruth_path(name: str) -> Path:
    """The shared file ``name`` if this checkout has one, else the packaged copy."""
    env = os.environ.get("GIGAFLEET_GROUNDTRUTH")
    if env:
        return Path(env) / name
    for base in (Path.cwd(), *Path.cwd().parents):
        for cand in (
            base / "shared" / "groundtruth" / name,
            base.parent / "shared" / "groundtruth" / name,
        ):
            if cand.exists():
                return cand
    return PACKAGED / name


#: Largest magnitude a CSV cell may hold. The shipped files stay below 1e12 (parameter
#: counts, tokens); 1e30 leaves room for FLOP totals while products of two cells stay
#: far from float overflow (1.8e308).
MAX_CELL_MAGNITUDE = 1e30
#: The smallest non-zero magnitude is the inputs' (``numbers.MIN_MAGNITUDE``): a measurement
#: of 1e-320 (subnormal) made the error ``predicted / measured - 1`` infinite.


class CsvRow(dict):
    """One CSV row that knows where it came from (``file``, 1-based ``line``).

    Reading a cell notes it (:data:`_last_read`), so that an error raised while a model
    uses a cell (a text where a number belongs, a zero it divides by) can name the file,
    line and column: see :func:`cell_errors`.
    """

    def __init__(self, values: dict[str, str], *, file: str, line: int) -> None:
        super().__init__(values)
        self.file = file
        self.line = line

    def __getitem__(self, key: str) -> str:
        _last_read[0] = (self, key)
        return super().__getitem__(key)

    def get(self, key: str, default: object = None):  # type: ignore[override]
        _last_read[0] = (self, key)
        return super().get(key, default)

    def __reduce__(self):  # process pools pickle rows: keep where they came from
        return (_rebuild_row, (dict(self), self.file, self.line))


def _rebuild_row(values: dict[str, str], file: str, line: int) -> CsvRow:
    return CsvRow(values, file=file, line=line)


#: The last cell any CsvRow handed out: (row, column).
_last_read: list[tuple[CsvRow, str] | None] = [None]


def _check_cell(path: Path, line: int, column: str, cell: str) -> None:
    """A cell that reads as a number must be a finite one of sane magnitude."""
    try:
        value = float(cell)
    except ValueError:
        return  # text: the model that reads the column says whether text is allowed
    if not sane(value, max_magnitude=MAX_CELL_MAGNITUDE):
        raise GigafleetError(
            f"got {cell.strip()!r}; allowed: 0 or a finite number of magnitude "
            f"{MIN_MAGNITUDE:g} to {MAX_CELL_MAGNITUDE:g}",
            file=f"{path}:{line}",
            field=column,
        )


def read_csv(
    path: str | os.PathLike[str], columns: tuple[str, ...], *, kind: str = ""
) -> list[CsvRow]:
    """The rows of a CSV that must have ``columns``. A missing column, a row with too few
    or too many cells, a non-finite or absurd number, an unreadable or a non-CSV file is one
    :class:`GigafleetError` naming the file, the line and the column (and what ``kind`` of
    file needs which columns)."""
    path = Path(path)
    try:
        with path.open(newline="") as fh:
            reader = csv.DictReader(fh)
            header = reader.fieldnames or []
            missing = [c for c in columns if c not in header]
            if missing:
                needs = f"; {kind} needs: {', '.join(columns)}" if kind else ""
                raise GigafleetError(f"missing columns {', '.join(missing)}{needs}", file=str(path))
            rows = []
            for raw in reader:
                line = reader.line_num
                if None in raw:
                    raise GigafleetError(
                        f"{len(header) + len(raw[None])} cells, the header has {len(header)}",
                        file=f"{path}:{line}",
                    )
                short = [c for c, v in raw.items() if v is None]
                if short:
                    raise GigafleetError(
                        f"{len(header) - len(short)} cells, the header has {len(header)} "
                        f"(no {', '.join(short[:5])})",
                        file=f"{path}:{line}",
                    )
                for column, cell in raw.items():
                    _check_cell(path, line, column, cell)
                rows.append(CsvRow(raw, file=str(path), line=line))
            return rows
    except OSError as exc:
        raise GigafleetError(f"cannot read: {exc.strerror}", file=str(path)) from None
    except (UnicodeDecodeError, csv.Error) as exc:
        raise GigafleetError(f"not a readable CSV file: {exc}", file=str(path)) from None


def _is_zero(cell: str) -> bool:
    try:
        return float(cell) == 0.0
    except ValueError:
        return False


#: What a model raises when a cell it reads is not what it needs.
_CELL_ERRORS = (ValueError, TypeError, ArithmeticError, AttributeError, KeyError, IndexError)


@contextlib.contextmanager
def cell_errors() -> Iterator[None]:
    """Turn an error raised while CSV rows are used into one :class:`GigafleetError`
    naming the file, line and column of the cell last read.

    Without it a text cell in a number column or a zero that is divided by surfaces as a
    ``ValueError`` or ``ZeroDivisionError`` from deep inside a model. An error raised
    before any cell was read is not about a cell and passes through unchanged.
    """
    _last_read[0] = None
    try:
        yield
    except GigafleetError as exc:
        last = _last_read[0]
        if exc.file is not None or last is None:
            raise
        row, column = last
        raise GigafleetError(
            exc.message,
            file=f"{row.file}:{row.line}",
            field=exc.field or column,
            allowed=exc.allowed,
        ) from None
    except _CELL_ERRORS as exc:
        last = _last_read[0]
        if last is None:
            raise
        row, column = last
        why = str(exc)
        if isinstance(exc, ZeroDivisionError):
            # the zero is seldom the cell read last (a ratio reads both cells first)
            zeros = [c for c, v in dict.items(row) if _is_zero(v)]
            column = ", ".join(zeros) if zeros else column
            why = "zero is not allowed here"
        cell = dict.get(row, column, "0")
        if isinstance(exc, KeyError | IndexError):
            msg = f"cannot use {cell!r}: not a known value for this column"
        else:
            msg = f"cannot use {cell!r} ({why}); allowed: a positive number where one is expected"
        raise GigafleetError(msg, file=f"{row.file}:{row.line}", field=column) from None
    finally:
        _last_read[0] = None
