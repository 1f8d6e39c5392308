//! REMOVE, RMDIR, RENAME and LINK: the procedures that change a directory's names.

use super::*;

/// Sticky directories: only the owner of the entry or of the directory (or root) may remove or
/// replace it.
pub(super) fn sticky_ok(d: &Obj, entry: &Statx) -> bool {
    let who = d.who();
    d.attr.mode & 0o1000 == 0 || who.is_root() || who.uid == entry.stx_uid || who.uid == d.attr.uid
}

/// What an entry gives back when it goes: bytes (files and symlinks) and one file.
pub(super) fn footprint(st: &Statx) -> i64 {
    if is_dir(st) {
        0
    } else {
        st.stx_size as i64
    }
}

/// Who a file counts for in user and group quotas.
pub(super) fn owner_of(st: &Statx) -> (u32, u32) {
    (st.stx_uid, st.stx_gid)
}

pub(super) fn remove(cx: &Cx, a: &mut Dec, e: &mut Enc, dir_wanted: bool) -> Res<()> {
    let dir = fh_arg(a)?;
    let name = name_arg(a)?;
    let mut d = match obtain(cx, dir) {
        Ok(d) => d,
        Err(s) => {
            status(e, s);
            put_wcc(e, None, None);
            return Ok(());
        }
    };
    let pre = pre_of(&d.attr);
    let r = (|| -> NfsRes<()> {
        if !d.attr.is_dir() {
            return Err(Nfsstat::NOTDIR);
        }
        let n = name_of(name)?;
        if name == b"." {
            return Err(Nfsstat::INVAL);
        }
        if name == b".." {
            return Err(if dir_wanted {
                Nfsstat::NOTEMPTY
            } else {
                Nfsstat::ISDIR
            });
        }
        d.check_writable()?;
        if reserved(&d, name) {
            return Err(Nfsstat::ACCES);
        }
        d.check(W | X)?;
        let (tree, dnode) = d.on_disk.as_ref().ok_or(Nfsstat::ROFS)?;
        let dirfd = tree.dir_fd(dnode).map_err(stale_if_missing)?;
        let st = fs::statx_at(&dirfd, n)?;
        if !sticky_ok(&d, &st) {
            return Err(Nfsstat::ACCES);
        }
        match (dir_wanted, is_dir(&st)) {
            (true, false) => return Err(Nfsstat::NOTDIR),
            (false, true) => return Err(Nfsstat::ISDIR),
            _ => {}
        }
        let flags = if dir_wanted {
            AtFlags::REMOVEDIR
        } else {
            AtFlags::empty()
        };
        let _s = cx.nfs.stripe(&d.view.uuid, st.stx_ino);
        locked(cx, &d.view.uuid, || rfs::unlinkat(&dirfd, n, flags))?;
        if !is_dir(&st) {
            tree.close_file(st.stx_ino);
        }
        tree.removed(st.stx_ino, dnode.ino(), n, st.stx_nlink > 1 && !is_dir(&st));
        refund(cx, &d.view, owner_of(&st), footprint(&st), 1);
        Ok(())
    })();
    d.refresh();
    status(e, r.err().unwrap_or(Nfsstat::OK));
    put_wcc(e, Some(pre), Some(&d.attr));
    Ok(())
}

