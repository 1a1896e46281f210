"""idvid app: the generation as a Gradio API endpoint, the CLI's one-line errors, only the app's own
folders served, upload limits, two requests at once; and the page in a real browser."""

import os
import shutil
import socket
import urllib.error
import urllib.request
from pathlib import Path

import pytest

gradio_client = pytest.importorskip("gradio_client")
from gradio_client import Client, handle_file  # noqa: E402

import idvid.app  # noqa: E402
from idvid.video import read_video  # noqa: E402

pytestmark = pytest.mark.slow
NANO = dict(model="nano", num_frames=12, height=64, width=64, fps=None, seed=0, guidance=None, face_index=None)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    page = idvid.app.serve(port=_free_port(), out_dir=tmp_path_factory.mktemp("app"), block=False)
    yield page
    page.close()


@pytest.fixture(scope="module")
def client(served):
    return Client(served.local_url, verbose=False)


def generate(client, photo, prompt, drive=None, background=None, audio=None, say=None, **options):
    values = {**NANO, **options}
    drive, background, audio = (handle_file(str(f)) if f else None for f in (drive, background, audio))
    return client.predict([handle_file(str(photo))], prompt, values["model"], values["num_frames"], values["height"],
                          values["width"], values["fps"], values["seed"], values["guidance"], values["face_index"],
                          drive, background, audio, say or "", api_name="/generate")


def test_the_api_endpoint_makes_the_video_and_says_what_was_understood(client, astronaut_path):
    video, notes, curve = generate(client, astronaut_path, "a woman plays the guitar and nods")
    assert read_video(video).frames.shape == (12, 64, 64, 3)
    frames = [row[0] for row in curve["data"]]  # FaceSim by frame, for the plot
    assert curve["columns"] == ["frame", "facesim"] and frames == sorted(frames) and len(frames) >= 2
    assert "- nano took from the prompt: actions: nod;" in notes
    assert "- nano did not use: plays, guitar" in notes
    assert "- facesim: " in notes


def test_bad_input_is_the_cli_one_line_message(client, astronaut_path):
    with pytest.raises(gradio_client.exceptions.AppError, match="^the prompt is empty; describe what should happen"):
        generate(client, astronaut_path, "  ")
    with pytest.raises(gradio_client.exceptions.AppError, match=r"^frames must be between 2 and 14400 \(got 1\)$"):
        generate(client, astronaut_path, "a woman nods", num_frames=1)


def test_a_driving_video_moves_the_person_and_brings_its_sound(client, astronaut_path, driving_video):
    import av

    video, notes, _ = generate(client, astronaut_path, "a woman on a beach", drive=driving_video, num_frames=None)
    assert read_video(video).frames.shape[0] == 60  # the driving video's length
    assert "- nano took from the prompt: actions: from the driving video" in notes and "scene: beach" in notes
    with av.open(video) as container:
        assert container.streams.audio
    with pytest.raises(gradio_client.exceptions.AppError, match="^--drive works with nano only; tiny makes"):
        generate(client, astronaut_path, "a woman nods", drive=driving_video, model="tiny")


def test_a_background_image_replaces_the_scene(client, astronaut_path, tmp_path):
    import numpy as np
    from PIL import Image

    wall = tmp_path / "wall.png"
    Image.fromarray(np.full((90, 160, 3), (30, 160, 90), np.uint8)).save(wall)
    video, notes, _ = generate(client, astronaut_path, "a woman nods in a forest", background=wall)
    assert "scene: your background wall.png" in notes and "forest (your background is the scene" in notes
    corner = read_video(video).frames[:, :6, :6].reshape(-1, 3).mean(0)
    assert np.abs(corner - (30, 160, 90)).max() < 8


