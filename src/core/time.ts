// AWS's timestamp format, shared by IAM, STS and CloudTrail.

let lastSecond = -1;
let lastIso = '';

/** AWS's timestamps in CloudTrail and IAM: second precision, "Z". Cached per second: it is on every call's path. */
export function isoSeconds(d: Date = new Date()): string {
  const second = Math.floor(d.getTime() / 1000);
  if (second !== lastSecond) {
    lastSecond = second;
    lastIso = d.toISOString().slice(0, 19) + 'Z';
  }
  return lastIso;
}
