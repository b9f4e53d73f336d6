// The walkthrough's further lessons, the EBS lifecycle beyond the seed, each run on its own with
// `ebsim walkthrough --lesson NAME` (or `all`), so the default run stays compact. Each lesson sets
// up what earlier steps taught in one line, then teaches by its trail records and checks that
// fail if ebsim does not behave as AWS documents.
import { UserError } from '../../errors/index.js';
import type { Lesson } from './lesson.js';
import { restoreReencrypts } from './restore-reencrypts.js';
import { snapshotContext } from './snapshot-context.js';
import { stopStart } from './stop-start.js';
import { shareSnapshot } from './share-snapshot.js';

export type { Lesson, LessonContext } from './lesson.js';

export const LESSONS: readonly Lesson[] = [snapshotContext, restoreReencrypts, stopStart, shareSnapshot];

export const LESSON_NAMES: readonly string[] = LESSONS.map((l) => l.name);

/** The lessons named, in the order given (`all`: every one, in order); an unknown name is the user's mistake. */
export function lessonsNamed(names: readonly string[]): Lesson[] {
  if (names.includes('all')) return [...LESSONS];
  return names.map((n) => {
    const l = LESSONS.find((x) => x.name === n);
    if (!l) throw new UserError(`walkthrough: no lesson named '${n}'; the lessons are ${LESSON_NAMES.join(', ')} (or all)`);
    return l;
  });
}
