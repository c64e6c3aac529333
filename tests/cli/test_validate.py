"""End to end: the CLI on the shipped example and on bad input."""

import json

import pytest

from clihelp import ROOT, assert_user_error, gf


def test_validate_training_json_shape():
    p = gf("validate", "training", "--json")
    assert p.returncode == 0, p.stderr
    d = json.loads(p.stdout)
    for key in ("num_rows", "num_predicted", "median_abs_error_pct", "p90_abs_error_pct"):
        assert key in d["summary"]
    row = d["rows"][0]
    for key in ("row_id", "metric", "measured", "predicted", "error_pct", "skipped_reason"):
        assert key in row


def test_validate_training_holdout_bad_group():
    assert_user_error(gf("validate", "training", "--holdout", "nope"), "--holdout", "system")


def test_validate_training_other_csv(tmp_path):
    src = (ROOT / "src/gigafleet/validate/data/training_runs.csv").read_text().splitlines()
    f = tmp_path / "mine.csv"
    f.write_text("\n".join(src[:4]) + "\n")
    d = json.loads(gf("validate", "training", "--data", str(f), "--json").stdout)
    assert d["summary"]["num_rows"] == 3
    bad = tmp_path / "bad.csv"
    bad.write_text("row_id,model\nX,llama3-8b\n")
    assert_user_error(gf("validate", "training", "--data", str(bad)), "missing columns", str(bad))
    assert_user_error(
        gf("validate", "training", "--data", str(tmp_path / "nope.csv")), "cannot read"
    )


def test_bad_csv_cells_skip_the_row_with_a_reason(tmp_path):
    src = (ROOT / "src/gigafleet/validate/data/training_runs.csv").read_text().splitlines()
    header = src[0].split(",")
    import csv
    import io

    rows = list(csv.DictReader(io.StringIO("\n".join(src[:2]))))
    rows[0]["tp"] = "0"
    out = io.StringIO()
    w = csv.DictWriter(out, fieldnames=header, lineterminator="\n")
    w.writeheader()
    w.writerows(rows)
    f = tmp_path / "bad.csv"
    f.write_text(out.getvalue())
    d = json.loads(gf("validate", "training", "--data", str(f), "--json").stdout)
    assert (
        d["rows"][0]["skipped_reason"].startswith("cannot express")
        and "tp" in d["rows"][0]["skipped_reason"]
    )


def test_calibrate_guards(tmp_path):
    src = (ROOT / "src/gigafleet/validate/data/training_runs.csv").read_text().splitlines()
    f = tmp_path / "few.csv"
    f.write_text("\n".join(src[:3]) + "\n")
    assert_user_error(
        gf("calibrate", "training", "--data", str(f)), "calibration rows", "are not in the data"
    )
    out = tmp_path / "cal.yaml"
    p = gf("calibrate", "training", "--data", str(f), "--write", "--out", str(out))
    assert_user_error(p, "calibration rows", "are not in the data")
    assert not out.exists()  # nothing half-written


EXAMPLE = ("train", "--config", "examples/llama3.1-405b-h100.yaml")


def test_validate_energy_json():
    p = gf("validate", "energy", "--json")
    assert p.returncode == 0, p.stderr
    r = json.loads(p.stdout)
    s = r["summary"]
    assert s["num_predicted"] > 0 and s["median_abs_error_pct"] is not None
    assert {"row_id", "metric", "measured", "predicted", "error_pct", "skipped_reason"} <= set(
        r["rows"][0]
    )
    t = gf("validate", "energy")
    assert t.returncode == 0 and "rows predicted" in " ".join(t.stdout.split())
    assert_user_error(gf("validate", "energy", "--data", "no/such.csv"), "no/such.csv")


def test_cli_validate_reliability_json_shape():
    p = gf("validate", "reliability", "--json")
    assert p.returncode == 0, p.stderr
    r = json.loads(p.stdout)
    for k in ("num_rows", "num_predicted", "median_abs_error_pct", "p90_abs_error_pct"):
        assert k in r["summary"]
    for k in ("row_id", "metric", "measured", "predicted", "error_pct", "skipped_reason"):
        assert k in r["rows"][0]
    bad = gf("validate", "reliability", "--data", "pyproject.toml")
    assert_user_error(bad, "missing columns")


