//! Causal graphs: DAGs with latent confounders, d-separation, identification (back-door,
//! optimal adjustment, front-door, instruments).

pub mod dag;
pub mod identify;
pub mod pc;
pub mod refute;

pub use dag::{Dag, NodeSet, parse, to_dot};
pub use identify::{Identification, identify, is_backdoor_set};
pub use pc::{CiTest, Cpdag, Knowledge, pc};

/// Steps `idx` (a strictly increasing choice of `idx.len()` positions out of `0..n`) to the next
/// combination in lexicographic order; false when it was the last.
pub(crate) fn next_combination(idx: &mut [usize], n: usize) -> bool {
    let k = idx.len();
    let mut i = k;
    while i > 0 {
        i -= 1;
        if idx[i] < i + n - k {
            idx[i] += 1;
            for j in i + 1..k {
                idx[j] = idx[j - 1] + 1;
            }
            return true;
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sets(v: &[&[&str]]) -> Vec<Vec<String>> {
        v.iter()
            .map(|s| s.iter().map(|x| x.to_string()).collect())
            .collect()
    }

    #[test]
    fn m_bias_needs_no_adjustment_and_m_alone_is_invalid() {
        let g = parse("a -> x\na -> m\nb -> m\nb -> y\nx -> y\n").unwrap();
        let id = identify(&g, "x", "y").unwrap();
        assert_eq!(id.adjustment_sets, sets(&[&[]]));
        let m: NodeSet = [g.index("m").unwrap()].into_iter().collect();
        let (x, y) = (g.index("x").unwrap(), g.index("y").unwrap());
        assert!(!is_backdoor_set(&g, x, y, &m));
        let am: NodeSet = [g.index("a").unwrap(), g.index("m").unwrap()]
            .into_iter()
            .collect();
        assert!(is_backdoor_set(&g, x, y, &am));
        // the optimal set keeps the outcome's other parent, a precision variable
        assert_eq!(id.optimal, Some(vec!["b".to_string()]));
    }

    #[test]
    fn front_door_with_a_latent_confounder() {
        let g = parse("digraph { x -> m -> y; x -> y [dir=both]; }").unwrap();
        let id = identify(&g, "x", "y").unwrap();
        assert!(id.adjustment_sets.is_empty());
        assert_eq!(id.frontdoor, sets(&[&["m"]]));
        assert_eq!(id.optimal, None);
    }

    #[test]
    fn confounder_mediator_and_instrument() {
        // z -> x -> m -> y, c -> x, c -> y, w -> y (a precision variable)
        let g = parse("z -> x\nx -> m\nm -> y\nc -> x\nc -> y\nw -> y\n").unwrap();
        let id = identify(&g, "x", "y").unwrap();
        assert_eq!(id.adjustment_sets, sets(&[&["c"]]));
        // the optimal set adds the outcome's other parents
        assert_eq!(id.optimal, Some(vec!["c".to_string(), "w".to_string()]));
        assert_eq!(id.instruments, vec!["z".to_string()]);
        // m satisfies the front-door criterion too: x blocks its back-door path via c
        assert_eq!(id.frontdoor, sets(&[&["m"]]));
    }

    #[test]
    fn cycles_and_dot_outside_the_subset_are_refused() {
        let e = parse("a -> b\nb -> c\nc -> a\n").unwrap_err().to_string();
        assert!(e.contains("a -> b -> c -> a"), "{e}");
        let e = parse("digraph { subgraph s { a -> b } }")
            .unwrap_err()
            .to_string();
        assert!(e.contains("subgraph"), "{e}");
        let e = parse("digraph { a -- b }").unwrap_err().to_string();
        assert!(e.contains("--"), "{e}");
        let e = parse("digraph { a -> b [color=red] }")
            .unwrap_err()
            .to_string();
        assert!(e.contains("color=red"), "{e}");
        let g = parse("digraph {\n a -> {b c};\n b -> d -> e\n graphics\n}").unwrap();
        assert!(g.index("graphics").is_some());
        assert_eq!(parse(&to_dot(&g)).unwrap(), g);
    }
}
