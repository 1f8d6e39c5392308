//! CREATE, MKDIR, SYMLINK and MKNOD: new objects with the right owner and mode.

use super::*;

/// What a create-type procedure makes.
pub(super) enum Make<'a> {
    File {
        how: u32,
        sattr: Sattr,
        verf: [u8; 8],
    },
    Dir(Sattr),
    Symlink(Sattr, &'a [u8]),
    /// MKNOD: a FIFO, a socket, or a character or block device (major, minor).
    Special {
        ftype: u32,
        sattr: Sattr,
        rdev: (u32, u32),
    },
}

pub(super) const UNCHECKED: u32 = 0;
pub(super) const GUARDED: u32 = 1;
pub(super) const EXCLUSIVE: u32 = 2;

pub(super) fn create(cx: &Cx, a: &mut Dec, e: &mut Enc) -> Res<()> {
    let dir = fh_arg(a)?;
    let name = name_arg(a)?;
    let how = a.u32()?;
    let (sattr, verf) = match how {
        UNCHECKED | GUARDED => (sattr_arg(a)?, [0u8; 8]),
        EXCLUSIVE => {
            let mut v = [0u8; 8];
            v.copy_from_slice(a.fixed(8)?);
            (Sattr::default(), v)
        }
        _ => return Err(crate::nfs::xdr::Short),
    };
    make(cx, e, dir, name, Make::File { how, sattr, verf });
    Ok(())
}

pub(super) fn mkdir(cx: &Cx, a: &mut Dec, e: &mut Enc) -> Res<()> {
    let dir = fh_arg(a)?;
    let name = name_arg(a)?;
    let sattr = sattr_arg(a)?;
    make(cx, e, dir, name, Make::Dir(sattr));
    Ok(())
}

pub(super) fn symlink(cx: &Cx, a: &mut Dec, e: &mut Enc) -> Res<()> {
    let dir = fh_arg(a)?;
    let name = name_arg(a)?;
    let sattr = sattr_arg(a)?;
    let target = a.opaque(MAX_PATH)?;
    make(cx, e, dir, name, Make::Symlink(sattr, target));
    Ok(())
}

pub(super) fn mknod(cx: &Cx, a: &mut Dec, e: &mut Enc) -> Res<()> {
    let dir = fh_arg(a)?;
    let name = name_arg(a)?;
    let ftype = a.u32()?;
    let (sattr, rdev) = match ftype {
        NF3CHR | NF3BLK => (sattr_arg(a)?, (a.u32()?, a.u32()?)),
        NF3SOCK | NF3FIFO => (sattr_arg(a)?, (0, 0)),
        NF3REG | NF3DIR | NF3LNK => {
            // Not a type MKNOD makes.
            status(e, Nfsstat::BADTYPE);
            put_wcc(e, None, None);
            return Ok(());
        }
        _ => return Err(crate::nfs::xdr::Short),
    };
    make(cx, e, dir, name, Make::Special { ftype, sattr, rdev });
    Ok(())
}

/// CREATE, MKDIR, SYMLINK and MKNOD: reply `post_op_fh3, post_op_attr, wcc_data` or `wcc_data`.
pub(super) fn make(cx: &Cx, e: &mut Enc, dir: &[u8], name: &[u8], what: Make) {
    let mut d = match obtain(cx, dir) {
        Ok(d) => d,
        Err(s) => {
            status(e, s);
            put_wcc(e, None, None);
            return;
        }
    };
    let pre = pre_of(&d.attr);
    let r = make_in(cx, &d, name, what);
    d.refresh();
    match r {
        Ok(o) => {
            status(e, Nfsstat::OK);
            e.bool(true);
            put_fh(e, &o.fh);
            put_post(e, Some(&o.attr));
        }
        Err(s) => status(e, s),
    }
    put_wcc(e, Some(pre), Some(&d.attr));
}

