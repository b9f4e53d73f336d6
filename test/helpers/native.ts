// Tests of the native addon (native/build/Release/ebsim_xts.node: the XTS engine's code paths, the
// blob cipher's AES-256-GCM) skip with the reason where it is not built. CI builds it (`npm ci`
// runs `prepare`, which runs native/build.mjs; that build never fails the install), so under
// EBSIM_REQUIRE_FUSE=1 (.ci/run) a missing addon is a failure, not a silent skip, as for FUSE.
import { describe, it } from 'vitest';

/**
 * `describe(name, fn)` when `missing` is undefined (the addon has what the suite needs); else one
 * failing test saying what is missing under EBSIM_REQUIRE_FUSE=1, or the suite skipped with it.
 */
export function describeNative(name: string, missing: string | undefined, fn: () => void): void {
  if (missing === undefined) return void describe(name, fn);
  if (process.env.EBSIM_REQUIRE_FUSE === '1')
    return void describe(name, () => it('has the native addon it tests (EBSIM_REQUIRE_FUSE=1)', () => {
      throw new Error(`EBSIM_REQUIRE_FUSE=1 but the native addon cannot run here: ${missing}`);
    }));
  describe.skip(`${name} [skipped: ${missing}]`, fn);
}
