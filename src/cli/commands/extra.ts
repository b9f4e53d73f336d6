// Commands added by later domains (EC2/EBS, volumes, server, walkthrough) register here.
import type { Argv } from 'yargs';
import type { Runtime } from '../runtime.js';
import { serveCommand } from './serve.js';
import { ec2Command } from './ec2.js';
import { volumeCommand } from './volume.js';
import { walkthroughCommand } from './walkthrough.js';
import { doctorCommand } from './doctor.js';

export function extraCommands(y: Argv, rt: () => Runtime) {
  ec2Command(y, rt);
  volumeCommand(y, rt);
  walkthroughCommand(y, rt);
  doctorCommand(y, rt);
  serveCommand(y, rt);
  return y;
}
