// Real-mount tests need root, /dev/fuse, libfuse2 and losetup. Elsewhere they skip with the
// reason; under EBSIM_REQUIRE_FUSE=1 (CI) a missing prerequisite is a failure, not a skip.
import { findMissingPrerequisite } from '../../src/device/index.js';

export function fuseSkipReason(): string | undefined {
  const missing = findMissingPrerequisite();
  if (!missing) return undefined;
  if (process.env.EBSIM_REQUIRE_FUSE === '1') throw new Error(`EBSIM_REQUIRE_FUSE=1 but FUSE mounts cannot run here: ${missing.message}`);
  return missing.message;
}