pub(super) fn make_in(cx: &Cx, d: &Obj, name: &[u8], what: Make) -> NfsRes<Obj> {
    if !d.attr.is_dir() {
        return Err(Nfsstat::NOTDIR);
    }
    d.check_writable()?;
    let n = new_name(d, name)?;
    d.check(W | X)?;
    let (tree, dnode) = d.on_disk.as_ref().ok_or(Nfsstat::ROFS)?;
    let key = d.fh.tree().ok_or(Nfsstat::ROFS)?;
    let dirfd = tree.dir_fd(dnode).map_err(stale_if_missing)?;
    let who = d.who().clone();
    let gid_new = new_gid(d);
    let epoch = cx
        .nfs
        .sim
        .data_epoch
        .load(std::sync::atomic::Ordering::Acquire);
    let found = |st: Statx| -> NfsRes<Obj> {
        tree.remember(st.stx_ino, dnode.ino(), n);
        let fh = Fh::Node {
            tree: key,
            ino: st.stx_ino,
            gen: fs::generation(&st),
        };
        Ok(Obj {
            fh,
            attr: attr_for(&fh, &d.view, &st),
            view: d.view.clone(),
            on_disk: Some((
                tree.clone(),
                Node {
                    at: dirfd.clone(),
                    name: Some(n.to_os_string()),
                    st,
                },
            )),
        })
    };
    let asked = match &what {
        Make::File { sattr, .. }
        | Make::Dir(sattr)
        | Make::Symlink(sattr, _)
        | Make::Special { sattr, .. } => sattr,
    };
    // Devices are made by root only, as on any POSIX server.
    if matches!(
        what,
        Make::Special {
            ftype: NF3CHR | NF3BLK,
            ..
        }
    ) && !who.is_root()
    {
        return Err(Nfsstat::PERM);
    }
    if asked.uid == Some(u32::MAX) || asked.gid == Some(u32::MAX) {
        return Err(Nfsstat::INVAL);
    }
    let existing = match fs::statx_at(&dirfd, n) {
        Ok(st) => Some(st),
        Err(Errno::NOENT) => None,
        Err(err) => return Err(err.into()),
    };
    match (&what, existing) {
        (Make::File { how, sattr, verf }, Some(st)) => {
            match *how {
                GUARDED => return Err(Nfsstat::EXIST),
                EXCLUSIVE => {
                    let (v0, v1) = verifier_times(verf);
                    if is_reg(&st)
                        && st.stx_atime.tv_sec as u32 == v0
                        && st.stx_mtime.tv_sec as u32 == v1
                    {
                        return found(st); // a retransmission of our own create
                    }
                    return Err(Nfsstat::EXIST);
                }
                _ => {}
            }
            if !is_reg(&st) {
                return Err(if is_dir(&st) {
                    Nfsstat::ISDIR
                } else {
                    Nfsstat::EXIST
                });
            }
            // UNCHECKED on an existing file: open it, applying only the size.
            let o = found(st)?;
            let size_only = Sattr {
                size: sattr.size,
                ..Sattr::default()
            };
            set_attrs(cx, &o, &size_only, false)?;
            let mut o = o;
            o.refresh();
            return Ok(o);
        }
        (_, Some(_)) => return Err(Nfsstat::EXIST),
        (_, None) => {}
    }
    let bytes = match &what {
        Make::Symlink(_, t) => t.len() as i64,
        _ => 0,
    };
    charge(cx, &d.view, (who.uid, gid_new), bytes, 1)?;
    let made = locked(cx, &d.view.uuid, || -> NfsRes<Statx> {
        match &what {
            Make::File {
                how, sattr, verf, ..
            } => {
                let mode = sattr.mode.unwrap_or(0o644) & 0o7777;
                // Made with its final mode when the server's owner is the caller and the umask
                // leaves the mode whole (no chown, no chmod); else private until given away.
                let direct = who.uid == server_uid() && mode & (0o7000 | umask()) == 0;
                let f = rfs::openat(
                    &dirfd,
                    n,
                    OFlags::CREATE
                        | OFlags::EXCL
                        | OFlags::RDWR
                        | OFlags::NOFOLLOW
                        | OFlags::CLOEXEC,
                    Mode::from_raw_mode(if direct { mode } else { 0o600 }),
                )?;
                let done = (|| -> NfsRes<Option<Statx>> {
                    let mut st = None;
                    if direct {
                        let now = fs::statx_fd(&f)?;
                        if now.stx_gid == gid_new && fs::mode_of(&now) & 0o7777 == mode {
                            st = Some(now);
                        } else {
                            rfs::fchown(&f, None, Some(gid(gid_new)))?;
                            rfs::fchmod(&f, Mode::from_raw_mode(mode))?;
                        }
                    } else {
                        rfs::fchown(&f, Some(uid(who.uid)), Some(gid(gid_new)))?;
                        rfs::fchmod(&f, Mode::from_raw_mode(mode))?;
                    }
                    if *how == EXCLUSIVE {
                        st = None;
                        let (v0, v1) = verifier_times(verf);
                        rfs::futimens(
                            &f,
                            &Timestamps {
                                last_access: Timespec {
                                    tv_sec: i64::from(v0),
                                    tv_nsec: 0,
                                },
                                last_modification: Timespec {
                                    tv_sec: i64::from(v1),
                                    tv_nsec: 0,
                                },
                            },
                        )?;
                    }
                    Ok(st)
                })();
                let st = match done {
                    Ok(Some(st)) => st,
                    Ok(None) => fs::statx_fd(&f)?,
                    Err(err) => {
                        let _ = rfs::unlinkat(&dirfd, n, AtFlags::empty());
                        return Err(err);
                    }
                };
                // Kept open for the WRITEs that follow a create (no open of it again).
                tree.keep_file(&st, std::fs::File::from(f), epoch);
                Ok(st)
            }
            Make::Dir(sattr) => {
                let mut mode = sattr.mode.unwrap_or(0o755) & 0o7777;
                if d.attr.mode & 0o2000 != 0 {
                    mode |= 0o2000;
                }
                rfs::mkdirat(&dirfd, n, Mode::from_raw_mode(0o700))?;
                let done = (|| -> NfsRes<Statx> {
                    let f = rfs::openat(
                        &dirfd,
                        n,
                        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
                        Mode::empty(),
                    )?;
                    rfs::fchown(&f, Some(uid(who.uid)), Some(gid(gid_new)))?;
                    rfs::fchmod(&f, Mode::from_raw_mode(mode))?;
                    Ok(fs::statx_fd(&f)?)
                })();
                if done.is_err() {
                    let _ = rfs::unlinkat(&dirfd, n, AtFlags::REMOVEDIR);
                }
                done
            }
            Make::Symlink(_, target) => {
                if target.is_empty() || target.contains(&0) {
                    return Err(Nfsstat::INVAL);
                }
                rfs::symlinkat(OsStr::from_bytes(target), &dirfd, n)?;
                rfs::chownat(
                    &dirfd,
                    n,
                    Some(uid(who.uid)),
                    Some(gid(gid_new)),
                    AtFlags::SYMLINK_NOFOLLOW,
                )?;
                Ok(fs::statx_at(&dirfd, n)?)
            }
            Make::Special { ftype, sattr, rdev } => {
                let (kind, dev) = match *ftype {
                    NF3CHR => (rfs::FileType::CharacterDevice, rfs::makedev(rdev.0, rdev.1)),
                    NF3BLK => (rfs::FileType::BlockDevice, rfs::makedev(rdev.0, rdev.1)),
                    NF3SOCK => (rfs::FileType::Socket, 0),
                    _ => (rfs::FileType::Fifo, 0),
                };
                let mode = sattr.mode.unwrap_or(0o644) & 0o7777;
                rfs::mknodat(&dirfd, n, kind, Mode::from_raw_mode(0o600), dev)?;
                let done = (|| -> NfsRes<Statx> {
                    rfs::chownat(
                        &dirfd,
                        n,
                        Some(uid(who.uid)),
                        Some(gid(gid_new)),
                        AtFlags::SYMLINK_NOFOLLOW,
                    )?;
                    rfs::chmodat(&dirfd, n, Mode::from_raw_mode(mode), AtFlags::empty())?;
                    Ok(fs::statx_at(&dirfd, n)?)
                })();
                if done.is_err() {
                    let _ = rfs::unlinkat(&dirfd, n, AtFlags::empty());
                }
                done
            }
        }
    });
    let st = match made {
        Ok(st) => st,
        Err(err) => {
            refund(cx, &d.view, (who.uid, gid_new), bytes, 1);
            return Err(err);
        }
    };
    let mut o = found(st)?;
    // Whatever else the client asked for at creation (size, times; mode was applied).
    let rest = match &what {
        Make::File { how, sattr, .. } if *how != EXCLUSIVE => Sattr {
            mode: None,
            // A new file is empty already.
            size: sattr.size.filter(|s| *s != 0),
            uid: sattr.uid.filter(|u| *u != who.uid),
            gid: sattr.gid.filter(|g| *g != gid_new),
            ..*sattr
        },
        Make::Dir(sattr) | Make::Symlink(sattr, _) | Make::Special { sattr, .. } => Sattr {
            mode: None,
            size: None,
            uid: sattr.uid.filter(|u| *u != who.uid),
            gid: sattr.gid.filter(|g| *g != gid_new),
            ..*sattr
        },
        _ => Sattr::default(),
    };
    if !rest.is_empty() {
        set_attrs(cx, &o, &rest, true)?;
        o.refresh();
    }
    Ok(o)
}

