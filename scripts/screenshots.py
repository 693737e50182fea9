"""Screenshots of the page for the docs, taken from a real run: the shipped model, real clips, Debian's Chromium.

    python scripts/screenshots.py [DATA]      # DATA defaults to ../shared/data/utd-mhad-5

Writes docs/screenshot.png (Recognise: a wave-then-clap video with its timeline), docs/screenshot-live.png (the
webcam, fed a real clip through Chromium's fake camera) and docs/screenshot-teach.png (Teach: two labels with
examples from two people, before training). Starts `actcap serve` on a free port with a throwaway ACTCAP_HOME.
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA = ROOT.parent / "shared" / "data" / "utd-mhad-5"
DOCS = ROOT / "docs"
VIEWPORT = {"width": 1000, "height": 1000}

sys.path.insert(0, str(ROOT / "tests"))  # the videos the tests build: one way to join clips and fake a camera
from test_browser import read_clip, write_y4m  # noqa: E402
from torture import join_packets  # noqa: E402


def start_server(home: Path) -> tuple[subprocess.Popen, str]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "ACTCAP_HOME": str(home)}
    server = subprocess.Popen([sys.executable, "-m", "actcap", "serve", "--port", str(port)], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    for _ in range(600):
        try:
            with urllib.request.urlopen(f"{url}/health", timeout=2) as r:
                if r.status == 200:
                    return server, url
        except OSError:
            time.sleep(0.5)
    server.kill()
    raise SystemExit("actcap serve did not come up in 5 minutes")


def shoot(data: Path, work: Path) -> list[Path]:
    from playwright.sync_api import expect, sync_playwright

    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    args = ["--no-sandbox", "--disable-gpu", "--no-first-run"]
    video = join_packets([data / "wave" / "a3_s5_t1_color.avi", data / "clap" / "a4_s5_t1_color.avi"],
                         work / "wave_then_clap.avi")
    camera = write_y4m(read_clip(join_packets([data / "wave" / "a3_s6_t2_color.avi",
                                               data / "clap" / "a4_s6_t2_color.avi"], work / "camera.avi")),
                       work / "camera.y4m")
    server, url = start_server(work / "home")
    shots = []
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=chromium, args=args)
            page = browser.new_page(viewport=VIEWPORT)
            page.goto(url)
            expect(page.locator("#status")).to_contain_text("ready", timeout=120_000)
            page.get_by_label("Frames or video").set_input_files([video])
            page.wait_for_selector("#strip li.thumbnail img", timeout=120_000)
            page.get_by_label("Timeline: split a long video").check()
            page.get_by_role("button", name="Predict").click()
            page.wait_for_selector("#narrative:not(:empty)", timeout=300_000)
            shots.append(DOCS / "screenshot.png")
            page.screenshot(path=str(shots[-1]), full_page=True)

            page.get_by_role("button", name="Teach").click()
            for label in ("hello", "applause"):
                page.get_by_label("New label").fill(label)
                page.get_by_role("button", name="Add label").click()
            files = page.locator("#teach-labels input[type=file]")
            for n, (person, subject) in enumerate((("Ann", 1), ("Bob", 2)), start=1):
                page.get_by_label("Who is in the next examples").fill(person)
                page.get_by_label("Who is in the next examples").dispatch_event("change")
                for k, (folder, code) in enumerate((("wave", "a3"), ("clap", "a4"))):
                    files.nth(k).set_input_files([str(data / folder / f"{code}_s{subject}_t{t}_color.avi")
                                                  for t in (1, 2)])
                    page.wait_for_function(f"() => document.querySelectorAll('#teach-labels img').length >= "
                                           f"{4 * (n - 1) + 2 * (k + 1)}", timeout=120_000)
            page.get_by_label("nothing: only my labels").check()
            page.wait_for_timeout(1000)
            shots.append(DOCS / "screenshot-teach.png")
            page.screenshot(path=str(shots[-1]), full_page=True)
            browser.close()

            browser = p.chromium.launch(executable_path=chromium, args=args + [
                "--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream",
                f"--use-file-for-fake-video-capture={camera}"])
            page = browser.new_page(viewport=VIEWPORT)
            page.goto(url)
            expect(page.locator("#status")).to_contain_text("ready", timeout=120_000)
            page.get_by_role("button", name="Start webcam").click()
            expect(page.locator("#live-stats")).to_contain_text("updates/s", timeout=120_000)
            page.wait_for_timeout(9000)  # the camera's clip (wave, then clap) played once
            page.wait_for_function("() => document.querySelector('#state').textContent === 'Action'",
                                   timeout=60_000, polling=100)  # not the instant the looped clip jumps back
            shots.append(DOCS / "screenshot-live.png")
            page.screenshot(path=str(shots[-1]), full_page=True)
            browser.close()
    finally:
        server.terminate()
        server.wait(timeout=30)
    return shots


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("data", nargs="?", type=Path, default=DEFAULT_DATA)
    args = p.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="actcap-shots-") as work:
        for shot in shoot(args.data, Path(work)):
            print(f"wrote {shot.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
