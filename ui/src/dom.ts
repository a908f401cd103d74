// The one DOM lookup the views share: an element of the page by id, typed by the caller.

/** The element with `id` (the page's markup has every id the code names). */
export const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
