"""Camera poses of a capture, from the files trainers leave beside it.

One module per format, each stating its convention; every reader returns
:class:`~lyra_sim.cameras.Cameras` (OpenCV axes, camera-to-world, the poses' own world frame,
the splat's frame when the splat was trained from these poses):

- :mod:`.nerfstudio`: ``transforms.json`` (OpenGL camera axes, camera-to-world);
- :mod:`.colmap`: COLMAP text ``images.txt`` + ``cameras.txt`` (OpenCV, world-to-camera);
- :mod:`.lyra_npz`: Lyra's pose npz (``data``: OpenCV camera-to-world) and Lyra-2's custom
  trajectory npz (``w2c``: OpenCV world-to-camera).

:func:`read_capture_cameras` picks the reader from the path. A file that cannot be read is one
:class:`CameraFileError` naming the file and what to do.
"""

import lazy_loader

__getattr__, __dir__, _ = lazy_loader.attach(
    __name__,
    submod_attrs={"common": ["CameraFileError"], "capture": ["read_capture_cameras"]},
)

__all__ = ["CameraFileError", "read_capture_cameras"]
