// The built UI in Debian's Chromium (headless, no browser download) with Tauri's IPC mocked:
// marks, the pinned ending, the slider, placeholders becoming words, accept/reject/undo,
// cancel, errors.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { artifacts, askCandidates, docText, masked, openApp, select, typeDoc, useBrowser } from "./harness.mjs";

useBrowser();

describe("Dream Writer UI", () => {
  test("opens with the demo model and says what it is", async () => {
    const page = await openApp();
    assert.match(await page.textContent("#model-note"), /^Demo model: simple English/);
    assert.match(await page.getAttribute("#model-note", "title"), /SmolLM2-135M-Instruct adapted to diffusion/);
    assert.deepEqual(page.errors, []);
    await page.close();
  });

  test("mark a span, move the slider, watch it fill step by step, accept, undo", async () => {
    const page = await openApp();
    await typeDoc(page, "The old keeper climbed the stairs.");
    await select(page, "old keeper");
    await page.keyboard.press("Control+i");
    await page.waitForSelector(".cm-span-badge");
    // count_tokens gives 3 for " old keeper" (11 chars / 4): the badge and the slider follow.
    await page.waitForFunction(() => document.querySelector(".cm-span-count")?.title === "3 tokens");
    assert.equal(await page.textContent(".cm-span-count"), "~2 words", "lengths in words first, tokens on hover");
    // 1 ..= 3 steps; "auto" is its own toggle beside the slider.
    assert.equal(await page.getAttribute("#steps", "max"), "3");
    assert.match(await page.textContent("#steps-out"), /^3 steps · 1\/step/);
    await page.check("#auto");
    assert.match(await page.textContent("#steps-out"), /^auto/);
    assert.equal(await page.isDisabled("#steps"), true);
    await page.uncheck("#auto");
    assert.match(await page.textContent("#steps-out"), /^3 steps · 1\/step/);
    await page.screenshot({ path: join(artifacts, "ui-marked.png") });

    await page.evaluate(() => (window.__mock.stepDelay = 300));
    await page.click("#run");
    const seen = [];
    for (let step = 1; step <= 3; step++) {
      await page.waitForFunction((s) => document.querySelector("#step-counter")?.textContent === `step ${s} / 3`, step);
      seen.push(await masked(page));
      if (step === 2) await page.screenshot({ path: join(artifacts, "ui-emerging.png") });
    }
    assert.deepEqual(seen, [2, 1, 0], "one placeholder becomes a word per step");
    await page.waitForSelector("#review:not([hidden])");
    assert.equal(await docText(page), "The old keeper climbed the stairs.", "nothing written before accepting");
    await page.click("#accept");
    const accepted = await docText(page);
    assert.match(accepted, /^The silver quiet harbor climbed the stairs\.$/);
    await page.click(".cm-content");
    await page.keyboard.press("Control+z");
    assert.equal(await docText(page), "The old keeper climbed the stairs.", "one undo step restores the text");
    const request = await page.evaluate(() => window.__mock.calls.find((c) => c.cmd === "infill").args.request);
    // The mark took the space before "old": Dream's words carry their leading space.
    assert.deepEqual(request.spans, [{ start: 3, end: 14, tokens: 3, instruction: null }]);
    assert.equal(request.settings.steps, 3);
    assert.deepEqual(page.errors, []);
    await page.close();
  });

  test("reject leaves the document exactly as it was; regenerate runs again with the next seed", async () => {
    const page = await openApp();
    await typeDoc(page, "A quiet night.");
    await select(page, "quiet");
    await page.keyboard.press("Control+i");
    // "auto": parallel reveal with a confidence threshold.
    const max = await page.getAttribute("#steps", "max");
    await page.check("#auto");
    await page.click("#run");
    await page.waitForSelector("#review:not([hidden])");
    await page.click("#regenerate");
    await page.waitForSelector("#review:not([hidden])");
    const runs = await page.evaluate(() => window.__mock.calls.filter((c) => c.cmd === "infill").map((c) => c.args.request.settings));
    assert.deepEqual(
      runs.map((s) => s.seed),
      [0, 1],
    );
    assert.equal(runs[0].threshold, 0.9);
    assert.equal(runs[0].steps, Number(max), "auto runs at most one step per token");
    await page.click("#reject");
    assert.equal(await docText(page), "A quiet night.");
    assert.equal(await page.locator(".cm-live").count(), 0);
    await page.close();
  });

  test("pin an ending: Dream writes the gap at the cursor and the ending follows", async () => {
    const page = await openApp();
    await typeDoc(page, "It began to rain.");
    await page.fill("#ending", "Nobody came home.");
    await page.click("#sampling summary");
    await page.fill("#gap", "4");
    await page.dispatchEvent("#gap", "input");
    await page.click(".cm-content");
    await page.keyboard.press("Control+End");
    await page.click("#run");
    await page.waitForSelector(".cm-pinned");
    await page.waitForSelector("#review:not([hidden])");
    await page.screenshot({ path: join(artifacts, "ui-pinned-review.png") });
    const request = await page.evaluate(() => window.__mock.calls.find((c) => c.cmd === "infill").args.request);
    assert.equal(request.text, "It began to rain.");
    assert.deepEqual(request.spans, []);
    assert.deepEqual(request.ending, { text: "Nobody came home.", at: 17, gap: 4 });
    await page.click("#accept");
    assert.match(await docText(page), /^It began to rain\.( \w+){4} Nobody came home\.$/);
    assert.equal(await page.inputValue("#ending"), "");
    await page.close();
  });

  test("stop cancels within a step and keeps the text", async () => {
    const page = await openApp();
    await typeDoc(page, "Keep this text.");
    await page.keyboard.press("Control+i"); // a hole at the end
    await page.evaluate(() => (window.__mock.stepDelay = 400));
    await page.click("#run");
    await page.waitForFunction(() => document.querySelector("#step-counter")?.textContent?.startsWith("step 1"));
    await page.click("#stop");
    await page.waitForFunction(() => document.querySelector("#message")?.textContent?.startsWith("Stopped"));
    assert.equal(await docText(page), "Keep this text.");
    assert.equal(await page.locator(".cm-live").count(), 0);
    assert.equal(await page.isVisible("#run"), true, "Write is back in Stop's place");
    await page.close();
  });

  test("click a word in review to write just that one again", async () => {
    const page = await openApp();
    await typeDoc(page, "Rain fell.");
    await page.keyboard.press("Control+i"); // a hole at the end, 16 tokens
    await page.click("#run");
    await page.waitForSelector("#review:not([hidden])");
    const word = page.locator('.cm-live [data-slot="3"]');
    const picked = await word.textContent();
    await word.click();
    await page.waitForSelector(".cm-slot-picked");
    await page.click("#remask");
    await page.waitForSelector("#review:not([hidden])");
    const requests = await page.evaluate(() => window.__mock.calls.filter((c) => c.cmd === "infill").map((c) => c.args.request));
    assert.equal(requests.length, 2);
    const [second] = requests.slice(1);
    const chars = [...second.text];
    assert.deepEqual(
      second.spans.map((s) => [chars.slice(s.start, s.end).join(""), s.tokens]),
      [[picked, 1]],
    );
    await page.close();
  });

  test("model manager: fit estimate, download progress, cancel", async () => {
    const page = await openApp();
    await page.click("#model-button");
    const base = page.locator('#model-list li[data-model="Dream-org/Dream-v0-Base-7B"]');
    await base.hover();
    await page.waitForFunction(() => document.querySelector("#fit")?.textContent?.includes("only 7.5 GiB is free"));
    assert.match(await base.textContent(), /14\.2 GiB/);
    await base.locator("button").click();
    await page.waitForFunction(() =>
      /Downloading model-00001-of-00004\.safetensors: [1-9]\d?% of 3\.7 GiB/.test(document.querySelector("#load-progress")?.textContent ?? ""),
    );
    assert.equal(await page.isVisible("#load-cancel"), true);
    await page.screenshot({ path: join(artifacts, "ui-download.png") });
    await page.click("#load-cancel");
    await page.waitForFunction(() => document.querySelector("#load-progress")?.textContent?.startsWith("Download cancelled"));
    assert.equal(await page.isVisible("#load-cancel"), false);
    // The demo stays loaded.
    assert.match(await page.textContent("#model-button"), /Built-in demo/);
    await page.close();
  });

  test("a damaged download is named, verified and fetched again", async () => {
    const page = await openApp(() => (window.__mockSetup = (m) => (m.damaged = true)));
    await page.click("#model-button");
    const base = page.locator('#model-list li[data-model="Dream-org/Dream-v0-Base-7B"]');
    await base.locator("button.verify").click();
    await page.waitForFunction(() => document.querySelector("#load-progress")?.textContent?.startsWith("Damaged: model.safetensors"));
    await base.locator("button").first().click();
    await page.waitForFunction(() => document.querySelector("#load-progress")?.textContent?.includes("is damaged"));
    await page.click("#load-again");
    await page.waitForFunction(() => document.querySelector("#load-progress")?.textContent?.startsWith("Loaded"));
    const loads = await page.evaluate(() =>
      window.__mock.calls.filter((c) => c.cmd === "load_model").map((c) => [c.args.request.model, c.args.request.redownload]),
    );
    assert.deepEqual(loads.slice(-2), [
      ["Dream-org/Dream-v0-Base-7B", false],
      ["Dream-org/Dream-v0-Base-7B", true],
    ]);
    await page.close();
  });

  test("a model that does not fit offers the smaller copy that does, made with progress and listed", async () => {
    const page = await openApp(() => (window.__mockSetup = (m) => (m.baseAvailable = true)));
    await page.click("#model-button");
    const base = page.locator('#model-list li[data-model="Dream-org/Dream-v0-Base-7B"]');
    await base.hover();
    await page.waitForSelector("#fit-copy");
    assert.match(await page.textContent("#fit"), /^Dream-org\/Dream-v0-Base-7B: bf16 needs about 15\.7 GiB .* A Q4_K copy needs about 5\.1 GiB/);
    assert.equal(await page.textContent("#fit-copy"), "Make a Q4_K copy");
    await page.click("#fit-copy");
    await page.waitForFunction(() => /Making a Q4_K copy: \d+% \(\d+ of 40 tensors\)/.test(document.querySelector("#load-progress")?.textContent ?? ""));
    await page.waitForFunction(() => document.querySelector("#load-progress")?.textContent?.startsWith("The Q4_K copy is ready"));
    await page.waitForSelector('#model-list li[data-model="/data/models/Dream-v0-Base-7B-q4_k.gguf"]');
    const call = await page.evaluate(() => window.__mock.calls.find((c) => c.cmd === "make_smaller_copy").args);
    assert.deepEqual([call.model, call.kind], ["Dream-org/Dream-v0-Base-7B", "q4_k"]);
    await page.close();
  });

  test("flip between candidates from one run and accept the one shown", async () => {
    const page = await openApp();
    await typeDoc(page, "The sea was calm.");
    await select(page, "calm");
    await page.keyboard.press("Control+i");
    await askCandidates(page, 2);
    await page.click("#run");
    await page.waitForSelector("#review:not([hidden])");
    assert.equal(await page.locator("#candidate-switch button").count(), 2);
    const first = await page.textContent(".cm-live");
    await page.click('#candidate-switch button[data-candidate="1"]');
    const second = await page.textContent(".cm-live");
    assert.notEqual(first, second);
    await page.click("#accept");
    assert.equal(await docText(page), `The sea was${second}.`);
    const request = await page.evaluate(() => window.__mock.calls.find((c) => c.cmd === "infill").args.request);
    assert.equal(request.candidates, 2);
    await page.close();
  });

  test("a last model that is gone falls back to the demo and says why", async () => {
    const page = await openApp(() => (window.__mockLastModel = "/gone/dream-7b"));
    await page.waitForFunction(() => document.querySelector("#message")?.textContent?.includes("demo model is loaded instead"));
    assert.match(await page.textContent("#message"), /Could not load \/gone\/dream-7b \(model folder \/gone\/dream-7b does not exist/);
    assert.match(await page.textContent("#model-button"), /Built-in demo/);
    await page.close();
  });

  test("errors reach the writer in plain words", async () => {
    const page = await openApp();
    await page.click("#run");
    assert.match(await page.textContent("#message"), /Mark a span/);
    await typeDoc(page, "Text.");
    await page.keyboard.press("Control+i");
    await page.evaluate(() => (window.__mock.failNext = { code: "busy", message: "Dream is already writing: stop it first." }));
    await page.click("#run");
    await page.waitForFunction(() => document.querySelector("#message")?.className === "error");
    assert.equal(await page.textContent("#message"), "Dream is already writing: stop it first.");
    assert.equal(await docText(page), "Text.");
    await page.close();
  });
});
