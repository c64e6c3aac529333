"""Refitting the training constants (validate/training_fit.py fit_calibration) and
``gigafleet calibrate training --write``: a user overlay that reproduces the refit."""

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from gigafleet.catalog import load_catalog
from gigafleet.cli.main import app
from gigafleet.errors import GigafleetError
from gigafleet.validate.training_fit import FITTED, fitted_constants, write_calibration

# Validation against published data: slow, still run by .ci/run.
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def refit(tmp_path_factory):
    """``calibrate training --write --out FILE`` run once: (printed constants, the file)."""
    out = tmp_path_factory.mktemp("cal") / "my-calibration.yaml"
    res = CliRunner().invoke(app, ["calibrate", "training", "--write", "--out", str(out)])
    assert res.exit_code == 0, res.output
    printed, wrote = res.output.rsplit("}\n", 1)
    assert wrote.strip() == f"wrote {out}"
    return json.loads(printed + "}"), out


def test_refit_reproduces_the_shipped_constants(refit, catalog):
    fitted, _ = refit
    shipped = catalog.params.calibration.training
    for gen, values in shipped.gemm_efficiency.items():
        for prec, v in values.items():
            assert fitted["gemm_efficiency"][gen][prec] == pytest.approx(v, abs=2e-3), (gen, prec)
    for key in ("moe_expert_fixed_s", "mamba_fixed_s"):
        assert fitted[key] == pytest.approx(getattr(shipped, key), rel=0.02), key


def test_written_overlay_reproduces_the_refit_constants(refit, catalog):
    fitted, out = refit
    text = out.read_text()
    assert "--catalog" in text and text.startswith("#")
    mine = load_catalog([out]).params.calibration
    assert fitted_constants(mine.training) == fitted  # exactly what the fit printed
    # only the fitted constants come from the file: the rest is the shipped calibration
    shipped = catalog.params.calibration
    assert mine.training.fit_rows == shipped.training.fit_rows
    assert mine.tee == shipped.tee and mine.serving == shipped.serving
    assert not [p for p in out.parent.iterdir() if p != out]  # no temporary file left


def test_write_never_touches_the_package_or_a_foreign_file(tmp_path, catalog):
    from gigafleet.catalog import DATA_DIR

    fitted = fitted_constants(catalog.params.calibration.training)
    package_file = DATA_DIR / "calibration.yaml"
    before = package_file.read_text()
    with pytest.raises(GigafleetError, match="inside the installed package"):
        write_calibration(fitted, package_file, catalog=catalog)
    assert package_file.read_text() == before
    foreign = tmp_path / "mine.yaml"
    foreign.write_text("accelerators: []\n")
    with pytest.raises(GigafleetError, match="not written by gigafleet"):
        write_calibration(fitted, foreign, catalog=catalog)
    assert foreign.read_text() == "accelerators: []\n"
    with pytest.raises(GigafleetError, match="incomplete"):
        write_calibration({**fitted, "gemm_efficiency": {}}, tmp_path / "x.yaml", catalog=catalog)
    with pytest.raises(GigafleetError, match="calibration.training.mamba_fixed_s"):
        write_calibration({**fitted, "mamba_fixed_s": -1.0}, tmp_path / "y.yaml", catalog=catalog)
    assert not (tmp_path / "y.yaml").exists()
    # a file it wrote before is replaced
    again = tmp_path / "again.yaml"
    write_calibration(fitted, again, catalog=catalog)
    write_calibration({**fitted, "moe_expert_fixed_s": 1.5e-5}, again, catalog=catalog)
    assert load_catalog([again]).params.calibration.training.moe_expert_fixed_s == 1.5e-5


def test_calibration_constants_are_physical(catalog):
    cal = catalog.params.calibration.training
    assert set(FITTED) <= set(type(cal).model_fields)
    values = [v for g in cal.gemm_efficiency.values() for v in g.values()]
    assert all(0.2 < v < 0.9 for v in values)
    # launch-bound work per expert: tens of microseconds, not nothing and not milliseconds
    assert 5e-6 < cal.moe_expert_fixed_s < 5e-4
    # a Mamba-2 layer's SSD kernel chain: about a millisecond, less than a whole layer's step
    assert 1e-4 < cal.mamba_fixed_s < 1e-2
    assert np.isfinite(values).all()


def test_a_held_out_fit_row_is_replaced_by_the_nearest_like_row(catalog):
    """Without release 26.04.01 the same configurations measured in 26.04 take its place;
    without GB200 the Blackwell FP8 efficiency is fitted on DGX-B200 dense rows and FP4 on
    none (no NVFP4 dense row elsewhere); without every Hopper FP8 system nothing replaces
    the Hopper FP8 rows."""
    from gigafleet.validate.training import default_data_path, read_rows
    from gigafleet.validate.training_fit import _resolve_all, fit_rows_without

    rows = read_rows(default_data_path())
    resolved = _resolve_all(catalog, rows)
    cal = catalog.params.calibration.training

    def without(pred):
        out = {rid for rid, (r, row) in resolved.items() if pred(r, row)}
        return fit_rows_without(resolved, cal, out, catalog=catalog)

    rel = without(lambda r, row: r["release"] == "26.04.01")
    assert "TR0195" in rel["fit_rows"] and "TR0146" not in rel["fit_rows"]
    assert len(rel["fit_rows"]) == len(cal.fit_rows)
    for rid in rel["fit_rows"] + rel["fit_rows_moe"] + rel["fit_rows_mamba"]:
        assert resolved[rid][0]["release"] != "26.04.01"
    gb = without(lambda r, row: r["system"] == "gb200-nvl72")
    new = [rid for rid in gb["fit_rows"] if rid not in cal.fit_rows]
    assert new and all(resolved[rid][0]["system"] == "dgx-b200" for rid in new)
    assert all(resolved[rid][0]["precision"] == "fp8" for rid in new)
    h100 = without(lambda r, row: r["system"] == "dgx-h100")
    assert not [rid for rid in h100["fit_rows"] if resolved[rid][0]["precision"] == "fp8"
                and resolved[rid][0]["system"].endswith("h100")]  # fmt: skip


def test_a_constant_without_rows_is_not_fitted(catalog):
    """Leaving out the only Ampere rows (SC21 on A100) leaves Ampere unfitted: it then borrows
    the nearest fitted generation, and says so."""
    from gigafleet.perf.training import efficiency_for
    from gigafleet.validate.training import default_data_path, read_rows
    from gigafleet.validate.training_fit import _resolve_all, fit_calibration

    rows = read_rows(default_data_path())
    a100 = {rid for rid, (r, _) in _resolve_all(catalog, rows).items() if r["system"] == "dgx-a100"}
    cal = fit_calibration(catalog=catalog, rows=rows, exclude=a100)
    assert "ampere" not in cal.gemm_efficiency
    eff = efficiency_for(
        catalog.with_params(
            calibration=catalog.params.calibration.model_copy(update={"training": cal})
        ),
        "ampere",
    )
    assert eff.status == "extrapolated from hopper"
    assert eff.gemm[0] == cal.gemm_efficiency["hopper"]["bf16"]
