//! Read-only views of the model for the control API's clients (the web console first): the
//! cluster at a glance, a paged, filtered and sorted volume listing that stays fast at 100k
//! volumes, and one volume with its snapshots, qtrees, export rules and NFS mount command.
//! They only read; every change still goes through the control API's switches or the fronts.

use crate::model::{Cluster, Scope, Volume};
use serde::Serialize;
use std::cmp::Ordering;
use std::collections::BTreeMap;

#[derive(Serialize)]
pub struct ClusterView {
    pub name: String,
    pub uuid: String,
    pub version: String,
    pub ontapi: String,
    pub nodes: Vec<NodeView>,
    pub aggregates: Vec<AggregateView>,
    pub svms: Vec<SvmView>,
    pub users: Vec<UserView>,
    pub volumes: usize,
    pub snapshots: usize,
}

#[derive(Serialize)]
pub struct NodeView {
    pub name: String,
    pub serial_number: String,
    pub model: String,
}

#[derive(Serialize)]
pub struct AggregateView {
    pub name: String,
    pub node: String,
    pub media: String,
    pub size: u64,
    /// Volume footprints plus space filled from outside (what clients see as used).
    pub used: u64,
    /// Space filled from outside the volumes (`aggregate NAME --fill`).
    pub filled: u64,
    pub available: u64,
    pub percent_used: u64,
    pub volumes: usize,
}

#[derive(Serialize)]
pub struct SvmView {
    pub name: String,
    pub state: &'static str,
    pub aggregates: Vec<String>,
    pub protocols: Vec<String>,
    pub volumes: usize,
    pub lifs: Vec<LifView>,
}

#[derive(Serialize)]
pub struct LifView {
    pub name: String,
    pub address: String,
    pub role: String,
    pub protocols: Vec<String>,
    pub status: &'static str,
    pub home_node: String,
}

#[derive(Serialize)]
pub struct UserView {
    pub name: String,
    /// `cluster`, or the SVM the user is scoped to.
    pub scope: String,
    pub role: String,
    /// How the user signs in: `password`, `certificate` (never the secret itself).
    pub sign_in: Vec<&'static str>,
}

pub fn cluster(c: &Cluster) -> ClusterView {
    // Volumes come in (SVM, name) order and mostly share an aggregate: count runs, so 100k
    // volumes cost a pass with few map lookups.
    let mut per_aggr: BTreeMap<&str, usize> = BTreeMap::new();
    let mut per_svm: BTreeMap<&str, usize> = BTreeMap::new();
    let mut snapshots = 0;
    let mut run: Option<(&str, &str, usize)> = None;
    for v in c.volumes.values() {
        snapshots += v.snapshots.len();
        match &mut run {
            Some((s, a, n)) if *s == v.svm && *a == v.aggregate => *n += 1,
            _ => {
                if let Some((s, a, n)) = run {
                    *per_svm.entry(s).or_default() += n;
                    *per_aggr.entry(a).or_default() += n;
                }
                run = Some((v.svm.as_str(), v.aggregate.as_str(), 1));
            }
        }
    }
    if let Some((s, a, n)) = run {
        *per_svm.entry(s).or_default() += n;
        *per_aggr.entry(a).or_default() += n;
    }
    ClusterView {
        name: c.name.clone(),
        uuid: c.uuid.to_string(),
        version: c.version.release.clone(),
        ontapi: c.version.ontapi(),
        nodes: c
            .nodes
            .iter()
            .map(|n| NodeView {
                name: n.name.clone(),
                serial_number: n.serial_number.clone(),
                model: n.model.clone(),
            })
            .collect(),
        aggregates: c
            .aggregates
            .values()
            .map(|a| AggregateView {
                name: a.name.clone(),
                node: a.node.clone(),
                media: a.media.clone(),
                size: a.size,
                used: a.used_total(),
                filled: a.reserved,
                available: a.available(),
                percent_used: a.percent_used(),
                volumes: per_aggr.get(a.name.as_str()).copied().unwrap_or(0),
            })
            .collect(),
        svms: c
            .svms
            .values()
            .map(|s| SvmView {
                name: s.name.clone(),
                state: s.state.as_str(),
                aggregates: s.aggregates.clone(),
                protocols: s.allowed_protocols.clone(),
                volumes: per_svm.get(s.name.as_str()).copied().unwrap_or(0),
                lifs: s
                    .lifs
                    .iter()
                    .map(|l| LifView {
                        name: l.name.clone(),
                        address: l.address.to_string(),
                        role: l.role.clone(),
                        protocols: l.protocols.clone(),
                        status: l.status.as_str(),
                        home_node: l.home_node.clone(),
                    })
                    .collect(),
            })
            .collect(),
        users: c
            .users
            .values()
            .map(|u| UserView {
                name: u.name.clone(),
                scope: match &u.scope {
                    Scope::Cluster => "cluster".to_string(),
                    Scope::Svm(s) => s.clone(),
                },
                role: u.role.clone(),
                sign_in: [
                    u.password.is_some().then_some("password"),
                    Some("certificate"),
                ]
                .into_iter()
                .flatten()
                .collect(),
            })
            .collect(),
        volumes: c.volumes.len(),
        snapshots,
    }
}

