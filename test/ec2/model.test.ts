// The EC2 declarations against AWS's own EC2 model: names, kinds, required members.
import { describe, expect, it } from 'vitest';
import { EC2_OPERATIONS } from '../../src/ec2/operations/index.js';
import { awsModel, checkAgainstModel } from '../helpers/aws-model.js';

const model = awsModel('ec2');

describe.skipIf(!model)('EC2 declarations against the AWS model', () => {
  it('every operation and member is the model\'s, with the model\'s kind', () => {
    // ebsim has no launch templates, so an instance needs its image and type, and a mapping its
    // device; AWS leaves them optional in the model for the launch template to supply.
    const requiredByService = ['RunInstances.ImageId', 'RunInstances.InstanceType', 'RunInstances.BlockDeviceMappings[].DeviceName'];
    expect(checkAgainstModel(model!, EC2_OPERATIONS, requiredByService)).toEqual([]);
  });
});
