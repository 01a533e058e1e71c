//! What every pipegen workload shares: the lake's table schemas (and, with the
//! workloads issue, the canonical event and its source adapters).

pub mod lake;
pub mod metrics;