/// The columns a volume listing sorts by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortKey {
    Name,
    Svm,
    Aggregate,
    Size,
    Used,
    Junction,
    ExportPolicy,
    State,
    Snapshots,
    CloneParent,
}

impl SortKey {
    pub const ALL: &'static [(&'static str, SortKey)] = &[
        ("name", SortKey::Name),
        ("svm", SortKey::Svm),
        ("aggregate", SortKey::Aggregate),
        ("size", SortKey::Size),
        ("used", SortKey::Used),
        ("junction_path", SortKey::Junction),
        ("export_policy", SortKey::ExportPolicy),
        ("state", SortKey::State),
        ("snapshots", SortKey::Snapshots),
        ("clone_parent", SortKey::CloneParent),
    ];

    fn parse(s: &str) -> Result<SortKey, String> {
        Self::ALL
            .iter()
            .find(|(n, _)| *n == s)
            .map(|(_, k)| *k)
            .ok_or_else(|| {
                let names: Vec<&str> = Self::ALL.iter().map(|(n, _)| *n).collect();
                format!("cannot sort by \"{s}\" ({})", names.join(", "))
            })
    }

    fn name(self) -> &'static str {
        Self::ALL
            .iter()
            .find(|(_, k)| *k == self)
            .map_or("name", |(n, _)| n)
    }

    /// Compare two volumes by this column, then by (name, SVM) so the order is total.
    fn cmp(self, a: &Volume, b: &Volume) -> Ordering {
        let first = match self {
            SortKey::Name | SortKey::Svm => Ordering::Equal,
            SortKey::Aggregate => a.aggregate.cmp(&b.aggregate),
            SortKey::Size => a.size.cmp(&b.size),
            SortKey::Used => a.size_used().cmp(&b.size_used()),
            SortKey::Junction => a.junction_path.cmp(&b.junction_path),
            SortKey::ExportPolicy => a.export_policy.cmp(&b.export_policy),
            SortKey::State => a.state.as_str().cmp(b.state.as_str()),
            SortKey::Snapshots => a.snapshots.len().cmp(&b.snapshots.len()),
            SortKey::CloneParent => parent_of(a).cmp(&parent_of(b)),
        };
        first.then_with(|| match self {
            SortKey::Svm => (&a.svm, &a.name).cmp(&(&b.svm, &b.name)),
            _ => (&a.name, &a.svm).cmp(&(&b.name, &b.svm)),
        })
    }
}

fn parent_of(v: &Volume) -> Option<&str> {
    v.clone_parent.as_ref().map(|p| p.volume.as_str())
}

/// What a listing asks for: `GET /volumes?svm=&filter=&state=&sort=&order=&offset=&limit=`.
#[derive(Debug, Clone)]
pub struct VolumeQuery {
    pub svm: Option<String>,
    /// Case-insensitive text looked for in the name and the junction path.
    pub filter: Option<String>,
    pub state: Option<String>,
    pub sort: SortKey,
    pub descending: bool,
    pub offset: usize,
    pub limit: usize,
}

/// The most records one page may hold.
pub const MAX_LIMIT: usize = 1000;

