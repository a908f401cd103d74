// Dream Writer's editor is built in its own issue; this page proves the UI toolchain builds.
const app = document.querySelector<HTMLElement>("#app");
if (app) {
  app.textContent = "Dream Writer";
}
