//! NFS file handles: what a handle names and how it is written on the wire.
//!
//! A handle carries the volume's UUID (stable across renames and restarts) and, for files below
//! the root, the inode number and a generation (derived from the inode's birth time, so a reused
//! inode number does not revive an old handle). The volume root, the virtual `.snapshot`
//! directory and snapshot roots have handles of their own kinds that do not depend on inode
//! numbers, so a mounted root stays valid across a snapshot restore, which replaces the volume's
//! directory. Nothing else is needed to find the file again after a restart: see `fs.rs`.

use uuid::Uuid;

/// The largest handle NFSv3 allows.
pub const FHSIZE3: usize = 64;
const MAGIC: u8 = b'O';
const VERSION: u8 = 1;

const KIND_ROOT: u8 = 1;
const KIND_SNAPDIR: u8 = 2;
const KIND_SNAPROOT: u8 = 3;
const KIND_NODE: u8 = 4;
const KIND_SNAPNODE: u8 = 5;
const KIND_QTREE_SNAPDIR: u8 = 6;

/// The file ids reported for objects whose inode is not stable: the volume root, `.snapshot`
/// and snapshot roots. Real inode numbers never have the top bit set.
pub const ROOT_FILEID: u64 = 0x8000_0000_0000_0040;
pub const SNAPDIR_FILEID: u64 = 0x8000_0000_0000_0041;

/// The file id of a qtree's `.snapshot` (one per qtree directory inode).
pub fn qtree_snapdir_fileid(qtree_ino: u64) -> u64 {
    0x8000_0002_0000_0000 | (qtree_ino & 0xffff_ffff)
}