impl Default for VolumeQuery {
    fn default() -> Self {
        VolumeQuery {
            svm: None,
            filter: None,
            state: None,
            sort: SortKey::Name,
            descending: false,
            offset: 0,
            limit: 50,
        }
    }
}

impl VolumeQuery {
    /// Parse query parameters; an unknown parameter or a bad value is an error naming it.
    pub fn parse(params: &[(String, String)]) -> Result<VolumeQuery, String> {
        let mut q = VolumeQuery::default();
        let number = |k: &str, v: &str| {
            v.parse::<usize>()
                .map_err(|_| format!("{k}=\"{v}\" is not a whole number"))
        };
        for (k, v) in params {
            match k.as_str() {
                "svm" if !v.is_empty() => q.svm = Some(v.clone()),
                "filter" if !v.is_empty() => q.filter = Some(v.to_lowercase()),
                "state" if !v.is_empty() => q.state = Some(v.clone()),
                "svm" | "filter" | "state" => {}
                "sort" => q.sort = SortKey::parse(v)?,
                "order" => {
                    q.descending = match v.as_str() {
                        "asc" => false,
                        "desc" => true,
                        _ => return Err(format!("order=\"{v}\": use asc or desc")),
                    }
                }
                "offset" => q.offset = number(k, v)?,
                "limit" => {
                    q.limit = number(k, v)?;
                    if q.limit == 0 || q.limit > MAX_LIMIT {
                        return Err(format!("limit={v}: between 1 and {MAX_LIMIT}"));
                    }
                }
                other => {
                    return Err(format!(
                        "unknown parameter \"{other}\" (svm, filter, state, sort, order, offset, limit)"
                    ))
                }
            }
        }
        Ok(q)
    }

    fn accepts(&self, v: &Volume) -> bool {
        self.svm.as_deref().is_none_or(|s| v.svm == s)
            && self.state.as_deref().is_none_or(|s| v.state.as_str() == s)
            && self.filter.as_deref().is_none_or(|f| {
                contains_ci(&v.name, f)
                    || v.junction_path
                        .as_deref()
                        .is_some_and(|j| contains_ci(j, f))
            })
    }
}

/// `needle` is lower case already. Candidates are found with a vectorised scan for the needle's
/// first byte (either case), then compared.
fn contains_ci(hay: &str, needle: &str) -> bool {
    let (h, n) = (hay.as_bytes(), needle.as_bytes());
    let Some(&first) = n.first() else {
        return true;
    };
    if !needle.is_ascii() || !hay.is_ascii() {
        return hay.to_lowercase().contains(needle);
    }
    if h.len() < n.len() {
        return false;
    }
    let last_start = h.len() - n.len();
    let (lo, up) = (first.to_ascii_lowercase(), first.to_ascii_uppercase());
    memchr::memchr2_iter(lo, up, &h[..=last_start])
        .any(|i| h[i..i + n.len()].eq_ignore_ascii_case(n))
}

#[derive(Serialize)]
pub struct VolumePage {
    /// Volumes that match the filter.
    pub total: usize,
    /// Volumes in the cluster.
    pub volumes_total: usize,
    pub offset: usize,
    pub limit: usize,
    pub sort: &'static str,
    pub order: &'static str,
    pub records: Vec<VolumeRow>,
}

#[derive(Serialize)]
pub struct VolumeRow {
    pub name: String,
    pub svm: String,
    pub uuid: String,
    pub aggregate: String,
    pub vtype: String,
    pub state: &'static str,
    /// The volume's size, its snapshot reserve included.
    pub size: u64,
    /// What clients see as the size: the size less the snapshot reserve.
    pub size_total: u64,
    /// Bytes used, from the data written over NFS (and snapshot spill).
    pub used: u64,
    pub available: u64,
    pub percent_used: u64,
    pub junction_path: Option<String>,
    pub export_policy: String,
    pub snapshots: usize,
    pub clone_parent: Option<crate::model::CloneParent>,
    pub guarantee: &'static str,
    pub is_svm_root: bool,
}

