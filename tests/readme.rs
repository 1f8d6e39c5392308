//! The README's examples are what a newcomer copies first: the topology example must load as
//! written, and every `serve` flag must be documented with its variable.

use std::process::Command;

fn readme() -> String {
    std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap()
}

/// The first ```toml block after `heading`.
fn toml_block(text: &str, heading: &str) -> String {
    let from = text.find(heading).expect("README has the heading");
    let rest = &text[from..];
    let start = rest.find("```toml\n").expect("a toml block") + "```toml\n".len();
    let end = rest[start..].find("```").expect("the block ends");
    rest[start..start + end].to_string()
}

#[test]
fn topology_example_loads_as_written() {
    let block = toml_block(&readme(), "## The topology file");
    let t = ontap_sim::config::Topology::parse(&block, "README.md")
        .unwrap_or_else(|e| panic!("the README's topology example is refused: {e}"));
    assert_eq!(t.qos_policy_groups, vec!["gold".to_string()]);
    assert!(t.users.iter().any(|u| u.name == "trident"));
}

#[test]
fn every_serve_flag_is_in_the_readme_with_its_variable() {
    let help = Command::new(env!("CARGO_BIN_EXE_ontap-sim"))
        .args(["serve", "--help"])
        .output()
        .unwrap();
    let help = String::from_utf8(help.stdout).unwrap();
    let text = readme();
    let mut flags = 0;
    for line in help.lines() {
        let l = line.trim_start();
        let Some(flag) = l
            .strip_prefix("--")
            .and_then(|f| f.split([' ', '<']).next())
        else {
            continue;
        };
        if flag == "help" {
            continue;
        }
        flags += 1;
        let var = format!("ONTAP_SIM_{}", flag.to_uppercase().replace('-', "_"));
        assert!(
            help.contains(&format!("[env: {var}=")),
            "serve --{flag} has no variable {var} in --help"
        );
        let row = text
            .lines()
            .find(|r| r.starts_with(&format!("| `--{flag}")))
            .unwrap_or_else(|| panic!("the README's serve flags table has no row for --{flag}"));
        assert!(
            row.contains(&var),
            "the README row for --{flag} does not name {var}"
        );
    }
    assert!(
        flags >= 9,
        "found only {flags} flags in serve --help:\n{help}"
    );
}
