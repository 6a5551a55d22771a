"""load_structured: defaults, then a YAML file, then key=value overrides; clear errors."""

from dataclasses import dataclass, field

import pytest

from lyra_sim.config import load_structured
from lyra_sim.errors import InvalidInputError


@dataclass
class Inner:
    steps: int = 10
    lr: float = 1e-3


@dataclass
class Outer:
    name: str = "run"
    flag: bool = False
    inner: Inner = field(default_factory=Inner)
    stages: list[Inner] = field(default_factory=lambda: [Inner(), Inner(steps=5)])


def test_layers_file_then_overrides(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("name: from_file\ninner:\n  steps: 3\n")
    cfg = load_structured(Outer, path, ["inner.lr=0.5", "stages.1.steps=7", "flag=true"])
    assert isinstance(cfg, Outer) and isinstance(cfg.inner, Inner)
    assert (cfg.name, cfg.inner.steps, cfg.inner.lr, cfg.stages[1].steps, cfg.flag) == ("from_file", 3, 0.5, 7, True)
    assert load_structured(Outer(name="x"), None, {"inner": {"steps": 1}}).inner.steps == 1  # an instance and a mapping


@pytest.mark.parametrize("bad, message", [
    (["inner.nope=1"], "nope"),
    (["inner.steps=many"], "steps"),
    (["flag=3"], "true or false"),
    (["novalue"], "not key=value"),
])
def test_bad_overrides_are_one_line_errors(bad, message):
    with pytest.raises(InvalidInputError, match=message) as err:
        load_structured(Outer, None, bad, what="test config")
    assert "\n" not in str(err.value)


def test_missing_file_names_where_configs_live(tmp_path):
    with pytest.raises(InvalidInputError, match="see configs/x/"):
        load_structured(Outer, tmp_path / "none.yaml", hint="see configs/x/")