fn row(v: &Volume) -> VolumeRow {
    VolumeRow {
        name: v.name.clone(),
        svm: v.svm.clone(),
        uuid: v.uuid.to_string(),
        aggregate: v.aggregate.clone(),
        vtype: v.vtype.clone(),
        state: v.state.as_str(),
        size: v.size,
        size_total: v.size_total(),
        used: v.size_used(),
        available: v.size_available(),
        percent_used: v.percent_used(),
        junction_path: v.junction_path.clone(),
        export_policy: v.export_policy.clone(),
        snapshots: v.snapshots.len(),
        clone_parent: v.clone_parent.clone(),
        guarantee: v.guarantee.as_str(),
        is_svm_root: v.is_svm_root,
    }
}

/// One page of the listing. In the table's own order (SVM, then name) a page is read straight
/// off the index; another order selects the page's volumes in linear time and sorts only those
/// up to the page's end, so the first pages of any order cost about one pass over the volumes.
pub fn volumes(c: &Cluster, q: &VolumeQuery) -> VolumePage {
    let end = q.offset.saturating_add(q.limit);
    let single_svm = q.svm.is_some() || c.svms.len() <= 1;
    let natural = q.sort == SortKey::Svm || (q.sort == SortKey::Name && single_svm);
    let (total, records) = if natural {
        let mut total = 0;
        let mut page = Vec::new();
        let range: Box<dyn DoubleEndedIterator<Item = &Volume>> = match &q.svm {
            // The table is keyed by (SVM, name): one SVM's volumes are one range of it (no name
            // holds a NUL, so (SVM + NUL, "") bounds it above).
            Some(s) => Box::new(
                c.volumes
                    .range((s.clone(), String::new())..(format!("{s}\0"), String::new()))
                    .map(|(_, v)| v),
            ),
            None => Box::new(c.volumes.values()),
        };
        let range: Box<dyn Iterator<Item = &Volume>> = if q.descending {
            Box::new(range.rev())
        } else {
            range
        };
        for v in range.filter(|v| q.accepts(v)) {
            if total >= q.offset && total < end {
                page.push(row(v));
            }
            total += 1;
        }
        (total, page)
    } else {
        let mut all: Vec<&Volume> = c.volumes.values().filter(|v| q.accepts(v)).collect();
        let total = all.len();
        let end = end.min(total);
        let start = q.offset.min(end);
        // A page in the second half is the same page counted from the other end: select and
        // sort only the volumes between it and the nearer end.
        let from_end = start > total / 2;
        let descending = q.descending != from_end;
        let (skip, take) = if from_end {
            (total - end, total - start)
        } else {
            (start, end)
        };
        let cmp = |a: &&Volume, b: &&Volume| {
            let o = q.sort.cmp(a, b);
            if descending {
                o.reverse()
            } else {
                o
            }
        };
        if take < all.len() {
            all.select_nth_unstable_by(take, cmp);
            all.truncate(take);
        }
        all.sort_unstable_by(cmp);
        let mut page: Vec<VolumeRow> = all.iter().skip(skip).map(|v| row(v)).collect();
        if from_end {
            page.reverse();
        }
        (total, page)
    };
    VolumePage {
        total,
        volumes_total: c.volumes.len(),
        offset: q.offset,
        limit: q.limit,
        sort: q.sort.name(),
        order: if q.descending { "desc" } else { "asc" },
        records,
    }
}

#[derive(Serialize)]
pub struct VolumeDetail {
    #[serde(flatten)]
    pub row: VolumeRow,
    pub comment: String,
    pub style: String,
    pub security_style: String,
    /// Octal, as ONTAP shows it (`0755`).
    pub unix_permissions: String,
    pub user_id: u32,
    pub group_id: u32,
    pub snapshot_policy: String,
    pub snapshot_reserve_percent: u64,
    pub snapdir_access: bool,
    pub files_used: u64,
    pub files_total: u64,
    pub creation_time: u64,
    pub snapshot_list: Vec<SnapshotView>,
    /// Volumes cloned from this one.
    pub clones: Vec<String>,
    pub qtrees: Vec<QtreeView>,
    /// The volume's export policy with its rules, in index order.
    pub export_rules: Vec<crate::model::ExportRule>,
    /// How to mount it over NFSv3 through each NFS data LIF of its SVM (empty when it is not
    /// mounted in the namespace or not online), and why not when empty.
    pub mount: Vec<MountView>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mount_note: Option<String>,
}

