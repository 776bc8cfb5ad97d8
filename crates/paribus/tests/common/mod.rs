//! Shared helpers of the library's integration tests: numeric CSV files and golden fixtures.
#![allow(dead_code)]

pub mod splitmix;

use std::collections::HashMap;

/// A numeric CSV file by column name.
pub struct Csv {
    pub cols: HashMap<String, Vec<f64>>,
    pub n: usize,
}

impl Csv {
    pub fn col(&self, name: &str) -> &[f64] {
        &self.cols[name]
    }

    /// Dense codes (order of first appearance) of a column of labels.
    pub fn codes(&self, name: &str) -> Vec<u32> {
        let mut map: HashMap<u64, u32> = HashMap::new();
        self.col(name)
            .iter()
            .map(|v| {
                let next = map.len() as u32;
                *map.entry(v.to_bits()).or_insert(next)
            })
            .collect()
    }
}

/// Reads a CSV whose fields are all numbers, relative to the workspace root (`../..` from the
/// crate); `../shared/...` paths reach the shared data beside the repository.
pub fn read_csv(rel: &str) -> Csv {
    let path = format!("{}/../../{rel}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let mut lines = text.lines();
    let header: Vec<String> = lines
        .next()
        .unwrap()
        .split(',')
        .map(|s| s.trim_matches('"').to_string())
        .collect();
    let mut cols: Vec<Vec<f64>> = vec![Vec::new(); header.len()];
    let mut n = 0;
    for l in lines {
        for (c, f) in cols.iter_mut().zip(l.split(',')) {
            c.push(f.parse().unwrap_or(f64::NAN));
        }
        n += 1;
    }
    Csv {
        cols: header.into_iter().zip(cols).collect(),
        n,
    }
}

/// A golden fixture of `tools/golden/fixtures`.
pub fn fixture(name: &str) -> serde_json::Value {
    let path = format!(
        "{}/../../tools/golden/fixtures/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).unwrap()
}

pub fn f(v: &serde_json::Value) -> f64 {
    v.as_f64().unwrap()
}

pub fn fv(v: &serde_json::Value) -> Vec<f64> {
    v.as_array().unwrap().iter().map(f).collect()
}

pub fn rel_close(a: f64, b: f64, tol: f64) -> bool {
    (a - b).abs() <= tol * b.abs().max(1e-300)
}
