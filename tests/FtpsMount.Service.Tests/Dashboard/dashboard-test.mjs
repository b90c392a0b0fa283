// Drives the service dashboard in Debian's headless Chromium through playwright-core (no browser download):
// sign in with a one-time link, wait for the profile's card to show it mounted, screenshot, click Unmount, wait for
// the card to show it stopped, screenshot. Prints one JSON line with what it saw; exits non-zero on any failure.
//
// Environment: PLAYWRIGHT_CORE (the playwright-core module directory), LOGIN_URL, PROFILE, ARTIFACTS (directory for
// screenshots and the page HTML), CHROMIUM (default /usr/bin/chromium).
import { createRequire } from "node:module";
import { writeFileSync } from "node:fs";
import { join } from "node:path";

const require = createRequire(import.meta.url);
const { chromium } = require(process.env.PLAYWRIGHT_CORE);
const profile = process.env.PROFILE;
const artifacts = process.env.ARTIFACTS;
const card = `section.card[data-profile="${profile}"]`;

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  headless: true,
  // Root in a container: Chromium's sandbox needs user namespaces it may not get.
  args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
  timeout: 60000,
});
try {
  const page = await browser.newPage({ viewport: { width: 1100, height: 720 } });
  const failedRequests = [];
  page.on("requestfailed", r => failedRequests.push(r.url()));
  const external = [];
  page.on("request", r => { if (!r.url().startsWith(new URL(process.env.LOGIN_URL).origin)) external.push(r.url()); });

  await page.goto(process.env.LOGIN_URL, { waitUntil: "load", timeout: 30000 });
  await page.waitForSelector(`${card}[data-state="Mounted"]`, { timeout: 60000 });
  // Let one more refresh fill in the live stats (TLS version, sessions).
  await page.waitForFunction(sel => document.querySelector(sel)?.textContent.includes("TLS"), `${card}[data-state="Mounted"]`, { timeout: 15000 });
  const mountedText = await page.locator(card).innerText();
  await page.screenshot({ path: join(artifacts, "dashboard-mounted.png"), fullPage: true });
  writeFileSync(join(artifacts, "dashboard-mounted.html"), await page.content());

  await page.locator(`${card} button[data-action="unmount"]`).click();
  await page.waitForSelector(`${card}[data-state="Stopped"]`, { timeout: 60000 });
  const stoppedText = await page.locator(card).innerText();
  await page.screenshot({ path: join(artifacts, "dashboard-unmounted.png"), fullPage: true });
  writeFileSync(join(artifacts, "dashboard-unmounted.html"), await page.content());

  console.log(JSON.stringify({ ok: true, mountedText, stoppedText, external, failedRequests }));
} finally {
  await browser.close();
}
