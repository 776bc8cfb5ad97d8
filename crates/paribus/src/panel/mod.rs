//! The difference-in-differences family: the 2×2 estimators of Sant'Anna & Zhao (2020),
//! Callaway & Sant'Anna (2021) group-time effects and their aggregations, two-way fixed effects
//! with high-dimensional fixed effects absorbed by alternating projections, event studies,
//! Sun & Abraham (2021) and the Goodman-Bacon (2021) decomposition.

pub mod bacon;
pub mod cs;
pub mod drdid;
pub mod event;
pub mod hdfe;
pub mod twfe;

pub use bacon::{Bacon, BaconTerm, Comparison, bacon};
pub use cs::{
    AggEstimate, Aggregate, Aggregation, BasePeriod, Bootstrap, Cell, Control, CsFit, CsLong,
    CsPanel, CsParams, CsParamsChecked, PreTest,
};
pub use drdid::{DidMethod, NoEstimate, TwoByTwo, did_panel, did_rc};
pub use event::{
    Dummies, IwEstimate, event_dummies, iw_wald, relative_time, sa_aggregate, sa_dummies,
};
pub use hdfe::{Factors, non_singletons};
pub use twfe::{FeData, FeFit, FeParams, FeParamsChecked, FeVcov, WaldTest, wald};
