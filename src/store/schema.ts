// The one SQLite schema. Every statement is idempotent so that many processes may open
// the same home at once and each may be the first.
export const SCHEMA = `
CREATE TABLE IF NOT EXISTS accounts (
  account_id TEXT PRIMARY KEY,
  region TEXT NOT NULL,
  created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS principals (
  arn TEXT PRIMARY KEY,
  account_id TEXT NOT NULL,
  kind TEXT NOT NULL CHECK (kind IN ('user', 'role')),
  name TEXT NOT NULL,
  principal_id TEXT NOT NULL UNIQUE,
  created_at TEXT NOT NULL,
  UNIQUE (account_id, kind, name)
);
CREATE TABLE IF NOT EXISTS access_keys (
  access_key_id TEXT PRIMARY KEY,
  secret_access_key TEXT NOT NULL,
  principal_arn TEXT NOT NULL REFERENCES principals(arn),
  session_name TEXT,
  session_token TEXT,
  expires_at TEXT,
  status TEXT NOT NULL DEFAULT 'Active',
  created_at TEXT NOT NULL
);
-- A user's own first access key (--as names a user): every AssumeRole adds a row, so not a scan.
CREATE INDEX IF NOT EXISTS access_keys_by_principal ON access_keys(principal_arn, created_at);
-- IAM policies (issue 13). New tables only, so a home made before them still opens; a role
-- without an iam_roles row (made before) trusts its own account, as it did then.
CREATE TABLE IF NOT EXISTS iam_roles (
  role_arn TEXT PRIMARY KEY REFERENCES principals(arn),
  assume_role_policy TEXT NOT NULL,
  description TEXT,
  max_session_duration INTEGER NOT NULL DEFAULT 3600
);
CREATE TABLE IF NOT EXISTS iam_inline_policies (
  principal_arn TEXT NOT NULL REFERENCES principals(arn),
  policy_name TEXT NOT NULL,
  document TEXT NOT NULL,
  PRIMARY KEY (principal_arn, policy_name)
);
CREATE TABLE IF NOT EXISTS iam_policies (
  arn TEXT PRIMARY KEY,
  account_id TEXT NOT NULL,
  name TEXT NOT NULL,
  policy_id TEXT NOT NULL UNIQUE,
  description TEXT,
  default_version TEXT NOT NULL,
  next_version INTEGER NOT NULL,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL,
  UNIQUE (account_id, name)
);
CREATE TABLE IF NOT EXISTS iam_policy_versions (
  policy_arn TEXT NOT NULL REFERENCES iam_policies(arn),
  version_id TEXT NOT NULL,
  document TEXT NOT NULL,
  created_at TEXT NOT NULL,
  PRIMARY KEY (policy_arn, version_id)
);
-- policy_arn: a customer managed policy (iam_policies) or one of AWS's, built in: no foreign key.
CREATE TABLE IF NOT EXISTS iam_attachments (
  principal_arn TEXT NOT NULL REFERENCES principals(arn),
  policy_arn TEXT NOT NULL,
  attached_at TEXT NOT NULL,
  PRIMARY KEY (principal_arn, policy_arn)
);
CREATE INDEX IF NOT EXISTS iam_attachments_by_policy ON iam_attachments(policy_arn);
-- The session policy passed to AssumeRole, by the session's access key.
CREATE TABLE IF NOT EXISTS sts_session_policies (
  access_key_id TEXT PRIMARY KEY REFERENCES access_keys(access_key_id),
  document TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS kms_keys (
  key_id TEXT PRIMARY KEY,
  account_id TEXT NOT NULL,
  region TEXT NOT NULL,
  arn TEXT NOT NULL UNIQUE,
  description TEXT NOT NULL DEFAULT '',
  key_usage TEXT NOT NULL,
  key_spec TEXT NOT NULL,
  key_state TEXT NOT NULL,
  key_manager TEXT NOT NULL,
  origin TEXT NOT NULL,
  created_at TEXT NOT NULL,
  deletion_date TEXT,
  pending_window_days INTEGER,
  rotation_enabled INTEGER NOT NULL DEFAULT 0,
  rotation_period_days INTEGER,
  next_rotation_at TEXT,
  current_version INTEGER NOT NULL DEFAULT 1
);
-- ListKeys pages by keyset: each page one range of this index, however deep it starts.
CREATE INDEX IF NOT EXISTS kms_keys_in_order ON kms_keys(account_id, region, created_at, key_id);
-- The next deletion or automatic rotation due (asked before a KMS call whenever the state changed):
-- min() of a column reads the first entry of an index on it, and every key without one. Only keys
-- pending deletion, or enabled with rotation on, are in these.
CREATE INDEX IF NOT EXISTS kms_keys_deletions_due ON kms_keys(account_id, region, deletion_date) WHERE key_state = 'PendingDeletion';
CREATE INDEX IF NOT EXISTS kms_keys_rotations_due ON kms_keys(account_id, region, next_rotation_at) WHERE key_state = 'Enabled' AND rotation_enabled = 1;
CREATE TABLE IF NOT EXISTS kms_key_versions (
  key_id TEXT NOT NULL REFERENCES kms_keys(key_id),
  version INTEGER NOT NULL,
  wrapped_material BLOB NOT NULL,
  created_at TEXT NOT NULL,
  rotation_type TEXT,
  PRIMARY KEY (key_id, version)
);
CREATE TABLE IF NOT EXISTS kms_aliases (
  account_id TEXT NOT NULL,
  region TEXT NOT NULL,
  alias_name TEXT NOT NULL,
  target_key_id TEXT NOT NULL REFERENCES kms_keys(key_id),
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL,
  PRIMARY KEY (account_id, region, alias_name)
);
-- A key's aliases (kms:ResourceAliases, an AWS managed key's default policy; DeleteKey).
CREATE INDEX IF NOT EXISTS kms_aliases_by_key ON kms_aliases(target_key_id, alias_name);
CREATE TABLE IF NOT EXISTS kms_grants (
  grant_id TEXT PRIMARY KEY,
  key_id TEXT NOT NULL REFERENCES kms_keys(key_id),
  name TEXT,
  grantee_principal TEXT NOT NULL,
  retiring_principal TEXT,
  issuing_account TEXT NOT NULL,
  operations TEXT NOT NULL,
  constraints TEXT,
  created_at TEXT NOT NULL,
  state TEXT NOT NULL DEFAULT 'live' CHECK (state IN ('live', 'retired', 'revoked')),
  ended_at TEXT
);
CREATE INDEX IF NOT EXISTS kms_grants_by_key ON kms_grants(key_id, state);
-- A key may hold 50,000 live grants: every question asked of them goes through an index on the
-- live ones, never a scan of the key's grants. Authorization asks by (key, grantee); ListGrants
-- pages in (created_at, grant_id) order, by key or by key and grantee; CreateGrant's idempotency
-- asks by name; ListRetirableGrants by retiring principal.
CREATE INDEX IF NOT EXISTS kms_grants_live_by_grantee ON kms_grants(key_id, grantee_principal, created_at, grant_id) WHERE state = 'live';
CREATE INDEX IF NOT EXISTS kms_grants_live_in_order ON kms_grants(key_id, created_at, grant_id) WHERE state = 'live';
CREATE INDEX IF NOT EXISTS kms_grants_live_by_name ON kms_grants(key_id, name, created_at, grant_id) WHERE state = 'live' AND name IS NOT NULL;
CREATE INDEX IF NOT EXISTS kms_grants_live_by_retiring ON kms_grants(retiring_principal, created_at, grant_id) WHERE state = 'live' AND retiring_principal IS NOT NULL;
-- Each key's number of live grants (the grants-per-key quota), kept by triggers so that every
-- writer of kms_grants (key deletion included, and an older ebsim on the same home) keeps it true.
CREATE TABLE IF NOT EXISTS kms_grant_counts (
  key_id TEXT PRIMARY KEY,
  live INTEGER NOT NULL
);
CREATE TRIGGER IF NOT EXISTS kms_grants_count_insert AFTER INSERT ON kms_grants WHEN NEW.state = 'live' BEGIN
  INSERT INTO kms_grant_counts (key_id, live) VALUES (NEW.key_id, 1) ON CONFLICT (key_id) DO UPDATE SET live = live + 1;
END;
CREATE TRIGGER IF NOT EXISTS kms_grants_count_end AFTER UPDATE OF state ON kms_grants WHEN OLD.state = 'live' AND NEW.state <> 'live' BEGIN
  UPDATE kms_grant_counts SET live = live - 1 WHERE key_id = OLD.key_id;
END;
CREATE TRIGGER IF NOT EXISTS kms_grants_count_delete AFTER DELETE ON kms_grants WHEN OLD.state = 'live' BEGIN
  UPDATE kms_grant_counts SET live = live - 1 WHERE key_id = OLD.key_id;
END;
-- A key's policy document, exactly as given (GetKeyPolicy returns it byte for byte). A key without
-- a row has AWS's default policy for its kind (src/kms/default-policies.ts): homes made before key
-- policies were stored open unchanged. AWS names every key policy "default".
CREATE TABLE IF NOT EXISTS kms_key_policies (
  key_id TEXT NOT NULL REFERENCES kms_keys(key_id),
  policy_name TEXT NOT NULL DEFAULT 'default',
  document TEXT NOT NULL,
  updated_at TEXT NOT NULL,
  PRIMARY KEY (key_id, policy_name)
);
-- A key's tags (TagResource, CreateKey's Tags). Tag keys are case-sensitive, as AWS has them
-- (BINARY collation); a key has at most 50. Removed with the key when its deletion comes due.
CREATE TABLE IF NOT EXISTS kms_key_tags (
  key_id TEXT NOT NULL REFERENCES kms_keys(key_id),
  tag_key TEXT NOT NULL,
  tag_value TEXT NOT NULL,
  PRIMARY KEY (key_id, tag_key)
);
-- Multi-Region keys (src/kms/multi-region.ts): which Region holds each set's primary key. The keys
-- of a set are kms_keys rows stored under 'mrk-…/REGION'; a single-Region key has no row here.
CREATE TABLE IF NOT EXISTS kms_multi_region_keys (
  key_id TEXT PRIMARY KEY,
  account_id TEXT NOT NULL,
  primary_region TEXT NOT NULL
);
-- Imported key material (Origin EXTERNAL), one row per material a key has had: its identifier
-- (AWS's KeyMaterialId, derived from the key ID and the material), whether it is imported now
-- (the wrapped bytes are then a kms_key_versions row, deleted when the material is deleted or
-- expires), its expiry and, for a symmetric key's later materials, its on-demand rotation. A
-- material with a version above the key's current_version waits for RotateKeyOnDemand
-- (PENDING_ROTATION). Versions are never reused, so no process can hold stale bytes for one.
CREATE TABLE IF NOT EXISTS kms_imported_materials (
  key_id TEXT NOT NULL REFERENCES kms_keys(key_id),
  version INTEGER NOT NULL,
  key_material_id TEXT NOT NULL,
  description TEXT,
  import_state TEXT NOT NULL CHECK (import_state IN ('IMPORTED', 'PENDING_IMPORT')),
  expiration_model TEXT,
  valid_to TEXT,
  rotated_at TEXT,
  PRIMARY KEY (key_id, version),
  UNIQUE (key_id, key_material_id)
);
CREATE INDEX IF NOT EXISTS kms_imported_materials_by_expiry ON kms_imported_materials(valid_to) WHERE import_state = 'IMPORTED' AND valid_to IS NOT NULL;
-- Instances, volumes and snapshots live in one Region of their account (the column region): EC2
-- answers for them only there. Their IDs are unique in the home, whatever the account and Region.
CREATE TABLE IF NOT EXISTS ec2_instances (
  instance_id TEXT PRIMARY KEY,
  account_id TEXT NOT NULL,
  reservation_id TEXT NOT NULL,
  image_id TEXT NOT NULL,
  instance_type TEXT NOT NULL,
  state TEXT NOT NULL,
  availability_zone TEXT NOT NULL,
  launch_time TEXT NOT NULL,
  client_token TEXT,
  root_device_name TEXT NOT NULL,
  region TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS ec2_volumes (
  volume_id TEXT PRIMARY KEY,
  account_id TEXT NOT NULL,
  size_gib INTEGER NOT NULL,
  volume_type TEXT NOT NULL,
  availability_zone TEXT NOT NULL,
  state TEXT NOT NULL,
  encrypted INTEGER NOT NULL,
  kms_key_arn TEXT,
  encrypted_data_key BLOB,
  snapshot_id TEXT,
  sector_size INTEGER NOT NULL DEFAULT 4096,
  created_at TEXT NOT NULL,
  instance_id TEXT,
  device TEXT,
  attach_time TEXT,
  delete_on_termination INTEGER NOT NULL DEFAULT 0,
  grant_id TEXT,
  formatted INTEGER NOT NULL DEFAULT 0,
  region TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS ec2_snapshots (
  snapshot_id TEXT PRIMARY KEY,
  account_id TEXT NOT NULL,
  volume_id TEXT NOT NULL,
  volume_size INTEGER NOT NULL,
  state TEXT NOT NULL,
  encrypted INTEGER NOT NULL,
  kms_key_arn TEXT,
  encrypted_data_key BLOB,
  description TEXT NOT NULL DEFAULT '',
  start_time TEXT NOT NULL,
  region TEXT NOT NULL
);
-- Why an instance is in its state (issue 15): AWS's StateReason (code and message) and
-- StateTransitionReason. New table, so a home made before it still opens; an instance without a
-- row has neither, as a running instance on AWS.
CREATE TABLE IF NOT EXISTS ec2_instance_state_reasons (
  instance_id TEXT PRIMARY KEY REFERENCES ec2_instances(instance_id),
  code TEXT,
  message TEXT,
  transition_reason TEXT NOT NULL DEFAULT ''
);
-- Snapshots deleted (DeleteSnapshot drops their rows): what tells an image left by a delete killed
-- before its unlink from one whose row this database never had (restored from an older backup),
-- which must stay. Volume rows are never dropped (state 'deleted'). New table, so a home made
-- before it still opens; its earlier deletes have no tombstone, and their leftovers stay.
CREATE TABLE IF NOT EXISTS ec2_snapshot_tombstones (
  snapshot_id TEXT PRIMARY KEY,
  deleted_at TEXT NOT NULL
);
-- How a snapshot's or volume's image was made (issue 15): the volume or snapshot it copies, the
-- aws:ebs:id its data key is bound to (a snapshot of a volume shares the volume's), how far the
-- copy is (percent) and why it failed. New table, so a home made before it still opens: a
-- snapshot without a row is complete and its data key is bound to its own ID, as ebsim made them.
CREATE TABLE IF NOT EXISTS ec2_image_details (
  resource_id TEXT PRIMARY KEY,
  source_id TEXT,
  context_id TEXT,
  progress INTEGER NOT NULL DEFAULT 100,
  state_message TEXT
);
-- A snapshot's createVolumePermission (ModifySnapshotAttribute): the accounts, or the group
-- "all", that may copy it or create volumes from it. New table, so a home made before it still
-- opens: a snapshot without rows is shared with no one, as a new snapshot on AWS.
CREATE TABLE IF NOT EXISTS ec2_snapshot_permissions (
  snapshot_id TEXT NOT NULL,
  grantee TEXT NOT NULL,
  PRIMARY KEY (snapshot_id, grantee)
);
-- The grants EC2 made for a copy's worker (a re-encrypting CopySnapshot, or a volume restored from
-- a snapshot under another key), each noted as soon as KMS answers, before the copy starts, and
-- dropped once retired. A row left behind means the copy's maker died: the call that settles the
-- copy (src/ec2/image-jobs.ts) retires the grant in its key's Region, EC2 acting for the copy's
-- caller (caller: the Principal as JSON; NULL for a copy of an ebsim from before this table,
-- then EC2's infrastructure session for the copy). New table: a home made before it still opens
-- (its interrupted copies' grants are found once, by their grantee: MIGRATIONS).
CREATE TABLE IF NOT EXISTS ec2_copy_grants (
  grant_id TEXT PRIMARY KEY,
  resource_id TEXT NOT NULL,
  account_id TEXT NOT NULL,
  region TEXT NOT NULL,
  key_arn TEXT NOT NULL,
  caller TEXT
);
CREATE INDEX IF NOT EXISTS ec2_copy_grants_by_resource ON ec2_copy_grants(resource_id);
-- Before every EC2 call, the instances stopping and the copies under way (snapshots pending,
-- volumes creating) are looked up by state: few rows, among every instance and volume ever made
-- (volume rows stay, deleted). Not on region: a home from before Regions gets it after this.
CREATE INDEX IF NOT EXISTS ec2_instances_by_state ON ec2_instances(state, account_id);
CREATE INDEX IF NOT EXISTS ec2_volumes_by_state ON ec2_volumes(state, account_id);
CREATE INDEX IF NOT EXISTS ec2_snapshots_by_state ON ec2_snapshots(state, account_id);
-- An instance's volumes (each call on an instance, and each instance DescribeInstances shows).
CREATE INDEX IF NOT EXISTS ec2_volumes_by_instance ON ec2_volumes(instance_id) WHERE instance_id IS NOT NULL;
-- RunInstances's idempotency: the instance an earlier call with the same client token launched.
CREATE INDEX IF NOT EXISTS ec2_instances_by_client_token ON ec2_instances(client_token) WHERE client_token IS NOT NULL;
-- EBS encryption by default, per account and Region. No row: disabled, with the AWS managed key
-- (alias/aws/ebs) as the default key, as in a new AWS account. kms_key_id NULL: that managed key.
CREATE TABLE IF NOT EXISTS ec2_ebs_encryption_defaults (
  account_id TEXT NOT NULL,
  region TEXT NOT NULL,
  enabled INTEGER NOT NULL DEFAULT 0,
  kms_key_id TEXT,
  updated_at TEXT NOT NULL,
  PRIMARY KEY (account_id, region)
);
`;

