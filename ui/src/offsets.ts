// The engine counts offsets in Unicode scalar values (Rust chars); the editor in UTF-16 code
// units. These convert between the two for a given text.

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

/** The UTF-16 offset of scalar-value offset `chars` in `text`. */
export function toUtf16Offset(text: string, chars: number): number {
  let seen = 0;
  let i = 0;
  while (i < text.length && seen < chars) {
    i += isHigh(text.charCodeAt(i)) && i + 1 < text.length ? 2 : 1;
    seen++;
  }
  return i;
}

/** Number of Unicode scalar values in `text`. */
export function charLength(text: string): number {
  return toCharOffset(text, text.length);
}

function isHigh(c: number): boolean {
  return c >= 0xd800 && c <= 0xdbff;
}
