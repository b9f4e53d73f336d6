// What a lesson is (index.ts lists them): a name for --lesson, and a run over the walkthrough's session.
import type { Ebsim } from '../../app/ebsim.js';
import type { CallContext } from '../../core/call-context.js';
import type { Session } from '../session.js';

export interface LessonContext {
  app: Ebsim;
  s: Session;
  alice: CallContext;
}

export interface Lesson {
  /** The name `--lesson` takes. */
  name: string;
  /** What it teaches, for --help and the list at the end of the default run. */
  summary: string;
  run(c: LessonContext): Promise<void>;
}
