// What every browser test needs: the built UI served on loopback, Debian's Chromium, the
// mocked IPC injected before the page loads.
import { after, before } from "node:test";
import { createServer } from "node:http";
import { readFile } from "node:fs/promises";
import { extname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

const root = fileURLToPath(new URL("../..", import.meta.url));
const dist = join(root, "dist");
const mockScript = join(root, "test/browser/dist/mock-ipc.js");
export const artifacts = process.env.ARTIFACTS ?? join(root, "../tests/e2e/artifacts");
const types = { ".html": "text/html", ".js": "text/javascript", ".css": "text/css", ".svg": "image/svg+xml" };

let server, browser, base;

/** Starts the page server and Chromium for the calling test file (and stops them after). */
export function useBrowser() {
  before(async () => {
    server = createServer(async (req, res) => {
      const path = join(dist, req.url === "/" ? "index.html" : decodeURIComponent(req.url.split("?")[0]));
      let body;
      try {
        body = await readFile(path);
      } catch {
        return res.writeHead(404).end();
      }
      res.writeHead(200, { "content-type": types[extname(path)] ?? "application/octet-stream" });
      res.end(body);
    });
    await new Promise((r) => server.listen(0, "127.0.0.1", r));
    base = `http://127.0.0.1:${server.address().port}/`;
    browser = await chromium.launch({
      executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
      args: [
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
      ],
    });
  });

  after(async () => {
    await browser?.close();
    server?.close();
  });
}

/** The app in a new page; `before` runs before the page's scripts (e.g. to set `__mockSetup`). */
export async function openApp(before) {
  const page = await browser.newPage({ viewport: { width: 1200, height: 760 } });
  const errors = [];
  page.on("pageerror", (e) => errors.push(e));
  if (before) await page.addInitScript(before);
  await page.addInitScript({ path: mockScript });
  await page.goto(base);
  await page.waitForFunction(() => document.querySelector("#model-button")?.textContent?.includes("Built-in demo"));
  page.errors = errors;
  return page;
}

export async function typeDoc(page, text) {
  await page.click(".cm-content");
  await page.keyboard.type(text);
}

/** The document itself, not what widgets draw over it. */
export const docText = (page) => page.evaluate(() => window.dreamWriter.text());
export const masked = (page) => page.locator(".cm-slot-masked").count();

/** Selects `phrase` in the editor with the keyboard (the cursor ends after it). */
export async function select(page, phrase) {
  const at = (await docText(page)).indexOf(phrase);
  await page.click(".cm-content");
  await page.keyboard.press("Control+Home");
  for (let i = 0; i < at; i++) await page.keyboard.press("ArrowRight");
  for (let i = 0; i < phrase.length; i++) await page.keyboard.press("Shift+ArrowRight");
}

/** Asks for `n` candidates (they need a temperature above 0), in the Sampling menu. */
export async function askCandidates(page, n) {
  await page.click("#sampling summary");
  await page.fill("#temperature", "0.8");
  await page.dispatchEvent("#temperature", "change");
  await page.selectOption("#candidates", String(n));
}
