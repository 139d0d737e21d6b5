#!/usr/bin/env python3
"""Headless Chromium on LiveRelay's viewer and moderator pages, as their users would use them.

    pages_chromium.py play URL --seconds 12 [--screenshot FILE] [--phone]
        Opens a watch page and samples, once a second, what plays: the page's protocol and status line and the
        <video> element's currentTime, size and readyState. Last line: {"samples": [...], "errors": [...]}.

    pages_chromium.py audience --base http://127.0.0.1:8080 --stream S --viewer TOKEN --viewer2 TOKEN
                               --moderator TOKEN [--screenshots DIR]
        One moderator page and two viewer pages (the first on WebRTC, the second on HLS) in one browser: a comment
        posted on one viewer page reaches the other and the moderator; the moderator deletes it and it leaves both;
        a reaction clicked on a viewer page reaches the moderator's chart; a flash sent from the moderator page
        reaches both viewer pages. Last line: JSON with each step's outcome and time in seconds.

"errors" are the browser console's SEVERE entries (a script error on a page shows there).
"""
import argparse
import json
import os
import time

from selenium import webdriver
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By

from whep_chromium import stop_browser_on_sigterm

SAMPLE = """
const viewer = window.liverelayViewer || {};
const video = document.querySelector("video");
return {protocol: viewer.protocol || null, state: viewer.state || null, layer: viewer.layer || null,
        latencyMs: viewer.latencyMs === undefined ? null : viewer.latencyMs,
        mode: (document.getElementById("mode") || {}).textContent || "",
        note: (document.getElementById("playback-note") || {}).textContent || "",
        badge: (document.getElementById("live-badge") || {}).textContent || "",
        currentTime: video ? video.currentTime : null, videoWidth: video ? video.videoWidth : 0,
        videoHeight: video ? video.videoHeight : 0, readyState: video ? video.readyState : 0,
        qualities: [...document.querySelectorAll("#quality option")].map((o) => o.value)};
"""


def browser(phone=False):
    options = Options()
    for flag in ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--autoplay-policy=no-user-gesture-required", "--allow-loopback-in-peer-connection",
                 "--mute-audio", "--no-first-run", "--disable-features=WebRtcHideLocalIpsWithMdns",
                 "--disable-background-timer-throttling", "--disable-renderer-backgrounding",
                 "--window-size=390,844" if phone else "--window-size=1366,900"]:
        options.add_argument(flag)
    options.binary_location = "/usr/bin/chromium"
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    os.environ.setdefault("SE_AVOID_STATS", "true")
    driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
    driver.set_script_timeout(10)
    return driver


def errors(driver):
    """Script errors. A refused request also logs at SEVERE ("Failed to load resource"); the pages make some on
    purpose (the moderator page asks whether its token is the admin's), so those are left out."""
    return [entry.get("message") for entry in driver.get_log("browser")
            if entry.get("level") == "SEVERE" and "Failed to load resource" not in entry.get("message", "")]


def play(args):
    driver = browser(args.phone)
    result = {"samples": []}
    try:
        started = time.monotonic()
        driver.get(args.url)
        while time.monotonic() < started + args.seconds:
            sample = driver.execute_script(SAMPLE)
            sample["t"] = round(time.monotonic() - started, 2)
            result["samples"].append(sample)
            time.sleep(1)
        if args.screenshot:
            driver.save_screenshot(args.screenshot)
        result["errors"] = errors(driver)
    finally:
        driver.quit()
    print(json.dumps(result))


def wait(driver, handle, script, timeout):
    """Seconds until `script` (a JS expression) is true in the tab `handle`; None on timeout."""
    driver.switch_to.window(handle)
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if driver.execute_script(f"return Boolean({script});"):
            return round(time.monotonic() - started, 2)
        time.sleep(0.05)
    return None


