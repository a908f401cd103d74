// What a writer tripped on in the real app (issue 19), in the built UI with the IPC mocked: an
// accepted ending pinned again, a double space before the ending, the steps value saved as 1,
// time estimates that ignore the document's length, a stop with no sign, a greyed choice with
// its reason only on hover.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { artifacts, docText, openApp, select, typeDoc, useBrowser } from "./harness.mjs";

useBrowser();

const infills = (page) => page.evaluate(() => window.__mock.calls.filter((c) => c.cmd === "infill").map((c) => c.args.request));
const message = (page) => page.textContent("#message");
const savedSteps = (page) =>
  page.evaluate(() =>
    window.__mock.calls
      .filter((c) => c.cmd === "set_settings")
      .map((c) => c.args.settings.sampling.steps)
      .at(-1),
  );

/** Types `ending` in the field and pins it with Enter, then writes and accepts. */
async function writeTowards(page, ending) {
  await page.fill("#ending", ending);
  await page.press("#ending", "Enter");
  await page.waitForSelector(".cm-ending .cm-pinned");
  await page.click("#run");
  await page.waitForSelector("#review:not([hidden])");
  await page.click("#accept");
}

describe("what a writer tripped on", () => {
  test("Write waits while another model loads, saying so with the load's progress", async () => {
    const page = await openApp(() => (window.__mockSetup = (mock) => (mock.stepDelay = 5)));
    await typeDoc(page, "It rained.");
    await page.keyboard.press("Control+i");
    await page.click("#model-button");
    await page.locator('#model-list li[data-model="Dream-org/Dream-v0-Base-7B"] button').click();
    await page.click("#model-close");
    await page.waitForFunction(() => /^Downloading .*Write is back once the model is ready/.test(document.querySelector("#message")?.textContent ?? ""));
    assert.equal(await page.isDisabled("#run"), true);
    assert.match(await page.getAttribute("#run", "title"), /A model is loading/);
    await page.click(".cm-content");
    await page.keyboard.press("Control+Enter");
    assert.equal((await infills(page)).length, 0, "nothing runs on the model being replaced");
    await page.waitForFunction(() => !document.querySelector("#run").disabled, null, { timeout: 5000 });
    await page.click("#run");
    await page.waitForSelector("#review:not([hidden])");
    assert.equal((await infills(page)).length, 1);
    await page.close();
  });

  test("an accepted ending is ordinary text: the next Write does not pin it again", async () => {
    const page = await openApp(() => (window.__mockSetup = (mock) => (mock.stepDelay = 5)));
    await typeDoc(page, "It rained.");
    await writeTowards(page, "Nobody came.");
    const accepted = await docText(page);
    assert.match(accepted, /Nobody came\.$/);
    assert.equal(await page.inputValue("#ending"), "", "the field no longer holds the ending");
    await page.click("#run");
    assert.match(await message(page), /Mark a span \(Ctrl\+I\) or pin an ending first/);
    assert.equal((await infills(page)).length, 1);
    assert.equal(await docText(page), accepted);
    await page.close();
  });

  test("the steps chosen are saved as chosen, also after the marks that bounded them are gone", async () => {
    const page = await openApp();
    await typeDoc(page, "It rained all night.");
    await page.keyboard.press("Control+i"); // a hole of 16 tokens
    await page.locator("#steps").fill("12");
    assert.equal(await savedSteps(page), 12);
    await page.click("#clear-marks");
    assert.equal(await page.inputValue("#steps"), "1", "with nothing marked the slider shows 1");
    // Any other setting saved now keeps the 12.
    await page.click("#sampling summary");
    await page.fill("#seed", "5");
    await page.press("#seed", "Tab");
    assert.equal(await savedSteps(page), 12);
    await page.close();
  });

  test("the time estimate follows the document's length", async () => {
    const page = await openApp(() => {
      window.__mockSetup = (mock) => (mock.stepDelay = 100);
      window.__mockSpeed = "exact"; // every step reads the whole text
    });
    await typeDoc(page, "It rained.");
    await page.keyboard.press("Control+i");
    await page.click("#run");
    await page.waitForSelector("#review:not([hidden])");
    await page.click("#reject");
    const seconds = (label) => {
      const m = label.match(/~([\d.]+) (s|min)$/);
      assert.ok(m, label);
      return Number(m[1]) * (m[2] === "min" ? 60 : 1);
    };
    const short = seconds(await page.textContent("#steps-out"));
    // The same marks in a document 200 times longer: each step sees far more tokens.
    await page.click(".cm-content");
    await page.keyboard.press("Control+Home");
    await page.keyboard.insertText("The sea was grey and the harbour empty. ".repeat(200));
    const long = seconds(await page.textContent("#steps-out"));
    assert.ok(long > 20 * short, `${short} s for a short document, ${long} s for a long one`);
    await page.close();
  });

  test("Stop says so at once, before the run has stopped", async () => {
    const page = await openApp(() => (window.__mockSetup = (mock) => (mock.stepDelay = 3000)));
    await typeDoc(page, "Keep this text.");
    await page.keyboard.press("Control+i");
    await page.click("#run");
    await page.keyboard.press("Escape");
    await page.waitForFunction(() => document.querySelector("#message")?.textContent === "Stopping…", null, { timeout: 500 });
    assert.equal(await page.isDisabled("#stop"), true, "pressing Stop again does nothing more");
    await page.waitForFunction(() => document.querySelector("#message")?.textContent?.startsWith("Stopped"));
    assert.equal(await docText(page), "Keep this text.");
    await page.close();
  });

  test("why the candidates choice is off is said next to it", async () => {
    const page = await openApp();
    await page.click("#sampling summary");
    assert.equal(await page.isDisabled("#candidates"), true);
    assert.match(await page.textContent("#candidates-note"), /At temperature 0 every version is the same text/);
    assert.ok(await page.isVisible("#candidates-note"));
    await page.fill("#temperature", "0.8");
    await page.press("#temperature", "Tab");
    assert.equal(await page.isDisabled("#candidates"), false);
    assert.equal(await page.textContent("#candidates-note"), "");
    await page.close();
  });

  test("the review of a rewrite shows what it removes and adds, word by word; the editor spellchecks", async () => {
    const page = await openApp(() => (window.__mockSetup = (mock) => (mock.stepDelay = 5)));
    assert.equal(await page.getAttribute(".cm-content", "spellcheck"), "true");
    await typeDoc(page, "The rain came down like something that had been poured.");
    await select(page, "like something that had been poured");
    await page.keyboard.press("Control+i");
    await page.click("#run");
    await page.waitForSelector("#review:not([hidden])");
    assert.ok(await page.isVisible("#review-diff"), "shown without hovering");
    assert.equal(await page.textContent("#review-diff del"), "like something that had been poured");
    const added = await page.textContent("#review-diff ins");
    await page.click("#accept");
    assert.equal(await docText(page), `The rain came down ${added}.`);
    assert.equal(await page.isVisible("#review-diff"), false);
    await page.close();
  });

  for (const [width, height] of [
    [640, 420],
    [800, 600],
    [900, 700],
    [1100, 760],
    [1280, 800],
    [1920, 1080],
  ]) {
    test(`the layout at ${width}x${height}: nothing clipped, nothing overlaps, the review covers little and not the text it reviews, the model dialog fits`, async () => {
      const page = await openApp(() => (window.__mockSetup = (mock) => (mock.stepDelay = 5)));
      await page.setViewportSize({ width, height });
      const box = (css) => page.locator(css).first().boundingBox();
      const overlap = (a, b) => a.x < b.x + b.width && b.x < a.x + a.width && a.y < b.y + b.height && b.y < a.y + a.height;
      await typeDoc(page, "The rain came down like something that had been poured. ".repeat(30));
      await page.keyboard.press("Control+End");
      await select(page, "like something that had been poured");
      await page.keyboard.press("Control+i");
      const steps = await box("#steps-out");
      const sampling = await box("#sampling summary");
      assert.ok(!overlap(steps, sampling), `the steps label ${JSON.stringify(steps)} runs into Sampling ${JSON.stringify(sampling)}`);
      await page.click("#run");
      await page.waitForSelector("#review:not([hidden])");
      // What the bars show, measured: no text wider than its box (cut, or running under the
      // next control), nothing outside the window, the counts on one line; the steps label
      // holds the widest labels it is given.
      const faults = await page.evaluate(() => {
        const out = [];
        const label = document.querySelector("#steps-out");
        const shown = label.textContent;
        for (const t of ["512 steps · 1.5/step · ~24 min", "auto · words ≥90% sure"]) {
          label.textContent = t;
          if (label.scrollWidth > label.clientWidth + 1) out.push(`the steps label cuts "${t}"`);
        }
        label.textContent = shown;
        const shownElements = [...document.querySelectorAll(".toolbar *, .status *, #review, #review *")].filter(
          (e) => e.checkVisibility() && e.getClientRects().length,
        );
        for (const e of shownElements) {
          const r = e.getBoundingClientRect();
          const name = e.id || e.className || e.tagName;
          const leaf = e.children.length === 0 && !["INPUT", "PROGRESS"].includes(e.tagName);
          if (leaf && e.scrollWidth > e.clientWidth + 1) out.push(`${name} cuts "${e.textContent}"`);
          if (r.left < -0.5 || r.right > window.innerWidth + 0.5 || r.bottom > window.innerHeight + 0.5) out.push(`${name} is outside the window`);
        }
        for (const id of ["words", "authorship-share"]) if (document.getElementById(id).getClientRects().length !== 1) out.push(`${id} wraps`);
        return out;
      });
      assert.deepEqual(faults, []);
      if (width >= 900) {
        const tops = await page.evaluate(() => [...document.querySelectorAll(".toolbar > .group")].map((g) => Math.round(g.getBoundingClientRect().top)));
        assert.ok(Math.max(...tops) - Math.min(...tops) < 12, `groups at ${tops}: more than one toolbar row`);
      }
      const review = await box("#review");
      const target = await box(".cm-live");
      const editor = await box("#editor");
      assert.ok(review.x >= 0 && review.x + review.width <= width && review.y + review.height <= height, "the review panel is inside the window");
      assert.ok(!overlap(review, target), `the review panel ${JSON.stringify(review)} covers the text it reviews ${JSON.stringify(target)}`);
      assert.ok(review.height <= 0.2 * editor.height, `the review panel is ${review.height} px of the text's ${editor.height}`);
      await page.click("#reject");
      await page.click("#model-button");
      const dialog = await box("#model-dialog");
      assert.ok(dialog.y >= 0 && dialog.y + dialog.height <= height, `the model dialog ${JSON.stringify(dialog)} is taller than the window`);
      await page.close();
    });
  }

  test("the model list follows what was chosen and loaded", async () => {
    const page = await openApp(() => (window.__mockSetup = (mock) => (mock.dialogs = ["/models/my-dream"])));
    await page.click("#model-button");
    await page.waitForSelector('#model-list li[data-model="demo"] button:text("Loaded ✓")');
    await page.click("#model-pick-folder");
    const chosen = page.locator('#model-list li[data-model="/models/my-dream"] button').first();
    await chosen.waitFor();
    await page.waitForFunction(() => document.querySelector('#model-list li[data-model="/models/my-dream"] button')?.textContent === "Loaded ✓");
    assert.equal(await chosen.isDisabled(), true);
    assert.equal(await page.textContent('#model-list li[data-model="demo"] button'), "Load");
    await page.close();
  });

  test("authorship: Dream's words are known after accept, save, export, reopen and an outside edit", async () => {
    const page = await openApp(() => (window.__mockSetup = (mock) => ((mock.stepDelay = 5), (mock.dialogs = ["/docs/rain.md"]))));
    await typeDoc(page, "It rained all night.");
    assert.equal(await page.textContent("#authorship-share"), "all yours");
    await page.keyboard.press("Control+i");
    await page.click("#run");
    await page.waitForSelector("#review:not([hidden])");
    await page.click("#accept");
    assert.match(await page.textContent("#authorship-share"), /^Dream wrote \d+%$/);
    await page.check("#show-authorship");
    const dreams = await page.locator(".cm-authored").allTextContents();
    const written = (await docText(page)).slice("It rained all night.".length);
    assert.equal(dreams.join(""), written, "exactly the accepted words are Dream's");
    await page.screenshot({ path: join(artifacts, "ui-authorship.png") });
    // Save: the ranges go beside the document; reopen: they come back.
    await page.keyboard.press("Control+s");
    await page.waitForFunction(() => document.querySelector("#message")?.textContent?.startsWith("Saved"));
    const sidecar = await page.evaluate(() => window.__mock.sidecars["/docs/rain.md"]);
    // Credited to the model that wrote them (the built-in demo here), not to Dream 7B.
    const demo = await page.evaluate(() => window.__mock.demoAuthor);
    assert.deepEqual(sidecar.authored, [{ from: 20, to: 20 + written.length, by: demo }]);
    // Export keeps or strips the marks; the document stays the one being edited.
    await page.evaluate(() => window.__mock.dialogs.push("/docs/marked.md", "/docs/plain.md"));
    await page.click("#file-menu summary");
    await page.click("#export-annotated");
    await page.waitForFunction(() => document.querySelector("#message")?.textContent?.startsWith("Exported marked.md with"));
    await page.click("#file-menu summary");
    await page.click("#export-plain");
    await page.waitForFunction(() => document.querySelector("#message")?.textContent?.startsWith("Exported plain.md without"));
    const files = await page.evaluate(() => window.__mock.files);
    assert.equal(files["/docs/plain.md"], files["/docs/rain.md"]);
    assert.ok(files["/docs/marked.md"].startsWith(files["/docs/rain.md"]) && files["/docs/marked.md"].includes(`&${demo}: 20,${written.length}`));
    assert.equal(await page.title(), "rain.md — Dream Writer");
    await page.evaluate(() => window.__mock.dialogs.push("/docs/rain.md"));
    await page.click("#file-menu summary");
    await page.click("#open");
    await page.waitForFunction(() => document.querySelector("#message")?.textContent === "Opened rain.md.");
    assert.equal((await page.locator(".cm-authored").allTextContents()).join(""), written);
    // Another program edits the file: the marks that no longer match are dropped, with a notice.
    await page.evaluate(() => (window.__mock.files["/docs/rain.md"] = "It rained. Someone else wrote this."));
    await page.evaluate(() => window.__mock.dialogs.push("/docs/rain.md"));
    await page.click("#file-menu summary");
    await page.click("#open");
    await page.waitForFunction(() =>
      /was edited outside Dream Writer: 1 mark of Dream's words no longer matched/.test(document.querySelector("#message")?.textContent ?? ""),
    );
    assert.equal(await page.locator(".cm-authored").count(), 0);
    assert.equal(await page.textContent("#authorship-share"), "all yours");
    await page.close();
  });
});
