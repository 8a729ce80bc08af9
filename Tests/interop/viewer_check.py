#!/usr/bin/env python3
"""Opens the viewer in headless Chromium (Selenium), waits for the tiles, zooms in twice with the
keyboard, pans, and checks that tiles loaded without errors, the scale bar and navigator are drawn, the
URL keeps the position, and the browser logged no errors. Saves a screenshot.

Usage: viewer_check.py BASE_URL SLIDE_ID SCREENSHOT.png. Prints a JSON verdict; exits 1 on failure.
"""
import json
import sys
import time

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.keys import Keys


def wait(driver, condition, seconds=20):
    end = time.time() + seconds
    while time.time() < end:
        value = driver.execute_script(condition)
        if value:
            return value
        time.sleep(0.1)
    return driver.execute_script(condition)


def main():
    base, slide, screenshot = sys.argv[1:4]
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for flag in ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1200,800"]:
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
    verdict = {"errors": []}
    try:
        driver.get(f"{base}/")
        cards = wait(driver, "return document.querySelectorAll('.card').length")
        verdict["cards"] = cards
        if not cards:
            verdict["errors"].append("the slide list shows no slides")
        driver.get(f"{base}/viewer.html#slide={slide}")
        ready = "return window.viewerState && window.viewerState.idle && window.viewerState.tilesLoaded > 0"
        if not wait(driver, ready):
            verdict["errors"].append("no tiles loaded at the start")
        start_zoom = driver.execute_script("return window.viewerState.map.getZoom()")
        body = driver.find_element("id", "map")
        for key in ["=", "="]:  # Leaflet zooms in on "=" (with Shift, "+" zooms three steps)
            body.send_keys(key)
            time.sleep(0.6)
            wait(driver, ready)
        body.send_keys(Keys.ARROW_RIGHT)
        time.sleep(0.6)
        wait(driver, ready)
        state = driver.execute_script(
            "const s = window.viewerState; return {zoom: s.map.getZoom(), loaded: s.tilesLoaded, tileErrors: s.tileErrors,"
            " scale: document.querySelector('.scalebar') ? document.querySelector('.scalebar').textContent : null,"
            " navigator: !!document.querySelector('.navigator .view'), hash: location.hash}")
        verdict.update(state)
        if state["zoom"] <= start_zoom:
            verdict["errors"].append(f"zooming in did not change the zoom ({start_zoom} -> {state['zoom']})")
        if state["tileErrors"]:
            verdict["errors"].append(f"{state['tileErrors']} tiles failed to load")
        if not state["scale"] or ("µm" not in state["scale"] and "mm" not in state["scale"]):
            verdict["errors"].append(f"no scale bar ({state['scale']})")
        if not state["navigator"]:
            verdict["errors"].append("no overview navigator")
        if "z=" not in state["hash"] or "x=" not in state["hash"]:
            verdict["errors"].append(f"the URL does not keep the position ({state['hash']})")
        # Reloading the URL restores the same view.
        url = driver.current_url
        driver.get("about:blank")
        driver.get(url)
        wait(driver, ready)
        restored = driver.execute_script("return window.viewerState.map.getZoom()")
        verdict["restored_zoom"] = restored
        if abs(restored - state["zoom"]) > 0.01:
            verdict["errors"].append(f"reloading the URL gave zoom {restored}, not {state['zoom']}")
        logs = [entry for entry in driver.get_log("browser") if entry["level"] == "SEVERE"]
        verdict["console_errors"] = [entry["message"] for entry in logs]
        if logs:
            verdict["errors"].append(f"browser errors: {verdict['console_errors'][:3]}")
        driver.save_screenshot(screenshot)
    finally:
        driver.quit()
    print(json.dumps(verdict))
    return 0 if not verdict["errors"] else 1


if __name__ == "__main__":
    sys.exit(main())
