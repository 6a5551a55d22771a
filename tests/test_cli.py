"""The lyra-sim command line: render and info on a small PLY, and clean errors on bad input."""

from __future__ import annotations

import subprocess
import sys

import torch

from lyra_sim.cli import main
from lyra_sim.gaussians import GaussianScene, write_ply


def make_ply(path, n=300):
    g = torch.Generator().manual_seed(0)
    means = torch.randn(n, 3, generator=g) * 0.3 + torch.tensor([0.0, 0.0, 3.0])
    scene = GaussianScene.from_rgb(means, torch.randn(n, 4, generator=g), torch.full((n, 3), 0.04), torch.rand(n, generator=g), torch.rand(n, 3, generator=g))
    write_ply(scene, path)
    return scene


def test_render_writes_previews(tmp_path, capsys):
    make_ply(tmp_path / "s.ply")
    out = tmp_path / "out"
    rc = main(["render", str(tmp_path / "s.ply"), "--out", str(out), "--frames", "3", "--width", "40", "--height", "30", "--quiet"])
    assert rc == 0
    assert sorted(p.name for p in (out / "frames").iterdir()) == ["frame_0000.png", "frame_0001.png", "frame_0002.png"]
    assert (out / "preview.mp4").stat().st_size > 0 and (out / "contact_sheet.png").is_file()
    # A second run refuses to overwrite, with a one-line error and exit code 2.
    rc = main(["render", str(tmp_path / "s.ply"), "--out", str(out), "--frames", "3", "--width", "40", "--height", "30", "--quiet"])
    assert rc == 2
    assert "--overwrite" in capsys.readouterr().err


def test_info_reports_count_degree_and_histogram(tmp_path, capsys):
    scene = make_ply(tmp_path / "s.ply")
    assert main(["info", str(tmp_path / "s.ply")]) == 0
    text = capsys.readouterr().out
    assert "gaussians:  300" in text and "sh degree:  0" in text
    hist_counts = [int(line.split()[1].replace(",", "")) for line in text.splitlines() if line.startswith("  0.") or line.startswith("  1.")]
    assert sum(hist_counts) == len(scene)


def test_bad_input_is_a_one_line_error(tmp_path, capsys):
    (tmp_path / "bad.ply").write_bytes(b"not a ply at all")
    assert main(["info", str(tmp_path / "bad.ply")]) == 2
    err = capsys.readouterr().err
    assert "bad.ply" in err and "Traceback" not in err
    assert main(["render", str(tmp_path / "missing.ply"), "--out", str(tmp_path / "o")]) == 2


def test_console_script_entry_point_runs():
    proc = subprocess.run([sys.executable, "-m", "lyra_sim.cli", "--help"], capture_output=True, text=True)
    assert proc.returncode == 0 and "render" in proc.stdout and "info" in proc.stdout


def test_readme_has_the_two_setup_commands_and_the_main_one_parses():
    """The README's two set-up commands (one line each); the main one ends in a lyra-sim command
    this CLI accepts, and the test command is what .ci/run extracts."""
    import re
    import shlex
    from pathlib import Path

    from lyra_sim.cli import build_parser

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    blocks = {tag: re.findall(rf"<!-- {tag} -->\n```bash\n(.*?)\n```", readme, re.S) for tag in ("main-command", "test-command")}
    assert all(len(v) == 1 and "\n" not in v[0] for v in blocks.values()), blocks
    main_cmd = blocks["main-command"][0]
    assert main_cmd.startswith("python3 -m venv .venv") and "pip install torch==2.13.0 && pip install -e ." in main_cmd
    lyra = shlex.split(main_cmd.split("&& lyra-sim ", 1)[1])
    args = build_parser().parse_args(lyra)
    assert args.command == "generate" and args.prompt
    assert 'pytest -m "not gpu"' in blocks["test-command"][0]
