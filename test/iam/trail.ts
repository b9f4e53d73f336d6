// The trail records of one event name, oldest first (flushed first: read-only records are group-committed).
import type { TestHome } from '../helpers/home.js';

export function recordsOf(h: TestHome, eventName: string): Record<string, any>[] {
  h.app.trail.flush();
  return (h.app.db.prepare('SELECT record FROM trail_events WHERE event_name = ? ORDER BY seq').pluck().all(eventName) as string[]).map((r) => JSON.parse(r));
}

export function lastRecord(h: TestHome, eventName: string): Record<string, any> | undefined {
  return recordsOf(h, eventName).pop();
}
