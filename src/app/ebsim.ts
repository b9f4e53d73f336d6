// The composition root: opens a home and wires the store, IAM, KMS and the trail together.
import { writeFileSync, readFileSync, renameSync, chmodSync, existsSync } from 'node:fs';
import { ensureHome, homeExists, homePaths, type HomePaths } from '../store/home.js';
import { openDatabase, type Db } from '../store/database.js';
import { RootKey } from '../store/root-key.js';
import { Trail } from '../trail/trail.js';
import { IamService, DEFAULT_ACCOUNT_ID, DEFAULT_REGION, DEFAULT_USER, type AccessKey } from '../iam/service.js';
import { ADMINISTRATOR_ACCESS } from '../iam/aws-managed-policies.js';
import { directCall, type CallContext } from '../core/call-context.js';
import { isCommercialRegion } from '../core/regions.js';
import { KmsService } from '../kms/service.js';
import { kmsClient } from '../kms/client.js';
import { closeKeyUsageTracker } from '../kms/last-usage.js';
import { Ec2Service } from '../ec2/service.js';
import { Ec2Store } from '../ec2/store.js';
import { InstanceHost } from '../host/index.js';
import { CloudTrailService } from '../cloudtrail/service.js';
import { MissingRootKeyError, UserError } from '../errors/index.js';
import { homeFailure } from '../store/failure.js';
import { join } from 'node:path';
import { DEFAULT_ENDPOINT_URL, requireEndpointUrl, writeHomeConfig } from './aws-config.js';

export interface Ebsim {
  paths: HomePaths;
  db: Db;
  trail: Trail;
  iam: IamService;
  /**
   * KMS of one account of the home in one Region: the caller's (`kms(ctx.principal.accountId,
   * ctx.region)`); by default the home's first account, in the account's own Region. Every
   * commercial Region exists in every account (core/regions.ts). The home must be initialized.
   */
  kms(accountId?: string, region?: string): KmsService;
  /**
   * The EC2/EBS control plane of one account of the home (default: the first) in one Region
   * (default: the account's own): its instances, volumes, snapshots and encryption-by-default
   * settings are that Region's, and it calls KMS in that Region.
   */
  ec2(accountId?: string, region?: string): Ec2Service;
  /** The instances' host: data keys, mounts and in-process access. Its mount table needs no database. */
  host(): InstanceHost;
  /** CloudTrail's API (LookupEvents) over the home's trail. */
  cloudtrail(): CloudTrailService;
  /**
   * A direct call context for `--as` (user name or role/ROLE[/SESSION]) in `accountId` (`--account`;
   * default: the home's first account), calling `region` (`--region`; default: the account's).
   */
  as(spec?: string, userAgent?: string, accountId?: string, region?: string): CallContext;
  close(): void;
}

/**
 * Opens a home. The database, root key and services open on first use: commands that act only
 * on `$EBSIM_HOME/run` (volume unmount, status, cleanup) never touch the database, so they still
 * work when the disk holding the home is full or the database is damaged.
 */
