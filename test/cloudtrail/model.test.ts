// The CloudTrail declaration against AWS's own model: names, kinds, enums.
import { describe, expect, it } from 'vitest';
import { CLOUDTRAIL_OPERATIONS } from '../../src/cloudtrail/index.js';
import { awsModel, checkAgainstModel } from '../helpers/aws-model.js';

const model = awsModel('cloudtrail');

describe.skipIf(!model)('CloudTrail declarations against the AWS model', () => {
  it('LookupEvents: every member is the model\'s, timestamps included, and its attribute keys are the model\'s', () => {
    expect(checkAgainstModel(model!, CLOUDTRAIL_OPERATIONS)).toEqual([]);
  });

  it('the check finds a misspelt member, a wrong kind and an enum value the model lacks', () => {
    const wrong = [{ name: 'LookupEvents', input: { MaxResult: { kind: 'integer' }, NextToken: { kind: 'integer' }, EventCategory: { kind: 'string', enum: ['insights'] } } }] as const;
    expect(checkAgainstModel(model!, wrong)).toEqual([
      'LookupEvents.MaxResult: not a member of LookupEventsRequest',
      'LookupEvents.NextToken: declared integer, model string',
      'LookupEvents.EventCategory: enum value insights not in the model',
    ]);
  });
});
