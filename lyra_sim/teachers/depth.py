"""Monocular depth for image-conditioned teachers: one image -> depth, validity mask, intrinsics.

GEN3C (Lyra's teacher) starts from one photo: a monocular depth model lifts it to the 3D cache
(:mod:`lyra_sim.teachers.cache3d`) that is then re-rendered along the camera trajectories. The
:class:`DepthEstimator` protocol hides which model did it. Backends, all loading only from a
local folder (never the Hub):

* ``depth_anything``: transformers' ``DepthAnythingForDepthEstimation``. The metric checkpoints
  (``depth-anything/Depth-Anything-V2-Metric-{Indoor,Outdoor}-{Small,Base,Large}-hf``,
  apache-2.0, max depth 20 m / 80 m) give metres, which export uses as the scene's metric scale;
  the relative ones give affine-invariant inverse depth (see :class:`DepthEstimate`).
* ``zoedepth``: transformers' ``ZoeDepthForDepthEstimation`` (``Intel/zoedepth-nyu-kitti``, MIT),
  metric.
* ``moge``: MoGe (``Ruicheng/moge-vitl``, GEN3C's choice), only when the user installed the
  ``moge`` package; it is the only backend that estimates the intrinsics. v1 depth is relative,
  v2 metric.

Depth Anything and ZoeDepth give no field of view, so their intrinsics come from the
``fov_degrees`` guess. Pre-processing is done here in torch (:mod:`lyra_sim.teachers.image_prep`)
from the checkpoint's ``preprocessor_config.json``, because transformers' processors need
torchvision.
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Protocol, runtime_checkable

import torch
import torch.nn.functional as F
from torch import Tensor

from lyra_sim.cameras import intrinsics_matrix
from lyra_sim.config import set_options
from lyra_sim.errors import InvalidInputError, MissingDependencyError
from lyra_sim.teachers.image_prep import ImagePrepCfg, prepare_image, zoe_padding
from lyra_sim.teachers.local_weights import WEIGHT_FILES, PathLike, require_local_dir

DepthBackend = Literal["auto", "depth_anything", "zoedepth", "moge"]

HF_LAYOUT = ("config.json", WEIGHT_FILES, "preprocessor_config.json")
DEPTH_ANYTHING_HINT = (
    "Get a transformers-format checkpoint, e.g. `huggingface-cli download "
    "depth-anything/Depth-Anything-V2-Metric-Indoor-Large-hf --local-dir DIR` (metric, apache-2.0; "
    "-Outdoor- for scenes up to 80 m) and pass DIR."
)
ZOEDEPTH_HINT = "Get a transformers-format checkpoint, e.g. `huggingface-cli download Intel/zoedepth-nyu-kitti --local-dir DIR` and pass DIR."
MOGE_HINT = (
    "Get MoGe's checkpoint, e.g. `huggingface-cli download Ruicheng/moge-vitl model.pt --local-dir DIR` "
    "(GEN3C's depth model; MoGe-2 metric models: Ruicheng/moge-2-vitl-normal) and pass DIR or DIR/model.pt."
)


@dataclass
class DepthEstimate:
    """What a depth estimator says about one image of size H x W.

    Attributes:
        depth: [H, W] float32 z-depth along the optical axis; metres when ``is_metric``, else
            relative with median 1 over the valid pixels (for Depth Anything's relative models
            this is 1 / predicted disparity, which is only affine-invariant: good enough for the
            3D cache, not for geometry). Invalid pixels hold 0.
        mask: [H, W] bool, True where the depth is usable (not sky, not saturated, finite).
        K: [3, 3] float32 intrinsics in pixels for the H x W image (OpenCV; principal point at
            the centre unless the model estimated it).
        is_metric: depth is in metres.
        intrinsics_estimated: K came from the model (MoGe), not from the ``fov_degrees`` guess.
    """

    depth: Tensor
    mask: Tensor
    K: Tensor
    is_metric: bool
    intrinsics_estimated: bool


@runtime_checkable
class DepthEstimator(Protocol):
    """A monocular depth model: ``estimate(image [3, H, W] in [0, 1]) -> DepthEstimate``."""

    name: str
    is_metric: bool

    def estimate(self, image: Tensor) -> DepthEstimate:
        """Depth of ``image`` (on any device; results come back on the image's device)."""
        ...


@dataclass
class DepthEstimatorCfg:
    """Which depth model to load and how to run it."""

    path: str
    """Local folder of the checkpoint (transformers format: config.json, model.safetensors,
    preprocessor_config.json; MoGe: model.pt). Required."""

    backend: DepthBackend = "auto"
    """Model family; "auto" reads config.json's ``model_type`` (a folder with only model.pt is
    MoGe). Defaults to "auto"."""

    fov_degrees: float = 60.0
    """Vertical field of view in degrees assumed for the intrinsics when the model does not
    estimate them (Depth Anything, ZoeDepth). Defaults to 60."""

    device: str | None = None
    """Where the model runs; None: CUDA if available, else CPU. Defaults to None."""

    moge_version: Literal["v1", "v2"] = "v1"
    """MoGe model class: v1 (relative depth, GEN3C's) or v2 (metric). Defaults to "v1"."""


def load_depth_estimator(cfg: DepthEstimatorCfg | PathLike, **overrides) -> DepthEstimator:
    """Load a depth estimator from a local folder; ``overrides`` set :class:`DepthEstimatorCfg` fields.

    Raises:
        MissingWeightsError: the folder is missing or incomplete (the message lists the layout).
        MissingDependencyError: MoGe is asked for and the ``moge`` package is not installed.
        InvalidInputError: the folder holds a model that is not a depth estimator we know.
    """
    if not isinstance(cfg, DepthEstimatorCfg):
        cfg = DepthEstimatorCfg(path=str(cfg))
    set_options(cfg, overrides, "depth estimator")
    if not 0 < cfg.fov_degrees < 180:
        raise InvalidInputError(f"fov_degrees must be in (0, 180); got {cfg.fov_degrees}")
    backend = cfg.backend if cfg.backend != "auto" else detect_depth_backend(cfg.path)
    cls = {"depth_anything": DepthAnythingEstimator, "zoedepth": ZoeDepthEstimator, "moge": MoGeEstimator}.get(backend)
    if cls is None:
        raise InvalidInputError(f"unknown depth backend {backend!r}; use one of depth_anything, zoedepth, moge")
    return cls.from_pretrained(cfg)


def detect_depth_backend(path: PathLike) -> str:
    """The backend for a checkpoint folder: config.json's ``model_type``, or "moge" for a bare model.pt."""
    root = Path(path).expanduser()
    if root.is_file() and root.suffix == ".pt":
        return "moge"
    if (root / "config.json").is_file():
        model_type = json.loads((root / "config.json").read_text()).get("model_type")
        backend = {"depth_anything": "depth_anything", "zoedepth": "zoedepth"}.get(model_type)
        if backend is None:
            raise InvalidInputError(
                f"{root} holds a {model_type!r} model; the depth backends read depth_anything, zoedepth or MoGe checkpoints"
            )
        return backend
    if (root / "model.pt").is_file():
        return "moge"
    require_local_dir(root, what="depth estimator weights", required=HF_LAYOUT, hint=DEPTH_ANYTHING_HINT)
    raise AssertionError("unreachable: require_local_dir raises for a folder without config.json")


def intrinsics_from_fov(fov_y_degrees: float, height: int, width: int) -> Tensor:
    """[3, 3] float32 pinhole K: square pixels, principal point at the image centre, vertical FOV."""
    f = 0.5 * height / math.tan(math.radians(fov_y_degrees) / 2)
    return intrinsics_matrix(f, f, width / 2, height / 2, dtype=torch.float32)


def _check_image(image: Tensor) -> None:
    if image.ndim != 3 or image.shape[0] != 3:
        raise InvalidInputError(f"a depth estimator takes one RGB image [3, H, W]; got {tuple(image.shape)}")
    if image.is_floating_point() and (image.min() < -1e-3 or image.max() > 1 + 1e-3):
        raise InvalidInputError("a depth estimator takes images in [0, 1]")


def moge_installed() -> bool:
    """Whether the optional ``moge`` package can be imported."""
    return importlib.util.find_spec("moge") is not None


def _default_device(device: str | None) -> torch.device:
    return torch.device(device if device is not None else ("cuda" if torch.cuda.is_available() else "cpu"))


class _TransformersDepthEstimator:
    """A transformers depth model plus our torch pre-processing (shared by DA and ZoeDepth)."""

    name: str
    is_metric: bool
    model_class: str
    hint: str
    what: str

    def __init__(self, model: torch.nn.Module, prep: ImagePrepCfg, fov_degrees: float):
        self.model = model.eval().requires_grad_(False)
        self.prep = prep
        self.fov_degrees = fov_degrees

    @classmethod
    def from_pretrained(cls, cfg: DepthEstimatorCfg):
        root = require_local_dir(cfg.path, what=cls.what, required=HF_LAYOUT, hint=cls.hint)
        import transformers  # slow import, paid only by users of real teachers

        model = getattr(transformers, cls.model_class).from_pretrained(str(root), local_files_only=True)
        prep = ImagePrepCfg.from_json(root / "preprocessor_config.json", **cls.prep_defaults())
        return cls(model.to(_default_device(cfg.device)), prep, cfg.fov_degrees)

    @staticmethod
    def prep_defaults() -> dict:
        return {}

    @property
    def device(self) -> torch.device:
        return next(self.model.parameters()).device

    def estimate(self, image: Tensor) -> DepthEstimate:
        _check_image(image)
        H, W = image.shape[-2:]
        pixels = prepare_image(image.to(self.device), self.prep)
        with torch.no_grad():
            raw = self.model(pixel_values=pixels).predicted_depth  # [1, h, w]
        depth, mask = self._to_depth(self._to_image_size(raw[:, None].float(), H, W)[0, 0])
        K = intrinsics_from_fov(self.fov_degrees, H, W)
        return DepthEstimate(depth.to(image.device), mask.to(image.device), K.to(image.device), self.is_metric, False)

    def _to_image_size(self, pred: Tensor, H: int, W: int) -> Tensor:
        return F.interpolate(pred, size=(H, W), mode="bilinear", align_corners=False)

    def _to_depth(self, pred: Tensor) -> tuple[Tensor, Tensor]:
        mask = torch.isfinite(pred) & (pred > 0)
        return torch.where(mask, pred, torch.zeros_like(pred)), mask


class DepthAnythingEstimator(_TransformersDepthEstimator):
    """Depth Anything (v1/v2) through transformers; metric or relative per the checkpoint's config."""

    model_class = "DepthAnythingForDepthEstimation"
    hint = DEPTH_ANYTHING_HINT
    what = "Depth Anything weights"

    # Relative models predict disparity; below this fraction of the image's largest disparity a
    # pixel is "infinitely far" (sky) and gets no depth.
    min_relative_disparity = 1e-3

    def __init__(self, model: torch.nn.Module, prep: ImagePrepCfg, fov_degrees: float):
        super().__init__(model, prep, fov_degrees)
        self.is_metric = getattr(model.config, "depth_estimation_type", "relative") == "metric"
        self.max_depth = float(getattr(model.config, "max_depth", 0) or 0)
        self.name = "depth_anything_metric" if self.is_metric else "depth_anything_relative"

    def _to_depth(self, pred: Tensor) -> tuple[Tensor, Tensor]:
        if self.is_metric:
            # The head is sigmoid * max_depth: a value at max_depth is "at least this far".
            mask = torch.isfinite(pred) & (pred > 0) & (pred < self.max_depth * (1 - 1e-4))
            return torch.where(mask, pred, torch.zeros_like(pred)), mask
        finite = torch.isfinite(pred)
        peak = pred[finite].max() if finite.any() else pred.new_tensor(0.0)
        mask = finite & (pred > self.min_relative_disparity * peak) & (peak > 0)
        depth = torch.zeros_like(pred)
        if mask.any():
            depth[mask] = 1.0 / pred[mask]
            depth[mask] /= depth[mask].median()
        return depth, mask


class ZoeDepthEstimator(_TransformersDepthEstimator):
    """ZoeDepth through transformers: metric depth, reflect-padded input as its processor does."""

    model_class = "ZoeDepthForDepthEstimation"
    hint = ZOEDEPTH_HINT
    what = "ZoeDepth weights"
    name = "zoedepth"
    is_metric = True

    @staticmethod
    def prep_defaults() -> dict:
        return {
            "height": 384, "width": 512, "ensure_multiple_of": 32, "resample": "bilinear",
            "mean": (0.5,) * 3, "std": (0.5,) * 3, "reflect_pad": True, "align_corners": True,
        }

    def _to_image_size(self, pred: Tensor, H: int, W: int) -> Tensor:
        if not self.prep.reflect_pad:
            return super()._to_image_size(pred, H, W)
        ph, pw = zoe_padding(H, W)
        padded = F.interpolate(pred, size=(H + 2 * ph, W + 2 * pw), mode="bilinear", align_corners=False)
        return padded[..., ph:ph + H, pw:pw + W]


class MoGeEstimator:
    """MoGe through the user-installed ``moge`` package: depth, mask and estimated intrinsics.

    MoGe's ``infer`` takes the image in [0, 1] at any size and returns normalised intrinsics
    (fx / W, cx / W; fy / H, cy / H), converted here to pixels.
    """

    def __init__(self, model, version: str):
        self.model = model
        self.version = version
        self.is_metric = version == "v2"
        self.name = f"moge_{version}"

    @classmethod
    def from_pretrained(cls, cfg: DepthEstimatorCfg) -> MoGeEstimator:
        path = Path(cfg.path).expanduser()
        if not path.is_file():
            path = require_local_dir(path, what="MoGe weights", required=("model.pt",), hint=MOGE_HINT) / "model.pt"
        if not moge_installed():
            raise MissingDependencyError(
                "the MoGe depth backend needs the `moge` package, which is not installed: "
                "`pip install git+https://github.com/microsoft/MoGe.git` (it needs torchvision, so use a "
                "CUDA environment), or use a Depth Anything / ZoeDepth checkpoint with backend='depth_anything' / 'zoedepth'"
            )
        module = importlib.import_module(f"moge.model.{cfg.moge_version}")
        # A local file path: MoGe's from_pretrained calls hf_hub_download only for repo ids.
        model = module.MoGeModel.from_pretrained(str(path)).to(_default_device(cfg.device)).eval()
        return cls(model, cfg.moge_version)

    def estimate(self, image: Tensor) -> DepthEstimate:
        _check_image(image)
        H, W = image.shape[-2:]
        device = next(self.model.parameters()).device
        with torch.no_grad():
            out = self.model.infer(image.to(device).float())
        depth = out["depth"].float().reshape(H, W)
        mask = out["mask"].bool().reshape(H, W) & torch.isfinite(depth) & (depth > 0)
        depth = torch.where(mask, depth, torch.zeros_like(depth))
        K = out["intrinsics"].float().reshape(3, 3).clone()
        K[0] *= W
        K[1] *= H
        dev = image.device
        return DepthEstimate(depth.to(dev), mask.to(dev), K.to(dev), self.is_metric, True)