export function openEbsim(home: string, opts: { create?: boolean } = {}): Ebsim {
  if (!opts.create && !homeExists(home)) {
    throw new UserError(`no ebsim home at ${home}: run \`ebsim init\` first (or pass --home DIR / set EBSIM_HOME)`);
  }
  const paths = ensureHome(home);
  let core: Core | undefined;
  const open = (): Core => (core ??= openCore(paths));
  // Services per account (and Region) of the home, made on first use; FIRST stands for the home's
  // first account in its own Region.
  const FIRST = '';
  const kms = new Map<string, KmsService>();
  const ec2 = new Map<string, Ec2Service>();
  /** The account named (it must be in the home), or the home's first account. */
  const accountOf = (c: Core, accountId: string | undefined) => {
    if (accountId === undefined) return c.iam.requireAccount();
    const a = c.iam.accountById(accountId);
    if (!a) throw new UserError(`this ebsim home has no account ${accountId}: add it with \`ebsim init --account-id ${accountId}\``);
    return a;
  };
  let host: InstanceHost | undefined;
  let cloudtrail: CloudTrailService | undefined;
  const app: Ebsim = {
    paths,
    get db() {
      return open().db;
    },
    get trail() {
      return open().trail;
    },
    get iam() {
      return open().iam;
    },
    // On the server's hot path: a service already made costs one map lookup, no store read.
    kms(id?: string, inRegion?: string) {
      const asked = `${id ?? FIRST}/${inRegion ?? ''}`;
      const made = kms.get(asked);
      if (made) return made;
      const c = open();
      const { accountId, region: home } = accountOf(c, id);
      const region = regionOf(inRegion, home);
      const key = `${accountId}/${region}`;
      const service = kms.get(key) ?? new KmsService(c.db, c.rootKey, c.trail, c.iam, accountId, region);
      kms.set(key, service).set(asked, service);
      return service;
    },
    ec2(id?: string, inRegion?: string) {
      const asked = `${id ?? FIRST}/${inRegion ?? ''}`;
      const made = ec2.get(asked);
      if (made) return made;
      const c = open();
      const { accountId, region: home } = accountOf(c, id);
      const region = regionOf(inRegion, home);
      const key = `${accountId}/${region}`;
      // EC2 of an account and Region calls KMS of the same account and Region.
      const service =
        ec2.get(key) ?? new Ec2Service(c.db, c.trail, c.iam, kmsClient(app.kms(accountId, region)), paths.volumes, accountId, region, (other) => app.ec2(accountId, other));
      ec2.set(key, service).set(asked, service);
      return service;
    },
    host() {
      host ??= new InstanceHost(paths.run, () => ({
        ec2: app.ec2(),
        iam: open().iam,
        keys: kmsClient(app.kms()),
        at: (accountId, region) => ({ ec2: app.ec2(accountId, region), keys: kmsClient(app.kms(accountId, region)), iam: open().iam.inAccount(accountId) }),
        placeOf: (id) => Ec2Store.placeOf(open().db, id),
      }), paths.dir);
      return host;
    },
    cloudtrail() {
      if (!cloudtrail) {
        const c = open();
        cloudtrail = new CloudTrailService(c.db, c.trail, c.iam);
      }
      return cloudtrail;
    },
    as(spec = DEFAULT_USER, userAgent?: string, id?: string, inRegion?: string) {
      const c = open();
      const { accountId, region } = accountOf(c, id);
      return directCall(c.iam.resolveAs(spec, accountId), regionOf(inRegion, region), userAgent);
    },
    close() {
      if (!core) return;
      const { trail, db } = core;
      core = undefined;
      kms.clear();
      ec2.clear();
      host = cloudtrail = undefined;
      try {
        closeKeyUsageTracker(db);
        trail.close();
      } finally {
        db.close();
      }
    },
  };
  return app;
}

/** The Region asked for, or the account's own. */
function regionOf(asked: string | undefined, accountRegion: string): string {
  return asked === undefined ? accountRegion : requireCommercialRegion(asked);
}

/** A Region named by the user (`--region`, `init --region`): one of AWS's commercial Regions. */
function requireCommercialRegion(region: string): string {
  if (isCommercialRegion(region)) return region;
  throw new UserError(`${region} is not a commercial AWS Region (for example us-east-1 or eu-west-1); China, GovCloud and ISO Regions are not modelled`);
}

interface Core {
  db: Db;
  rootKey: RootKey;
  trail: Trail;
  iam: IamService;
}

function openCore(paths: HomePaths): Core {
  let db: Db;
  try {
    db = openDatabase(paths.database, paths.trail);
  } catch (err) {
    throw homeFailure(err, paths.dir) ?? err;
  }
  try {
    const rootKey = loadRootKey(paths, db);
    const trail = new Trail(db, paths.trail, paths.delivered);
    return { db, rootKey, trail, iam: new IamService(db, trail) };
  } catch (err) {
    db.close();
    throw homeFailure(err, paths.dir) ?? err;
  }
}

/**
 * The root key, created only on first use of a home that holds no key yet (`init`, usually). A home
 * whose keys were wrapped under a root key that is now gone refuses to open: a fresh root key
 * could unwrap none of them, and keys made under it would fail once the old one came back.
 */
function loadRootKey(paths: HomePaths, db: Db): RootKey {
  if (!existsSync(paths.rootKey)) {
    const { n } = db.prepare('SELECT count(*) AS n FROM kms_key_versions').get() as { n: number };
    if (n > 0) throw new MissingRootKeyError(paths.rootKey, n);
  }
  return RootKey.loadOrCreate(paths.rootKey);
}