#[derive(Serialize)]
pub struct SnapshotView {
    pub name: String,
    pub uuid: String,
    pub create_time: u64,
    pub size: u64,
    pub comment: String,
    /// Clones that depend on it (it is busy while any exist).
    pub clones: Vec<String>,
}

#[derive(Serialize)]
pub struct QtreeView {
    pub name: String,
    pub id: u32,
    pub security_style: String,
    pub mode: String,
    /// None: the volume's policy.
    pub export_policy: Option<String>,
}

#[derive(Serialize)]
pub struct MountView {
    pub lif: String,
    pub status: &'static str,
    pub command: String,
}

/// One volume in full, or None when it does not exist. `nfs_port` is the NFS listener's port
/// (None when NFS is not served).
pub fn volume(c: &Cluster, svm: &str, name: &str, nfs_port: Option<u16>) -> Option<VolumeDetail> {
    let v = c.volumes.get(&(svm.to_string(), name.to_string()))?;
    let clones: Vec<&Volume> = c
        .volumes
        .range((svm.to_string(), String::new())..)
        .take_while(|((s, _), _)| s == svm)
        .map(|(_, x)| x)
        .filter(|x| x.clone_parent.as_ref().is_some_and(|p| p.volume == v.name))
        .collect();
    let mut snapshot_list: Vec<SnapshotView> = v
        .snapshots
        .values()
        .map(|s| SnapshotView {
            name: s.name.clone(),
            uuid: s.uuid.to_string(),
            create_time: s.create_time,
            size: s.size,
            comment: s.comment.clone(),
            clones: clones
                .iter()
                .filter(|x| {
                    x.clone_parent
                        .as_ref()
                        .is_some_and(|p| p.snapshot == s.name)
                })
                .map(|x| x.name.clone())
                .collect(),
        })
        .collect();
    snapshot_list.sort_by_key(|s| {
        v.snapshots
            .get(&s.name)
            .map_or((0, 0), |x| (x.create_time, x.seq))
    });
    let qtrees = c
        .qtrees
        .range((svm.to_string(), name.to_string(), String::new())..)
        .take_while(|((s, vol, _), _)| s == svm && vol == name)
        .map(|(_, q)| QtreeView {
            name: q.name.clone(),
            id: q.id,
            security_style: q.security_style.clone(),
            mode: format!("{:04o}", q.mode),
            export_policy: q.export_policy.clone(),
        })
        .collect();
    let export_rules = c
        .export_policies
        .get(&(svm.to_string(), v.export_policy.clone()))
        .map(|p| p.rules.clone())
        .unwrap_or_default();
    let (mount, mount_note) = mount_commands(c, v, nfs_port);
    Some(VolumeDetail {
        row: row(v),
        comment: v.comment.clone(),
        style: v.style.clone(),
        security_style: v.security_style.clone(),
        unix_permissions: format!("{:04o}", v.unix_permissions),
        user_id: v.user_id,
        group_id: v.group_id,
        snapshot_policy: v.snapshot_policy.clone(),
        snapshot_reserve_percent: v.snapshot_reserve_percent,
        snapdir_access: v.snapdir_access,
        files_used: v.files_used,
        files_total: v.files_total,
        creation_time: v.creation_time,
        snapshot_list,
        clones: clones.iter().map(|x| x.name.clone()).collect(),
        qtrees,
        export_rules,
        mount,
        mount_note,
    })
}

