// Commands added by later domains (EC2/EBS, volumes, server, walkthrough) register here.
import type { Argv } from 'yargs';
import type { Runtime } from '../runtime.js';

export function extraCommands(y: Argv, _rt: () => Runtime) {
  return y;
}
