// The real Dream Writer under WebDriver: load the fixture model, type, drop a hole, watch it
// fill step by step, accept, save, and find the document again after a restart.
import { test } from "node:test";
import assert from "node:assert/strict";
import { createRequire } from "node:module";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

// selenium-webdriver is a dev dependency of ui/.
const require = createRequire(new URL("../../ui/package.json", import.meta.url));
const { Builder, By, Key, until } = require("selenium-webdriver");

const fixture = fileURLToPath(new URL("../fixtures/dream-tiny", import.meta.url));
const artifacts = fileURLToPath(new URL("./artifacts", import.meta.url));
const docPath = join(process.env.WORK, "story.md");

async function session() {
  const driver = await new Builder()
    .usingServer("http://127.0.0.1:4444/")
    .withCapabilities({ "tauri:options": { application: process.env.APP }, browserName: "wry" })
    .build();
  await driver.wait(until.elementLocated(By.css(".cm-content")), 60000, "the editor did not appear");
  return driver;
}

async function shot(driver, name) {
  await writeFile(join(artifacts, `e2e-${name}.png`), await driver.takeScreenshot(), "base64");
}

const docText = (driver) => driver.executeScript("return window.dreamWriter.text()");
const text = (driver, css) => driver.findElement(By.css(css)).getText();

test("type, mark a hole, watch it fill, accept, save, reopen", { timeout: 300000 }, async () => {
  let driver = await session();
  try {
    // The built-in demo loads first; then the fixture checkpoint from its folder.
    await driver.wait(async () => (await text(driver, "#model-button")).includes("Built-in demo"), 60000, "the demo model did not load");
    await driver.findElement(By.id("model-button")).click();
    // The list fills in asynchronously and moves the path field: wait for it, then press Enter
    // in the field (a click could land on whatever moved under it).
    await driver.wait(until.elementLocated(By.css('#model-list li[data-model="demo"]')), 30000, "the model list did not fill");
    await driver.findElement(By.id("model-path")).sendKeys(fixture, Key.ENTER);
    await driver.wait(async () => (await text(driver, "#model-button")).includes("dream-tiny"), 60000).catch(async (e) => {
      const progress = await text(driver, "#load-progress");
      throw new Error(`the fixture model did not load (${progress}): ${e.message}`);
    });
    await driver.findElement(By.id("model-close")).click();
    assert.equal(await text(driver, "#model-note"), "", "a real checkpoint is not flagged as the demo");

    const editor = driver.findElement(By.css(".cm-content"));
    await editor.click();
    await editor.sendKeys("w5 w17 w42 w3 w9 ");
    await editor.sendKeys(Key.chord(Key.CONTROL, "i")); // a hole at the cursor, 16 tokens
    await driver.wait(until.elementLocated(By.css(".cm-span-badge.cm-hole")), 5000);
    assert.match(await text(driver, ".cm-span-count"), /^16 tok/);
    assert.match(await text(driver, "#steps-out"), /^16 steps · 1 tok\/step/);
    await shot(driver, "1-marked");

    // Count the placeholders after every DOM update while Dream writes.
    await driver.executeScript(`
      window.__masks = [];
      new MutationObserver(() => window.__masks.push(document.querySelectorAll('.cm-slot-masked').length))
        .observe(document.querySelector('#editor'), { subtree: true, childList: true, characterData: true });`);
    await driver.findElement(By.id("run")).click();
    await driver.wait(until.elementLocated(By.css("#review:not([hidden])")), 30000);
    await shot(driver, "2-review");
    const masks = await driver.executeScript("return window.__masks");
    const distinct = [...new Set(masks)];
    assert.ok(distinct.length >= 8, `placeholders should disappear over many steps, saw ${JSON.stringify(distinct)}`);
    assert.deepEqual([...distinct].sort((a, b) => b - a), distinct, "placeholders only ever decrease");
    assert.equal(distinct.at(-1), 0);
    // The progress line hides once done; its last count stays in the DOM.
    assert.equal(await driver.findElement(By.id("step-counter")).getAttribute("textContent"), "step 16 / 16");
    assert.equal(await docText(driver), "w5 w17 w42 w3 w9 ", "nothing is written before accepting");

    await driver.findElement(By.id("accept")).click();
    const written = await docText(driver);
    assert.match(written, /^w5 w17 w42 w3 w9 (w\d+ ?)+$/);
    assert.ok(written.length > "w5 w17 w42 w3 w9 ".length + 16);
    await shot(driver, "3-accepted");

    await editor.sendKeys(Key.chord(Key.CONTROL, "s"));
    await driver.wait(until.elementIsVisible(driver.findElement(By.id("path-input"))), 5000);
    await driver.findElement(By.id("path-input")).sendKeys(docPath);
    await driver.findElement(By.id("path-ok")).click();
    await driver.wait(async () => (await text(driver, "#message")).startsWith("Saved"), 5000);
    assert.equal(await readFile(docPath, "utf8"), written);
    await shot(driver, "4-saved");
    await driver.quit();

    // A restart reopens the last document.
    driver = await session();
    await driver.wait(async () => (await docText(driver)) === written, 10000);
    assert.equal(await driver.getTitle(), "story.md — Dream Writer");
    await shot(driver, "5-reopened");
  } finally {
    await driver.quit().catch(() => {});
  }
});