def audience(args):
    driver = browser()
    result = {}
    stream = args.stream
    try:
        moderator = driver.current_window_handle
        driver.get(f"{args.base}/moderate/{stream}?token={args.moderator}")
        driver.switch_to.new_window("tab")
        first = driver.current_window_handle
        driver.get(f"{args.base}/watch/{stream}?mode=webrtc&token={args.viewer}")
        driver.switch_to.new_window("tab")
        second = driver.current_window_handle
        driver.get(f"{args.base}/watch/{stream}?mode=hls&token={args.viewer2}")

        # Both viewers play (and listen to the events), and the moderator page is up.
        result["firstPlays"] = wait(driver, first, "document.querySelector('video').currentTime > 1", 20)
        result["secondPlays"] = wait(driver, second, "document.querySelector('video').currentTime > 1", 30)
        driver.switch_to.window(first)
        result["firstProtocol"] = driver.execute_script("return window.liverelayViewer.protocol;")
        driver.switch_to.window(second)
        result["secondProtocol"] = driver.execute_script("return window.liverelayViewer.protocol;")
        result["reactionButtons"] = wait(driver, first, "document.querySelectorAll('#reactions button').length > 0", 10)

        # A comment from the first viewer reaches the second and the moderator.
        text = f"hello from the first viewer {int(time.time())}"
        driver.switch_to.window(first)
        driver.find_element(By.ID, "comment-text").send_keys(text)
        driver.find_element(By.CSS_SELECTOR, "#comment-form button").click()
        seen = f"[...document.querySelectorAll('#comments li')].some((li) => li.textContent.includes({json.dumps(text)}))"
        result["commentOnSecond"] = wait(driver, second, seen, 5)
        result["commentOnModerator"] = wait(driver, moderator, seen, 5)

        # The moderator deletes it: gone from both viewer pages.
        driver.switch_to.window(moderator)
        item = next(li for li in driver.find_elements(By.CSS_SELECTOR, "#comments li") if text in li.text)
        item.find_element(By.XPATH, ".//button[text()='Delete']").click()
        result["deletedOnFirst"] = wait(driver, first, f"!({seen})", 5)
        result["deletedOnSecond"] = wait(driver, second, f"!({seen})", 5)
        result["auditShowsDelete"] = wait(driver, moderator,
                                          "[...document.querySelectorAll('#audit li')].some((li) => li.textContent.startsWith('comment.delete'))", 8)

        # A reaction clicked on the first viewer page reaches the moderator's chart.
        driver.switch_to.window(moderator)
        hearts = "window.liverelayDesk.rates.reduce((sum, r) => sum + (r.perSecond.heart || 0), 0)"
        before = driver.execute_script(f"return {hearts};")
        driver.switch_to.window(first)
        driver.find_element(By.CSS_SELECTOR, "#reactions button[data-type='heart']").click()
        result["reactionOnModerator"] = wait(
            driver, moderator, f"{hearts} > {before}", 5)

        # A flash from the moderator page reaches both viewer pages.
        flash = f"Breaking: test flash {int(time.time())}"
        driver.switch_to.window(moderator)
        driver.find_element(By.ID, "flash-text").send_keys(flash)
        driver.find_element(By.CSS_SELECTOR, "#flash-form button").click()
        shown = f"!document.getElementById('flash').hidden && document.getElementById('flash').textContent === {json.dumps(flash)}"
        result["flashOnFirst"] = wait(driver, first, shown, 5)
        result["flashOnSecond"] = wait(driver, second, shown, 5)

        if args.screenshots:
            os.makedirs(args.screenshots, exist_ok=True)
            for name, handle in [("moderator", moderator), ("viewer", first)]:
                driver.switch_to.window(handle)
                driver.set_window_size(1366, 900)
                time.sleep(0.5)
                driver.save_screenshot(os.path.join(args.screenshots, f"{name}-desktop.png"))
                driver.set_window_size(390, 844)
                time.sleep(0.5)
                driver.save_screenshot(os.path.join(args.screenshots, f"{name}-phone.png"))
        result["errors"] = []
        for handle in [moderator, first, second]:
            driver.switch_to.window(handle)
            result["errors"] += errors(driver)
    finally:
        driver.quit()
    print(json.dumps(result))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    p = commands.add_parser("play")
    p.add_argument("url")
    p.add_argument("--seconds", type=float, default=12)
    p.add_argument("--screenshot")
    p.add_argument("--phone", action="store_true")
    a = commands.add_parser("audience")
    a.add_argument("--base", required=True)
    a.add_argument("--stream", required=True)
    a.add_argument("--viewer", required=True)
    a.add_argument("--viewer2", required=True)
    a.add_argument("--moderator", required=True)
    a.add_argument("--screenshots")
    args = parser.parse_args()
    stop_browser_on_sigterm()
    (play if args.command == "play" else audience)(args)


if __name__ == "__main__":
    main()
