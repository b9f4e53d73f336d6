export async function reportCommand(_argv: string[]): Promise<number> {
  process.stderr.write('report: not built yet\n');
  return 2;
}
