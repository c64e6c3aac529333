"""groundtruth: the one CSV row reader of every validate command: structure and numbers
checked on reading; an error from a cell names the file, line and column."""

import pickle

import pytest

from gigafleet.errors import GigafleetError
from gigafleet.validate.groundtruth import CsvRow, cell_errors, read_csv


def _csv(tmp_path, text):
    f = tmp_path / "d.csv"
    f.write_text(text)
    return f


def test_rows_know_their_file_and_line(tmp_path):
    f = _csv(tmp_path, "a,b\n1,x\n2,y\n")
    rows = read_csv(f, ("a", "b"))
    assert [r.line for r in rows] == [2, 3] and rows[1]["b"] == "y"
    back = pickle.loads(pickle.dumps(rows[1]))  # holdout refits send rows to processes
    assert isinstance(back, CsvRow) and back.line == 3 and back == rows[1]


@pytest.mark.parametrize(
    "text, needles",
    [
        ("a,b\n1,2\n3\n", ["d.csv:3", "1 cells, the header has 2", "no b"]),  # a short row
        ("a,b\n1,2,3\n", ["d.csv:2", "3 cells, the header has 2"]),  # a long row
        ("a,b\n1,nan\n", ["d.csv:2", "b", "'nan'", "finite"]),
        ("a,b\n1e400,2\n", ["d.csv:2", "a", "'1e400'"]),
        ("a,b\n-inf,2\n", ["d.csv:2", "a"]),
        ("a,b\n1e308,2\n", ["d.csv:2", "magnitude"]),  # finite but overflows in a model
        ("a,b\n1e-320,2\n", ["d.csv:2", "a", "magnitude"]),  # subnormal: an infinite error %
    ],
)
def test_bad_rows_and_cells_name_file_line_column(tmp_path, text, needles):
    with pytest.raises(GigafleetError) as exc:
        read_csv(_csv(tmp_path, text), ("a", "b"))
    for n in needles:
        assert n in str(exc.value)


def test_cell_errors_name_the_cell_a_model_choked_on(tmp_path):
    rows = read_csv(_csv(tmp_path, "a,b\n1,2\n3,;\n"), ("a", "b"))
    with pytest.raises(GigafleetError) as exc, cell_errors():
        for r in rows:
            float(r["a"]) + float(r["b"])
    assert str(exc.value).startswith(f"{tmp_path / 'd.csv'}:3: b: cannot use ';'")
    rows = read_csv(_csv(tmp_path, "a,b\n4,0\n"), ("a", "b"))
    with pytest.raises(GigafleetError, match=r"d.csv:2: b: cannot use '0' \(zero"), cell_errors():
        float(rows[0]["a"]) / float(rows[0]["b"])


def test_cell_errors_pass_other_errors_through():
    with pytest.raises(ZeroDivisionError), cell_errors():  # no cell read: a bug, not input
        1 / 0  # noqa: B018


def test_cell_errors_unknown_names(tmp_path):
    rows = read_csv(_csv(tmp_path, "a,b\nllama-x,2\n"), ("a", "b"))
    with (
        pytest.raises(GigafleetError, match="d.csv:2: a: cannot use 'llama-x': not a known"),
        cell_errors(),
    ):
        {"llama3-8b": 1}[rows[0]["a"]]
