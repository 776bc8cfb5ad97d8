//! Properties of the A/B analysis on arbitrary small data: no panic, inference is either a
//! number or absent, and the result does not depend on how rows are split into batches.

use paribus::design::ab::{AbParams, analyze};
use paribus::design::moments::GroupedMoments;
use proptest::prelude::*;

fn rows() -> impl Strategy<Value = Vec<(u32, f64, f64, f64)>> {
    let v = prop_oneof![Just(0.0), Just(1.0), -1e6..1e6f64, 0.0..10.0f64];
    prop::collection::vec((0u32..3, v.clone(), v.clone(), v), 0..40)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, rng_seed: proptest::test_runner::RngSeed::Fixed(20261124), ..ProptestConfig::default() })]

    #[test]
    fn analysis_never_panics_and_batches_do_not_matter(rows in rows(), split in 0usize..40) {
        let codes: Vec<u32> = rows.iter().map(|r| r.0).collect();
        let y: Vec<f64> = rows.iter().map(|r| r.1).collect();
        let num: Vec<f64> = rows.iter().map(|r| r.2).collect();
        let den: Vec<f64> = rows.iter().map(|r| r.3.abs()).collect();
        let params = AbParams::new("arm", "0")
            .metrics(vec!["y".into()])
            .ratios(vec![("num".into(), "den".into())])
            .pre(vec!["num".into()])
            .check()
            .unwrap();
        let labels: Vec<String> = (0..3).map(|i| i.to_string()).collect();
        let mut one = GroupedMoments::new(3);
        one.push(&codes, &[&y, &num, &den]);
        one.reserve_groups(3);
        let mut two = GroupedMoments::new(3);
        let s = split.min(codes.len());
        two.push(&codes[..s], &[&y[..s], &num[..s], &den[..s]]);
        two.push(&codes[s..], &[&y[s..], &num[s..], &den[s..]]);
        two.reserve_groups(3);
        let a = analyze(&params, &labels, &one.into_groups());
        let b = analyze(&params, &labels, &two.into_groups());
        prop_assert_eq!(a.is_ok(), b.is_ok());
        if let (Ok(a), Ok(b)) = (a, b) {
            prop_assert_eq!(a.estimates.len(), b.estimates.len());
            for (x, z) in a.estimates.iter().zip(&b.estimates) {
                prop_assert_eq!(&x.label, &z.label);
                if let (Some(s), Some(t)) = (x.std_error, z.std_error) {
                    prop_assert!(s.is_finite() && s >= 0.0);
                    // variances from moments cancel: agree on the scale of the estimate
                    let scale = 1.0 + s.abs().max(t.abs()) + x.estimate.abs();
                    prop_assert!((s - t).abs() <= 1e-6 * scale, "{} {} {}", x.label, s, t);
                }
                if let Some(p) = x.p_value {
                    prop_assert!((0.0..=1.0).contains(&p), "{} p = {}", x.label, p);
                }
            }
        }
    }
}

/// Found by the property test above: a ratio metric whose units all lie on one ray through the
/// origin has a delta-method variance of exactly zero, but computing it from moments cancels
/// terms of order 10¹⁰. The variance must come out non-negative and tiny, however the rows are
/// batched.
#[test]
fn regression_ratio_variance_cancellation() {
    let codes = [1u32, 0, 2, 0, 1, 1];
    let y = [0.0; 6];
    let num = [0.0, 0.0, 0.0, 0.0, 0.0, -246869.38250023985];
    let den = [0.0, 0.0, 1.0, 1.0, 0.0, 3.463808272397824];
    let params = AbParams::new("arm", "0")
        .metrics(vec!["y".into()])
        .ratios(vec![("num".into(), "den".into())])
        .check()
        .unwrap();
    let labels: Vec<String> = (0..3).map(|i| i.to_string()).collect();
    for split in 0..=6 {
        let mut acc = GroupedMoments::new(3);
        acc.push(
            &codes[..split],
            &[&y[..split], &num[..split], &den[..split]],
        );
        acc.push(
            &codes[split..],
            &[&y[split..], &num[split..], &den[split..]],
        );
        let a = analyze(&params, &labels, &acc.into_groups()).unwrap();
        let se = a.get("ratio(num/den:1)").unwrap().std_error.unwrap();
        assert!((0.0..1e-2).contains(&se), "split {split}: se {se}");
    }
}
