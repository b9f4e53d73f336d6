// Commands added by later domains (EC2/EBS, volumes, server, walkthrough) register here.
import type { Argv } from 'yargs';
import type { Runtime } from '../runtime.js';
import { ec2Command } from './ec2.js';
import { volumeCommand } from './volume.js';

export function extraCommands(y: Argv, rt: () => Runtime) {
  ec2Command(y, rt);
  volumeCommand(y, rt);
  return y;
}
