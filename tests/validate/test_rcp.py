"""Reference convergence points read the way the MLPerf RCP checker reads them."""

import pytest

from gigafleet.errors import GigafleetError
from gigafleet.validate.rcp import Rcp, prune, read_rcps, samples_to_converge

LORA = [Rcp("v4.1.0", "llama2_70b_lora", b, m, False)
        for b, m in ((8, 3178.667), (16, 4032.0), (32, 6037.333), (128, 11264.0))]  # fmt: skip
GPT3 = [Rcp("v4.0.0", "gpt3", b, m, True)
        for b, m in ((1536, 1195376640), (2048, 1182793728), (3072, 1207959552),
                     (4096, 1258291200), (8192, 1623195648))]  # fmt: skip


def lookup(points, batch, *, bench="llama2_70b_lora", version="v4.1", seq=8192):
    return samples_to_converge(points, benchmark=bench, version=version, batch=batch, seq_len=seq)


def test_pruning_drops_points_above_their_neighbours_line():
    # BS 32 converges slower than the line from BS 16 to BS 128 (5065 at 32): pruned
    assert [p.batch for p in prune(LORA)] == [8, 16, 128]
    # GPT-3 v4.0: BS 1536 is below the fastest-converging batch (2048): pruned
    assert [p.batch for p in prune(GPT3)] == [2048, 3072, 4096, 8192]


def test_exact_interpolated_and_below_range():
    assert lookup(LORA, 16) == (4032.0, "RCP at batch 16")
    s, how = lookup(LORA, 64)  # between the pruned 16 and 128, linear in the batch
    assert s == pytest.approx(4032 + (11264 - 4032) * (64 - 16) / (128 - 16))
    assert "16 and 128" in how
    s32, _ = lookup(LORA, 32)  # the pruned point itself is interpolated over
    assert s32 == pytest.approx(4032 + (11264 - 4032) * 16 / 112) and s32 < 6037.333
    s, how = lookup(GPT3, 1536, bench="gpt3", version="v4.0", seq=2048)
    assert s == pytest.approx(1182793728 / 2048) and "below every RCP" in how  # tokens -> seqs


def test_missing_rcps_are_errors_naming_what_is_there():
    with pytest.raises(GigafleetError, match=r"above every RCP batch \(8, 16, 32, 128\)"):
        lookup(LORA, 256)
    with pytest.raises(GigafleetError, match="no RCP for benchmark 'bert'.*llama2_70b_lora"):
        lookup(LORA, 8, bench="bert")
    with pytest.raises(GigafleetError, match=r"round v5.0.0; the file has v4.1.0"):
        lookup(LORA, 8, version="v5.0")


def test_read_rcps_checks_columns_and_numbers(tmp_path):
    good = tmp_path / "rcps.csv"
    good.write_text(
        "training_version,benchmark,global_batch_size,mean_samples_to_converge,unit\n"
        'v4.0.0,gpt3,2048,1182793728,"tokens (x)"\nv4.0.0,llama2_70b_lora,8,3178.667,samples\n'
    )
    pts = read_rcps(good)
    assert pts[0].in_tokens and not pts[1].in_tokens and pts[1].batch == 8
    bad = tmp_path / "bad.csv"
    bad.write_text("training_version,benchmark,global_batch_size\nv4.0.0,gpt3,2048\n")
    with pytest.raises(GigafleetError, match="missing columns mean_samples_to_converge, unit"):
        read_rcps(bad)
    nan = tmp_path / "nan.csv"
    nan.write_text(good.read_text().replace("3178.667", "lots"))
    with pytest.raises(GigafleetError, match="line 3: .*must be numbers"):
        read_rcps(nan)
