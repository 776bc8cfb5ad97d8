//! Linear and logistic regression with classical, heteroskedasticity-robust (HC0–HC3),
//! one-way cluster-robust (CR1) and two-way cluster-robust (Cameron–Gelbach–Miller) variances.
//!
//! References: White (1980) for HC0; MacKinnon & White (1985) for HC1–HC3; Liang & Zeger (1986)
//! and Arellano (1987) for cluster-robust variance; Cameron, Gelbach & Miller (2011),
//! "Robust Inference With Multiway Clustering", JBES 29(2) for the two-way variance and its
//! eigenvalue repair.
//!
//! The conventions follow `statsmodels` so that results can be checked against it
//! (`tools/golden/`): WLS is OLS on rows scaled by `√w`; HC1 multiplies HC0 by `n/(n−k)`;
//! cluster-robust variances carry the factor `G/(G−1)·(n−1)/(n−k)`; the two-way variance is
//! `V₁ + V₂ − V₁₂` with each term carrying its own factor.

mod logit;
mod ols;
pub(crate) mod vcov;

pub use crate::data::{Clusters, LinearData};
pub use logit::{LogitFit, LogitParams, LogitParamsChecked};
pub use ols::{OlsFit, OlsParams, OlsParamsChecked};
pub use vcov::{Vcov, VcovSpec};