def test_a_sound_is_spoken_and_kept(client, astronaut_path, tmp_path):
    import av
    import numpy as np
    from speech_helpers import silence, vowel, write_wav

    sound = write_wav(np.concatenate([silence(0.2), vowel("ah", 0.4), silence(0.2)]), tmp_path / "ah.wav")
    video, notes, _ = generate(client, astronaut_path, "a woman talks", audio=sound, num_frames=None, fps=10)
    assert read_video(video).frames.shape[0] == 8  # 0.8 s at 10 fps
    assert "speaking ah.wav" in notes
    with av.open(video) as container:
        assert container.streams.audio
    video, notes, _ = generate(client, astronaut_path, "a woman talks", say="Hello there.", num_frames=None, fps=10)
    assert 'speaking "Hello there."' in notes
    with av.open(video) as container:
        assert container.streams.audio


def test_only_the_apps_own_files_are_served(served):
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(f"{served.local_url}gradio_api/file=/etc/passwd")
    assert refused.value.code == 403


def test_two_requests_at_once_both_finish(client, astronaut_path, grace_path):
    jobs = [client.submit([handle_file(str(photo))], "a woman nods", *list(NANO.values()), None, None,
                          None, api_name="/generate")
            for photo in (astronaut_path, grace_path)]
    videos = [job.result(timeout=300)[0] for job in jobs]
    assert all(read_video(v).frames.shape == (12, 64, 64, 3) for v in videos) and videos[0] != videos[1]


def test_an_oversize_upload_is_refused_before_it_is_read(monkeypatch, tmp_path, astronaut_path):
    monkeypatch.setattr(idvid.app, "MAX_UPLOAD", "10 KB")  # the photo is 90 KB
    page = idvid.app.serve(port=_free_port(), out_dir=tmp_path, block=False)
    try:
        with pytest.raises(Exception, match="(?i)file.*(large|size)|413"):
            generate(Client(page.local_url, verbose=False), astronaut_path, "a woman nods")
    finally:
        page.close()


def test_engines_without_their_weights_say_why_in_the_list():
    labels = dict((name, label) for label, name in idvid.app.engine_choices())
    assert labels["nano"] == "nano" and labels["tiny-vace"] == "tiny-vace"
    assert labels["wan2.1-vace-14b"].startswith("wan2.1-vace-14b (unavailable: not found: set $IDVID_MODEL_")


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")


@pytest.mark.skipif(not (CHROMIUM and CHROMEDRIVER), reason="no Chromium and chromedriver here "
                    "(Debian: apt-get install chromium chromium-driver)")
def test_the_page_in_a_real_browser(served, astronaut_path, tmp_path):
    """Open the page, upload a photo, type a prompt, click generate, wait for a video that plays."""
    webdriver = pytest.importorskip("selenium.webdriver")
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ready
    from selenium.webdriver.support.ui import WebDriverWait

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1280,1700"):
        options.add_argument(flag)
    browser = webdriver.Chrome(options=options, service=webdriver.ChromeService(CHROMEDRIVER))
    try:
        browser.get(served.local_url)
        wait = WebDriverWait(browser, 120)
        wait.until(ready.presence_of_element_located((By.CSS_SELECTOR, "input[type=file]"))).send_keys(
            str(astronaut_path))
        browser.find_element(By.CSS_SELECTOR, "textarea").send_keys("a woman nods")
        browser.find_element(By.XPATH, "//button[normalize-space()='generate']").click()
        video = WebDriverWait(browser, 300).until(ready.presence_of_element_located((By.CSS_SELECTOR, "video")))
        duration = WebDriverWait(browser, 60).until(
            lambda b: b.execute_script("const v = arguments[0]; return v.readyState > 0 && v.duration", video))
        # kept: in $IDVID_TEST_ARTIFACTS when set (CI, the README's picture), else the test's folder
        browser.save_screenshot(str(Path(os.environ.get("IDVID_TEST_ARTIFACTS", tmp_path)) / "app.png"))
        assert duration > 0  # the default nano take: 145 frames at 24 fps, about 6 s
    finally:
        browser.quit()
