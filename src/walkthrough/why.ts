// The walkthrough's explanations, in ebsim's words: each step opens with why it works as it does,
// before anything runs. Tests check that each one is printed (test/walkthrough/walkthrough.test.ts).

export const WHY = {
  envelope: () =>
    `envelope encryption. The volume is encrypted under its own data key; only the data key is encrypted
    under the KMS key (the CMK), which never leaves KMS. KMS is called once per volume to make the data
    key, once per attach or mount to decrypt it, never per read or write: the host encrypts those.`,
  grant: () =>
    `the grant. The aws/ebs key policy names no instance; an instance's role has no permissions of its own.
    So EC2 gives the role (aws:ec2-infrastructure in the instance's session: "host i-…" below) a grant to
    Decrypt, constrained to this volume's encryption context: this volume only, revocable alone.`,
  context: (volumeId: string) =>
    `the encryption context. {"aws:ebs:id": "${volumeId}"} is not secret but authenticated: bound into
    the encrypted data key, shown in every trail record, named by the grant. A mismatch fails twice: the
    grant does not apply, and even a caller the key policy allows cannot open the blob.`,
  plaintextKey: () =>
    `where the plaintext key lives. To mount, the host decrypts the data key (as the instance's role) and
    hands it to the device daemon over a pipe: it lives in that process's memory only, never on disk,
    until unmount. Each mount asks KMS again: there a disabled key or a revoked grant bites.`,
  xts: () =>
    `XTS. The daemon encrypts each 4096-byte sector with AES-256-XTS: length-preserving (no IV or tag to
    store), random-access (any sector alone), the sector number as tweak (equal plaintexts differ on
    disk), no integrity check. Each claim below would fail on an unencrypted image.`,
  stolen: () =>
    `a stolen image. A copied image is ciphertext, and its data key exists only encrypted under a CMK that
    stays inside KMS: the image and the encrypted data key together are useless to anyone else.`,
  keyPolicy: (region: string) =>
    `the key policy. Why can Alice not decrypt her own volume's data key? The aws/ebs policy lets the account
    use the key only through EC2 (kms:ViaService = ec2.${region}.amazonaws.com): EC2 calling for her carries
    that value; Alice calling KMS directly does not.`,
  revoke: () =>
    `revoking the grant. The data stays on disk, intact, but the instance's role can no longer decrypt
    the data key, so the host cannot mount the volume. The key and other volumes are untouched.`,
  disabled: () =>
    `a key disabled while mounted. KMS stops using the key at once, but a mounted volume does not need
    KMS: the daemon holds the data key. The next mount needs Decrypt: DisabledException. So on AWS: an
    attached volume keeps working, the next attach fails (KMS guide, "unusable-kms-keys").`,
  rotation: () =>
    `key rotation. Rotating a CMK adds new key material for new data keys and keeps the old, so data keys
    encrypted before still decrypt. Volumes are not re-encrypted: their data keys did not change.`,
  explain: (volumeId: string) =>
    `the envelope is a chain: a broken link stops the next mount. ebsim explain VOLUME-ID shows each
    link from the CMK to the image; a broken one with what it breaks and the record that broke it.`,
  snapshotContext: () =>
    `a snapshot keeps the volume's context. A snapshot is the volume's sectors as they are on disk, so it
    keeps the volume's data key, encrypted as it was, bound to {"aws:ebs:id": VOLUME-ID}: no KMS call.
    Whoever may open the volume's data key may open the snapshot's. A copy is bound to its own ID.`,
  reencrypt: (key: string) =>
    `restoring under another key. A data key is bound to one KMS key: a volume under ${key} needs a data key
    made under ${key}, so EC2 makes one, opens both keys as its infrastructure through grants, and decrypts
    and encrypts every written sector. The same plaintext, other ciphertext; the grants retired when done.`,
  stopStart: (key: string) =>
    `stop and start. A stopped instance has no host: EC2 retires its grants, and the start asks KMS
    again, with the caller's permissions: EC2 creates the grant for the caller. With a customer managed key
    (${key}) that takes kms:CreateGrant in the caller's policy: without it the instance goes back to stopped.`,
  share: (other: string) =>
    `sharing a snapshot. Sharing (createVolumePermission) lets account ${other} name the snapshot, not
    read it: its data key is under Alice's KMS key, so the copy needs EC2 to make a grant on that key for
    the copier, which Alice's key policy must allow. The copy is then re-encrypted under a key of its own.`,
} as const;

export type WhyTopic = keyof typeof WHY;
