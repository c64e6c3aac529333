"""validate collectives: the shape every validate command shares, the fitted rows, the
targets (met ones asserted, missed ones strict xfails), and bad input."""

import csv
import json

import pytest
from typer.testing import CliRunner

from gigafleet.cli.main import app
from gigafleet.errors import GigafleetError
from gigafleet.validate.collectives import PACKAGED, validate_collectives
from gigafleet.validate.groundtruth import groundtruth_path


@pytest.fixture(scope="module")
def result(catalog):
    return validate_collectives(catalog=catalog)


def test_json_shape_of_every_validate_command():
    out = CliRunner().invoke(app, ["validate", "collectives", "--json"])
    assert out.exit_code == 0, out.output
    d = json.loads(out.stdout)
    for key in ("num_rows", "num_predicted", "median_abs_error_pct", "p90_abs_error_pct", "by_set"):
        assert key in d["summary"]
    for key in ("row_id", "metric", "measured", "predicted", "error_pct", "skipped_reason"):
        assert key in d["rows"][0]


def test_fitted_rows_are_named_and_reproduced(result):
    rows, summary = result
    fitted = [r for r in rows if r.fitted]
    assert {r.row_id for r in fitted} == set(summary["fitted_rows"])
    assert 0 < len(fitted) <= 5
    assert all(abs(r.error_pct) < 1 for r in fitted)
    assert summary["held_out"]["num"] >= 10


def test_every_shared_groundtruth_row_is_accounted_for():
    shared = groundtruth_path("collectives.csv")
    if not shared.exists():
        pytest.skip("no shared/groundtruth beside this checkout")
    ours = PACKAGED.read_text()
    for row in csv.DictReader(shared.open()):
        issue = (
            row["source"].split(" ")[0].rstrip(",").removeprefix("https://").removeprefix("www.")
        )
        assert issue in ours, issue


@pytest.mark.slow
def test_routing_comparisons_have_the_published_direction(result):
    _, summary = result
    comps = summary["routing_comparisons"]
    assert len(comps) >= 2 and all(c["same_direction"] for c in comps)


@pytest.mark.slow
def test_link_failures_cost_their_capacity(result):
    rows, _ = result
    r = {x.row_id: x for x in rows}["AS05-spectrumx-link-failures"]
    assert abs(r.error_pct) < 15


@pytest.mark.slow
@pytest.mark.xfail(strict=True, reason="ECMP penalty overstated (AS02-AS04) and the nccl#2409 "
                   "cluster is host-limited: held-out median is about 37%")  # fmt: skip
def test_held_out_median_within_15_percent(result):
    _, summary = result
    assert summary["held_out"]["median_abs_error_pct"] <= 15


@pytest.mark.slow
@pytest.mark.xfail(strict=True, reason="the fluid model keeps every hash collision for the whole "
                   "collective: predicted gains of routing are 1.6-1.8x the published ones")  # fmt: skip
def test_routing_gain_size_within_25_percent(result):
    _, summary = result
    assert all(abs(c["error_pct"]) <= 25 for c in summary["routing_comparisons"])


def test_other_csv_and_bad_rows(tmp_path, catalog):
    lines = PACKAGED.read_text().splitlines()
    f = tmp_path / "mine.csv"
    f.write_text("\n".join(lines[:3]) + "\n")
    rows, summary = validate_collectives(f, catalog=catalog)
    assert summary["num_rows"] == 2
    bad = tmp_path / "bad.csv"
    head = lines[0]
    first = lines[1].split(",")
    first[2] = "latency_us"  # metric
    bad.write_text(head + "\n" + ",".join(first) + "\n")
    with pytest.raises(GigafleetError, match="unknown metric 'latency_us'"):
        validate_collectives(bad, catalog=catalog)
    missing = tmp_path / "missing.csv"
    missing.write_text("row_id,metric\nX,busbw_GBps\n")
    out = CliRunner().invoke(app, ["validate", "collectives", "--data", str(missing)])
    assert out.exit_code != 0 and isinstance(out.exception, GigafleetError)
    assert "missing columns" in str(out.exception)