pub(super) fn rename(cx: &Cx, a: &mut Dec, e: &mut Enc) -> Res<()> {
    let from_dir = fh_arg(a)?;
    let from_name = name_arg(a)?;
    let to_dir = fh_arg(a)?;
    let to_name = name_arg(a)?;
    let from = obtain(cx, from_dir);
    let to = obtain(cx, to_dir);
    let (mut fd, mut td) = match (from, to) {
        (Ok(f), Ok(t)) => (f, t),
        (f, t) => {
            let s = f.as_ref().err().or(t.as_ref().err()).copied();
            status(e, s.unwrap_or(Nfsstat::SERVERFAULT));
            put_wcc(e, None, f.as_ref().ok().map(|o| &o.attr));
            put_wcc(e, None, t.as_ref().ok().map(|o| &o.attr));
            return Ok(());
        }
    };
    let (fpre, tpre) = (pre_of(&fd.attr), pre_of(&td.attr));
    let r = (|| -> NfsRes<()> {
        if !fd.attr.is_dir() || !td.attr.is_dir() {
            return Err(Nfsstat::NOTDIR);
        }
        let fname = name_of(from_name)?;
        if from_name == b"." || from_name == b".." {
            return Err(Nfsstat::INVAL);
        }
        let tname = new_name(&td, to_name)?;
        fd.check_writable()?;
        td.check_writable()?;
        if reserved(&fd, from_name) {
            return Err(Nfsstat::ACCES);
        }
        if fd.fh.tree() != td.fh.tree() || !same_qtree(&fd, &td) {
            return Err(Nfsstat::XDEV);
        }
        fd.check(W | X)?;
        td.check(W | X)?;
        let (tree, fnode) = fd.on_disk.as_ref().ok_or(Nfsstat::ROFS)?;
        let tnode = td.node()?;
        let ffd = tree.dir_fd(fnode).map_err(stale_if_missing)?;
        let tfd = tree.dir_fd(tnode).map_err(stale_if_missing)?;
        let src = fs::statx_at(&ffd, fname)?;
        if !sticky_ok(&fd, &src) {
            return Err(Nfsstat::ACCES);
        }
        let dst = match fs::statx_at(&tfd, tname) {
            Ok(st) => Some(st),
            Err(Errno::NOENT) => None,
            Err(err) => return Err(err.into()),
        };
        if let Some(dst) = &dst {
            if dst.stx_ino == src.stx_ino {
                return Ok(()); // two names of one file: nothing to do
            }
            if !sticky_ok(&td, dst) {
                return Err(Nfsstat::ACCES);
            }
        }
        locked(cx, &fd.view.uuid, || {
            rfs::renameat(&ffd, fname, &tfd, tname)
        })?;
        tree.remember(src.stx_ino, tnode.ino(), tname);
        if let Some(dst) = dst {
            if !is_dir(&dst) {
                tree.close_file(dst.stx_ino);
            }
            tree.removed(
                dst.stx_ino,
                tnode.ino(),
                tname,
                dst.stx_nlink > 1 && !is_dir(&dst),
            );
            refund(cx, &td.view, owner_of(&dst), footprint(&dst), 1);
        }
        Ok(())
    })();
    fd.refresh();
    td.refresh();
    status(e, r.err().unwrap_or(Nfsstat::OK));
    put_wcc(e, Some(fpre), Some(&fd.attr));
    put_wcc(e, Some(tpre), Some(&td.attr));
    Ok(())
}

pub(super) fn link(cx: &Cx, a: &mut Dec, e: &mut Enc) -> Res<()> {
    let file = fh_arg(a)?;
    let dir = fh_arg(a)?;
    let name = name_arg(a)?;
    let (mut f, mut d) = match (obtain(cx, file), obtain(cx, dir)) {
        (Ok(f), Ok(d)) => (f, d),
        (f, d) => {
            let s = f.as_ref().err().or(d.as_ref().err()).copied();
            status(e, s.unwrap_or(Nfsstat::SERVERFAULT));
            put_post(e, f.as_ref().ok().map(|o| &o.attr));
            put_wcc(e, None, d.as_ref().ok().map(|o| &o.attr));
            return Ok(());
        }
    };
    let dpre = pre_of(&d.attr);
    let r = (|| -> NfsRes<()> {
        if !d.attr.is_dir() {
            return Err(Nfsstat::NOTDIR);
        }
        if f.attr.is_dir() {
            return Err(Nfsstat::ISDIR);
        }
        let n = new_name(&d, name)?;
        d.check_writable()?;
        if f.fh.tree() != d.fh.tree() || !same_qtree(&f, &d) {
            return Err(Nfsstat::XDEV);
        }
        d.check(W | X)?;
        let fnode = f.node()?;
        let fname = fnode.name.as_deref().ok_or(Nfsstat::INVAL)?;
        let (tree, dnode) = d.on_disk.as_ref().ok_or(Nfsstat::ROFS)?;
        let dirfd = tree.dir_fd(dnode).map_err(stale_if_missing)?;
        let bytes = footprint(&fnode.st);
        let owner = owner_of(&fnode.st);
        charge(cx, &d.view, owner, bytes, 1)?;
        let r = locked(cx, &d.view.uuid, || {
            rfs::linkat(&fnode.at, fname, &dirfd, n, AtFlags::empty())
        });
        if let Err(err) = r {
            refund(cx, &d.view, owner, bytes, 1);
            return Err(err.into());
        }
        tree.remember(fnode.ino(), dnode.ino(), n);
        Ok(())
    })();
    f.refresh();
    d.refresh();
    status(e, r.err().unwrap_or(Nfsstat::OK));
    put_post(e, Some(&f.attr));
    put_wcc(e, Some(dpre), Some(&d.attr));
    Ok(())
}