/// The kernel client's mount command through each NFS data LIF of the volume's SVM: NFSv3 over
/// TCP, MOUNT on the NFS port (the shim serves both there), no NLM.
fn mount_commands(
    c: &Cluster,
    v: &Volume,
    nfs_port: Option<u16>,
) -> (Vec<MountView>, Option<String>) {
    let Some(port) = nfs_port else {
        return (
            Vec::new(),
            Some("NFS is not served by this simulator".into()),
        );
    };
    let Some(junction) = &v.junction_path else {
        return (
            Vec::new(),
            Some("not mounted in the namespace (no junction path)".into()),
        );
    };
    if v.state != crate::model::VolumeState::Online {
        return (
            Vec::new(),
            Some(format!("the volume is {}", v.state.as_str())),
        );
    }
    let lifs: Vec<MountView> = c
        .svms
        .get(&v.svm)
        .map(|s| {
            s.lifs
                .iter()
                .filter(|l| l.role == "data" && l.protocols.iter().any(|p| p == "nfs"))
                .map(|l| {
                    let host = match l.address {
                        std::net::IpAddr::V6(a) => format!("[{a}]"),
                        a => a.to_string(),
                    };
                    MountView {
                        lif: l.name.clone(),
                        status: l.status.as_str(),
                        command: format!(
                            "mount -t nfs -o vers=3,proto=tcp,nolock,port={port},mountport={port} {host}:{junction} /mnt/{}",
                            v.name
                        ),
                    }
                })
                .collect()
        })
        .unwrap_or_default();
    let note = lifs
        .is_empty()
        .then(|| format!("SVM \"{}\" has no NFS data LIF", v.svm));
    (lifs, note)
}

