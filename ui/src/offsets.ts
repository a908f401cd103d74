// The engine counts offsets in Unicode scalar values (Rust chars); the editor in UTF-16 code
// units. Requests are sent in the engine's units.

/** The scalar-value offset of UTF-16 offset `pos` in `text`. */
export function toCharOffset(text: string, pos: number): number {
  let chars = 0;
  for (let i = 0; i < pos && i < text.length; i++) {
    const c = text.charCodeAt(i);
    // The low half of a surrogate pair is not a character of its own.
    if (!(c >= 0xdc00 && c <= 0xdfff && i > 0 && isHigh(text.charCodeAt(i - 1)))) chars++;
  }
  return chars;
}

function isHigh(c: number): boolean {
  return c >= 0xd800 && c <= 0xdbff;
}