/**
 * A change of meaning for homes made by an older ebsim, run once, in the transaction that makes
 * the schema: when `ifTable` existed before this open and `unlessTable` did not (trail tables as
 * `trail.NAME`), or `ifTable` existed without the column `unlessColumn`.
 */
export type Migration = { ifTable: string; sql: string } & ({ unlessTable: string } | { unlessColumn: string });

/** The Region of an account's EC2 rows made before Regions: the account's own (the first account's if it has no row). */
const HOME_REGION_OF = (table: string) =>
  `coalesce((SELECT a.region FROM accounts a WHERE a.account_id = ${table}.account_id), (SELECT region FROM accounts ORDER BY rowid LIMIT 1), 'us-east-1')`;

/** EC2 rows from before Regions were in their account's own Region, the only one EC2 had then. */
const ec2RegionMigration = (table: string): Migration => ({
  ifTable: table,
  unlessColumn: 'region',
  sql: `ALTER TABLE ${table} ADD COLUMN region TEXT NOT NULL DEFAULT ''; UPDATE ${table} SET region = ${HOME_REGION_OF(table)}`,
});

export const MIGRATIONS: readonly Migration[] = [
  // Before identity policies existed, every IAM user could use every customer managed key (a
  // fixed rule). Such users keep that power as AdministratorAccess; new users start with nothing.
  {
    ifTable: 'principals',
    unlessTable: 'iam_attachments',
    sql: `INSERT OR IGNORE INTO iam_attachments (principal_arn, policy_arn, attached_at)
          SELECT arn, 'arn:aws:iam::aws:policy/AdministratorAccess', strftime('%Y-%m-%dT%H:%M:%SZ', 'now') FROM principals WHERE kind = 'user'`,
  },
  // Grants made before their counts were kept: count them once (the triggers keep the counts from then on).
  {
    ifTable: 'kms_grants',
    unlessTable: 'kms_grant_counts',
    sql: `INSERT OR REPLACE INTO kms_grant_counts (key_id, live) SELECT key_id, count(*) FROM kms_grants WHERE state = 'live' GROUP BY key_id`,
  },
  // A lookup index from before it had scopes (its terms name no account or Region): dropped, and
  // every row left below the index's range, to be found by scan and indexed again a slice per commit.
  {
    ifTable: 'trail.trail_postings',
    unlessTable: 'trail.trail_scopes',
    sql: `DELETE FROM trail.trail_postings; UPDATE trail.trail_index_state SET lo = hi + 1, gen = gen + 1 WHERE id = 1`,
  },
  // Copies an older ebsim left half-made (a snapshot `pending`, a volume `creating`) noted no
  // grants: their workers' live grants are found by grantee ("ACCOUNT:aws:ec2-infrastructure:ID",
  // the form ebsim's EC2 names them in), to be retired when the copies are settled.
  {
    ifTable: 'ec2_snapshots',
    unlessTable: 'ec2_copy_grants',
    sql: `INSERT OR IGNORE INTO ec2_copy_grants (grant_id, resource_id, account_id, region, key_arn, caller)
          SELECT g.grant_id, r.id, r.account_id, k.region, k.arn, NULL
          FROM (SELECT snapshot_id AS id, account_id FROM ec2_snapshots WHERE state = 'pending'
                UNION ALL SELECT volume_id, account_id FROM ec2_volumes WHERE state = 'creating') r
          JOIN kms_grants g ON g.grantee_principal = r.account_id || ':aws:ec2-infrastructure:' || r.id AND g.state = 'live'
          JOIN kms_keys k ON k.key_id = g.key_id`,
  },
  ec2RegionMigration('ec2_instances'),
  ec2RegionMigration('ec2_volumes'),
  ec2RegionMigration('ec2_snapshots'),
];

