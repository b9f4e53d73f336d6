// Whether an event only read: CloudTrail's own classification, which LookupEvents reports
// (ReadOnly) and filters on. Most records carry it as readOnly; EC2's leave it out (as AWS's EC2
// records in the seed do), and CloudTrail still classes Describe* and Get* calls as reads
// ("read-only events include the Amazon EC2 DescribeSecurityGroups and DescribeSubnets API
// operations": CloudTrail User Guide, management events).
import type { TrailRecord } from './record.js';

/** The event names CloudTrail classes as reads when a record does not say. */
export const READ_ONLY_EVENT_NAME = /^(Describe|Get|List|Lookup)[A-Z]/;

export function readOnlyOf(r: Pick<TrailRecord, 'readOnly' | 'eventName'>): boolean {
  return r.readOnly ?? READ_ONLY_EVENT_NAME.test(r.eventName);
}
