// A word-level before/after diff of a rewrite, for the review: which words went, which came.

export interface DiffPart {
  text: string;
  kind: "same" | "removed" | "added";
}

/**
 * The words of `before` and `after` as one sequence: kept words once, removed and added words
 * where they stand (the longest common subsequence of words; punctuation stays with its word).
 * Runs of one kind are merged, words separated by single spaces.
 */
export function wordDiff(before: string, after: string): DiffPart[] {
  const a = before.split(/\s+/).filter(Boolean);
  const b = after.split(/\s+/).filter(Boolean);
  // lcs[i][j]: the longest common subsequence of a[i..] and b[j..].
  const lcs = Array.from({ length: a.length + 1 }, () => new Array<number>(b.length + 1).fill(0));
  for (let i = a.length - 1; i >= 0; i--) {
    for (let j = b.length - 1; j >= 0; j--) lcs[i][j] = a[i] === b[j] ? lcs[i + 1][j + 1] + 1 : Math.max(lcs[i + 1][j], lcs[i][j + 1]);
  }
  const parts: DiffPart[] = [];
  const push = (text: string, kind: DiffPart["kind"]) => {
    const last = parts.at(-1);
    if (last?.kind === kind) last.text += ` ${text}`;
    else parts.push({ text, kind });
  };
  let [i, j] = [0, 0];
  while (i < a.length || j < b.length) {
    if (i < a.length && j < b.length && a[i] === b[j]) push(a[i++], (j++, "same"));
    // What went is shown before what came in its place.
    else if (i < a.length && (j === b.length || lcs[i + 1][j] >= lcs[i][j + 1])) push(a[i++], "removed");
    else push(b[j++], "added");
  }
  return parts;
}
