// The walkthrough's explanations, in ebsim's words: each step opens with why it works as it does,
// before anything runs. Tests check that each one is printed (test/walkthrough/walkthrough.test.ts).

export const WHY = {
  envelope: () =>
    `envelope encryption. The volume is encrypted under a data key of its own, and only that data key is
    encrypted under the KMS key (the CMK), which never leaves KMS. KMS is called once per volume to make the
    data key and once per attach or mount to decrypt it; reads and writes never call KMS: the host encrypts
    every sector itself.`,
  grant: () =>
    `the grant. The aws/ebs key policy names no instance, and an instance's role has no permissions of its
    own. So EC2 gives the instance's role (aws:ec2-infrastructure, in a session named after the instance:
    "host i-…" below) a grant to Decrypt, constrained to this volume's encryption context: good for this
    volume only, and revocable alone.`,
  context: (volumeId: string) =>
    `the encryption context. {"aws:ebs:id": "${volumeId}"} is not secret but authenticated: KMS binds it into
    the encrypted data key (AES-GCM's additional data), every trail record shows it, and the grant's
    constraint names it. A mismatch fails twice over: the grant does not apply, and even a caller the key
    policy allows cannot open the blob.`,
  plaintextKey: () =>
    `where the plaintext key lives. To mount, the host decrypts the data key (as the instance's role) and
    hands it to the device daemon over a pipe: it lives in that process's memory only, never on disk, until
    unmount. Every later mount asks KMS again: that is where a disabled key or a revoked grant bites.`,
  xts: () =>
    `XTS. The daemon encrypts each 4096-byte sector with AES-256-XTS: length-preserving (no room needed for an
    IV or a tag), random-access (any sector alone), with the sector number as tweak, so equal plaintexts in two
    sectors differ on disk. (The price: no integrity check.) Each claim below is checked on the real image,
    in a way that would fail without encryption.`,
  keyPolicy: (region: string) =>
    `the key policy. Why can Alice not decrypt her own volume's data key? The aws/ebs policy lets the
    account's principals use the key only through EC2 (kms:ViaService = ec2.${region}.amazonaws.com): EC2
    calling for her carries that value; Alice calling KMS directly does not.`,
  revoke: () =>
    `revoking the grant. The data stays on disk, encrypted and intact; but the instance's role can no longer
    decrypt the data key, so the host cannot mount the volume. The key and the other volumes are untouched.`,
  disabled: () =>
    `a key disabled while mounted. Disabling a key stops KMS from using it at once, but a mounted volume does
    not need KMS: the daemon holds the data key. The next mount needs Decrypt, and fails with
    DisabledException. AWS behaves the same: an attached volume keeps working, the next attach fails
    (docs.aws.amazon.com/kms/latest/developerguide/unusable-kms-keys.html).`,
  rotation: () =>
    `key rotation. Rotating a CMK adds new key material for new data keys and keeps the old, so data keys
    encrypted before still decrypt. Volumes are not re-encrypted: their data keys did not change.`,
  explain: (volumeId: string) =>
    `the envelope is a chain: a broken link stops the next mount. ebsim explain ${volumeId} shows each link
    from the CMK to the image, and marks a broken one with what it breaks and the record that broke it.`,
} as const;

export type WhyTopic = keyof typeof WHY;
