"""``lyra-sim view`` in a real browser: headless Chromium (playwright driving the distribution's
Chromium, no downloaded browser) opens the viewer of a tiny generated world, the splats' red
and green are in the rendered picture, and ticking "show collider" in the GUI changes it.

The screenshots are kept in ``$LYRA_TEST_ARTIFACTS`` (else the test's tmp folder); their paths
are printed. Skipped only when no Chromium binary is found (CI installs one: ``.ci/run``).
WebGL: Chromium's default ANGLE on SwiftShader (Vulkan) renders viser's splats headless with
no extra flags.
"""

import os
import shutil
import sys
import time
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).parent))

from viewer_worlds import write_generated_world

CHROMIUM_CANDIDATES = ("/usr/lib/chromium/chromium", "chromium", "chromium-browser", "chromium-headless-shell",
                       "/usr/lib/chromium/chromium-headless-shell", "google-chrome")


def chromium_binary() -> str | None:
    """The distribution's Chromium (the real binary, not Debian's launcher script), or None."""
    if os.environ.get("LYRA_CHROMIUM"):
        return os.environ["LYRA_CHROMIUM"]
    for name in CHROMIUM_CANDIDATES:
        found = name if os.path.isabs(name) and os.access(name, os.X_OK) else shutil.which(name)
        if found:
            return found
    return None


def colour_fraction(png: bytes, rgb, tol: int = 60) -> float:
    """Fraction of the picture's pixels within ``tol`` (per channel) of ``rgb`` (0-255) and
    saturated like it (not a grey of the page chrome)."""
    import io

    from PIL import Image

    img = np.asarray(Image.open(io.BytesIO(png)).convert("RGB")).astype(int)
    close = (np.abs(img - np.asarray(rgb)).max(-1) <= tol)
    return float(close.mean())


def pixels_changed(a: bytes, b: bytes, threshold: int = 30) -> float:
    """Fraction of pixels whose colour differs by more than ``threshold`` in some channel."""
    import io

    from PIL import Image

    x, y = (np.asarray(Image.open(io.BytesIO(v)).convert("RGB")).astype(int) for v in (a, b))
    return float((np.abs(x - y).max(-1) > threshold).mean())


HIDE_CHROME = "body * { visibility: hidden !important; } canvas { visibility: visible !important; }"
"""Screenshot style: the page chrome (GUI panel, notifications, whose checked boxes are blue)
is hidden, only the WebGL canvases are drawn."""


def bluish_fraction(png: bytes) -> float:
    """Fraction of pixels clearly blue (blue exceeds red and green by 60): the collider's lines,
    which are lit and antialiased, so not one exact colour."""
    import io

    from PIL import Image

    img = np.asarray(Image.open(io.BytesIO(png)).convert("RGB")).astype(int)
    return float((img[..., 2] - img[..., :2].max(-1) > 60).mean())


def canvas_png(page) -> bytes:
    """A screenshot of what WebGL drew (page chrome hidden, see :data:`HIDE_CHROME`)."""
    return page.screenshot(style=HIDE_CHROME)


def wait_for(predicate, timeout: float, what: str):
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        value = predicate()
        if value:
            return value
        time.sleep(0.25)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


@pytest.fixture
def artifacts(tmp_path) -> Path:
    out = Path(os.environ.get("LYRA_TEST_ARTIFACTS") or tmp_path / "artifacts")
    out.mkdir(parents=True, exist_ok=True)
    return out


def test_view_draws_splats_and_toggles_collider_in_chromium(tmp_path, artifacts):
    binary = chromium_binary()
    if binary is None:
        pytest.skip("no Chromium binary found (apt-get install chromium; or set LYRA_CHROMIUM)")
    from playwright.sync_api import sync_playwright

    from lyra_sim.viewer import view

    world = write_generated_world(tmp_path / "world")
    viewer = view(world, port=0, block=False)
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=binary, headless=True)
            page = browser.new_page(viewport={"width": 960, "height": 640})
            page.goto(viewer.url)
            page.get_by_text("show collider").wait_for(timeout=30_000)

            # The splats arrive over the websocket and are sorted on a worker: poll until drawn.
            def splats_drawn():
                png = canvas_png(page)
                red, green = colour_fraction(png, (255, 0, 0)), colour_fraction(png, (0, 255, 0))
                return (png, red, green) if red > 0.01 and green > 0.01 else None

            before, red, green = wait_for(splats_drawn, 40, "red and green splats on the canvas")
            shot = artifacts / "view_splats.png"
            shot.write_bytes(before)
            print(f"screenshot: {shot} (red {red:.1%}, green {green:.1%} of the canvas)")
            blue_before = bluish_fraction(before)

            page.get_by_label("show collider").check(force=True)  # the GUI checkbox, as a user clicks it

            def collider_drawn():
                png = canvas_png(page)
                return png if bluish_fraction(png) > blue_before + 0.001 else None

            after = wait_for(collider_drawn, 20, "the blue collider wireframe on the canvas")
            shot_after = artifacts / "view_collider.png"
            shot_after.write_bytes(after)
            print(f"screenshot: {shot_after}")
            assert viewer.gui["collider"].value is True  # the click reached the server, which drew the collider
            assert pixels_changed(before, after) > 0.001
            # The splats are still drawn under the wireframe.
            assert colour_fraction(after, (255, 0, 0)) > 0.005 and colour_fraction(after, (0, 255, 0)) > 0.005

            # The red and green came from the splats (not the axes gizmo or anything else): hiding
            # the Gaussians in the GUI takes them out of the picture.
            page.get_by_label("show Gaussians").uncheck(force=True)
            wait_for(lambda: colour_fraction(canvas_png(page), (255, 0, 0)) < 0.003, 20, "the red splats to disappear")
            browser.close()
    finally:
        viewer.stop()
