"""MP4 frames in and out through imageio-ffmpeg, the way Lyra's SDG writes them.

GEN3C saves each trajectory with Cosmos' ``save_video``: ``imageio.mimsave(..., "mp4", fps=24,
quality=8, macro_block_size=1)``, i.e. libx264 with CRF 10 (imageio maps quality q to
CRF = int((1 - q/10) * 51)) and yuv420p, which is lossy: the RGB loses chroma resolution and
some detail. :func:`write_video` does the same by default; ``lossless=True`` writes libx264rgb
at QP 0 instead (bit-exact RGB, about 7x larger, still an .mp4 that ffmpeg-based readers open).

Reading decodes sequentially from the first frame and stops after the last requested one, so a
sample that needs early frames does not pay for the whole video; nothing is cached between
calls (a 121-frame 704x1280 clip is 330 MB of uint8, too large to keep per worker).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import imageio_ffmpeg
import numpy as np

from lyra_sim.errors import DatasetError, InvalidInputError

LYRA_FPS = 24
LYRA_QUALITY = 8


def write_video(
    path: str | Path,
    frames: np.ndarray,
    fps: int = LYRA_FPS,
    quality: int = LYRA_QUALITY,
    lossless: bool = False,
) -> None:
    """Write ``frames [T, H, W, 3]`` uint8 RGB to ``path`` as H.264 MP4.

    Args:
        quality: imageio quality 0..10 (Lyra: 8); ignored when ``lossless``.
        lossless: libx264rgb at QP 0 (exact RGB) instead of Lyra's lossy yuv420p.

    Raises:
        InvalidInputError: frames are not uint8 [T, H, W, 3]; H or W odd in
            lossy mode (yuv420p needs even sizes).
    """
    if frames.dtype != np.uint8 or frames.ndim != 4 or frames.shape[-1] != 3 or len(frames) == 0:
        raise InvalidInputError(f"frames must be uint8 [T, H, W, 3] with T > 0, got {frames.dtype} {list(frames.shape)}")
    _, height, width, _ = frames.shape
    if lossless:
        kwargs = {"codec": "libx264rgb", "pix_fmt_out": "rgb24", "quality": None, "output_params": ["-qp", "0", "-f", "mp4"]}
    else:
        if height % 2 or width % 2:
            raise InvalidInputError(f"lossy H.264 (yuv420p) needs an even frame size, got {width}x{height}")
        kwargs = {"codec": "libx264", "pix_fmt_out": "yuv420p", "quality": quality, "output_params": ["-f", "mp4"]}
    writer = imageio_ffmpeg.write_frames(
        str(path), (width, height), fps=fps, macro_block_size=1, ffmpeg_log_level="error", **kwargs
    )
    writer.send(None)  # start ffmpeg
    try:
        for frame in frames:
            writer.send(np.ascontiguousarray(frame))
    finally:
        writer.close()


def count_video_frames(path: str | Path) -> int:
    """Number of frames in the video (stream copy, no decoding)."""
    path = Path(path)
    if not path.is_file():
        raise DatasetError(path, "video file is missing")
    try:
        return int(imageio_ffmpeg.count_frames_and_secs(str(path))[0])
    except (RuntimeError, OSError) as exc:
        raise DatasetError(path, f"cannot read video ({_first_line(exc)}); regenerate it") from None


def video_size(path: str | Path) -> tuple[int, int]:
    """``(H, W)`` of the video's frames, from the container header (nothing is decoded)."""
    path = Path(path)
    if not path.is_file():
        raise DatasetError(path, "video file is missing")
    gen = imageio_ffmpeg.read_frames(str(path), pix_fmt="rgb24")
    try:
        width, height = next(gen)["size"]
    except (RuntimeError, OSError, StopIteration, KeyError) as exc:
        raise DatasetError(path, f"cannot read video ({_first_line(exc)}); regenerate it") from None
    finally:
        gen.close()
    return int(height), int(width)


def read_video_frames(path: str | Path, frame_indices: Sequence[int] | None = None) -> np.ndarray:
    """Decode ``frame_indices`` (all frames if None) to ``[N, H, W, 3]`` uint8 RGB, in the given order.

    Indices may repeat and come in any order; the video is decoded once, up to the largest.

    Raises:
        DatasetError: missing or undecodable file, or an index past the last frame.
    """
    path = Path(path)
    if not path.is_file():
        raise DatasetError(path, "video file is missing")
    wanted = None if frame_indices is None else np.asarray(frame_indices, dtype=np.int64).reshape(-1)
    if wanted is not None and wanted.size and wanted.min() < 0:
        raise DatasetError(path, f"negative frame index {int(wanted.min())}")
    last = None if wanted is None else (int(wanted.max()) if wanted.size else -1)
    kept: dict[int, np.ndarray] = {}
    frames: list[np.ndarray] = []
    gen = imageio_ffmpeg.read_frames(str(path), pix_fmt="rgb24")
    try:
        meta = next(gen)
        width, height = meta["size"]
        needed = None if wanted is None else set(wanted.tolist())
        index = -1
        for index, raw in enumerate(gen):
            if last is not None and index > last:
                break
            frame = np.frombuffer(raw, dtype=np.uint8).reshape(height, width, 3)
            if needed is None:
                frames.append(frame)
            elif index in needed:
                kept[index] = frame
            if last is not None and index == last:
                break
    except (RuntimeError, OSError, StopIteration, ValueError) as exc:
        raise DatasetError(path, f"cannot decode video ({_first_line(exc)}); regenerate it") from None
    finally:
        gen.close()
    if wanted is None:
        if not frames:
            raise DatasetError(path, "video has no frames")
        return np.stack(frames)
    if last is not None and last >= 0 and last not in kept:
        raise DatasetError(path, f"frame {last} requested but the video has only {index + 1} frames")
    if not wanted.size:
        return np.zeros((0, height, width, 3), dtype=np.uint8)
    return np.stack([kept[int(i)] for i in wanted])


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
