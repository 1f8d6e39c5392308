//! READ, WRITE, COMMIT and READLINK: the data of files and symlinks.

use super::*;

pub(super) fn readlink(cx: &Cx, a: &mut Dec, e: &mut Enc) -> Res<()> {
    let fh = fh_arg(a)?;
    let r = obtain(cx, fh).and_then(|o| {
        let node = o.node()?;
        if !is_lnk(&node.st) {
            return Err(Nfsstat::INVAL);
        }
        let name = node.name.as_deref().ok_or(Nfsstat::INVAL)?;
        let target = locked(cx, &o.view.uuid, || {
            rfs::readlinkat(&node.at, name, Vec::new())
        })?;
        Ok((o.attr.clone(), target.into_bytes()))
    });
    match r {
        Ok((attr, target)) => {
            status(e, Nfsstat::OK);
            put_post(e, Some(&attr));
            e.opaque(&target);
        }
        Err(s) => {
            status(e, s);
            put_post(e, None);
        }
    }
    Ok(())
}

pub(super) fn read(cx: &Cx, a: &mut Dec, e: &mut Enc) -> Res<()> {
    let fh = fh_arg(a)?;
    let offset = a.u64()?;
    let count = a.u32()?.min(MAX_IO) as usize;
    let o = match obtain(cx, fh) {
        Ok(o) => o,
        Err(s) => {
            status(e, s);
            put_post(e, None);
            return Ok(());
        }
    };
    let check = || -> NfsRes<()> {
        if o.attr.is_dir() {
            return Err(Nfsstat::ISDIR);
        }
        if o.attr.ftype != NF3REG {
            return Err(Nfsstat::INVAL);
        }
        o.check_io(R)
    };
    if let Err(s) = check() {
        status(e, s);
        put_post(e, Some(&o.attr));
        return Ok(());
    }
    if o.node().is_err() {
        status(e, Nfsstat::IO);
        put_post(e, Some(&o.attr));
        return Ok(());
    }
    // Read straight into the reply: status, attributes, count, eof, then the data.
    let start = e.len();
    status(e, Nfsstat::OK);
    put_post(e, Some(&o.attr));
    let count_at = e.len();
    e.u32(0).bool(false).u32(0);
    let data_at = e.len();
    // Room for the data and its padding, not zeroed first: pread fills it.
    e.buf.reserve_exact(count + 4);
    let r = locked(cx, &o.view.uuid, || -> NfsRes<(usize, u64)> {
        let f = o.file(cx, false)?;
        let mut got = 0;
        while got < count {
            let room = &mut e.buf.spare_capacity_mut()[..count - got];
            match rustix::io::pread(&*f, room, offset + got as u64) {
                Ok(([], _)) => break,
                Ok((read, _)) => {
                    let n = read.len();
                    // SAFETY: pread initialised these `n` bytes, which follow the length.
                    unsafe { e.buf.set_len(e.buf.len() + n) };
                    got += n;
                }
                Err(Errno::INTR) => {}
                Err(err) => return Err(err.into()),
            }
        }
        let size = fs::statx_fd(&f).map_or(o.attr.size, |st| st.stx_size);
        Ok((got, size))
    });
    match r {
        Ok((got, size)) => {
            debug_assert_eq!(e.len(), data_at + got);
            e.buf
                .extend_from_slice(&[0u8; 3][..crate::nfs::xdr::pad(got)]);
            let eof = offset.saturating_add(got as u64) >= size;
            e.patch_u32(count_at, got as u32);
            e.patch_u32(count_at + 4, u32::from(eof));
            e.patch_u32(count_at + 8, got as u32);
        }
        Err(s) => {
            e.buf.truncate(start);
            status(e, s);
            put_post(e, Some(&o.attr));
        }
    }
    Ok(())
}

pub(super) const UNSTABLE: u32 = 0;
pub(super) const FILE_SYNC: u32 = 2;