export interface InitResult {
  home: string;
  accountId: string;
  region: string;
  userArn: string;
  accessKeyId: string;
  credentialsFile: string;
  /** The profile of the credentials file that holds the account's Alice: `ebsim` for the home's first account, `ebsim-ID` for others. */
  profile: string;
  /** The home's AWS config file: the same profile with its Region and ebsim's endpoint for KMS, STS and CloudTrail. */
  configFile: string;
  endpointUrl: string;
  created: boolean;
}

/**
 * `ebsim init`: an account with the IAM user Alice (AdministratorAccess) and her access key in the
 * AWS credentials file. On a new home it creates the home's first account (`accountId`, default
 * 123456789012); on an existing home, an `accountId` the home does not hold yet is added (in
 * `region`, default the first account's), and without one the first account is meant. Running it
 * again changes nothing.
 */
export function initHome(home: string, accountId?: string, region?: string, endpointUrl = DEFAULT_ENDPOINT_URL): InitResult {
  if (region !== undefined) requireCommercialRegion(region);
  requireEndpointUrl(endpointUrl);
  const app = openEbsim(home, { create: true });
  try {
    const first = app.iam.account();
    const account = !first
      ? app.iam.ensureAccount(accountId ?? DEFAULT_ACCOUNT_ID, region ?? DEFAULT_REGION)
      : accountId === undefined
        ? first
        : (app.iam.accountById(accountId) ?? app.iam.ensureAccount(accountId, region ?? first.region));
    const profile = first === undefined || account.accountId === first.accountId ? 'ebsim' : `ebsim-${account.accountId}`;
    const dir = app.iam.inAccount(account.accountId);
    let created = false;
    if (!dir.users().some((u) => u.UserName === DEFAULT_USER)) {
      // No caller exists yet: ebsim's own setup, not an AWS call, so nothing is recorded.
      dir.addUser(DEFAULT_USER);
      // Alice is the account's administrator, so the seed's flow (create a key, launch an
      // encrypted instance…) is allowed once identity policies decide; other users start with none.
      dir.policies.attach(dir.holder('user', DEFAULT_USER), ADMINISTRATOR_ACCESS);
      const key: AccessKey = dir.addAccessKey(DEFAULT_USER);
      writeCredentials(app.paths.credentials, key, account.region, profile);
      created = true;
    }
    const alice = dir.resolveAs(DEFAULT_USER);
    // Written on every run (it holds no secret): homes made before it existed get it too.
    const configFile = join(app.paths.dir, 'config');
    writeHomeConfig(configFile, { profile, region: account.region, endpointUrl });
    return {
      home: app.paths.dir,
      accountId: account.accountId,
      region: account.region,
      userArn: alice.arn,
      accessKeyId: alice.accessKeyId,
      credentialsFile: app.paths.credentials,
      profile,
      configFile,
      endpointUrl,
      created,
    };
  } finally {
    app.close();
  }
}

/**
 * The AWS shared-credentials format, written atomically with mode 0600: the profile's section
 * (`ebsim` by default) replaces one of the same name, other profiles stay as they were.
 */
export function writeCredentials(path: string, key: AccessKey, region: string, profile = 'ebsim'): void {
  const section = `[${profile}]\naws_access_key_id = ${key.AccessKeyId}\naws_secret_access_key = ${key.SecretAccessKey}\nregion = ${region}\n`;
  const old = existsSync(path) ? readFileSync(path, 'utf8') : '';
  const kept = withoutProfile(old, profile);
  const text = kept.trim() === ''
    ? `# Written by ebsim init: credentials of the IAM user ${key.UserName} in this ebsim home.\n${section}`
    : `${kept.replace(/\n*$/, '\n')}${section}`;
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, text, { mode: 0o600 });
  chmodSync(tmp, 0o600);
  renameSync(tmp, path);
}

/** The credentials file's text without the section `[profile]` (up to the next section). */
function withoutProfile(text: string, profile: string): string {
  const out: string[] = [];
  let skipping = false;
  for (const line of text.split('\n')) {
    const header = /^\s*\[([^\]]+)\]\s*$/.exec(line);
    if (header) skipping = header[1]!.trim() === profile;
    if (!skipping) out.push(line);
  }
  return out.join('\n');
}

export { homePaths };