// The trail lives in its own file (trail.db, attached as schema "trail"). Its constant stream
// of inserts then never changes the state database's data_version, which is what tells a
// long-running process that another one changed keys, aliases or grants (see read-cache.ts).
export const TRAIL_SCHEMA = `
CREATE TABLE IF NOT EXISTS trail.trail_events (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  event_id TEXT NOT NULL,
  event_time TEXT NOT NULL,
  event_source TEXT NOT NULL,
  event_name TEXT NOT NULL,
  username TEXT,
  access_key_id TEXT,
  read_only INTEGER,
  resource_names TEXT NOT NULL,
  record TEXT NOT NULL
);
-- No secondary indexes on the trail: each costs about a tenth of the insert rate, and
-- LookupEvents asks by eight attributes and by time. Its index is trail_postings instead.
-- The LookupEvents index (src/trail/postings.ts): per term (an attribute and value), chunks of
-- the seqs and times of its records, oldest first. A term's last chunk is open and grows; closed
-- chunks are listed in a covering index, so a lookup picks them by seq and time unread.
CREATE TABLE IF NOT EXISTS trail.trail_postings (
  id INTEGER PRIMARY KEY,
  term TEXT NOT NULL,
  first_seq INTEGER NOT NULL,
  last_seq INTEGER NOT NULL,
  min_t INTEGER NOT NULL,
  max_t INTEGER NOT NULL,
  n INTEGER NOT NULL,
  closed INTEGER NOT NULL DEFAULT 0,
  entries BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS trail.trail_postings_open ON trail_postings(term) WHERE closed = 0;
CREATE INDEX IF NOT EXISTS trail.trail_postings_closed ON trail_postings(term, first_seq, last_seq, min_t, max_t, n) WHERE closed = 1;
-- The retention drops the closed chunks whose records are all gone: found by their last seq, not by
-- reading every closed chunk's entry (one index entry per chunk closed, a few hundred records each).
CREATE INDEX IF NOT EXISTS trail.trail_postings_closed_by_end ON trail_postings(last_seq) WHERE closed = 1;
-- The scopes (an account and a Region) the index has terms for; a home-wide lookup reads each.
CREATE TABLE IF NOT EXISTS trail.trail_scopes (
  scope TEXT PRIMARY KEY
) WITHOUT ROWID;
-- The seq range the index covers, and a generation that anything but a writer's commit bumps
-- when it changes the index (retention). Made once: a trail from before the index starts with
-- all of its rows below the range (each commit then indexes a slice of them).
CREATE TABLE IF NOT EXISTS trail.trail_index_state (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  lo INTEGER NOT NULL,
  hi INTEGER NOT NULL,
  gen INTEGER NOT NULL DEFAULT 0
);
-- The retention (src/trail/retention.ts): no row, 90 days and no cap on the number of records.
CREATE TABLE IF NOT EXISTS trail.trail_retention (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  days INTEGER NOT NULL,
  max_records INTEGER
);
-- Deliveries under way: the seq range being written to log files, dropped with its rows.
CREATE TABLE IF NOT EXISTS trail.trail_deliveries (
  id INTEGER PRIMARY KEY,
  first_seq INTEGER NOT NULL,
  last_seq INTEGER NOT NULL,
  files TEXT NOT NULL,
  created_at TEXT NOT NULL
);
INSERT OR IGNORE INTO trail.trail_index_state (id, lo, hi) SELECT 1, coalesce(max(seq), 0) + 1, coalesce(max(seq), 0) FROM trail.trail_events;
-- Each key's last successful cryptographic use (GetKeyLastUsage), written at most once a second
-- per process (kms/last-usage.ts). Here rather than in the state database: like the trail's
-- records, these writes must not tell other processes that keys changed.
CREATE TABLE IF NOT EXISTS trail.kms_key_last_usage (
  key_id TEXT PRIMARY KEY,
  operation TEXT NOT NULL,
  used_at TEXT NOT NULL,
  event_id TEXT NOT NULL,
  request_id TEXT NOT NULL
);
-- When tracking began in this home (GetKeyLastUsage's TrackingStartDate for older keys).
CREATE TABLE IF NOT EXISTS trail.kms_usage_tracking (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  started_at TEXT NOT NULL
);
INSERT OR IGNORE INTO trail.kms_usage_tracking VALUES (1, strftime('%Y-%m-%dT%H:%M:%fZ', 'now'));
`;