/// The server process's user id (what a new file is owned by without a chown).
pub(super) fn server_uid() -> u32 {
    static UID: std::sync::OnceLock<u32> = std::sync::OnceLock::new();
    *UID.get_or_init(|| rustix::process::geteuid().as_raw())
}

/// The server process's file mode creation mask, read once (from /proc, without changing it).
pub(super) fn umask() -> u32 {
    static MASK: std::sync::OnceLock<u32> = std::sync::OnceLock::new();
    *MASK.get_or_init(|| {
        std::fs::read_to_string("/proc/self/status")
            .ok()
            .and_then(|s| {
                s.lines()
                    .find_map(|l| l.strip_prefix("Umask:"))
                    .and_then(|v| u32::from_str_radix(v.trim(), 8).ok())
            })
            // Unknown: assume everything is masked, so modes are always set explicitly.
            .unwrap_or(0o777)
    })
}

/// An EXCLUSIVE create's verifier, kept in the new file's access and modification seconds (as
/// the Linux server does) until the client sets real times.
pub(super) fn verifier_times(v: &[u8; 8]) -> (u32, u32) {
    (
        u32::from_be_bytes([v[0], v[1], v[2], v[3]]) & 0x7fff_ffff,
        u32::from_be_bytes([v[4], v[5], v[6], v[7]]) & 0x7fff_ffff,
    )
}
