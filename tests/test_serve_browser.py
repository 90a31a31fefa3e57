"""A real browser on `tui-mnist serve` (conftest's `served`): headless Chromium, Debian's
`chromium` and `chromium-driver`, driven by selenium. The page draws the app with WebGL, so its
DOM holds no text: the test waits for the app's first output, checks that the terminal's
screenshot is not blank, then presses ctrl+r in the page and sees the run it starts.

Skipped, with the reason, where there is no browser; .ci/run installs one when it can."""

from __future__ import annotations

import shutil

import pytest
from fakes import PATIENCE, wait_for

from tui_mnist.runs.store import run_folders

CHROMIUM = shutil.which("chromium")
CHROMEDRIVER = shutil.which("chromedriver")
pytestmark = pytest.mark.skipif(
    not (CHROMIUM and CHROMEDRIVER),
    reason="no chromium and chromedriver on PATH (Debian: apt-get install chromium chromium-driver, as .ci/run does)",
)

FLAGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--window-size=1024,768",
    # A closed network refuses Google's services: no background calls to wait on or to log.
    "--disable-quic", "--disable-background-networking", "--disable-component-update", "--disable-sync",
    # WebGL on the CPU: Chromium asks for it by name now that its silent fallback is deprecated.
    "--enable-unsafe-swiftshader",
)
# Measured at 1024x768: the terminal shows 4 colours before the app draws, ~470 with the settings.
FEW_COLOURS = 16

# The browser decodes its own screenshot: the distinct colours of a base64 PNG.
COUNT_COLOURS = """
const [png, done] = arguments;
const image = new Image();
image.onload = () => {
    const canvas = new OffscreenCanvas(image.width, image.height);
    const context = canvas.getContext("2d");
    context.drawImage(image, 0, 0);
    const pixels = context.getImageData(0, 0, image.width, image.height).data.buffer;
    done(new Set(new Uint32Array(pixels)).size);
};
image.src = "data:image/png;base64," + png;
"""


@pytest.fixture
def browser(tmp_path):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (*FLAGS, f"--user-data-dir={tmp_path / 'profile'}"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    driver.set_script_timeout(PATIENCE)
    yield driver
    driver.quit()


def test_a_browser_draws_the_app_and_starts_a_run_from_it(served, browser):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import WebDriverWait

    browser.get(served.url)
    body = browser.find_element(By.TAG_NAME, "body")
    WebDriverWait(browser, PATIENCE).until(lambda _: "-first-byte" in body.get_attribute("class"))
    terminal = browser.find_element(By.ID, "terminal")

    def colours() -> int:
        return browser.execute_async_script(COUNT_COLOURS, terminal.screenshot_as_base64)

    wait_for(lambda: colours() >= FEW_COLOURS, what="the app drawn in the page")

    keyboard = terminal.find_element(By.CSS_SELECTOR, "textarea")  # where xterm.js reads keys
    keyboard.send_keys(Keys.CONTROL, "r")
    wait_for(lambda: run_folders(served.runs_dir), what="a run folder")
