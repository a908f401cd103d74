// In-page questions ("Save changes?"): a modal <dialog> with one button per answer. Esc
// answers "cancel", so every question has a way out that changes nothing.
import { $ } from "./dom";

export interface Choice {
  id: string;
  label: string;
  primary?: boolean;
}

/** Asks `question` and resolves to the id of the answer chosen ("cancel" on Esc). Each button
 * answers its own question: a close event still queued from an earlier one cannot. */
export function ask(title: string, question: string, choices: Choice[]): Promise<string> {
  const dialog = $<HTMLDialogElement>("prompt");
  $("prompt-title").textContent = title;
  $("prompt-text").textContent = question;
  return new Promise((resolve) => {
    const finish = (answer: string) => {
      dialog.removeEventListener("cancel", onEscape);
      dialog.close();
      resolve(answer);
    };
    const onEscape = (e: Event) => {
      e.preventDefault();
      finish("cancel");
    };
    dialog.addEventListener("cancel", onEscape);
    const buttons = choices.map((c) => {
      const b = document.createElement("button");
      b.type = "button";
      b.textContent = c.label;
      b.dataset.choice = c.id;
      if (c.primary) b.className = "primary";
      b.addEventListener("click", () => finish(c.id));
      return b;
    });
    $("prompt-choices").replaceChildren(...buttons);
    dialog.showModal();
    (buttons.find((b) => b.className === "primary") ?? buttons[0])?.focus();
  });
}

/** Whether a question is on screen (shortcuts and focus checks wait for its answer). */
export function asking(): boolean {
  return $<HTMLDialogElement>("prompt").open;
}
