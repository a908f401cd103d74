// Documents in the built UI with the backend mocked: the unsaved marker, Save / Don't save /
// Cancel before New, Open and close, Save As, Open Recent, a file changed on disk, and the
// last session restored with its marks. The native dialogs are answered through the mock.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { artifacts, docText, openApp, typeDoc, useBrowser } from "./harness.mjs";

useBrowser();

const calls = (page, cmd) => page.evaluate((c) => window.__mock.calls.filter((x) => x.cmd === c).map((x) => x.args), cmd);
const choices = (page, box) => page.$$eval(`${box} button`, (bs) => bs.map((b) => b.dataset.choice));
const focusWindow = (page) => page.evaluate(() => window.dispatchEvent(new Event("focus")));

describe("documents", () => {
  test("New with unsaved changes asks first; Cancel keeps every byte, Don't save starts afresh", async () => {
    const page = await openApp();
    assert.equal(await page.title(), "Untitled — Dream Writer");
    const text = "A line I have not saved.\n  — with a dash ✨ ";
    await typeDoc(page, text);
    assert.equal(await page.title(), "• Untitled — Dream Writer", "the unsaved marker");
    await page.keyboard.press("Control+n");
    await page.waitForSelector("#prompt[open]");
    assert.match(await page.textContent("#prompt-text"), /Save the changes to Untitled\?/);
    assert.deepEqual(await choices(page, "#prompt-choices"), ["save", "discard", "cancel"]);
    await page.screenshot({ path: join(artifacts, "ui-unsaved-prompt.png") });
    await page.click('#prompt-choices [data-choice="cancel"]');
    assert.equal(await docText(page), text, "Cancel changes nothing");
    assert.deepEqual(await calls(page, "new_document"), []);
    // Esc is Cancel too.
    await page.keyboard.press("Control+n");
    await page.waitForSelector("#prompt[open]");
    await page.keyboard.press("Escape");
    assert.equal(await docText(page), text);

    await page.click("#file-menu summary");
    await page.click("#new");
    await page.click('#prompt-choices [data-choice="discard"]');
    await page.waitForFunction(() => window.dreamWriter.text() === "");
    assert.equal(await page.title(), "Untitled — Dream Writer");
    assert.deepEqual(await calls(page, "discard_autosave"), [{ path: null }]);
    assert.deepEqual(page.errors, []);
    await page.close();
  });

  test("Save As names a new document, Open asks to save first, Open Recent lists both", async () => {
    const page = await openApp(() => (window.__mockSetup = (m) => (m.files["/w/other.md"] = "Other text.")));
    await typeDoc(page, "Draft.");
    await page.evaluate(() => window.__mock.dialogs.push("/w/draft.md"));
    await page.keyboard.press("Control+s");
    await page.waitForFunction(() => document.title === "draft.md — Dream Writer");
    assert.equal(await page.evaluate(() => window.__mock.files["/w/draft.md"]), "Draft.");

    await page.keyboard.type(" More.");
    assert.equal(await page.title(), "• draft.md — Dream Writer");
    await page.evaluate(() => window.__mock.dialogs.push("/w/other.md"));
    await page.click("#file-menu summary");
    await page.click("#open");
    await page.waitForSelector("#prompt[open]");
    await page.click('#prompt-choices [data-choice="save"]');
    await page.waitForFunction(() => document.title === "other.md — Dream Writer");
    assert.equal(await page.evaluate(() => window.__mock.files["/w/draft.md"]), "Draft. More.", "saved before leaving");
    assert.equal(await docText(page), "Other text.");

    // Open Recent: newest first; a file gone since is shown as missing and cannot be opened.
    await page.evaluate(() => delete window.__mock.files["/w/draft.md"]);
    await page.click("#file-menu summary");
    await page.click("#recent summary");
    await page.waitForSelector("#recent-list button");
    assert.deepEqual(await page.$$eval("#recent-list button", (bs) => bs.map((b) => [b.textContent, b.disabled])), [
      ["other.md", false],
      ["draft.md (missing)", true],
    ]);
    await page.screenshot({ path: join(artifacts, "ui-recent.png") });
    assert.deepEqual(page.errors, []);
    await page.close();
  });

  test("a file changed on disk: found on focus; reload theirs is one undo away; keep mine, then Save asks", async () => {
    const page = await openApp(
      () =>
        (window.__mockSetup = (m) => {
          m.files["/w/story.md"] = "Mine.";
          m.current = "/w/story.md";
          m.recent = ["/w/story.md"];
        }),
    );
    await page.waitForFunction(() => window.dreamWriter.text() === "Mine.");
    await page.evaluate(() => (window.__mock.files["/w/story.md"] = "Mine.\nTheir line."));
    await focusWindow(page);
    await page.waitForSelector("#disk-banner:not([hidden])");
    assert.match(await page.textContent("#disk-text"), /story\.md was changed by another program/);
    assert.deepEqual(await choices(page, "#disk-choices"), ["reload", "keep", "copy"]);
    await page.screenshot({ path: join(artifacts, "ui-changed-on-disk.png") });
    await page.click('#disk-choices [data-choice="reload"]');
    await page.waitForFunction(() => window.dreamWriter.text() === "Mine.\nTheir line.");
    assert.equal(await page.title(), "story.md — Dream Writer");
    await page.click(".cm-content");
    await page.keyboard.press("Control+z");
    assert.equal(await docText(page), "Mine.", "the writer's version is one undo away");

    await page.evaluate(() => (window.__mock.files["/w/story.md"] = "Theirs again."));
    await focusWindow(page);
    await page.waitForSelector("#disk-banner:not([hidden])");
    await page.click('#disk-choices [data-choice="keep"]');
    await page.keyboard.press("Control+s");
    await page.waitForSelector("#prompt[open]");
    assert.match(await page.textContent("#prompt-text"), /changed by another program.*Replace it with your version\?/);
    await page.click('#prompt-choices [data-choice="cancel"]');
    assert.equal(await page.evaluate(() => window.__mock.files["/w/story.md"]), "Theirs again.", "never overwritten unasked");
    await page.keyboard.press("Control+s");
    await page.click('#prompt-choices [data-choice="replace"]');
    await page.waitForFunction(() => window.__mock.files["/w/story.md"] === "Mine.");
    assert.equal(await page.title(), "story.md — Dream Writer");
    await page.close();
  });

  test("a restored mark's instruction is kept, not sent, with a Base model, and said so", async () => {
    const page = await openApp(
      () =>
        (window.__mockSetup = (m) => {
          m.instructions = false;
          m.files["/w/story.md"] = "The sea was calm that night.";
          m.current = "/w/story.md";
          m.recent = ["/w/story.md"];
          const text = "The sea was calm that night. We walked.";
          m.autosaves["/w/story.md"] = {
            path: "/w/story.md",
            text,
            base: m.fingerprint(m.files["/w/story.md"]),
            marks: [{ from: 11, to: 16, tokens: 2, instruction: "darker" }],
            ending: "",
            gap: 32,
          };
        }),
    );
    await page.waitForSelector(".cm-span");
    assert.equal(await page.textContent(".cm-span"), " calm");
    await page.click(".cm-span");
    assert.equal(await page.inputValue("#instruction"), "darker", "the restored instruction is shown");
    assert.ok(await page.isDisabled("#instruction"));
    assert.match(await page.getAttribute("#instruction", "title"), /without its instruction; the instruction is kept for an Instruct model/);
    await page.click("#run");
    await page.waitForSelector("#review:not([hidden])");
    const request = await page.evaluate(() => window.__mock.calls.find((c) => c.cmd === "infill").args.request);
    assert.equal(request.spans[0].instruction, null, "a Base model is sent no instruction");
    assert.match(await page.textContent("#message"), /without the instructions on 1 mark: this model has no chat template/);
    await page.click("#reject");
    await page.click(".cm-span");
    assert.equal(await page.inputValue("#instruction"), "darker", "still on the mark after the run");
    // The next autosave still carries it.
    await page.keyboard.press("Control+End");
    await page.keyboard.type(" Home.");
    await page.waitForFunction(() =>
      window.__mock.calls.some(
        (c) => c.cmd === "autosave_document" && c.args.document.text.endsWith("Home.") && c.args.document.marks[0]?.instruction === "darker",
      ),
    );
    assert.deepEqual(page.errors, []);
    await page.close();
  });

  test("restart with unsaved changes: both versions offered, marks, ending and gap restored", async () => {
    const page = await openApp(
      () =>
        (window.__mockSetup = (m) => {
          m.files["/w/story.md"] = "The file.";
          m.current = "/w/story.md";
          m.recent = ["/w/story.md"];
          const text = "The file. And my unsaved words.";
          m.autosaves["/w/story.md"] = {
            path: "/w/story.md",
            text,
            base: m.fingerprint("The file."),
            marks: [{ from: 13, to: 16, tokens: 2 }],
            ending: "The end.",
            gap: 12,
          };
        }),
    );
    await page.waitForSelector("#disk-banner:not([hidden])");
    assert.equal(await docText(page), "The file. And my unsaved words.");
    assert.equal(await page.title(), "• story.md — Dream Writer");
    assert.match(await page.textContent("#disk-text"), /unsaved changes to story\.md from last time are restored/);
    assert.equal(await page.textContent(".cm-span"), " my");
    assert.equal(await page.inputValue("#ending"), "The end.");
    assert.equal(await page.inputValue("#gap"), "12");
    await page.click('#disk-choices [data-choice="reload"]');
    await page.waitForFunction(() => window.dreamWriter.text() === "The file.");
    assert.equal(await page.title(), "story.md — Dream Writer");
    await page.close();

    // The file also changed outside since: the writer picks, nothing is chosen for them.
    const conflict = await openApp(
      () =>
        (window.__mockSetup = (m) => {
          m.files["/w/story.md"] = "Their newer file.";
          m.current = "/w/story.md";
          m.recent = ["/w/story.md"];
          m.autosaves["/w/story.md"] = { path: "/w/story.md", text: "My words.", base: m.fingerprint("Old file."), marks: [], ending: "", gap: 32 };
        }),
    );
    await conflict.waitForSelector("#disk-banner:not([hidden])");
    assert.equal(await docText(conflict), "My words.");
    assert.deepEqual(await choices(conflict, "#disk-choices"), ["reload", "keep", "copy"]);
    await conflict.close();
  });

  test("a settings file or autosave that could not be used is said once, at start", async () => {
    const page = await openApp(
      () =>
        (window.__mockSetup = (m) =>
          m.notices.push("/c/settings.json could not be used (99 candidates: choose 1 to 3); it was kept as /c/settings.json.unreadable-1.")),
    );
    await page.waitForSelector("#prompt[open]");
    assert.match(await page.textContent("#prompt-text"), /settings\.json could not be used .* kept as/);
    await page.click('#prompt-choices [data-choice="ok"]');
    assert.equal(await page.evaluate(() => document.querySelector("#prompt").open), false);
    await page.close();
  });

  test("closing the window with unsaved changes asks; Cancel keeps it open", async () => {
    const page = await openApp();
    await typeDoc(page, "Unsaved.");
    const notify = () =>
      page.evaluate(() => {
        const watch = window.__mock.calls.find((c) => c.cmd === "watch_window").args.onEvent;
        window.__TAURI_INTERNALS__.runCallback(watch.id, { index: (window.__notices = (window.__notices ?? -1) + 1), message: { event: "close_requested" } });
      });
    await notify();
    await page.waitForSelector("#prompt[open]");
    await page.click('#prompt-choices [data-choice="cancel"]');
    assert.equal(await page.evaluate(() => window.__closed ?? false), false);
    assert.equal(await docText(page), "Unsaved.");
    await notify();
    await page.click('#prompt-choices [data-choice="discard"]');
    await page.waitForFunction(() => window.__closed === true);
    await page.close();
  });
});
