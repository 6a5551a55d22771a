"""Paths shared by the trainer tests (a uniquely named module: every test folder has a conftest)."""

from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
TINY_CONFIG = REPO / "configs" / "train" / "tiny.yaml"
