//! Prints how long the control API's read-only views behind the web console take as the
//! cluster grows: `/volumes` pages (first and last page in the table's order, first and last
//! page sorted by size, a filtered page), one volume's detail and the `/cluster` summary, at 1k,
//! 10k and 100k volumes. Each figure is the median of 21 runs, measured in this process against
//! the model directly (no HTTP), so it is the time the model's read lock is held.
//!
//! Run: `cargo run --release --example console_views -- [SIZES...]`

use ontap_sim::admin::views::{self, VolumeQuery};
use ontap_sim::config::Topology;
use ontap_sim::model::{Cluster, Guarantee, Listeners, VolumeSpec};
use std::time::Instant;

fn median_ms(mut f: impl FnMut()) -> f64 {
    let mut t: Vec<f64> = (0..21)
        .map(|_| {
            let s = Instant::now();
            f();
            s.elapsed().as_secs_f64() * 1000.0
        })
        .collect();
    t.sort_by(|a, b| a.total_cmp(b));
    t[t.len() / 2]
}

fn query(params: &[(&str, &str)]) -> VolumeQuery {
    let p: Vec<(String, String)> = params
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    VolumeQuery::parse(&p).expect("a valid query")
}

fn main() {
    let sizes: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let sizes = if sizes.is_empty() {
        vec![1_000, 10_000, 100_000]
    } else {
        sizes
    };
    let listen = Listeners {
        management: "127.0.0.1:8443".parse().expect("address"),
        nfs: "127.0.0.1:2049".parse().expect("address"),
    };
    let mut c = Cluster::from_topology(&Topology::builtin_default(), &listen);
    let mut made = 0;
    println!("| volumes | first page | last page | by size, first | by size desc, last | filtered (\"_0000042\") | one volume | cluster |");
    println!("|---|---|---|---|---|---|---|---|");
    for n in sizes {
        while made < n {
            c.create_volume(
                "svm1",
                VolumeSpec {
                    name: format!("trident_pvc_{made:06}"),
                    aggregate: "aggr1".into(),
                    size: (1 << 30) + ((made as u64 * 7919) % 1000) * (1 << 20),
                    guarantee: Some(Guarantee::None),
                    junction_path: Some(format!("/trident_pvc_{made:06}")),
                    ..Default::default()
                },
            )
            .expect("create");
            made += 1;
            if made % 10_000 == 0 {
                c.commit();
            }
        }
        c.commit();
        let total = c.volumes.len();
        let last = (total - 1).to_string();
        let q_first = query(&[("limit", "50")]);
        let q_last = query(&[("limit", "50"), ("offset", &last)]);
        let q_size = query(&[("limit", "50"), ("sort", "size")]);
        let q_size_last = query(&[
            ("limit", "50"),
            ("sort", "size"),
            ("order", "desc"),
            ("offset", &last),
        ]);
        let q_filter = query(&[("limit", "50"), ("filter", "_0000042")]);
        let mut sink = 0usize;
        let mut page = |q: &VolumeQuery| median_ms(|| sink += views::volumes(&c, q).records.len());
        let (a, b, s1, s2, f) = (
            page(&q_first),
            page(&q_last),
            page(&q_size),
            page(&q_size_last),
            page(&q_filter),
        );
        let d = median_ms(|| {
            sink += views::volume(&c, "svm1", "trident_pvc_000042", Some(2049))
                .map_or(0, |v| v.snapshot_list.len())
        });
        let cl = median_ms(|| sink += views::cluster(&c).volumes);
        println!(
            "| {total} | {a:.2} ms | {b:.2} ms | {s1:.2} ms | {s2:.2} ms | {f:.2} ms | {d:.2} ms | {cl:.2} ms |"
        );
        std::hint::black_box(sink);
    }
}
