"""`lyra-sim info` (lyra_sim/cli/info.py): what a PLY holds; a bad file is one line."""

from __future__ import annotations

from cli_scenes import make_ply

from lyra_sim.cli import main


def test_info_reports_count_degree_and_histogram(tmp_path, capsys):
    scene = make_ply(tmp_path / "s.ply")
    assert main(["info", str(tmp_path / "s.ply")]) == 0
    text = capsys.readouterr().out
    assert "gaussians:  300" in text and "sh degree:  0" in text
    hist_counts = [int(line.split()[1].replace(",", "")) for line in text.splitlines() if line.startswith("  0.") or line.startswith("  1.")]
    assert sum(hist_counts) == len(scene)


def test_bad_input_is_a_one_line_error(tmp_path, one_line_error):
    (tmp_path / "bad.ply").write_bytes(b"not a ply at all")
    one_line_error(main(["info", str(tmp_path / "bad.ply")]), "bad.ply")