/// `GET /cluster`, `GET /volumes`, `GET /volumes/{svm}/{name}` on the control API.
pub(super) fn route(
    sim: &crate::sim::Sim,
    path: &[&str],
    params: &[(String, String)],
) -> super::Response<super::Body> {
    use hyper::StatusCode;
    match path {
        ["cluster"] => super::json(StatusCode::OK, &cluster(&sim.read())),
        ["volumes"] => match VolumeQuery::parse(params) {
            Ok(q) => super::json(StatusCode::OK, &volumes(&sim.read(), &q)),
            Err(e) => super::error(StatusCode::BAD_REQUEST, e),
        },
        ["volumes", svm, name] => {
            let port = sim.nfs_addr().map(|a| a.port());
            match volume(&sim.read(), svm, name, port) {
                Some(d) => super::json(StatusCode::OK, &d),
                None => super::error(
                    StatusCode::NOT_FOUND,
                    format!("no volume \"{name}\" in SVM \"{svm}\""),
                ),
            }
        }
        _ => super::error(
            StatusCode::NOT_FOUND,
            "use /cluster, /volumes or /volumes/SVM/NAME",
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Topology;
    use crate::model::{Listeners, VolumeSpec};

    fn cluster(n: usize) -> Cluster {
        let listen = Listeners {
            management: "127.0.0.1:8443".parse().unwrap(),
            nfs: "127.0.0.1:2049".parse().unwrap(),
        };
        let mut c = Cluster::from_topology(&Topology::builtin_default(), &listen);
        for i in 0..n {
            c.create_volume(
                "svm1",
                VolumeSpec {
                    name: format!("vol_{i:03}"),
                    aggregate: "aggr1".into(),
                    // Sizes run against the names, so sorting by size reverses the name order.
                    size: (100 + (n - i) as u64) << 20,
                    junction_path: (i % 2 == 0).then(|| format!("/vol_{i:03}")),
                    ..Default::default()
                },
            )
            .unwrap();
        }
        c.commit();
        c
    }

    fn q(params: &[(&str, &str)]) -> VolumeQuery {
        let p: Vec<(String, String)> = params
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        VolumeQuery::parse(&p).unwrap()
    }

    fn names(p: &VolumePage) -> Vec<&str> {
        p.records.iter().map(|r| r.name.as_str()).collect()
    }

    #[test]
    fn pages_follow_the_order_and_count_the_matches() {
        let c = cluster(30);
        // 30 volumes plus the SVM root.
        let p = volumes(&c, &q(&[("limit", "10")]));
        assert_eq!((p.total, p.volumes_total, p.records.len()), (31, 31, 10));
        assert_eq!(names(&p)[..2], ["svm1_root", "vol_000"]);
        let p = volumes(&c, &q(&[("limit", "10"), ("offset", "29")]));
        assert_eq!(names(&p), ["vol_028", "vol_029"]);
        let p = volumes(&c, &q(&[("limit", "3"), ("order", "desc")]));
        assert_eq!(names(&p), ["vol_029", "vol_028", "vol_027"]);
        let p = volumes(
            &c,
            &q(&[
                ("svm", "svm1"),
                ("limit", "2"),
                ("order", "desc"),
                ("offset", "29"),
            ]),
        );
        assert_eq!(names(&p), ["vol_000", "svm1_root"]);
        let p = volumes(&c, &q(&[("sort", "clone_parent"), ("limit", "1")]));
        assert_eq!(
            names(&p),
            ["svm1_root"],
            "no parent sorts first, then by name"
        );
        let p = volumes(&c, &q(&[("limit", "3"), ("sort", "size")]));
        assert_eq!(names(&p), ["vol_029", "vol_028", "vol_027"]);
        let p = volumes(
            &c,
            &q(&[("limit", "3"), ("sort", "size"), ("offset", "27")]),
        );
        assert_eq!(names(&p), ["vol_002", "vol_001", "vol_000"]);
        let p = volumes(
            &c,
            &q(&[("sort", "size"), ("order", "desc"), ("limit", "1")]),
        );
        assert_eq!(names(&p), ["svm1_root"], "1 GiB is the largest");
    }

    #[test]
    fn every_page_of_every_order_is_the_slice_of_a_full_sort() {
        let mut c = cluster(23);
        c.create_snapshot("svm1", "vol_004", "s1", "", "").unwrap();
        c.commit();
        for (name, key) in SortKey::ALL {
            for desc in [false, true] {
                let mut all: Vec<&Volume> = c.volumes.values().collect();
                all.sort_by(|a, b| {
                    let o = key.cmp(a, b);
                    if desc {
                        o.reverse()
                    } else {
                        o
                    }
                });
                let want: Vec<&str> = all.iter().map(|v| v.name.as_str()).collect();
                for offset in 0..=want.len() {
                    let order = if desc { "desc" } else { "asc" };
                    let off = offset.to_string();
                    let p = volumes(
                        &c,
                        &q(&[
                            ("sort", name),
                            ("order", order),
                            ("offset", &off),
                            ("limit", "4"),
                        ]),
                    );
                    let end = (offset + 4).min(want.len());
                    assert_eq!(names(&p), want[offset..end], "{name} {order} at {offset}");
                    assert_eq!(p.total, want.len());
                }
            }
        }
    }

    #[test]
    fn filters_match_name_or_junction_case_blind() {
        let c = cluster(30);
        let p = volumes(&c, &q(&[("filter", "VOL_01")]));
        assert_eq!(p.total, 10);
        let p = volumes(&c, &q(&[("filter", "/vol_02"), ("sort", "junction_path")]));
        assert_eq!(
            names(&p),
            ["vol_020", "vol_022", "vol_024", "vol_026", "vol_028"]
        );
        let p = volumes(&c, &q(&[("svm", "nosuch")]));
        assert_eq!((p.total, p.records.len()), (0, 0));
        let p = volumes(&c, &q(&[("state", "offline")]));
        assert_eq!(p.total, 0);
    }

    #[test]
    fn bad_parameters_are_named() {
        let bad =
            |k: &str, v: &str| VolumeQuery::parse(&[(k.to_string(), v.to_string())]).unwrap_err();
        assert!(bad("sort", "colour").contains("colour"));
        assert!(bad("limit", "0").contains("limit"));
        assert!(bad("limit", "5000").contains("1000"));
        assert!(bad("offset", "-1").contains("offset"));
        assert!(bad("order", "up").contains("asc"));
        assert!(bad("page", "2").contains("page"));
    }

    #[test]
    fn detail_has_the_mount_command_and_children() {
        let mut c = cluster(2);
        c.create_snapshot("svm1", "vol_000", "snap1", "", "")
            .unwrap();
        c.commit();
        let d = volume(&c, "svm1", "vol_000", Some(2049)).unwrap();
        assert_eq!(d.snapshot_list.len(), 1);
        assert_eq!(
            d.mount[0].command,
            "mount -t nfs -o vers=3,proto=tcp,nolock,port=2049,mountport=2049 127.0.0.1:/vol_000 /mnt/vol_000"
        );
        let d = volume(&c, "svm1", "vol_001", Some(2049)).unwrap();
        assert!(d.mount.is_empty() && d.mount_note.is_some(), "no junction");
        assert!(volume(&c, "svm1", "nosuch", None).is_none());
    }
}
