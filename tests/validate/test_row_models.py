"""A ground-truth row's model built from its architecture columns when the catalog does not
know its name."""

import csv

import pytest

from gigafleet.errors import GigafleetError
from gigafleet.perf.arch import arch_costs
from gigafleet.validate.row_models import row_model
from gigafleet.validate.training import predict_row, read_rows
from gigafleet.validate.training_fit import validate_training

ROW = {
    "model": "Mystery 405B",
    "params_total_B": "405",
    "params_active_B": "",
    "layers": "126",
    "hidden": "16384",
    "ffn_hidden": "53248",
    "heads": "128",
    "kv_heads": "8",
    "vocab": "128000",
    "seq_len": "8192",
}


def test_catalog_name_wins(catalog):
    model, note = row_model(catalog, {**ROW, "model": "Llama 3.1 405B"})
    assert model.name == "llama3.1-405b" and note is None


def test_dense_model_from_columns(catalog):
    model, note = row_model(catalog, ROW)
    assert (model.num_layers, model.hidden_size, model.kv_heads) == (126, 16384, 8)
    assert model.mlp == "swiglu" and not model.tied_embeddings
    assert arch_costs(model).params_total / 1e9 == pytest.approx(405, rel=0.01)
    assert "architecture columns" in note and "405B published" in note


def test_gpt_style_row_without_ffn_picks_by_parameter_count(catalog):
    row = {**ROW, "model": "Mystery GPT", "params_total_B": "18.4", "layers": "40",
           "hidden": "6144", "ffn_hidden": "", "heads": "48", "kv_heads": "", "vocab": "51200"}  # fmt: skip
    model, _ = row_model(catalog, row)
    assert model.ffn_hidden_size == 4 * 6144 and model.mlp == "gelu"
    assert model.kv_heads == 48  # multi-head attention when KV heads are not printed
    assert arch_costs(model).params_total / 1e9 == pytest.approx(18.4, rel=0.01)
    # a published total that only a gated MLP reaches picks the gated MLP
    swiglu, _ = row_model(catalog, {**row, "params_total_B": "24.4"})
    assert swiglu.mlp == "swiglu"


def test_moe_and_incomplete_rows_are_errors(catalog):
    with pytest.raises(GigafleetError, match="mixture of experts"):
        row_model(catalog, {**ROW, "params_total_B": "400", "params_active_B": "17"})
    with pytest.raises(GigafleetError, match=r"unknown model.*columns missing: layers, hidden"):
        row_model(catalog, {**ROW, "layers": "", "hidden": "n/a"})
    with pytest.raises(GigafleetError, match="hidden"):
        row_model(catalog, {**ROW, "hidden": "16384.5"})


@pytest.mark.slow
def test_rows_renamed_out_of_the_catalog_predict_the_same(catalog, tmp_path):
    """A row whose name the catalog does not know is predicted from its columns, and the
    prediction equals the catalog model's (the shared rows give full architectures)."""
    rows = [r for r in read_rows_default() if r["layers"]]
    assert rows
    path = tmp_path / "renamed.csv"
    with path.open("w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        for r in rows:
            w.writerow({**r, "model": "Unlisted " + r["model"]})
    out, summary = validate_training(path, catalog=catalog)
    assert summary["num_predicted"] == len(rows)
    for vr, r in zip(out, rows, strict=True):
        assert any("architecture columns" in a for a in vr.details["assumed"])
        ours = predict_row(catalog, r)[vr.metric]
        assert vr.predicted == pytest.approx(ours, rel=0.01)


def read_rows_default():
    from gigafleet.validate.training import default_data_path

    return read_rows(default_data_path())
