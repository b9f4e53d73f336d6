// The composition root: opens a home and wires the store, IAM, KMS and the trail together.
import { writeFileSync, renameSync, chmodSync, existsSync } from 'node:fs';
import { ensureHome, homeExists, homePaths, type HomePaths } from '../store/home.js';
import { openDatabase, type Db } from '../store/database.js';
import { RootKey } from '../store/root-key.js';
import { Trail } from '../trail/trail.js';
import { IamService, DEFAULT_ACCOUNT_ID, DEFAULT_REGION, DEFAULT_USER, type AccessKey } from '../iam/service.js';
import { ADMINISTRATOR_ACCESS } from '../iam/aws-managed-policies.js';
import { directCall, type CallContext } from '../core/call-context.js';
import { KmsService } from '../kms/service.js';
import { kmsClient } from '../kms/client.js';
import { Ec2Service } from '../ec2/service.js';
import { InstanceHost } from '../host/index.js';
import { CloudTrailService } from '../cloudtrail/service.js';
import { MissingRootKeyError, UserError } from '../errors/index.js';
import { homeFailure } from '../store/failure.js';

export interface Ebsim {
  paths: HomePaths;
  db: Db;
  trail: Trail;
  iam: IamService;
  /** KMS for the home's account and region (the home must be initialized). */
  kms(): KmsService;
  /** The EC2/EBS control plane of the home's account and region. */
  ec2(): Ec2Service;
  /** The instances' host: data keys, mounts and in-process access. Its mount table needs no database. */
  host(): InstanceHost;
  /** CloudTrail's API (LookupEvents) over the home's trail. */
  cloudtrail(): CloudTrailService;
  /** A direct call context for `--as` (user name or role/ROLE[/SESSION]). */
  as(spec?: string, userAgent?: string): CallContext;
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
  let kms: KmsService | undefined;
  let ec2: Ec2Service | undefined;
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
    kms() {
      if (!kms) {
        const c = open();
        const { accountId, region } = c.iam.requireAccount();
        kms = new KmsService(c.db, c.rootKey, c.trail, c.iam, accountId, region);
      }
      return kms;
    },
    ec2() {
      if (!ec2) {
        const c = open();
        const { accountId, region } = c.iam.requireAccount();
        ec2 = new Ec2Service(c.db, c.trail, c.iam, kmsClient(app.kms()), paths.volumes, accountId, region);
      }
      return ec2;
    },
    host() {
      host ??= new InstanceHost(paths.run, () => ({ ec2: app.ec2(), iam: open().iam, keys: kmsClient(app.kms()) }));
      return host;
    },
    cloudtrail() {
      if (!cloudtrail) {
        const c = open();
        cloudtrail = new CloudTrailService(c.db, c.trail, c.iam);
      }
      return cloudtrail;
    },
    as(spec = DEFAULT_USER, userAgent?: string) {
      const { iam } = open();
      const { region } = iam.requireAccount();
      return directCall(iam.resolveAs(spec), region, userAgent);
    },
    close() {
      if (!core) return;
      const { trail, db } = core;
      core = undefined;
      kms = ec2 = host = cloudtrail = undefined;
      try {
        trail.close();
      } finally {
        db.close();
      }
    },
  };
  return app;
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
    const trail = new Trail(db, paths.trail);
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
  created: boolean;
}

/** `ebsim init`: the account, the IAM user Alice (AdministratorAccess) with an access key, and an AWS credentials file. */
export function initHome(home: string, accountId = DEFAULT_ACCOUNT_ID, region = DEFAULT_REGION): InitResult {
  const app = openEbsim(home, { create: true });
  try {
    const existing = app.iam.account();
    if (existing && existing.accountId !== accountId && accountId !== DEFAULT_ACCOUNT_ID) {
      throw new UserError(`${home} already holds account ${existing.accountId}; use another --home for account ${accountId}`);
    }
    const account = existing ?? app.iam.ensureAccount(accountId, region);
    let created = false;
    let key: AccessKey | undefined;
    const users = app.iam.listUsers(undefined).Users;
    if (!users.some((u) => u.UserName === DEFAULT_USER)) {
      app.iam.createUser(undefined, DEFAULT_USER);
      // Alice is the account's administrator, so the seed's flow (create a key, launch an
      // encrypted instance…) is allowed once identity policies decide; other users start with none.
      app.iam.attachUserPolicy(undefined, DEFAULT_USER, ADMINISTRATOR_ACCESS);
      key = app.iam.createAccessKey(undefined, DEFAULT_USER).AccessKey;
      writeCredentials(app.paths.credentials, key, account.region);
      created = true;
    }
    const alice = app.iam.resolveAs(DEFAULT_USER);
    return {
      home: app.paths.dir,
      accountId: account.accountId,
      region: account.region,
      userArn: alice.arn,
      accessKeyId: alice.accessKeyId,
      credentialsFile: app.paths.credentials,
      created,
    };
  } finally {
    app.close();
  }
}

/** The AWS shared-credentials format, profile `ebsim`, written atomically with mode 0600. */
export function writeCredentials(path: string, key: AccessKey, region: string): void {
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(
    tmp,
    `# Written by ebsim init: credentials of the IAM user ${key.UserName} in this ebsim home.\n` +
      `[ebsim]\naws_access_key_id = ${key.AccessKeyId}\naws_secret_access_key = ${key.SecretAccessKey}\nregion = ${region}\n`,
    { mode: 0o600 },
  );
  chmodSync(tmp, 0o600);
  renameSync(tmp, path);
}

export { homePaths };
