//! Family-wise and false-discovery-rate adjustments of p-values.
//!
//! Holm (1979), "A simple sequentially rejective multiple test procedure"; Benjamini &
//! Hochberg (1995), "Controlling the false discovery rate". Both return adjusted p-values
//! (compare them with `alpha` directly), as `statsmodels.stats.multitest.multipletests` does.

use crate::{Error, Result};

/// Which adjustment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Adjustment {
    /// Holm's step-down family-wise error control.
    Holm,
    /// Benjamini–Hochberg step-up false discovery rate control.
    BenjaminiHochberg,
}

impl std::str::FromStr for Adjustment {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "holm" => Ok(Adjustment::Holm),
            "bh" | "fdr_bh" => Ok(Adjustment::BenjaminiHochberg),
            other => Err(Error::InvalidParameter {
                name: "adjust",
                reason: format!("unknown adjustment `{other}`; use `holm` or `bh`"),
            }),
        }
    }
}

/// Adjusts `p`; entries that are `None` or NaN are left out of the family and stay `None`.
pub fn adjust_p_values(p: &[Option<f64>], method: Adjustment) -> Vec<Option<f64>> {
    let mut idx: Vec<usize> = (0..p.len())
        .filter(|&i| p[i].is_some_and(|v| !v.is_nan()))
        .collect();
    let m = idx.len();
    let val = |i: usize| p[i].unwrap_or(f64::NAN);
    // stable sort by p, ties in input order
    idx.sort_by(|&a, &b| val(a).total_cmp(&val(b)));
    let mut out = vec![None; p.len()];
    match method {
        Adjustment::Holm => {
            let mut running = 0.0f64;
            for (rank, &i) in idx.iter().enumerate() {
                let a = ((m - rank) as f64 * val(i)).min(1.0);
                running = running.max(a);
                out[i] = Some(running);
            }
        }
        Adjustment::BenjaminiHochberg => {
            let mut running = 1.0f64;
            for (rank, &i) in idx.iter().enumerate().rev() {
                let a = (m as f64 / (rank + 1) as f64 * val(i)).min(1.0);
                running = running.min(a);
                out[i] = Some(running);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn holm_and_bh_small() {
        let p = [Some(0.01), Some(0.04), Some(0.03), None];
        let h = adjust_p_values(&p, Adjustment::Holm);
        assert_eq!(h[0], Some(0.03));
        assert!((h[1].unwrap() - 0.06).abs() < 1e-15);
        assert!((h[2].unwrap() - 0.06).abs() < 1e-15);
        assert_eq!(h[3], None);
        let b = adjust_p_values(&p, Adjustment::BenjaminiHochberg);
        assert!((b[0].unwrap() - 0.03).abs() < 1e-15);
        assert!((b[1].unwrap() - 0.04).abs() < 1e-15);
        assert!((b[2].unwrap() - 0.04).abs() < 1e-15);
    }
}
