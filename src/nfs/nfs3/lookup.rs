//! LOOKUP, and the name resolution MNT shares: nested volumes, `.snapshot` and `..`.

use super::*;

/// The object `name` names in directory `dir`, crossing into nested volumes and `.snapshot`.
pub(super) fn lookup_in(cx: &Cx, dir: &Obj, name: &[u8]) -> NfsRes<Obj> {
    if !dir.attr.is_dir() {
        return Err(Nfsstat::NOTDIR);
    }
    let n = name_of(name)?;
    dir.check(X)?;
    let volume = dir.view.uuid;
    if name == b"." {
        return obtain_fh(cx, dir.fh);
    }
    match dir.fh {
        Fh::SnapDir { .. } => {
            if name == b".." {
                return obtain_fh(cx, Fh::Root { volume });
            }
            let snap = dir
                .view
                .snapshots
                .iter()
                .find(|s| s.name.as_bytes() == name)
                .ok_or(Nfsstat::NOENT)?;
            obtain_fh(
                cx,
                Fh::SnapRoot {
                    volume,
                    snapshot: snap.uuid,
                },
            )
        }
        Fh::Root { .. } if name == b".." => match dir.view.parent {
            Some(p) => obtain_fh(cx, Fh::Root { volume: p }),
            None => obtain_fh(cx, dir.fh),
        },
        Fh::Root { .. } if name == b".snapshot" && dir.view.snapdir => {
            obtain_fh(cx, Fh::SnapDir { volume })
        }
        Fh::Root { .. } if dir.view.child(name).is_some() => {
            let child = dir.view.child(name).ok_or(Nfsstat::NOENT)?;
            obtain_fh(cx, Fh::Root { volume: child })
        }
        Fh::QtreeSnapDir { ino, gen, .. } => {
            let qtree = Fh::Node {
                tree: TreeKey {
                    volume,
                    snapshot: None,
                },
                ino,
                gen,
            };
            if name == b".." {
                return obtain_fh(cx, qtree);
            }
            // The qtree's directory as it is in that snapshot, if it was there then.
            let q = obtain_fh(cx, qtree)?;
            let qname = q
                .on_disk
                .as_ref()
                .and_then(|(_, n)| n.name.clone())
                .ok_or(Nfsstat::STALE)?;
            let snap = dir
                .view
                .snapshots
                .iter()
                .find(|s| s.name.as_bytes() == name)
                .ok_or(Nfsstat::NOENT)?;
            let root = obtain_fh(
                cx,
                Fh::SnapRoot {
                    volume,
                    snapshot: snap.uuid,
                },
            )?;
            let o = lookup_in(cx, &root, qname.as_bytes())?;
            if !o.attr.is_dir() {
                return Err(Nfsstat::NOENT);
            }
            Ok(o)
        }
        Fh::Node { .. } if name == b".snapshot" && dir.view.snapdir && is_qtree_root(dir) => {
            let Fh::Node { ino, gen, .. } = dir.fh else {
                return Err(Nfsstat::STALE);
            };
            obtain_fh(cx, Fh::QtreeSnapDir { volume, ino, gen })
        }
        Fh::SnapRoot { .. } if name == b".." => obtain_fh(cx, Fh::SnapDir { volume }),
        Fh::Node { tree: key, .. } if name == b".." => {
            let (tree, node) = dir.on_disk.as_ref().ok_or(Nfsstat::STALE)?;
            let parent = fs::statx_fd(&node.at)?;
            let root = tree.root()?;
            let fh = if parent.stx_ino == root.ino() {
                match key.snapshot {
                    None => Fh::Root { volume },
                    Some(snapshot) => Fh::SnapRoot { volume, snapshot },
                }
            } else {
                Fh::Node {
                    tree: key,
                    ino: parent.stx_ino,
                    gen: fs::generation(&parent),
                }
            };
            obtain_fh(cx, fh)
        }
        _ => {
            let key = dir.fh.tree().ok_or(Nfsstat::STALE)?;
            let (tree, node) = dir.on_disk.as_ref().ok_or(Nfsstat::STALE)?;
            let dirfd = tree.dir_fd(node).map_err(stale_if_missing)?;
            let child = tree.lookup(node, &dirfd, n)?;
            let fh = Fh::Node {
                tree: key,
                ino: child.ino(),
                gen: fs::generation(&child.st),
            };
            let attr = attr_for(&fh, &dir.view, &child.st);
            let (mut view, tree) = (dir.view.clone(), tree.clone());
            if dir.is_active_root() {
                cx.enter_qtree(&mut view, n).map_err(view_err)?;
            }
            Ok(Obj {
                fh,
                view,
                on_disk: Some((tree, child)),
                attr,
            })
        }
    }
}

/// For MNT: the directory `name` in directory `dir`.
pub fn lookup_dir(cx: &Cx, dir: &Fh, name: &[u8]) -> NfsRes<Fh> {
    let d = obtain_fh(cx, *dir)?;
    let o = lookup_in(cx, &d, name)?;
    if !o.attr.is_dir() {
        return Err(Nfsstat::NOTDIR);
    }
    Ok(o.fh)
}

pub(super) fn lookup(cx: &Cx, a: &mut Dec, e: &mut Enc) -> Res<()> {
    let fh = fh_arg(a)?;
    let name = name_arg(a)?;
    let dir = match obtain(cx, fh) {
        Ok(d) => d,
        Err(s) => {
            status(e, s);
            put_post(e, None);
            return Ok(());
        }
    };
    match lookup_in(cx, &dir, name) {
        Ok(o) => {
            status(e, Nfsstat::OK);
            put_fh(e, &o.fh);
            put_post(e, Some(&o.attr));
            put_post(e, Some(&dir.attr));
        }
        Err(s) => {
            status(e, s);
            put_post(e, Some(&dir.attr));
        }
    }
    Ok(())
}
