"""``export_scene``'s progress: with no callback it logs its stages on ``lyra_sim.export``;
with one, the depth views and TSDF fusion count up to the number of views."""

from __future__ import annotations

import logging

from lyra_sim.export import ExportCfg, SourceFrame, export_scene


def small_cfg() -> ExportCfg:
    cfg = ExportCfg(previews=False)
    cfg.collider.resolution = 64
    cfg.collider.render_width, cfg.collider.render_height = 48, 32
    return cfg


def test_export_logs_stage_starts_and_ends_by_default(tmp_path, room_scene, room_output, caplog):
    src = SourceFrame.from_teacher(room_output, "room")
    src.cameras = src.cameras[::3]
    with caplog.at_level(logging.INFO, logger="lyra_sim"):
        export_scene(room_scene, tmp_path / "a", small_cfg(), source=src)
    msgs = [r.getMessage() for r in caplog.records if r.name == "lyra_sim.export.scene"]
    views = len(src.cameras)
    assert f"depth views: started ({views})" in msgs
    assert any(m.startswith(f"depth views: {views} done in ") for m in msgs)
    assert "spawn search: started (1)" in msgs and any(m.startswith("USD: 1 done in ") for m in msgs)


def test_export_reports_to_the_callback_and_not_to_the_log(tmp_path, room_scene, room_output, caplog):
    src = SourceFrame.from_teacher(room_output, "room")
    src.cameras = src.cameras[::3]
    calls = []
    with caplog.at_level(logging.INFO, logger="lyra_sim"):
        export_scene(room_scene, tmp_path / "b", small_cfg(), source=src, progress=lambda *c: calls.append(c))
    views = len(src.cameras)
    depth = [c for c in calls if c[0] == "depth views"]
    assert depth[0] == ("depth views", 0, views) and depth[-1] == ("depth views", views, views)
    assert [d for _, d, _ in depth] == sorted(d for _, d, _ in depth)
    assert [c for c in calls if c[0] == "TSDF fusion views"][-1] == ("TSDF fusion views", views, views)
    assert not [r for r in caplog.records if r.name == "lyra_sim.export.scene" and "started" in r.getMessage()]
