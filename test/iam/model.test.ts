// The IAM and STS declarations against AWS's own models: names, kinds, required members.
import { describe, expect, it } from 'vitest';
import { IAM_OPERATIONS, STS_OPERATIONS } from '../../src/iam/operations/index.js';
import { awsModel, checkAgainstModel } from '../helpers/aws-model.js';

const iam = awsModel('iam');
const sts = awsModel('sts');

describe.skipIf(!iam || !sts)('IAM and STS declarations against the AWS models', () => {
  it('IAM: every operation and member is the model\'s', () => {
    // AWS creates a key for the caller when UserName is left out; ebsim asks whose key it is.
    expect(checkAgainstModel(iam!, IAM_OPERATIONS, ['CreateAccessKey.UserName'])).toEqual([]);
  });
  it('STS: every operation and member is the model\'s', () => {
    expect(checkAgainstModel(sts!, STS_OPERATIONS)).toEqual([]);
  });
});
