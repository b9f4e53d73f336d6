// A snapshot's createVolumePermission (the EBS user guide's "Share an Amazon EBS snapshot"):
// ModifySnapshotAttribute adds or removes accounts (or the group "all"), DescribeSnapshotAttribute
// lists them, ResetSnapshotAttribute clears them. An account named may then copy the snapshot or
// create a volume from it (snapshots.ts, volume-creation.ts), which for an encrypted snapshot also
// takes the owner's key policy letting that account use the key, as on AWS. Encrypted snapshots
// cannot be public, and those under an AWS managed key (aws/ebs) cannot be shared at all.
import type { Outcome } from '../api/index.js';
import type { CallContext } from '../core/call-context.js';
import { InvalidParameterCombination, InvalidParameterValue, MissingParameter, OperationNotPermitted } from '../errors/index.js';
import type { EbsParts } from './ebs-parts.js';
import type { SnapshotOperations } from './snapshots.js';
import type { CreateVolumePermission, ModifySnapshotAttributeRequest } from './operations/index.js';

/** The group every account is in: a snapshot shared with it is public. */
export const PUBLIC_GROUP = 'all';
const CREATE_VOLUME_PERMISSION = 'createVolumePermission';

export class SnapshotSharing {
  constructor(
    private readonly p: EbsParts,
    private readonly snapshots: SnapshotOperations,
  ) {}

  modify(ctx: CallContext, req: ModifySnapshotAttributeRequest): Outcome {
    const s = this.snapshots.require(req.SnapshotId);
    requireCreateVolumePermission(req.Attribute ?? CREATE_VOLUME_PERMISSION, 'modified');
    const { add, remove } = changesOf(req);
    if (add.length && remove.length) throw new InvalidParameterCombination('You may add or remove account IDs for a snapshot in one request, not both: use two requests.');
    if (!add.length && !remove.length) throw new MissingParameter('The request must contain the parameter CreateVolumePermission (an account ID or the group all to add or remove)');
    if (add.length + remove.length > 500) throw new InvalidParameterValue('You can make up to 500 modifications to a snapshot in a single operation.');
    if (add.length && s.encrypted) {
      if (add.includes(PUBLIC_GROUP)) throw new OperationNotPermitted('Encrypted snapshots cannot be made public.');
      // EC2 asks KMS which kind of key it is (DescribeKey, EC2 for the caller): another account can never use an AWS managed key.
      if (s.kmsKeyArn && this.p.keys.isAwsManaged(ctx, s.kmsKeyArn)) {
        throw new OperationNotPermitted(`Snapshots encrypted with the AWS managed key for EBS (aws/ebs) cannot be shared with other accounts: copy ${s.snapshotId} under a customer managed key, whose key policy lets the other account use it, and share the copy.`);
      }
    }
    this.p.store.changeSnapshotPermissions(s.snapshotId, add.length ? add : remove, add.length > 0);
    return { response: {}, responseElements: { _return: true } };
  }

  describe(req: { SnapshotId: string; Attribute: string }): Outcome {
    const s = this.snapshots.require(req.SnapshotId);
    if (req.Attribute === 'productCodes') return { response: { SnapshotId: s.snapshotId, ProductCodes: [] } };
    requireCreateVolumePermission(req.Attribute, 'described');
    const permissions = this.p.store.snapshotPermissions(s.snapshotId).map((g) => (g === PUBLIC_GROUP ? { Group: g } : { UserId: g }));
    return { response: { SnapshotId: s.snapshotId, CreateVolumePermissions: permissions } };
  }

  reset(req: { SnapshotId: string; Attribute: string }): Outcome {
    const s = this.snapshots.require(req.SnapshotId);
    requireCreateVolumePermission(req.Attribute, 'reset');
    this.p.store.clearSnapshotPermissions(s.snapshotId);
    return { response: {}, responseElements: { _return: true } };
  }
}

function requireCreateVolumePermission(attribute: string, how: string): void {
  if (attribute !== CREATE_VOLUME_PERMISSION) {
    throw new InvalidParameterValue(`Value (${attribute}) for parameter attribute is invalid. Only ${CREATE_VOLUME_PERMISSION} can be ${how} (ebsim's snapshots have no product codes).`);
  }
}

/** The grantees to add and to remove: from CreateVolumePermission, or the older UserIds/GroupNames with OperationType. */
export function changesOf(req: ModifySnapshotAttributeRequest): { add: string[]; remove: string[] } {
  const grantees = (list: readonly CreateVolumePermission[] | undefined) => (list ?? []).map(granteeOf);
  const add = grantees(req.CreateVolumePermission?.Add);
  const remove = grantees(req.CreateVolumePermission?.Remove);
  const legacy = [...(req.UserIds ?? []).map((u) => granteeOf({ UserId: u })), ...(req.GroupNames ?? []).map((g) => granteeOf({ Group: g }))];
  if (legacy.length) {
    if (req.OperationType !== 'add' && req.OperationType !== 'remove') throw new MissingParameter('The request must contain the parameter OperationType (add or remove) with UserIds or GroupNames');
    (req.OperationType === 'add' ? add : remove).push(...legacy);
  }
  return { add: [...new Set(add)], remove: [...new Set(remove)] };
}

function granteeOf(p: CreateVolumePermission): string {
  if (p.UserId !== undefined && p.Group !== undefined) throw new InvalidParameterCombination('A createVolumePermission names a UserId or a Group, not both.');
  if (p.Group !== undefined) {
    if (p.Group !== PUBLIC_GROUP) throw new InvalidParameterValue(`Value (${p.Group}) for parameter Group is invalid. The only group is ${PUBLIC_GROUP}.`);
    return PUBLIC_GROUP;
  }
  if (p.UserId === undefined || !/^\d{12}$/.test(p.UserId)) throw new InvalidParameterValue(`Value (${p.UserId ?? ''}) for parameter UserId is invalid. An AWS account ID is 12 digits.`);
  return p.UserId;
}
