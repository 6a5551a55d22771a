"""Loading ``*Cfg`` dataclasses from YAML files and ``key=value`` overrides, one way for all.

Every config of lyra-sim (model, training, export) is a dataclass whose fields document
themselves. :func:`load_structured` layers, in order: the dataclass defaults, a YAML file, then
Hydra-style overrides with dotted keys (``optim.lr=3e-4``, ``stages.0.steps=50``,
``data.roots=[/data/sdg]``); values are parsed as YAML. Unknown keys, values of the wrong type
and ``key=value`` typos are one-line :class:`~lyra_sim.errors.InvalidInputError` messages.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

from lyra_sim.errors import InvalidInputError

T = TypeVar("T")


def load_structured(schema: type[T] | T, path: str | Path | None = None, overrides: Sequence[str] | Mapping = (),
                    what: str = "config", hint: str = "") -> T:
    """``schema`` (a dataclass type or instance) updated from the YAML ``path`` and ``overrides``.

    Args:
        overrides: ``key=value`` strings, or a nested mapping merged like a YAML file.
        what: names the config in error messages ("model config", "training config", ...).
        hint: where such files live, added to the "not found" error (e.g. "see configs/model/").
    """
    from omegaconf import OmegaConf
    from omegaconf.errors import OmegaConfBaseException

    try:
        cfg = OmegaConf.structured(schema)
        if path is not None:
            path = Path(path)
            if not path.is_file():
                raise InvalidInputError(f"{path}: {what} not found" + (f" ({hint})" if hint else ""))
            cfg = OmegaConf.merge(cfg, OmegaConf.load(path))
        if isinstance(overrides, Mapping):
            cfg = OmegaConf.merge(cfg, OmegaConf.create(dict(overrides)))
        else:
            for item in overrides:
                key, value = _split(item)
                _check_bool(cfg, key, value)
                OmegaConf.update(cfg, key, value, merge=False, force_add=False)
        return OmegaConf.to_object(cfg)
    except OmegaConfBaseException as err:
        where = f" {path}" if path is not None else ""
        key = getattr(err, "full_key", None)
        raise InvalidInputError(f"bad {what}{where}: " + (f"{key}: " if key else "") + str(err).splitlines()[0]) from None


def _split(item: str) -> tuple[str, Any]:
    from omegaconf import OmegaConf

    if "=" not in item:
        raise InvalidInputError(f"override {item!r} is not key=value (e.g. optim.lr=3e-4)")
    key, value = item.split("=", 1)
    return key.strip(), OmegaConf.from_dotlist([f"v={value}"]).v


def _check_bool(cfg, key: str, value: Any) -> None:
    """OmegaConf turns 3 into True; a switch must be given as true or false."""
    from omegaconf import OmegaConf

    current = OmegaConf.select(cfg, key, default=None, throw_on_missing=False)
    if isinstance(current, bool) and not isinstance(value, bool):
        raise InvalidInputError(f"{key} must be true or false, got {value!r}")


def set_options(cfg: T, options: Mapping[str, Any], what: str) -> T:
    """Set the dataclass fields of ``cfg`` named in ``options`` (``from_pretrained(dir, **options)``
    style), in place; an unknown name is ``unknown <what> option 'name'``."""
    import dataclasses

    names = {f.name for f in dataclasses.fields(cfg)}
    for key, value in options.items():
        if key not in names:
            raise InvalidInputError(f"unknown {what} option {key!r}")
        setattr(cfg, key, value)
    return cfg
