"""Video codecs: video [B, 3, T, H, W] in [-1, 1] <-> latents [B, C, t, h, w].

* :class:`DCTCodec` (``dct``, ``dct-t1``/``-t4``/``-t8``): weight-free, the embedded default.
* :class:`CosmosCodec` (``cosmos``): Lyra's Cosmos CV8x8x8 tokenizer via diffusers, local weights.
* :class:`WanCodec` (``wan``): the Wan 2.1 VAE via diffusers, local weights.

Configs name a codec with :func:`load_codec`: ``codec: dct`` or
``codec: {name: cosmos, path: /models/cosmos-cv8x8x8/vae}``.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path

from lyra_sim.codecs.base import Codec, CodecBase, latent_frames, pixel_frames
from lyra_sim.codecs.dct import DCTCodec
from lyra_sim.codecs.diffusers_vae import (
    CosmosCodec,
    DiffusersVAECodec,
    WanCodec,
    detect_family,
)
from lyra_sim.errors import InvalidInputError

__all__ = [
    "Codec",
    "CodecBase",
    "CosmosCodec",
    "DCTCodec",
    "DiffusersVAECodec",
    "WanCodec",
    "latent_frames",
    "load_codec",
    "pixel_frames",
]

_FAMILIES = {"cosmos": CosmosCodec, "wan": WanCodec}
_VAE_OPTIONS = {"device", "dtype", "latent_stats", "sigma_data"}


def load_codec(spec: str | os.PathLike | Mapping | Codec, **options) -> Codec:
    """A codec from a name, a weights folder, or a config mapping.

    Args:
        spec: ``"dct"`` (tc 8) or ``"dct-t1"``/``"dct-t4"``/``"dct-t8"``; ``"cosmos"`` or ``"wan"``
            (a full name recorded in a dataset, e.g. ``"cosmos-cv8x8x8"``, also works and is then
            checked against the loaded model); a diffusers VAE folder (the family is read from
            its config.json); a mapping ``{name: ..., **options}``; or a codec, returned as is.
        **options: passed to the codec: ``temporal_compression`` for DCT; ``path``, ``device``,
            ``dtype``, ``latent_stats``, ``sigma_data`` for Cosmos/Wan (see their ``from_pretrained``).

    Raises:
        InvalidInputError: an unknown name or option, or a name that disagrees with the weights.
        MissingWeightsError: Cosmos/Wan without an existing ``path``.
    """
    if not isinstance(spec, (str, os.PathLike, Mapping)) and isinstance(spec, Codec):
        return spec
    if isinstance(spec, Mapping):
        spec = dict(spec)
        if "name" not in spec:
            raise InvalidInputError(f"a codec mapping needs a 'name' (dct, cosmos or wan); got keys {sorted(spec)}")
        name = spec.pop("name")
        return load_codec(name, **{**spec, **options})
    if not isinstance(spec, (str, os.PathLike)):
        raise InvalidInputError(f"a codec is named by a string, a folder or a mapping; got {type(spec).__name__}")
    if isinstance(spec, os.PathLike) or _family_of(spec) is None:
        if not Path(spec).expanduser().is_dir():
            raise InvalidInputError(
                f"unknown codec {str(spec)!r}: not dct (dct-t1/-t4/-t8), cosmos or wan, nor an existing folder"
            )
        family = detect_family(spec)
        if family is None:
            raise InvalidInputError(
                f"{spec} is not a folder with a diffusers AutoencoderKLCosmos or AutoencoderKLWan config.json; "
                "name the codec instead: load_codec('cosmos', path=...) or load_codec('dct')"
            )
        _check_options(family.family, options, _VAE_OPTIONS)
        return family.from_pretrained(spec, **options)

    name = spec.strip().lower()
    if _family_of(name) == "dct":
        m = re.fullmatch(r"dct(?:-t(\d+))?", name)
        if m is None:
            raise InvalidInputError(f"unknown DCT codec {spec!r}; use dct, dct-t1, dct-t4 or dct-t8")
        _check_options(spec, options, {"temporal_compression"})
        if m.group(1) is not None:
            tc = int(m.group(1))
            if options.setdefault("temporal_compression", tc) != tc:
                raise InvalidInputError(
                    f"codec {spec!r} says temporal compression {tc} but temporal_compression="
                    f"{options['temporal_compression']} was given"
                )
        return DCTCodec(**options)
    family = _family_of(name)
    _check_options(spec, options, {"path", *_VAE_OPTIONS})
    path = options.pop("path", None)
    codec = _FAMILIES[family].from_pretrained(path, **options)
    if name != family and codec.name != name:
        raise InvalidInputError(f"codec {spec!r} was asked for but the weights at {Path(path)} are {codec.name!r}")
    return codec


def _family_of(name: str) -> str | None:
    family = name.strip().lower().split("-", 1)[0]
    return family if family in ("dct", *_FAMILIES) else None


def _check_options(spec: str, options: Mapping, allowed: set[str]) -> None:
    unknown = sorted(set(options) - allowed)
    if unknown:
        raise InvalidInputError(
            f"codec {spec!r} takes no option {', '.join(unknown)}; it takes {', '.join(sorted(allowed))}"
        )
