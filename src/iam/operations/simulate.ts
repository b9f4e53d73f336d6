// The IAM policy simulator: SimulatePrincipalPolicy (a user's or role's own policies, plus more)
// and SimulateCustomPolicy (only the policies given). Read-only; the decisions are the policy
// engine's (../simulation.ts). MaxItems and Marker are accepted and ignored: the whole list is
// returned at once, with IsTruncated false.
import type { Members } from '../../api/index.js';
import { simulate, type SimulationInput } from '../simulation.js';
import { iamOperation, policyDocument } from './members.js';

const CONTEXT_KEY_TYPES = ['string', 'stringList', 'numeric', 'numericList', 'boolean', 'booleanList', 'ip', 'ipList', 'binary', 'binaryList', 'date', 'dateList'] as const;

const policyList = (doc: string) => ({ kind: 'list', member: { ...policyDocument, required: false }, doc }) as const;
const resourceName = { kind: 'string', min: 1, max: 2048 } as const;

/** The members both operations share, after their policy sources (SimulationPolicyListType … Marker). */
const simulationMembers = {
  PermissionsBoundaryPolicyInputList: policyList('a permissions boundary (JSON, or file://PATH): the simulation allows at most what it allows'),
  ActionNames: { kind: 'list', required: true, member: { kind: 'string', min: 3, max: 128 }, doc: 'actions, e.g. kms:Decrypt' },
  ResourceArns: { kind: 'list', member: resourceName, doc: 'the resources to simulate each action on (default "*")' },
  ResourcePolicy: { ...policyDocument, required: false, doc: 'a resource-based policy (a key policy…) attached to every simulated resource' },
  ResourceOwner: { ...resourceName, doc: "the resources' account, arn:aws:iam::ACCOUNT:root (default: the caller's, or the one in the resource ARN)" },
  CallerArn: { ...resourceName, doc: 'the IAM user ARN that makes the simulated calls (default: PolicySourceArn, if a user)' },
  ContextEntries: {
    kind: 'list',
    member: {
      kind: 'structure',
      members: {
        ContextKeyName: { kind: 'string', min: 5, max: 256 },
        ContextKeyValues: { kind: 'list', member: { kind: 'string' } },
        ContextKeyType: { kind: 'string', enum: CONTEXT_KEY_TYPES },
      },
    },
    doc: 'condition keys and their values: ContextKeyName=kms:ViaService,ContextKeyValues=ec2.us-east-1.amazonaws.com,ContextKeyType=string',
  },
  MaxItems: { kind: 'integer', min: 1, max: 1000, doc: 'accepted and ignored: ebsim returns every result at once' },
  Marker: { kind: 'string', min: 1, max: 320, pattern: /^[\u0020-\u00FF]+$/, doc: 'accepted and ignored: ebsim returns every result at once' },
} as const satisfies Members;

export const SIMULATE_OPERATIONS = [
  iamOperation({
    name: 'SimulatePrincipalPolicy',
    description: "Simulate a user's or role's policies (and optionally more) on actions and resources",
    readOnly: true,
    input: {
      PolicySourceArn: { kind: 'string', required: true, min: 20, max: 2048, doc: 'the user or role to simulate' },
      PolicyInputList: policyList('more identity policies to include (JSON, or file://PATH)'),
      ...simulationMembers,
    },
    run: (_ctx, input, { env }) => ({ response: { ...simulate(env, input as SimulationInput) } }),
  }),
  iamOperation({
    name: 'SimulateCustomPolicy',
    description: 'Simulate identity policies given as text (and optionally a resource policy) on actions and resources',
    readOnly: true,
    input: {
      PolicyInputList: { ...policyList('identity policies (JSON, file://PATH)'), required: true },
      ...simulationMembers,
    },
    run: (_ctx, input, { env }) => ({ response: { ...simulate(env, input as SimulationInput) } }),
  }),
] as const;