pub(super) fn write(cx: &Cx, a: &mut Dec, e: &mut Enc) -> Res<()> {
    let fh = fh_arg(a)?;
    let offset = a.u64()?;
    let count = a.u32()? as usize;
    let stable = a.u32()?;
    let data = a.opaque(MAX_IO as usize)?;
    let data = &data[..count.min(data.len())];
    let o = match obtain(cx, fh) {
        Ok(o) => o,
        Err(s) => {
            status(e, s);
            put_wcc(e, None, None);
            return Ok(());
        }
    };
    let pre = pre_of(&o.attr);
    let r = (|| -> NfsRes<(Attr, u32)> {
        o.check_writable()?;
        if o.attr.is_dir() {
            return Err(Nfsstat::ISDIR);
        }
        if o.attr.ftype != NF3REG {
            return Err(Nfsstat::INVAL);
        }
        o.check_io(W)?;
        let end = offset
            .checked_add(data.len() as u64)
            .filter(|e| *e <= i64::MAX as u64)
            .ok_or(Nfsstat::FBIG)?;
        let node = o.node()?;
        let _s = cx.nfs.stripe(&o.view.uuid, node.ino());
        let name = node.name.as_deref().ok_or(Nfsstat::INVAL)?;
        let cur = fs::statx_at(&node.at, name)?.stx_size;
        let grow = end.saturating_sub(cur) as i64;
        let owner = (o.attr.uid, o.attr.gid);
        charge(cx, &o.view, owner, grow, 0)?;
        let r = locked(cx, &o.view.uuid, || -> NfsRes<Statx> {
            let f = o.file(cx, true)?;
            f.write_all_at(data, offset)?;
            if stable != UNSTABLE {
                f.sync_all()?;
            }
            Ok(fs::statx_fd(&f)?)
        });
        match r {
            Ok(st) => {
                // Another writer of the same inode outside this server could have raced; settle
                // what was actually added.
                let actual = st.stx_size.saturating_sub(cur) as i64;
                if actual != grow {
                    let _ = charge(cx, &o.view, owner, actual - grow, 0);
                }
                let committed = if stable == UNSTABLE {
                    UNSTABLE
                } else {
                    FILE_SYNC
                };
                Ok((attr_for(&o.fh, &o.view, &st), committed))
            }
            Err(err) => {
                let now = fs::statx_at(&node.at, name).map_or(cur, |s| s.stx_size);
                refund(cx, &o.view, owner, grow - now.saturating_sub(cur) as i64, 0);
                Err(err)
            }
        }
    })();
    match r {
        Ok((post, committed)) => {
            status(e, Nfsstat::OK);
            put_wcc(e, Some(pre), Some(&post));
            e.u32(data.len() as u32).u32(committed);
            e.fixed(&cx.nfs.write_verifier);
        }
        Err(s) => {
            status(e, s);
            put_wcc(e, Some(pre), Some(&o.attr));
        }
    }
    Ok(())
}

pub(super) fn commit(cx: &Cx, a: &mut Dec, e: &mut Enc) -> Res<()> {
    let fh = fh_arg(a)?;
    let _offset = a.u64()?;
    let _count = a.u32()?;
    let o = match obtain(cx, fh) {
        Ok(o) => o,
        Err(s) => {
            status(e, s);
            put_wcc(e, None, None);
            return Ok(());
        }
    };
    let pre = pre_of(&o.attr);
    let r = (|| -> NfsRes<()> {
        if o.fh.read_only() || !is_reg(&o.node()?.st) {
            return Ok(());
        }
        locked(cx, &o.view.uuid, || -> NfsRes<()> {
            let f = o.file(cx, false)?;
            f.sync_all()?;
            Ok(())
        })
    })();
    status(e, r.err().unwrap_or(Nfsstat::OK));
    put_wcc(e, Some(pre), Some(&o.attr));
    if r.is_ok() {
        e.fixed(&cx.nfs.write_verifier);
    }
    Ok(())
}
