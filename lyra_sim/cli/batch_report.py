"""``lyra-sim batch-report DIR [--json]``: what a batch folder of ``generate --prompts`` or
``sdg`` holds, from its ``index.json`` (:mod:`lyra_sim.io.batch`): a table of every item (status,
seconds, prompt, spawn points and physics status of a world, or the error of a failure) and the
totals, or the index itself as JSON."""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def add_parser(sub) -> argparse.ArgumentParser:
    """Add ``lyra-sim batch-report`` and its flags to ``sub`` (the subparsers action); returns its parser."""
    p = sub.add_parser("batch-report", help="summarise a batch folder (generate --prompts, sdg): status, seconds, errors")
    p.add_argument("folder", type=Path, help="the --out folder of the batch (or its index.json)")
    p.add_argument("--json", action="store_true", help="print the index as JSON (with the totals) instead of a table")
    p.add_argument("--failed", action="store_true", help="list only the failed items")
    p.set_defaults(func=run)
    return p


def summary(index: dict) -> dict:
    """Totals of an index: items per status, seconds (sum, mean and max over made items), and
    made items per minute of their own time."""
    made = [e["seconds"] for e in index["items"] if e["status"] == "made" and e.get("seconds") is not None]
    total = sum(made)
    return {"kind": index.get("kind"), "total": len(index["items"]),
            **{s: sum(e["status"] == s for e in index["items"]) for s in ("made", "failed", "pending")},
            "seconds_made": round(total, 3), "mean_seconds": round(total / len(made), 3) if made else None,
            "max_seconds": max(made) if made else None}


def run(args: argparse.Namespace) -> int:
    """Print the report; exit code 1 when an item failed, else 0."""
    from lyra_sim.io.batch import read_index

    index = read_index(args.folder)
    totals = summary(index)
    items = [e for e in index["items"] if e["status"] == "failed"] if args.failed else index["items"]
    if args.json:
        print(json.dumps({**index, "items": items, "summary": totals}, indent=2))
        return 1 if totals["failed"] else 0

    from rich.console import Console
    from rich.table import Table

    worlds = index.get("kind") == "worlds"
    table = Table(title=f"{args.folder}: {totals['total']} {index.get('kind', 'items')}", title_justify="left")
    for col in ("name", "status", "s", "prompt", "spawn pts" if worlds else "scene kind", "physics" if worlds else "teacher", "error"):
        table.add_column(col, overflow="fold", justify="right" if col in ("s", "spawn pts") else "left")
    colour = {"made": "green", "failed": "red", "pending": "yellow"}
    for e in items:
        extra = (e.get("spawn_points"), e.get("physics_check")) if worlds else (e.get("scene_kind"), e.get("teacher"))
        table.add_row(e["name"], f"[{colour[e['status']]}]{e['status']}", "" if e.get("seconds") is None else f"{e['seconds']:.1f}",
                      e.get("prompt") or "", *("" if v is None else str(v) for v in extra), e.get("error") or "")
    console = Console(width=max(100, Console().width))
    console.print(table)
    mean = "" if totals["mean_seconds"] is None else f"; {totals['mean_seconds']} s per made item (max {totals['max_seconds']})"
    console.print(f"{totals['made']} made, {totals['failed']} failed, {totals['pending']} pending of {totals['total']}{mean}; "
                  f"index updated {index.get('updated')}")
    return 1 if totals["failed"] else 0
