"""Write scenes/gallery/README.md from each world's command.txt, report.json and preview.png."""

import json
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main() -> None:
    lines = ["# Gallery: worlds made by `lyra-sim generate` on the embedded default", "",
             "Each folder holds `scene.usdz` (Gaussians, collider, physics scene, spawn points), `preview.png`",
             "(rows: teacher frame, render of the decoded Gaussians, their depth, the collider over the render),",
             "`report.json`, `config.yaml` and `command.txt`, the exact command that made it (`make_gallery.sh` remakes",
             "them all). They are kept light: a quarter of the Gaussians and a 20k-triangle collider; the scene",
             "PLYs, OBJ/GLB colliders and fly-through videos are left out (the command makes them).",
             "",
             "The decoder's own renders are blurry (the shipped decoder is small and was trained for an hour on a",
             "CPU, `lyra_sim/assets/MODEL_CARD.md`); `generate` refines its Gaussians against the teacher's frames",
             "and depth, and fuses the collider from the refined Gaussians' own surface depth (the 4D room, which is",
             "not refined yet, still fuses the teacher's depth). `report.json` scores each collider against the",
             "teacher's ground truth (`collider_accuracy`) and against the Gaussians (`gaussians_vs_collider`).", ""]
    for folder in sorted(p for p in HERE.iterdir() if (p / "report.json").is_file()):
        report = json.loads((folder / "report.json").read_text())
        gen = report["generate"]
        q = (report.get("refine") or {}).get("after") or gen["self_consistency"][0]
        acc = report.get("collider_accuracy")
        times = f", times {gen['times']}" if gen.get("times") else ""
        lines += [f"## {folder.name}", "", "```bash", (folder / "command.txt").read_text().strip(), "```", "",
                  f"{sum(gen['gaussians']):,} Gaussians{times}; renders vs teacher frames {q['psnr_db']:.1f} dB PSNR; "
                  + (f"collider vs ground truth {100 * acc['chamfer_m']:.1f} cm Chamfer, F@5cm {acc['fscore']:.2f}; "
                     if isinstance(acc, dict) else "") +
                  f"{len(report['spawn_points'])} spawn points; physics check: {report['physics_check']['summary']}", "",
                  f"![{folder.name}]({folder.name}/preview.png)", ""]
        if not report["spawn_points"]:
            lines[-3:-3] = ["No spawn points: no patch of ground the robot's footprint fits passed the slope, "
                            "roughness and clearance tests (`report.json` says which).", ""]
    (HERE / "README.md").write_text("\n".join(lines))


if __name__ == "__main__":
    main()