@pytest.mark.slow
def test_validate_training_holdout_json_and_table(tmp_path):
    """``--holdout`` keeps the usual JSON shape and adds ``by_holdout``; a data file with the
    calibration's rows and a few others is enough."""
    import csv
    import io

    from gigafleet.catalog import load_catalog

    cal = load_catalog().params.calibration.training
    keep = {*cal.fit_rows, *cal.fit_rows_moe, *cal.fit_rows_mamba, "TR0008", "TR0195", "TR0319"}
    text = (ROOT / "src/gigafleet/validate/data/training_runs.csv").read_text()
    rows = [r for r in csv.DictReader(io.StringIO(text)) if r["row_id"] in keep]
    out = io.StringIO()
    w = csv.DictWriter(out, fieldnames=list(rows[0]), lineterminator="\n")
    w.writeheader()
    w.writerows(rows)
    f = tmp_path / "few.csv"
    f.write_text(out.getvalue())
    d = json.loads(
        gf("validate", "training", "--data", str(f), "--holdout", "study", "--json").stdout
    )
    ho = d["summary"]["by_holdout"]
    assert ho["by"] == "study" and {"held_out", "all", "groups"} <= set(ho)
    assert d["summary"]["num_rows"] == len(keep)
    assert {r["details"]["holdout_group"] for r in d["rows"]} == set(ho["groups"])
    t = gf("validate", "training", "--data", str(f), "--holdout", "study")
    assert t.returncode == 0 and "Refit without each study" in " ".join(t.stdout.split())


def _mutated(tmp_path, name, column=None, value=None, *, short=False):
    """The header and first row of a packaged CSV, one cell set (or the row cut short)."""
    import csv
    import io

    src = (ROOT / "src/gigafleet/validate/data" / name).read_text()
    rows = list(csv.reader(io.StringIO(src)))[:2]
    if column is not None:
        rows[1][rows[0].index(column)] = value
    if short:
        rows[1] = rows[1][:3]
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    f = tmp_path / "d.csv"
    f.write_text(out.getvalue())
    return f


@pytest.mark.parametrize(
    "command, name, column, value, needles",
    [
        ("inference", "mlperf_inference.csv", None, None, ["d.csv:2", "the header has 23"]),
        ("inference", "mlperf_inference.csv", "accelerators_per_node", ";", ["d.csv:2", "';'"]),
        ("inference", "mlperf_inference.csv", "performance_result", "0", ["d.csv:2", "zero"]),
        ("training", "training_runs.csv", "pp", "1e400", ["d.csv:2", "pp", "finite"]),
        ("reliability", "reliability.csv", None, None, ["d.csv:2", "cells"]),
        ("reliability", "reliability.csv", "measured", "nan", ["d.csv:2", "measured"]),
        ("reliability", "reliability.csv", "measured", "1e308", ["d.csv:2", "magnitude"]),
        ("reliability", "reliability.csv", "measured", "1e-320", ["d.csv:2", "magnitude"]),
        ("energy", "power_energy.csv", None, None, ["d.csv:2", "cells"]),
        ("plan", "training_runs.csv", "global_batch_seqs", "1e308", ["global_batch_seqs"]),
    ],
)
def test_bad_data_cells_are_one_clear_error(tmp_path, command, name, column, value, needles):
    # these raised AttributeError, TypeError, ValueError, ZeroDivisionError, OverflowError,
    # printed NaN or leaked numpy warnings
    f = _mutated(tmp_path, name, column, value, short=column is None)
    p = gf("validate", command, "--data", f, "--json")
    assert_user_error(p, *needles)
    assert "Warning" not in p.stderr and p.stdout == ""


def test_validate_reliability_with_data_skips_the_data_free_checks(tmp_path):
    # the simulation-vs-closed-form checks (independent of --data, most of the time) made
    # a two-row file take longer than the fuzzer's 20 s under load
    f = _mutated(tmp_path, "reliability.csv")
    p = gf("validate", "reliability", "--data", f, "--json")
    assert p.returncode == 0, p.stderr
    summary = json.loads(p.stdout)["summary"]
    assert summary["num_rows"] == 1 and "simulation_vs_closed_form" not in summary