pub fn snaproot_fileid(snap: &Uuid) -> u64 {
    let b = snap.as_bytes();
    0x8000_0001_0000_0000 | u64::from(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
}

/// Which file tree an object lives in: a volume's active file system or one of its snapshots.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TreeKey {
    pub volume: Uuid,
    pub snapshot: Option<Uuid>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Fh {
    /// The root of a volume's active file system.
    Root { volume: Uuid },
    /// The virtual `.snapshot` directory at a volume's root.
    SnapDir { volume: Uuid },
    /// The root of one snapshot.
    SnapRoot { volume: Uuid, snapshot: Uuid },
    /// The hidden `.snapshot` in a qtree's directory (the qtree's inode and generation in the
    /// active file system): its entries are the qtree's directory in each snapshot.
    QtreeSnapDir { volume: Uuid, ino: u64, gen: u32 },
    /// A file or directory below a root.
    Node { tree: TreeKey, ino: u64, gen: u32 },
}

impl Fh {
    pub fn volume(&self) -> Uuid {
        match self {
            Fh::Root { volume }
            | Fh::SnapDir { volume }
            | Fh::SnapRoot { volume, .. }
            | Fh::QtreeSnapDir { volume, .. } => *volume,
            Fh::Node { tree, .. } => tree.volume,
        }
    }

    /// The tree the object is in (`.snapshot` itself belongs to no tree: None).
    pub fn tree(&self) -> Option<TreeKey> {
        match self {
            Fh::Root { volume } => Some(TreeKey {
                volume: *volume,
                snapshot: None,
            }),
            Fh::SnapDir { .. } | Fh::QtreeSnapDir { .. } => None,
            Fh::SnapRoot { volume, snapshot } => Some(TreeKey {
                volume: *volume,
                snapshot: Some(*snapshot),
            }),
            Fh::Node { tree, .. } => Some(*tree),
        }
    }

    /// Objects inside snapshots (and `.snapshot` itself) are read-only.
    pub fn read_only(&self) -> bool {
        !matches!(
            self,
            Fh::Root { .. }
                | Fh::Node {
                    tree: TreeKey { snapshot: None, .. },
                    ..
                }
        )
    }

    pub fn encode(&self) -> Vec<u8> {
        let mut b = Vec::with_capacity(48);
        let kind = match self {
            Fh::Root { .. } => KIND_ROOT,
            Fh::SnapDir { .. } => KIND_SNAPDIR,
            Fh::SnapRoot { .. } => KIND_SNAPROOT,
            Fh::Node { tree, .. } if tree.snapshot.is_none() => KIND_NODE,
            Fh::Node { .. } => KIND_SNAPNODE,
            Fh::QtreeSnapDir { .. } => KIND_QTREE_SNAPDIR,
        };
        b.extend_from_slice(&[MAGIC, VERSION, kind, 0]);
        b.extend_from_slice(self.volume().as_bytes());
        match self {
            Fh::SnapRoot { snapshot, .. } => b.extend_from_slice(snapshot.as_bytes()),
            Fh::Node { tree, ino, gen } => {
                if let Some(s) = tree.snapshot {
                    b.extend_from_slice(s.as_bytes());
                }
                b.extend_from_slice(&ino.to_be_bytes());
                b.extend_from_slice(&gen.to_be_bytes());
            }
            Fh::QtreeSnapDir { ino, gen, .. } => {
                b.extend_from_slice(&ino.to_be_bytes());
                b.extend_from_slice(&gen.to_be_bytes());
            }
            _ => {}
        }
        b
    }

    /// Parse a handle; None for anything this server did not make (NFS3ERR_BADHANDLE).
    pub fn decode(b: &[u8]) -> Option<Fh> {
        if b.len() < 20 || b[0] != MAGIC || b[1] != VERSION || b[3] != 0 {
            return None;
        }
        let uuid_at = |at: usize| -> Option<Uuid> {
            b.get(at..at + 16).and_then(|s| Uuid::from_slice(s).ok())
        };
        let volume = uuid_at(4)?;
        let node = |at: usize| -> Option<(u64, u32)> {
            let ino = u64::from_be_bytes(b.get(at..at + 8)?.try_into().ok()?);
            let gen = u32::from_be_bytes(b.get(at + 8..at + 12)?.try_into().ok()?);
            Some((ino, gen))
        };
        let fh = match (b[2], b.len()) {
            (KIND_ROOT, 20) => Fh::Root { volume },
            (KIND_SNAPDIR, 20) => Fh::SnapDir { volume },
            (KIND_SNAPROOT, 36) => Fh::SnapRoot {
                volume,
                snapshot: uuid_at(20)?,
            },
            (KIND_NODE, 32) => {
                let (ino, gen) = node(20)?;
                Fh::Node {
                    tree: TreeKey {
                        volume,
                        snapshot: None,
                    },
                    ino,
                    gen,
                }
            }
            (KIND_QTREE_SNAPDIR, 32) => {
                let (ino, gen) = node(20)?;
                Fh::QtreeSnapDir { volume, ino, gen }
            }
            (KIND_SNAPNODE, 48) => {
                let (ino, gen) = node(36)?;
                Fh::Node {
                    tree: TreeKey {
                        volume,
                        snapshot: Some(uuid_at(20)?),
                    },
                    ino,
                    gen,
                }
            }
            _ => return None,
        };
        Some(fh)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn handles_round_trip_and_fit() {
        let v = Uuid::from_u128(1);
        let s = Uuid::from_u128(2);
        for fh in [
            Fh::Root { volume: v },
            Fh::SnapDir { volume: v },
            Fh::SnapRoot {
                volume: v,
                snapshot: s,
            },
            Fh::Node {
                tree: TreeKey {
                    volume: v,
                    snapshot: None,
                },
                ino: 77,
                gen: 9,
            },
            Fh::Node {
                tree: TreeKey {
                    volume: v,
                    snapshot: Some(s),
                },
                ino: 78,
                gen: 10,
            },
            Fh::QtreeSnapDir {
                volume: v,
                ino: 79,
                gen: 11,
            },
        ] {
            let b = fh.encode();
            assert!(b.len() <= FHSIZE3);
            assert_eq!(Fh::decode(&b), Some(fh));
        }
        assert_eq!(Fh::decode(&[0; 20]), None);
        assert_eq!(Fh::decode(&[]), None);
        let mut b = Fh::Root { volume: v }.encode();
        b.push(0);
        assert_eq!(Fh::decode(&b), None);
    }
}
