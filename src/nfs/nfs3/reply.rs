//! The reply encoding every procedure shares: file types, `fattr3` from a `statx`, post-op
//! attributes, weak cache consistency data and handles.

use super::*;

pub(super) const NF3REG: u32 = 1;
pub(super) const NF3DIR: u32 = 2;
pub(super) const NF3BLK: u32 = 3;
pub(super) const NF3CHR: u32 = 4;
pub(super) const NF3LNK: u32 = 5;
pub(super) const NF3SOCK: u32 = 6;
pub(super) const NF3FIFO: u32 = 7;

/// `fattr3`, plus the file-type bits for permission checks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attr {
    pub ftype: u32,
    pub fmt: u32,
    pub mode: u32,
    pub nlink: u32,
    pub uid: u32,
    pub gid: u32,
    pub size: u64,
    pub used: u64,
    pub rdev: (u32, u32),
    pub fsid: u64,
    pub fileid: u64,
    pub atime: (u32, u32),
    pub mtime: (u32, u32),
    pub ctime: (u32, u32),
}

impl Attr {
    pub(super) fn full_mode(&self) -> u32 {
        self.fmt | self.mode
    }

    pub(super) fn is_dir(&self) -> bool {
        self.ftype == NF3DIR
    }
}

pub(super) fn time3(t: &rustix::fs::StatxTimestamp) -> (u32, u32) {
    (t.tv_sec.clamp(0, i64::from(u32::MAX)) as u32, t.tv_nsec)
}

pub(super) fn attr_of(st: &Statx, fsid: u64, fileid: u64) -> Attr {
    let m = fs::mode_of(st);
    let fmt = m & fs::S_IFMT;
    let ftype = match fmt {
        fs::S_IFREG => NF3REG,
        fs::S_IFDIR => NF3DIR,
        fs::S_IFLNK => NF3LNK,
        0o060_000 => NF3BLK,
        0o020_000 => NF3CHR,
        0o140_000 => NF3SOCK,
        _ => NF3FIFO,
    };
    Attr {
        ftype,
        fmt,
        mode: m & 0o7777,
        nlink: st.stx_nlink,
        uid: st.stx_uid,
        gid: st.stx_gid,
        size: st.stx_size,
        used: st.stx_blocks.saturating_mul(512),
        rdev: (st.stx_rdev_major, st.stx_rdev_minor),
        fsid,
        fileid,
        atime: time3(&st.stx_atime),
        mtime: time3(&st.stx_mtime),
        ctime: time3(&st.stx_ctime),
    }
}

pub(super) fn put_attr(e: &mut Enc, a: &Attr) {
    e.u32(a.ftype)
        .u32(a.mode)
        .u32(a.nlink)
        .u32(a.uid)
        .u32(a.gid)
        .u64(a.size)
        .u64(a.used)
        .u32(a.rdev.0)
        .u32(a.rdev.1)
        .u64(a.fsid)
        .u64(a.fileid)
        .u32(a.atime.0)
        .u32(a.atime.1)
        .u32(a.mtime.0)
        .u32(a.mtime.1)
        .u32(a.ctime.0)
        .u32(a.ctime.1);
}

pub(super) fn put_post(e: &mut Enc, a: Option<&Attr>) {
    match a {
        Some(a) => {
            e.bool(true);
            put_attr(e, a);
        }
        None => {
            e.bool(false);
        }
    }
}

/// `wcc_attr`: what the client needs to tell whether someone else changed the object.
#[derive(Debug, Clone, Copy)]
pub(super) struct Pre {
    pub(super) size: u64,
    pub(super) mtime: (u32, u32),
    pub(super) ctime: (u32, u32),
}

pub(super) fn pre_of(a: &Attr) -> Pre {
    Pre {
        size: a.size,
        mtime: a.mtime,
        ctime: a.ctime,
    }
}

pub(super) fn put_wcc(e: &mut Enc, pre: Option<Pre>, post: Option<&Attr>) {
    match pre {
        Some(p) => {
            e.bool(true)
                .u64(p.size)
                .u32(p.mtime.0)
                .u32(p.mtime.1)
                .u32(p.ctime.0)
                .u32(p.ctime.1);
        }
        None => {
            e.bool(false);
        }
    }
    put_post(e, post);
}

pub(super) fn put_fh(e: &mut Enc, fh: &Fh) {
    e.opaque(&fh.encode());
}

pub(super) fn attr_for(fh: &Fh, view: &VolView, st: &Statx) -> Attr {
    match fh {
        Fh::Root { .. } | Fh::SnapRoot { .. } => {
            let fileid = match fh {
                Fh::SnapRoot { snapshot, .. } => snaproot_fileid(snapshot),
                _ => ROOT_FILEID,
            };
            let mut a = attr_of(st, view.fsid, fileid);
            a.mode = view.mode;
            a.uid = view.uid;
            a.gid = view.gid;
            a
        }
        _ => attr_of(st, view.fsid, st.stx_ino),
    }
}
