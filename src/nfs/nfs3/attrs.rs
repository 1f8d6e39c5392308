//! GETATTR, SETATTR and ACCESS: attributes and what an identity may do.

use super::*;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum SetTime {
    Server,
    Client(u32, u32),
}

#[derive(Debug, Clone, Copy, Default)]
pub(super) struct Sattr {
    pub(super) mode: Option<u32>,
    pub(super) uid: Option<u32>,
    pub(super) gid: Option<u32>,
    pub(super) size: Option<u64>,
    pub(super) atime: Option<SetTime>,
    pub(super) mtime: Option<SetTime>,
}

impl Sattr {
    pub(super) fn is_empty(&self) -> bool {
        self.mode.is_none()
            && self.uid.is_none()
            && self.gid.is_none()
            && self.size.is_none()
            && self.atime.is_none()
            && self.mtime.is_none()
    }
}

pub(super) fn set_time(a: &mut Dec) -> Res<Option<SetTime>> {
    Ok(match a.u32()? {
        0 => None,
        1 => Some(SetTime::Server),
        2 => Some(SetTime::Client(a.u32()?, a.u32()?)),
        _ => return Err(crate::nfs::xdr::Short),
    })
}

pub(super) fn sattr_arg(a: &mut Dec) -> Res<Sattr> {
    Ok(Sattr {
        mode: a.option(|a| a.u32())?,
        uid: a.option(|a| a.u32())?,
        gid: a.option(|a| a.u32())?,
        size: a.option(|a| a.u64())?,
        atime: set_time(a)?,
        mtime: set_time(a)?,
    })
}

pub(super) fn getattr(cx: &Cx, a: &mut Dec, e: &mut Enc) -> Res<()> {
    let fh = fh_arg(a)?;
    match obtain(cx, fh) {
        Ok(o) => {
            status(e, Nfsstat::OK);
            put_attr(e, &o.attr);
        }
        Err(s) => status(e, s),
    }
    Ok(())
}

pub(super) fn setattr(cx: &Cx, a: &mut Dec, e: &mut Enc) -> Res<()> {
    let fh = fh_arg(a)?;
    let s = sattr_arg(a)?;
    let guard = a.option(|a| Ok((a.u32()?, a.u32()?)))?;
    let mut o = match obtain(cx, fh) {
        Ok(o) => o,
        Err(st) => {
            status(e, st);
            put_wcc(e, None, None);
            return Ok(());
        }
    };
    let pre = pre_of(&o.attr);
    let r = match guard {
        Some(g) if g != o.attr.ctime => Err(Nfsstat::NOT_SYNC),
        _ => set_attrs(cx, &o, &s, false),
    };
    // The root's attributes may have changed in the model: look again.
    if o.is_active_root() {
        if let Ok(fresh) = obtain_fh(cx, o.fh) {
            o = fresh;
        }
    } else {
        o.refresh();
    }
    status(e, r.err().unwrap_or(Nfsstat::OK));
    put_wcc(e, Some(pre), Some(&o.attr));
    Ok(())
}

pub(super) fn timespec(t: Option<SetTime>) -> Timespec {
    match t {
        None => Timespec {
            tv_sec: 0,
            tv_nsec: rfs::UTIME_OMIT,
        },
        Some(SetTime::Server) => Timespec {
            tv_sec: 0,
            tv_nsec: rfs::UTIME_NOW,
        },
        Some(SetTime::Client(s, n)) => Timespec {
            tv_sec: i64::from(s),
            tv_nsec: i64::from(n.min(999_999_999)),
        },
    }
}

