"""End to end: the CLI on the shipped example and on bad input."""

import json

from clihelp import assert_user_error, gf


def test_bad_catalog_overlay(tmp_path):
    f = tmp_path / "cat.yaml"
    f.write_text("accelerators:\n  - name: h100-sxm\n    hbm: 96\n")
    p = gf(
        "train", "--model", "llama3-8b", "--system", "dgx-h100", "--gpus", "8", "--catalog", str(f)
    )
    assert_user_error(p, str(f), "accelerators[h100-sxm].hbm", "unknown field", "hbm_gib")


def test_catalog_list_and_show():
    p = gf("catalog", "list", "systems", "--json")
    assert p.returncode == 0 and "gb300-nvl72" in json.loads(p.stdout)["systems"]
    p = gf("catalog", "show", "H100 SXM5", "--json")
    row = json.loads(p.stdout)
    assert row["name"] == "h100-sxm" and row["source"]
    assert_user_error(gf("catalog", "show", "h1000"), "unknown catalog entry 'h1000'")
    assert_user_error(gf("catalog", "list", "gpus"), "unknown catalog table 'gpus'")


def test_aliases_that_are_not_text_are_one_clear_error(tmp_path):
    """Issue 13 (a fuzzed traceback: ``aliases: [1, "a", null]`` reached ``str.strip``)."""
    p = tmp_path / "cat.yaml"
    p.write_text("systems:\n- name: my-pod\n  aliases: [1, a, null]\n  source: ours\n")
    assert_user_error(gf("catalog", "show", "h100", "--catalog", str(p)), "cat.yaml:",
                      "aliases.0", "valid string")  # fmt: skip
    p.write_text("systems:\n- name: my-pod\n  aliases: 5\n  source: ours\n")
    assert_user_error(gf("catalog", "show", "h100", "--catalog", str(p)), "aliases")
