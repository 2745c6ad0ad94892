#!/usr/bin/env python3
"""The web pages of a running `sealbox serve` in a real browser: Debian's chromium driven by
chromedriver through PyPI selenium, headless, the node's self-signed certificate accepted.

Signs in, generates a password, logs in with it over IMAP (imaplib, implicit TLS) from here,
revokes it on the page, and sees the IMAP login fail; then the admin's pages with an admin token
(when one is given); then the same owner flow with JavaScript disabled. Saves a screenshot of
each page to --screenshots (checked: a PNG of real size, the page showing the expected text).

Usage: web_browser.py --port HTTPS_PORT --address A --password P --imaps N [--admin-token T]
                      --screenshots DIR
"""
import argparse
import base64
import imaplib
import os
import ssl
import sys

from selenium import webdriver
from selenium.common.exceptions import TimeoutException, WebDriverException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.ui import WebDriverWait

WAIT = 20  # seconds: every wait is bounded


def check(condition, message):
    if not condition:
        print("FAIL:", message)
        sys.exit(1)
    print("ok:", message)


def browser(javascript=True):
    options = webdriver.ChromeOptions()
    options.binary_location = os.environ.get("CHROMIUM", "/usr/bin/chromium")
    for arg in ["--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", "--window-size=1100,500",
                "--no-first-run", "--disable-extensions", "--disable-background-networking", "--disable-sync",
                "--password-store=basic", "--lang=en-US"]:
        options.add_argument(arg)
    options.accept_insecure_certs = True
    if not javascript:
        options.add_experimental_option("prefs", {"profile.managed_default_content_settings.javascript": 2})
    driver = webdriver.Chrome(service=Service(os.environ.get("CHROMEDRIVER", "/usr/bin/chromedriver")), options=options)
    driver.set_page_load_timeout(WAIT)
    driver.implicitly_wait(WAIT)
    return driver