/// Apply a `sattr3`. `fresh`: the caller just created the object (no permission checks).
pub(super) fn set_attrs(cx: &Cx, o: &Obj, s: &Sattr, fresh: bool) -> NfsRes<()> {
    if s.is_empty() {
        return Ok(());
    }
    o.check_writable()?;
    let who = o.who();
    let owner = who.is_root() || who.uid == o.attr.uid;
    // Giving a file away is for root alone, even for a file just created.
    if s.uid.is_some_and(|u| u != o.attr.uid) && !who.is_root() {
        return Err(Nfsstat::PERM);
    }
    if s.gid
        .is_some_and(|g| g != o.attr.gid && !(who.is_root() || (owner && who.in_group(g))))
    {
        return Err(Nfsstat::PERM);
    }
    if !fresh {
        if s.mode.is_some() && !owner {
            return Err(Nfsstat::PERM);
        }
        if s.size.is_some() {
            o.check_io(W)?;
        }
        for t in [s.atime, s.mtime].into_iter().flatten() {
            match t {
                SetTime::Client(..) if !owner => return Err(Nfsstat::PERM),
                SetTime::Server if !owner => o.check(W)?,
                _ => {}
            }
        }
    }
    if s.uid == Some(u32::MAX) || s.gid == Some(u32::MAX) {
        return Err(Nfsstat::INVAL);
    }
    let times = (s.atime.is_some() || s.mtime.is_some()).then(|| Timestamps {
        last_access: timespec(s.atime),
        last_modification: timespec(s.mtime),
    });
    if o.is_active_root() {
        if s.size.is_some() {
            return Err(Nfsstat::ISDIR);
        }
        if s.mode.is_some() || s.uid.is_some() || s.gid.is_some() {
            let change = VolumeChange {
                unix_permissions: s.mode.map(|m| m & 0o7777),
                user_id: s.uid,
                group_id: s.gid,
                ..VolumeChange::default()
            };
            let (svm, name) = (o.view.svm.clone(), o.view.name.clone());
            cx.nfs
                .sim
                .mutate(|c| c.modify_volume(&svm, &name, change))
                .map_err(|e: ModelError| {
                    warn!(volume = %name, error = %e, "changing the volume root's attributes failed");
                    Nfsstat::IO
                })?;
        }
        if let Some(t) = times {
            let node = o.node()?;
            locked(cx, &o.view.uuid, || {
                rfs::utimensat(&node.at, c".", &t, AtFlags::empty())
            })?;
        }
        return Ok(());
    }
    let node = o.node()?;
    let name = node.name.as_deref().ok_or(Nfsstat::INVAL)?;
    if let Some(size) = s.size {
        if !is_reg(&node.st) {
            return Err(if is_dir(&node.st) {
                Nfsstat::ISDIR
            } else {
                Nfsstat::INVAL
            });
        }
        if size > i64::MAX as u64 {
            return Err(Nfsstat::FBIG);
        }
        let _s = cx.nfs.stripe(&o.view.uuid, node.ino());
        let cur = fs::statx_at(&node.at, name)?.stx_size;
        let delta = size as i64 - cur as i64;
        let owner = super::names::owner_of(&node.st);
        charge(cx, &o.view, owner, delta.max(0), 0)?;
        let r = locked(cx, &o.view.uuid, || -> NfsRes<()> {
            let f = node.open(OFlags::WRONLY)?;
            f.set_len(size)?;
            Ok(())
        });
        match r {
            Ok(()) if delta < 0 => refund(cx, &o.view, owner, -delta, 0),
            Ok(()) => {}
            Err(err) => {
                refund(cx, &o.view, owner, delta.max(0), 0);
                return Err(err);
            }
        }
    }
    locked(cx, &o.view.uuid, || -> NfsRes<()> {
        if s.uid.is_some() || s.gid.is_some() {
            rfs::chownat(
                &node.at,
                name,
                s.uid.map(uid),
                s.gid.map(gid),
                AtFlags::SYMLINK_NOFOLLOW,
            )?;
            // What user and group quotas count moved between owners.
            cx.nfs.sim.owners_changed(o.view.uuid);
        }
        if let Some(mut m) = s.mode {
            m &= 0o7777;
            if !who.is_root() && !who.in_group(s.gid.unwrap_or(o.attr.gid)) && !is_dir(&node.st) {
                m &= !0o2000;
            }
            if is_reg(&node.st) || is_dir(&node.st) {
                let f = node.open(OFlags::RDONLY | OFlags::NONBLOCK)?;
                rfs::fchmod(&f, Mode::from_raw_mode(m))?;
            } else if !is_lnk(&node.st) {
                // FIFOs, sockets and devices are never opened here: changed by name.
                rfs::chmodat(&node.at, name, Mode::from_raw_mode(m), AtFlags::empty())?;
            }
            // Symlinks have no mode of their own.
        }
        if let Some(t) = times {
            rfs::utimensat(&node.at, name, &t, AtFlags::SYMLINK_NOFOLLOW)?;
        }
        Ok(())
    })
}

pub const ACCESS3_READ: u32 = 0x01;
pub const ACCESS3_LOOKUP: u32 = 0x02;
pub const ACCESS3_MODIFY: u32 = 0x04;
pub const ACCESS3_EXTEND: u32 = 0x08;
pub const ACCESS3_DELETE: u32 = 0x10;
pub const ACCESS3_EXECUTE: u32 = 0x20;

pub(super) fn access(cx: &Cx, a: &mut Dec, e: &mut Enc) -> Res<()> {
    let fh = fh_arg(a)?;
    let want = a.u32()?;
    let o = match obtain(cx, fh) {
        Ok(o) => o,
        Err(s) => {
            status(e, s);
            put_post(e, None);
            return Ok(());
        }
    };
    let ok = |bits| o.check(bits).is_ok();
    let mut got = 0;
    if ok(R) {
        got |= ACCESS3_READ;
    }
    if o.attr.is_dir() {
        if ok(X) {
            got |= ACCESS3_LOOKUP;
        }
        if ok(W | X) {
            got |= ACCESS3_MODIFY | ACCESS3_EXTEND | ACCESS3_DELETE;
        }
    } else {
        if ok(W) {
            got |= ACCESS3_MODIFY | ACCESS3_EXTEND | ACCESS3_DELETE;
        }
        if ok(X) {
            got |= ACCESS3_EXECUTE;
        }
    }
    if o.check_writable().is_err() {
        got &= !(ACCESS3_MODIFY | ACCESS3_EXTEND | ACCESS3_DELETE);
    }
    status(e, Nfsstat::OK);
    put_post(e, Some(&o.attr));
    e.u32(got & want);
    Ok(())
}
