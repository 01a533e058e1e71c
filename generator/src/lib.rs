//! pipegen: one typed, forkable description of an e-commerce analytics pipeline
//! on AWS, turned into infrastructure per environment.
//!
//! Data flows one way (see `../shared/DESIGN.md`):
//! YAML files -> [`environment`] (load, `extends`, located tree) ->
//! [`validate`] (schema, meaning, names) -> [`model`] (typed) ->
//! [`resources`] (the graph, with [`iam`] policies) -> renderers and engines.

pub mod artifacts;
pub mod cli;
pub mod dashboard;
pub mod deploy;
pub mod diagnostic;
pub mod environment;
pub mod iam;
pub mod local;
pub mod model;
pub mod naming;
pub mod package;
pub mod query;
pub mod render;
pub mod resources;
pub mod runner;
pub mod up;
pub mod validate;
