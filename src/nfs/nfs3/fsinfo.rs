//! FSSTAT, FSINFO and PATHCONF: what the file system is and holds.

use super::*;

pub(super) fn fsstat(cx: &Cx, a: &mut Dec, e: &mut Enc) -> Res<()> {
    let fh = fh_arg(a)?;
    match obtain(cx, fh) {
        Ok(o) => {
            let v = &o.view;
            let (mut tbytes, mut fbytes) = (v.size_total, v.size_available);
            let (mut tfiles, mut ffiles) =
                (v.files_total, v.files_total.saturating_sub(v.files_used));
            // Inside a qtree with a tree quota, the quota is the file system's size (as ONTAP
            // answers a quota-aware df).
            if let Some(q) = &v.qtree {
                let l = q.limits.unwrap_or_default();
                if let Some(kib) = l.disk {
                    tbytes = kib.saturating_mul(1024);
                    fbytes = fbytes.min(tbytes.saturating_sub(q.data_used));
                }
                if let Some(max) = l.files {
                    tfiles = max;
                    ffiles = ffiles.min(max.saturating_sub(q.files_used));
                }
            }
            status(e, Nfsstat::OK);
            put_post(e, Some(&o.attr));
            e.u64(tbytes)
                .u64(fbytes)
                .u64(fbytes)
                .u64(tfiles)
                .u64(ffiles)
                .u64(ffiles)
                .u32(0);
        }
        Err(s) => {
            status(e, s);
            put_post(e, None);
        }
    }
    Ok(())
}

pub(super) const FSF3_LINK: u32 = 0x01;
pub(super) const FSF3_SYMLINK: u32 = 0x02;
pub(super) const FSF3_HOMOGENEOUS: u32 = 0x08;
pub(super) const FSF3_CANSETTIME: u32 = 0x10;

pub(super) fn fsinfo(cx: &Cx, a: &mut Dec, e: &mut Enc) -> Res<()> {
    let fh = fh_arg(a)?;
    match obtain(cx, fh) {
        Ok(o) => {
            status(e, Nfsstat::OK);
            put_post(e, Some(&o.attr));
            e.u32(MAX_IO) // rtmax
                .u32(MAX_IO) // rtpref
                .u32(4096) // rtmult
                .u32(MAX_IO) // wtmax
                .u32(MAX_IO) // wtpref
                .u32(4096) // wtmult
                .u32(64 << 10) // dtpref
                .u64(i64::MAX as u64) // maxfilesize
                .u32(0) // time_delta: 1 ns
                .u32(1)
                .u32(FSF3_LINK | FSF3_SYMLINK | FSF3_HOMOGENEOUS | FSF3_CANSETTIME);
        }
        Err(s) => {
            status(e, s);
            put_post(e, None);
        }
    }
    Ok(())
}

pub(super) fn pathconf(cx: &Cx, a: &mut Dec, e: &mut Enc) -> Res<()> {
    let fh = fh_arg(a)?;
    match obtain(cx, fh) {
        Ok(o) => {
            status(e, Nfsstat::OK);
            put_post(e, Some(&o.attr));
            e.u32(65_000) // linkmax
                .u32(fs::NAME_MAX as u32)
                .bool(true) // no_trunc
                .bool(true) // chown_restricted
                .bool(false) // case_insensitive
                .bool(true); // case_preserving
        }
        Err(s) => {
            status(e, s);
            put_post(e, None);
        }
    }
    Ok(())
}
