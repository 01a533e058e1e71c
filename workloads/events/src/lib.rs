//! What every pipegen workload shares: the canonical event and its source
//! adapters, timestamp parsing, deterministic event ids, KPL de-aggregation,
//! the reasons a record is invalid, the lake's table schemas and the metric
//! names.

pub mod adapt;
pub mod event;
pub mod id;
pub mod kpl;
pub mod lake;
pub mod metrics;
pub mod payload;
pub mod reason;
pub mod record;
pub mod source;
pub mod time;

pub use adapt::{Adapter, SourceFormat};
pub use event::{Event, EventType};
pub use reason::Reason;
pub use record::{JsonLine, Raw, Record};