class Pages:
    def __init__(self, driver, base, shots):
        self.d = driver
        self.base = base
        self.shots = shots

    def get(self, path):
        self.d.get(self.base + path)

    def go(self, element):
        """Clicks a link or a submit button and waits (bounded) until the next page replaced this one."""
        old = self.d.find_element(By.TAG_NAME, "html")
        element.click()
        WebDriverWait(self.d, WAIT).until(expected_conditions.staleness_of(old))
        WebDriverWait(self.d, WAIT).until(lambda d: d.execute_script("return document.readyState") == "complete")

    def text(self):
        return self.d.find_element(By.TAG_NAME, "body").text

    def shot(self, name, expected):
        """A full-page screenshot, checked: the page shows `expected`, the PNG is of real size."""
        body = self.text()
        for e in expected:
            check(e in body, f"{name}: the page shows {e!r}")
        # The whole page through the DevTools protocol (no window resizing; works without JavaScript).
        # The window is short, so the page's own height decides the picture's.
        metrics = self.d.execute_cdp_cmd("Page.getLayoutMetrics", {})
        size = metrics.get("cssContentSize") or metrics["contentSize"]
        clip = {"x": 0, "y": 0, "width": int(size["width"]), "height": min(int(size["height"]), 4000), "scale": 1}
        picture = self.d.execute_cdp_cmd("Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True, "clip": clip})
        path = os.path.join(self.shots, name + ".png")
        with open(path, "wb") as f:
            f.write(base64.b64decode(picture["data"]))
        with open(path, "rb") as f:
            data = f.read()
        check(data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 10_000, f"{name}.png saved ({len(data)} bytes)")

    def sign_in(self, address, password):
        self.get("/signin")
        self.d.find_element(By.ID, "address").send_keys(address)
        self.d.find_element(By.ID, "password").send_keys(password)
        self.go(self.d.find_element(By.CSS_SELECTOR, "form[action='/signin'] button[type=submit]"))
        check(self.d.current_url.endswith("/account"), "signed in: on the owner's page"
              + ("" if self.d.current_url.endswith("/account") else f" (at {self.d.current_url}: {self.text()[:300]!r})"))

    def generate(self, label):
        field = self.d.find_element(By.ID, "label")
        field.clear()
        field.send_keys(label)
        self.go(self.d.find_element(By.CSS_SELECTOR, "form[action='/account/passwords'] button[type=submit]"))
        value = self.d.find_element(By.ID, "new-password").get_attribute("value")
        check(value and len(value) >= 16, "a new password is shown")
        return value

    def revoke(self, label):
        rows = self.d.find_elements(By.CSS_SELECTOR, "#passwords tbody tr")
        for row in rows:
            if row.find_elements(By.TAG_NAME, "td")[0].text.startswith(label):
                self.go(row.find_element(By.CSS_SELECTOR, "button[type=submit]"))
                return
        check(False, f"a row for the password {label!r}")


def imap_login(port, address, password):
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    imap = imaplib.IMAP4_SSL("127.0.0.1", port, ssl_context=context, timeout=30)
    try:
        imap.login(address, password)
        status, _ = imap.select("INBOX")
        imap.logout()
        return status == "OK"
    except imaplib.IMAP4.error:
        try:
            imap.logout()
        except Exception:
            pass
        return False


def owner_flow(p, args):
    p.get("/signin")
    p.shot("signin", ["Sign in to your mailbox", "Address", "Password"])
    p.sign_in(args.address, args.password)
    p.shot("account", [args.address, "Passwords", "(this session)", "Forwards and webhooks", "Usage", "Export", "Mail app setup", str(args.imaps)])

    new = p.generate("laptop")
    copy = p.d.find_element(By.CSS_SELECTOR, "button[data-copy='new-password']")
    check(copy.is_displayed(), "with JavaScript the copy button is shown")
    copy.click()
    # The clipboard answers asynchronously: wait (bounded) for the button to say so.
    try:
        WebDriverWait(p.d, WAIT).until(lambda d: copy.text == "Copied")
    except TimeoutException:
        pass
    check(copy.text == "Copied", "the copy button copies")
    p.shot("account-new-password", ["New password “laptop”", "shown only this once"])

    check(imap_login(args.imaps, args.address, new), "IMAP login with the generated password works")
    p.get("/account")
    check("laptop" in p.text(), "the new password is listed")
    check(new not in p.d.page_source, "the password is not shown again")
    p.revoke("laptop")
    check("The password is revoked" in p.text(), "revoked on the page")
    check(not imap_login(args.imaps, args.address, new), "IMAP login with the revoked password fails")
    check(imap_login(args.imaps, args.address, args.password), "the other password still works")

    p.d.find_element(By.ID, "forward").send_keys("copy@example.org")
    p.go(p.d.find_element(By.CSS_SELECTOR, "form[action='/account/forwards'] button[type=submit]"))
    check("The forward is added." in p.text() and "copy@example.org" in p.text(), "a forward is added")
    p.go(p.d.find_element(By.CSS_SELECTOR, "form[action='/account/forwards/remove'] button[type=submit]"))
    check("The forward is removed." in p.text(), "the forward is removed")

    p.go(p.d.find_element(By.CSS_SELECTOR, "header form button[type=submit]"))
    check(p.d.current_url.endswith("/signin?done=signedout") and "You are signed out." in p.text(), "signed out")


def admin_flow(p, args):
    p.get("/admin")
    check(p.d.current_url.endswith("/admin/signin"), "the admin's pages need a token")
    p.shot("admin-signin", ["Administrator sign-in", "Admin token"])
    p.d.find_element(By.ID, "token").send_keys(args.admin_token)
    p.go(p.d.find_element(By.CSS_SELECTOR, "form[action='/admin/signin'] button[type=submit]"))
    check(p.d.current_url.endswith("/admin"), "admin signed in")
    domain = args.address.split("@")[1]
    p.shot("admin", ["Administration", "Domains", domain, "Aliases", args.address])
    p.go(p.d.find_element(By.LINK_TEXT, domain))
    p.shot("admin-domain", [f"DNS records of {domain}", "MX", "_dmarc." + domain])
    p.go(p.d.find_element(By.PARTIAL_LINK_TEXT, "Check what DNS publishes now"))
    p.shot("admin-domain-check", ["records are not as expected"])
    if args.dns_served:
        ok = p.d.find_elements(By.CSS_SELECTOR, "td.state-ok")
        missing = p.d.find_elements(By.CSS_SELECTOR, "td.state-missing")
        check(any(c.find_element(By.XPATH, "following-sibling::td[2]").text == "MX" for c in ok), "the live check finds the published MX")
        check(len(missing) >= 3, f"the live check reports the unpublished records missing ({len(missing)})")
    p.get("/admin")
    p.go(p.d.find_element(By.CSS_SELECTOR, "header form button[type=submit]"))
    check(p.d.current_url.endswith("/admin/signin?done=signedout"), "admin signed out")


def no_javascript_flow(p, args):
    p.sign_in(args.address, args.password)
    new = p.generate("no-js")
    copy = p.d.find_element(By.CSS_SELECTOR, "button[data-copy='new-password']")
    check(not copy.is_displayed(), "without JavaScript the copy button stays hidden")
    field = p.d.find_element(By.ID, "new-password")
    check(field.is_displayed() and field.get_attribute("readonly") is not None, "without JavaScript the password is in a selectable field")
    p.shot("account-new-password-nojs", ["New password “no-js”"])
    check(imap_login(args.imaps, args.address, new), "the password made without JavaScript works over IMAP")
    p.get("/account")
    p.revoke("no-js")
    check("The password is revoked" in p.text(), "revoked without JavaScript")
    check(not imap_login(args.imaps, args.address, new), "and its IMAP login fails")


def main():
    a = argparse.ArgumentParser()
    a.add_argument("--port", type=int, required=True)
    a.add_argument("--address", required=True)
    a.add_argument("--password", required=True)
    a.add_argument("--imaps", type=int, required=True)
    a.add_argument("--admin-token")
    a.add_argument("--dns-served", action="store_true", help="a DNS server publishes the domain's MX (and nothing else of it)")
    a.add_argument("--screenshots", required=True)
    args = a.parse_args()
    os.makedirs(args.screenshots, exist_ok=True)
    base = f"https://127.0.0.1:{args.port}"

    driver = browser()
    try:
        p = Pages(driver, base, args.screenshots)
        owner_flow(p, args)
        if args.admin_token:
            admin_flow(p, args)
        else:
            print("skip: no admin token given (the admin's pages)")
    except WebDriverException as e:
        print("FAIL: browser:", e.msg)
        sys.exit(1)
    finally:
        driver.quit()

    driver = browser(javascript=False)
    try:
        no_javascript_flow(Pages(driver, base, args.screenshots), args)
    except WebDriverException as e:
        print("FAIL: browser without JavaScript:", e.msg)
        sys.exit(1)
    finally:
        driver.quit()
    print("all browser checks passed")


if __name__ == "__main__":
    main()
