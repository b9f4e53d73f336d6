// The same few dozen names (condition keys, actions) come with every request: lower-case each
// once, in a bounded table shared by the whole policy domain.
const lowered = new Map<string, string>();
const MAX_ENTRIES = 10_000;

export function lowerOnce(name: string): string {
  let l = lowered.get(name);
  if (l === undefined) {
    l = name.toLowerCase();
    if (lowered.size < MAX_ENTRIES) lowered.set(name, l);
  }
  return l;
}
