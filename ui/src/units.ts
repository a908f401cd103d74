// Sizes as the page writes them.

/** Bytes in GiB with one decimal ("4.2 GiB"). */
export function gib(bytes: number): string {
  return `${(bytes / 2 ** 30).toFixed(1)} GiB`;
}
