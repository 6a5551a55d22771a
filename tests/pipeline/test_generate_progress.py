"""Progress of ``generate()`` (lyra_sim/progress.py protocol): a tiny world reports every long
loop to the callback with monotone counts and the right totals, and logs its stages."""

from __future__ import annotations

import logging

from lyra_sim.pipeline import STAGES, generate

TINY = ["teacher.num_frames=9", "teacher.width=160", "teacher.height=96", "teacher.trajectories=[left,zoom_out]",
        "decoder.image_size=[48,80]", "preview.frames=3", "preview.width=80", "preview.height=48",
        "refine.steps=3", "physics_check=false"]


def runs_of(calls: list[tuple[str, int, int | None]]) -> dict[str, list[list[tuple[int, int | None]]]]:
    """stage -> its runs, each the (done, total) calls from a done == 0 on."""
    runs: dict[str, list] = {}
    for stage, done, total in calls:
        if done == 0 or stage not in runs:
            runs.setdefault(stage, []).append([])
        runs[stage][-1].append((done, total))
    return runs


def test_generate_reports_monotone_counts_with_the_right_totals_and_logs_its_stages(tmp_path, caplog):
    calls = []
    with caplog.at_level(logging.INFO, logger="lyra_sim"):
        generate(tmp_path / "w", prompt="a small living room", overrides=TINY,
                 progress=lambda stage, done, total: calls.append((stage, done, total)))
    runs = runs_of(calls)
    for stage, stage_runs in runs.items():
        for run in stage_runs:
            done = [d for d, _ in run]
            assert done[0] == 0 and done == sorted(done), (stage, run)
            assert len({t for _, t in run if t is not None}) <= 1, (stage, run)  # one total per run
            assert run[-1][0] == run[-1][1], f"{stage} did not finish: {run}"
    last = {stage: stage_runs[-1][-1] for stage, stage_runs in runs.items()}
    assert last["generate"] == (len(STAGES), len(STAGES)) and len(runs["generate"]) == 1
    assert last["teacher trajectories"] == (2, 2)
    assert [r[-1] for r in runs["teacher frames"]] == [(9, 9), (9, 9)]  # one run per trajectory
    assert last["refine steps"] == (3, 3)
    assert last["preview frames"] == (3, 3)
    for stage in ("decode", "depth views", "TSDF fusion views", "collider marching cubes", "spawn search", "USD"):
        assert stage in runs, stage
    # Stages come in pipeline order: the teacher's frames before the decoder, the export's before previews.
    order = [s for s, _, _ in calls]
    assert order.index("teacher frames") < order.index("decode") < order.index("refine steps") \
        < order.index("depth views") < order.index("preview frames")
    logged = [r.getMessage() for r in caplog.records if r.name == "lyra_sim.pipeline.pipeline"]
    for stage in STAGES:
        assert f"stage {stage}: started" in logged and any(m.startswith(f"stage {stage}: done in ") for m in logged)
