// Opt-in (scripts/llama-cpp-interop.sh runs it): the real app with real-size models, as a
// writer would load them. A random checkpoint with Qwen2.5's 151,936-token vocabulary in the
// official repos' layout is loaded from its folder, copied to Q8_0 in the app and the copy
// loaded; then a Q4_K_M file made by llama.cpp is picked and writes into a hole.
// DREAM_REAL_SIZE_DIR is the interop script's folder (ckpt/ and llama/q4_k_m.gguf).
import { test } from "node:test";
import assert from "node:assert/strict";
import { createRequire } from "node:module";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const require = createRequire(new URL("../../ui/package.json", import.meta.url));
const { Builder, By, Key, until } = require("selenium-webdriver");

const work = process.env.DREAM_REAL_SIZE_DIR;
const artifacts = fileURLToPath(new URL("./artifacts", import.meta.url));
const answerDialogs = (...answers) => writeFile(process.env.DIALOGS, JSON.stringify(answers));
const text = (driver, css) => driver.findElement(By.css(css)).getText();
const loaded = (driver, name) =>
  driver.wait(async () => (await text(driver, "#model-button")).includes(name), 120000).catch(async (e) => {
    throw new Error(`${name} did not load (${await text(driver, "#load-progress")}): ${e.message}`);
  });

test("a real-vocabulary checkpoint, its copy made in the app, and llama.cpp's Q4_K_M write", { timeout: 600000 }, async () => {
  const driver = await new Builder()
    .usingServer("http://127.0.0.1:4444/")
    .withCapabilities({ "tauri:options": { application: process.env.APP }, browserName: "wry" })
    .build();
  try {
    await driver.wait(until.elementLocated(By.css(".cm-content")), 60000);
    await loaded(driver, "Built-in demo");
    await driver.findElement(By.id("model-button")).click();
    await driver.wait(until.elementLocated(By.css('#model-list li[data-model="demo"]')), 30000);
    await answerDialogs(join(work, "ckpt"));
    await driver.findElement(By.id("model-pick-folder")).click();
    await loaded(driver, "ckpt");

    // The app's smaller copy of a real-vocabulary model (its tokenizer as llama.cpp's arrays).
    await driver.findElement(By.id("copy-make")).click();
    await driver.wait(async () => (await text(driver, "#load-progress")).startsWith("The Q8_0 copy is ready"), 300000);
    const copy = await driver.wait(until.elementLocated(By.css('#model-list li[data-model$="ckpt-q8_0.gguf"]')), 10000);
    await copy.findElement(By.css("button")).click();
    await loaded(driver, "ckpt-q8_0.gguf");

    // A file llama.cpp made, picked in the platform's dialog.
    await answerDialogs(join(work, "llama", "q4_k_m.gguf"));
    await driver.findElement(By.id("model-pick-file")).click();
    await loaded(driver, "q4_k_m.gguf");
    await driver.findElement(By.id("model-close")).click();

    const typed = "The lighthouse keeper climbed the stairs, café in hand. ";
    const editor = driver.findElement(By.css(".cm-content"));
    await editor.click();
    await editor.sendKeys(typed);
    await editor.sendKeys(Key.chord(Key.CONTROL, "i"));
    await driver.wait(until.elementLocated(By.css(".cm-span-badge.cm-hole")), 5000);
    await driver.findElement(By.id("run")).click();
    await driver.wait(until.elementLocated(By.css("#review:not([hidden])")), 120000);
    await writeFile(join(artifacts, "real-size-llama-q4_k_m.png"), await driver.takeScreenshot(), "base64");
    await driver.findElement(By.id("accept")).click();
    const written = await driver.executeScript("return window.dreamWriter.text()");
    assert.ok(written.startsWith(typed) && written.length > typed.length, JSON.stringify(written));
  } finally {
    await driver.quit();
  }
});
