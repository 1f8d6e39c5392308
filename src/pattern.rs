//! ONTAP's pattern syntax for one value, shared by ZAPI queries, REST query parameters, fault
//! rules and journal filters: a leaf that depends on nothing else in the crate.

/// ONTAP query syntax for one value: `a|b` alternatives, `!x` negation, `*` wildcards, `<n`, `>n`,
/// `<=n`, `>=n`, `a..b` ranges. Names are case-sensitive (`vol1` and `VOL1` are two volumes), so
/// matching is too.
pub fn value_matches(pattern: &str, value: &str) -> bool {
    pattern.split('|').any(|alt| one_matches(alt.trim(), value))
}

/// The part every value matching `pattern` starts with: up to its first wildcard, or nothing
/// for patterns that are not plain globs (alternatives, negations, comparisons, ranges).
pub fn literal_prefix(pattern: &str) -> &str {
    if pattern.contains(['|', '!', '<', '>']) || pattern.contains("..") {
        return "";
    }
    pattern.split('*').next().unwrap_or_default()
}

fn one_matches(alt: &str, value: &str) -> bool {
    // Negations counted, not recursed into: a pattern of thousands of `!` must not overflow the
    // stack.
    let rest = alt.trim_start_matches('!');
    if (alt.len() - rest.len()) % 2 == 1 {
        return !one_matches(rest, value);
    }
    let alt = rest;
    // `""` is the empty value (Ansible asks for qtree "" this way).
    if alt == "\"\"" {
        return value.is_empty();
    }
    let num = |s: &str| s.trim().parse::<f64>().ok();
    for (op, cmp) in [
        ("<=", (|a: f64, b: f64| a <= b) as fn(f64, f64) -> bool),
        (">=", |a, b| a >= b),
        ("<", |a, b| a < b),
        (">", |a, b| a > b),
    ] {
        if let Some(rest) = alt.strip_prefix(op) {
            return match (num(value), num(rest)) {
                (Some(v), Some(r)) => cmp(v, r),
                _ => cmp_str(value, rest.trim(), op),
            };
        }
    }
    if let Some((lo, hi)) = alt.split_once("..") {
        if let (Some(v), Some(l), Some(h)) = (num(value), num(lo), num(hi)) {
            return l <= v && v <= h;
        }
    }
    glob(alt, value)
}

fn cmp_str(value: &str, other: &str, op: &str) -> bool {
    let o = value.cmp(other);
    match op {
        "<=" => o.is_le(),
        ">=" => o.is_ge(),
        "<" => o.is_lt(),
        _ => o.is_gt(),
    }
}

/// `*` matches any run of characters; everything else is literal.
fn glob(pattern: &str, value: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    if parts.len() == 1 {
        return pattern == value;
    }
    let (first, last) = (parts[0], parts[parts.len() - 1]);
    // Check both ends before slicing, so the slice bounds fall on character boundaries.
    if !value.starts_with(first) || !value.ends_with(last) || value.len() < first.len() + last.len()
    {
        return false;
    }
    let mut rest = &value[first.len()..value.len() - last.len()];
    for mid in &parts[1..parts.len() - 1] {
        match rest.find(mid) {
            Some(i) => rest = &rest[i + mid.len()..],
            None => return false,
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn value_syntax() {
        assert!(value_matches("trident_*", "trident_pvc_1"));
        assert!(!value_matches("trident_*", "other"));
        assert!(value_matches("aggr1|aggr2", "aggr2"));
        assert!(value_matches("*mid*", "a-mid-b"));
        assert!(value_matches("a*b*c", "axxbyyc"));
        assert!(!value_matches("a*b*c", "axxc"));
        assert!(value_matches("!svm1", "svm2"));
        assert!(!value_matches("!svm1", "svm1"));
        assert!(value_matches("!!svm1", "svm1"));
        // Deep negation is counted, not recursed into.
        assert!(value_matches(
            &format!("{}svm1", "!".repeat(100_001)),
            "svm2"
        ));
        assert!(value_matches(">100", "1000"));
        assert!(!value_matches("<100", "1000"));
        assert!(value_matches("10..20", "15"));
        assert!(!value_matches("SVM1", "svm1"));
        assert!(value_matches("default|default-DR", "default-DR"));
        // The range a lookup may read: every match starts with it.
        assert_eq!(literal_prefix("trident_pvc_0042*"), "trident_pvc_0042");
        assert_eq!(literal_prefix("vol1"), "vol1");
        for wide in ["*x", "a|b", "!a", "<5", ">a", "1..5"] {
            assert_eq!(literal_prefix(wide), "", "{wide}");
        }
    }
}
