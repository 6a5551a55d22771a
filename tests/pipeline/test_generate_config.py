"""The generate config (lyra_sim/pipeline/config.py) holds each setting once: the written
config.yaml has no ``export.*`` twin of a generate field, old files that have them still load,
and twins that contradict each other are refused with one line."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from lyra_sim.errors import InvalidInputError
from lyra_sim.pipeline.config import EXPORT_TWINS, GenerateCfg, config_yaml, load_generate_cfg, one_value_each

REPO = Path(__file__).resolve().parents[2]
GALLERY = sorted((REPO / "scenes" / "gallery").glob("*/config.yaml"))


def keys(tree: dict, prefix: str = "") -> set[str]:
    out = set()
    for k, v in tree.items():
        out.add(prefix + k)
        if isinstance(v, dict):
            out |= keys(v, f"{prefix}{k}.")
    return out


def test_written_config_holds_each_setting_once_and_reads_back(tmp_path):
    cfg = load_generate_cfg(None, ["device=cpu", "use_teacher_frame=false", "dynamic=true", "times=[0,0.5,1]"])
    text = config_yaml(cfg)
    written = keys(yaml.safe_load(text))
    assert not written & set(EXPORT_TWINS), written & set(EXPORT_TWINS)
    assert {"device", "use_teacher_frame", "times", "export.alignment.frame", "export.moving.enabled"} <= written
    (tmp_path / "config.yaml").write_text(text)
    back = load_generate_cfg(tmp_path / "config.yaml")
    assert back == cfg and (back.device, back.use_teacher_frame, back.times) == ("cpu", False, [0.0, 0.5, 1.0])


@pytest.mark.parametrize("path", GALLERY, ids=[p.parent.name for p in GALLERY])
def test_the_gallerys_old_configs_still_load_to_the_same_settings(path):
    old = yaml.safe_load(path.read_text())
    assert "use_teacher_frame" in old["export"]["alignment"] and "device" in old["export"]  # the old layout
    cfg = load_generate_cfg(path)
    assert (cfg.device, cfg.use_teacher_frame, cfg.times) == (old["device"], old["use_teacher_frame"], old["times"])
    assert cfg.teacher.trajectories == old["teacher"]["trajectories"]


def test_a_twin_set_alone_moves_to_its_generate_field():
    cfg = load_generate_cfg(None, ["export.device=cpu", "export.alignment.use_teacher_frame=false"])
    assert (cfg.device, cfg.use_teacher_frame) == ("cpu", False)
    assert (cfg.export.device, cfg.export.alignment.use_teacher_frame) == (None, True)  # reset: one place each
    agree = load_generate_cfg(None, ["device=cpu", "export.device=cpu", "export.overwrite=true"])
    assert (agree.device, agree.export.device, agree.export.overwrite) == ("cpu", None, False)


@pytest.mark.parametrize("overrides", [["device=cuda", "export.device=cpu"],
                                       ["times=[0,1]", "export.moving.times=[0.5]"]])
def test_contradicting_twins_are_refused_in_one_line(overrides):
    with pytest.raises(InvalidInputError) as err:
        load_generate_cfg(None, overrides)
    owner = overrides[0].split("=")[0]
    assert "\n" not in str(err.value) and owner in str(err.value) and overrides[1].split("=")[0] in str(err.value)


def test_a_config_built_in_python_is_reconciled_the_same_way():
    cfg = GenerateCfg()
    cfg.export.alignment.use_teacher_frame = False
    assert one_value_each(cfg).use_teacher_frame is False and cfg.export.alignment.use_teacher_frame is True
