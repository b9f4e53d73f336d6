// Every `ebsim` command, in the order `ebsim --help` lists them: one module per domain.
import type { Argv } from 'yargs';
import type { Runtime } from '../runtime.js';
import { initCommand } from './init.js';
import { envCommand } from './env.js';
import { iamCommand, stsCommand } from './iam.js';
import { kmsCommand } from './kms.js';
import { trailCommand } from './trail.js';
import { ec2Command } from './ec2.js';
import { volumeCommand } from './volume.js';
import { walkthroughCommand } from './walkthrough.js';
import { explainCommand } from './explain.js';
import { doctorCommand } from './doctor.js';
import { serveCommand } from './serve.js';

export function registerCommands(y: Argv, rt: () => Runtime): Argv {
  initCommand(y, rt);
  envCommand(y, rt);
  iamCommand(y, rt);
  stsCommand(y, rt);
  kmsCommand(y, rt);
  trailCommand(y, rt);
  ec2Command(y, rt);
  volumeCommand(y, rt);
  explainCommand(y, rt);
  walkthroughCommand(y, rt);
  doctorCommand(y, rt);
  serveCommand(y, rt);
  return y;
}
