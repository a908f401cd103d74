// The writing flow in the built UI (IPC mocked): shortcuts during a run and in review wherever
// focus is, marking then pinning an ending, mark lengths from the model's tokenizer, fresh
// candidates on regenerate, progress, empty fills, messages that follow the state, undo of a
// pinned ending, and settings kept in range.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { artifacts, askCandidates, docText, openApp, select, typeDoc, useBrowser } from "./harness.mjs";

useBrowser();

const infills = (page) => page.evaluate(() => window.__mock.calls.filter((c) => c.cmd === "infill").map((c) => c.args.request));
const message = (page) => page.textContent("#message");

describe("the writing flow", () => {
  test("Esc stops a run and Ctrl+Enter accepts in review, wherever focus is; typing says why it is locked", async () => {
    const page = await openApp();
    await typeDoc(page, "Keep this text.");
    await page.keyboard.press("Control+i");
    await page.evaluate(() => (window.__mock.stepDelay = 400));
    await page.click("#run"); // focus leaves the editor
    await page.waitForFunction(() => document.querySelector("#step-counter")?.textContent?.startsWith("step 1"));
    await page.keyboard.press("Escape");
    await page.waitForFunction(() => document.querySelector("#message")?.textContent?.startsWith("Stopped"));
    assert.equal(await docText(page), "Keep this text.");

    await page.evaluate(() => (window.__mock.stepDelay = 20));
    await page.click("#run");
    await page.waitForSelector("#review:not([hidden])");
    await page.click("#words"); // focus nowhere in particular
    await page.keyboard.press("x");
    assert.match(await message(page), /locked while Dream writes and while you review/);
    await page.keyboard.press("Control+Enter");
    await page.waitForFunction(() => window.dreamWriter.text() !== "Keep this text.");
    assert.match(await docText(page), /^Keep this text\.( \w+)+$/);
    await page.close();
  });

  test("mark a phrase, pin an ending at the caret, then Write: the ending is a visible object", async () => {
    const page = await openApp();
    const doc = "The rain came down like something that had been poured.";
    await typeDoc(page, doc);
    await select(page, "like something that had been poured");
    await page.keyboard.press("Control+i");
    await page.fill("#ending", "Then silence.");
    await page.press("#ending", "Enter");
    await page.waitForSelector(".cm-ending .cm-pinned");
    assert.equal(await page.textContent(".cm-ending .cm-pinned"), "Then silence.");
    await page.screenshot({ path: join(artifacts, "ui-mark-then-pin.png") });
    await page.click("#run");
    await page.waitForSelector("#review:not([hidden])");
    assert.equal(await page.getAttribute("#message", "class"), "info", await message(page));
    const [request] = await infills(page);
    const to = doc.indexOf(".");
    assert.equal(request.text, doc);
    assert.deepEqual(
      request.spans.map((s) => [s.start, s.end]),
      [[doc.indexOf(" like"), to]],
    );
    assert.deepEqual(request.ending, { text: "Then silence.", at: to, gap: 32 });
    // Review shows what the rewrite replaces.
    assert.equal(await page.getAttribute('.cm-live[data-target="0"]', "title"), "Replaces: “like something that had been poured”");
    await page.click("#accept");
    const accepted = await docText(page);
    assert.match(accepted, /^The rain came down( \w+)+( \w+)+ Then silence\.\.$/);
    assert.equal(await page.locator(".cm-ending").count(), 0, "the ending is written, no longer pinned");
    assert.match(await page.textContent("#steps-out"), /nothing marked yet/);
    await page.close();
  });

  test("a mark's length is corrected to the model's token count, shown in words", async () => {
    const page = await openApp(() => (window.__mockSetup = (m) => (m.tokenCount = 6)));
    await typeDoc(page, "The rain came down like something that had been poured.");
    await select(page, "like something that had been poured");
    await page.keyboard.press("Control+i");
    await page.waitForFunction(() => document.querySelector(".cm-span-count")?.title === "6 tokens");
    assert.equal(await page.textContent(".cm-span-count"), "~5 words");
    await page.close();
  });

  test("regenerate with candidates gives all-new candidates; progress starts from zero", async () => {
    const page = await openApp();
    await typeDoc(page, "The sea was calm.");
    await select(page, "calm");
    await page.keyboard.press("Control+i");
    await askCandidates(page, 3);
    await page.click("#run");
    await page.waitForSelector("#review:not([hidden])");
    await page.evaluate(() => (window.__mock.stepDelay = 1000));
    await page.click("#regenerate");
    assert.match(await page.textContent("#step-counter"), /^step 0 \//, "not the last run's count");
    await page.waitForSelector("#review:not([hidden])");
    assert.deepEqual(
      (await infills(page)).map((r) => [r.settings.seed, r.candidates]),
      [
        [0, 3],
        [3, 3],
      ],
    );
    await page.close();
  });

  test("an empty fill is a marker that can be written again", async () => {
    const page = await openApp(() => (window.__mockSetup = (m) => (m.emptyFill = true)));
    await typeDoc(page, "Before. After.");
    await page.keyboard.press("Control+Home");
    for (let i = 0; i < 7; i++) await page.keyboard.press("ArrowRight");
    await page.keyboard.press("Control+i");
    await page.click("#run");
    await page.waitForSelector("#review:not([hidden])");
    await page.waitForSelector(".cm-slot-empty");
    await page.click(".cm-slot-empty");
    await page.waitForSelector(".cm-slot-empty.cm-slot-picked");
    await page.evaluate(() => (window.__mock.emptyFill = false));
    await page.click("#remask");
    await page.waitForSelector("#review:not([hidden])");
    const [, second] = await infills(page);
    assert.deepEqual(second.spans, [{ start: 7, end: 7, tokens: 16, instruction: null }], "a hole where the empty fill was");
    await page.close();
  });

  test("messages belong to the state they describe", async () => {
    const page = await openApp();
    await page.click("#run");
    assert.match(await message(page), /Mark a span/);
    await typeDoc(page, "Text.");
    await page.keyboard.press("Control+i");
    assert.equal(await message(page), "", "marking clears the old complaint");
    await page.click("#run");
    await page.waitForSelector("#review:not([hidden])");
    await page.click("#reject");
    assert.match(await message(page), /^Rejected/);
    await page.click(".cm-content");
    await page.keyboard.type(" More.");
    assert.equal(await message(page), "");
    await page.close();
  });

  test("Pin (of a selection) is one undo step: Ctrl+Z brings the sentence back and unpins it", async () => {
    const page = await openApp();
    await typeDoc(page, "It began to rain. Nobody came home.");
    await select(page, "Nobody came home.");
    await page.click("#pin");
    await page.waitForSelector(".cm-ending");
    assert.equal(await docText(page), "It began to rain. ");
    assert.equal(await page.inputValue("#ending"), "Nobody came home.");
    await page.click(".cm-content");
    await page.keyboard.press("Control+z");
    assert.equal(await docText(page), "It began to rain. Nobody came home.");
    assert.equal(await page.locator(".cm-ending").count(), 0);
    assert.equal(await page.inputValue("#ending"), "");
    await page.keyboard.press("Control+y");
    await page.waitForSelector(".cm-ending");
    assert.equal(await docText(page), "It began to rain. ");
    await page.close();
  });

  test("the temperature stays in range, and candidates need one above 0", async () => {
    const page = await openApp();
    await page.click("#sampling summary");
    assert.equal(await page.isDisabled("#candidates"), true, "at temperature 0 every candidate is the same");
    await page.fill("#temperature", "7");
    await page.dispatchEvent("#temperature", "change");
    assert.equal(await page.inputValue("#temperature"), "2");
    assert.match(await message(page), /goes from 0 to 2/);
    assert.equal(await page.isDisabled("#candidates"), false);
    const saved = await page.evaluate(() => window.__mock.calls.filter((c) => c.cmd === "set_settings").at(-1).args.settings.sampling.temperature);
    assert.equal(saved, 2);
    await page.close();
  });

  test("auto, turned on with nothing marked, is saved and on again after a restart", async () => {
    // It was saved off (the threshold was only set when something was marked).
    const page = await openApp();
    await page.check("#auto");
    const saved = await page.evaluate(() => window.__mock.calls.filter((c) => c.cmd === "set_settings").at(-1).args.settings.sampling);
    assert.equal(saved.threshold, 0.9);
    await page.close();
    const again = await openApp(`window.__mockSampling = ${JSON.stringify(saved)};`);
    assert.equal(await again.isChecked("#auto"), true);
    await again.close();
  });

  test("fast speed asks for a full pass every 32 tokens written", async () => {
    const page = await openApp(() => (window.__mockSpeed = "fast"));
    await page.click("#sampling summary");
    assert.equal(await page.inputValue("#speed"), "fast");
    await typeDoc(page, "The fast one.");
    await page.keyboard.press("Control+i");
    await page.click("#run");
    await page.waitForSelector("#review:not([hidden])");
    assert.equal((await infills(page)).at(-1).settings.cache_refresh, 32);
    await page.close();
  });

  test("by length, the default speed is fast on a chapter and exact on a line; the toolbar says which and a click changes it", async () => {
    const page = await openApp();
    await typeDoc(page, "The keeper climbed the stairs.");
    await page.keyboard.press("Control+i"); // a 16-token hole after a short line
    assert.equal(await page.textContent("#speed-now"), "exact");
    assert.match(await page.getAttribute("#speed-now", "title"), /By length: the text is short/);
    await page.click("#run");
    await page.waitForSelector("#review:not([hidden])");
    assert.equal((await infills(page)).at(-1).settings.cache_refresh, null);
    await page.keyboard.press("Escape");
    // A chapter: about 2,000 words before the hole.
    const chapter = "The keeper climbed the stairs and looked out at the grey water. ".repeat(170);
    await page.keyboard.press("Control+a");
    await page.keyboard.insertText(chapter);
    await page.keyboard.press("Control+End");
    await page.keyboard.press("Control+i");
    assert.equal(await page.textContent("#speed-now"), "fast");
    assert.match(await page.getAttribute("#speed-now", "title"), /By length: the text Dream reads is \d+× the marks/);
    await page.click("#run");
    await page.waitForSelector("#review:not([hidden])");
    assert.equal((await infills(page)).at(-1).settings.cache_refresh, 32);
    await page.keyboard.press("Escape");
    // Exact is one click away, and stays chosen.
    await page.click("#speed-now");
    assert.equal(await page.textContent("#speed-now"), "exact");
    assert.equal(await page.inputValue("#speed"), "exact");
    await page.click("#run");
    await page.waitForSelector("#review:not([hidden])");
    assert.equal((await infills(page)).at(-1).settings.cache_refresh, null);
    const saved = await page.evaluate(() => window.__mock.calls.filter((c) => c.cmd === "set_settings").at(-1).args.settings.speed);
    assert.equal(saved, "exact");
    await page.close();
  });

  test("at the smallest window the text keeps most of the height; the review bar does not move it", async () => {
    const page = await openApp();
    await page.setViewportSize({ width: 640, height: 420 });
    await typeDoc(page, "The lamp went out. The keeper waited in the dark.");
    await page.keyboard.press("Control+i");
    const editor = await page.evaluate(() => document.querySelector("#editor").getBoundingClientRect().height);
    assert.ok(editor >= 0.6 * 420, `the text has ${editor} of 420 px`);
    const top = await page.evaluate(() => document.querySelector("#editor").getBoundingClientRect().top);
    await page.click("#run");
    await page.waitForSelector("#review:not([hidden])");
    assert.equal(await page.evaluate(() => document.querySelector("#editor").getBoundingClientRect().top), top, "the text did not move");
    await page.screenshot({ path: join(artifacts, "ui-min-window.png") });
    await page.close();
  });

  test("one toolbar row at the default size and at 900 px, whatever the labels say", async () => {
    const page = await openApp();
    await typeDoc(page, "A sentence long enough to mark, and then some more words after it.");
    await select(page, "long enough to mark");
    await page.keyboard.press("Control+i");
    for (const width of [1100, 900]) {
      await page.setViewportSize({ width, height: 760 });
      const tops = await page.evaluate(() => [...document.querySelectorAll(".toolbar > .group")].map((g) => Math.round(g.getBoundingClientRect().top)));
      assert.ok(Math.max(...tops) - Math.min(...tops) < 12, `${width} px: groups at ${tops}, more than one row`);
    }
    await page.close();
  });
  test("Ctrl+Shift+E goes to the ending field and Esc comes back; Esc closes the Sampling menu; Ctrl+E is still emphasis", async () => {
    const page = await openApp();
    await typeDoc(page, "The lamp went out.");
    await page.keyboard.press("Control+Shift+e");
    assert.equal(await page.evaluate(() => document.activeElement?.id), "ending");
    await page.keyboard.press("Escape");
    assert.equal(await page.evaluate(() => !!document.activeElement?.closest(".cm-editor")), true);
    await page.click("#sampling summary");
    assert.equal(await page.evaluate(() => document.querySelector("#sampling").open), true);
    await page.keyboard.press("Escape");
    assert.equal(await page.evaluate(() => document.querySelector("#sampling").open), false);
    assert.equal(await docText(page), "The lamp went out.");
    await select(page, "lamp");
    await page.keyboard.press("Control+e");
    assert.equal(await docText(page), "The *lamp* went out.");
    await page.close();
  });

  test("a marked sentence keeps its full stop outside the mark, and other occurrences are not highlighted", async () => {
    const page = await openApp();
    const doc = "The keeper climbed the stairs. The keeper climbed the stairs.";
    await typeDoc(page, doc);
    await select(page, "The keeper climbed the stairs.");
    await page.keyboard.press("Control+i");
    assert.equal(await page.locator(".cm-selectionMatch").count(), 0, "another occurrence looks like a mark");
    await page.click("#run");
    await page.waitForSelector("#review:not([hidden])");
    const [request] = await page.evaluate(() => window.__mock.calls.filter((c) => c.cmd === "infill").map((c) => c.args.request));
    assert.deepEqual(
      request.spans.map((s) => doc.slice(s.start, s.end)),
      ["The keeper climbed the stairs"],
    );
    await page.close();
  });
});
