//! Renderers: the resource graph as CloudFormation or Terraform text.
//!
//! Both go through tera templates in `templates/<target>/`, one per resource
//! kind. A template maps graph properties onto the target's property names and
//! nothing more; values are formatted by filters (`cfn`, `hcl`) so quoting and
//! escaping live in one tested place. Each template is rendered twice, with
//! `section = "resource"` and `section = "output"`, so a kind's outputs sit
//! next to its resource. Templates are compiled into the binary, so `pipegen`
//! renders from any directory.
//!
//! Output is deterministic: same graph, same bytes. Artifact keys carry a
//! content hash given by the caller (see `artifacts.rs`).

pub mod cfn_json;
mod filters;
pub mod hcl;

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::{Value as Json, json};
use tera::{Context, Tera};

use crate::model::Workload;
use crate::resources::{Kind, Resource, ResourceGraph};
use crate::validate::Environment;

/// What to render.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Target {
    Cloudformation,
    Terraform,
    All,
}

/// One rendered file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RenderedFile {
    /// File name relative to the environment's output folder.
    pub name: String,
    pub text: String,
}

/// Content hashes of the workload artifacts, by workload name (`ingest`,
/// `detector`, `simulator`, `etl`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ArtifactHashes(pub BTreeMap<String, String>);

impl ArtifactHashes {
    fn get(&self, workload: &str) -> String {
        self.0.get(workload).cloned().unwrap_or_else(|| "0".repeat(64))
    }
}

#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    #[error("template error: {0}")]
    Template(String),
}

impl From<tera::Error> for RenderError {
    fn from(e: tera::Error) -> Self {
        // tera's Display hides the cause chain, which names the failing line.
        let mut text = e.to_string();
        let mut source = std::error::Error::source(&e);
        while let Some(s) = source {
            text.push_str(&format!(": {s}"));
            source = s.source();
        }
        RenderError::Template(text)
    }
}

macro_rules! templates {
    ($($name:literal),* $(,)?) => {
        &[$(
            (concat!("cloudformation/", $name, ".yaml"), include_str!(concat!("../../../templates/cloudformation/", $name, ".yaml"))),
            (concat!("terraform/", $name, ".tf"), include_str!(concat!("../../../templates/terraform/", $name, ".tf"))),
        )*]
    };
}

/// Every template, by kind (the file stem is the kind's snake-case name).
const TEMPLATES: &[(&str, &str)] = templates!(
    "bucket",
    "bucket_policy",
    "kms_key",
    "stream",
    "queue",
    "log_group",
    "role",
    "function",
    "event_source_mapping",
    "schedule",
    "lambda_permission",
    "ecr_repository",
    "ecs_cluster",
    "task_definition",
    "security_group",
    "glue_database",
    "glue_table",
    "glue_crawler",
    "athena_workgroup",
    "named_query",
    "dynamo_table",
    "topic",
    "subscription",
    "alarm",
    "dashboard",
    "delivery_stream",
    "glue_security_configuration",
);

/// The named queries' SQL, compiled in.
pub(crate) const QUERIES: &[(&str, &str)] = &[
    (
        "product_conversion_funnel",
        include_str!("../../../queries/product_conversion_funnel.sql"),
    ),
    (
        "hourly_revenue_trends",
        include_str!("../../../queries/hourly_revenue_trends.sql"),
    ),
    (
        "top_products_by_engagement",
        include_str!("../../../queries/top_products_by_engagement.sql"),
    ),
    (
        "category_performance",
        include_str!("../../../queries/category_performance.sql"),
    ),
    (
        "user_activity_trends",
        include_str!("../../../queries/user_activity_trends.sql"),
    ),
    (
        "unique_visitors_per_day",
        include_str!("../../../queries/unique_visitors_per_day.sql"),
    ),
    (
        "carted_not_purchased",
        include_str!("../../../queries/carted_not_purchased.sql"),
    ),
    (
        "top_categories_by_hour_weekday",
        include_str!("../../../queries/top_categories_by_hour_weekday.sql"),
    ),
    (
        "brands_needing_marketing",
        include_str!("../../../queries/brands_needing_marketing.sql"),
    ),
    (
        "top_products_per_seller",
        include_str!("../../../queries/top_products_per_seller.sql"),
    ),
    (
        "latest_orders_per_seller",
        include_str!("../../../queries/latest_orders_per_seller.sql"),
    ),
    ("revenue_by_city", include_str!("../../../queries/revenue_by_city.sql")),
];

/// The SQL text of a named query.
pub fn query_sql(name: &str) -> Option<&'static str> {
    QUERIES.iter().find(|(n, _)| *n == name).map(|(_, sql)| *sql)
}

/// The Terraform name of a logical id (`IngestFunction` -> `ingest_function`).
pub fn tf_name(id: &str) -> String {
    filters::snake(id)
}

/// The template stem of a kind (`event_source_mapping`).
pub fn kind_name(kind: Kind) -> String {
    serde_json::to_value(kind)
        .ok()
        .and_then(|v| v.as_str().map(String::from))
        .unwrap_or_default()
}

/// Renders graphs; holds the compiled templates.
pub struct Renderer {
    tera: Tera,
}

#[derive(Serialize)]
struct TagPair<'a> {
    key: &'a str,
    value: &'a str,
}

impl Renderer {
    pub fn new() -> Result<Renderer, RenderError> {
        let mut tera = Tera::default();
        tera.autoescape_on(vec![]);
        tera.add_raw_templates(TEMPLATES.iter().copied())?;
        filters::register(&mut tera);
        Ok(Renderer { tera })
    }

    /// Renders many environments on all cores (each environment is
    /// independent); results are in the order of `envs`.
    pub fn render_many(
        &self,
        envs: &[Environment],
        target: Target,
        artifacts: &ArtifactHashes,
    ) -> Vec<Result<Vec<RenderedFile>, RenderError>> {
        let workers = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
            .min(envs.len().max(1));
        let chunk = envs.len().div_ceil(workers).max(1);
        std::thread::scope(|scope| {
            let handles: Vec<_> = envs
                .chunks(chunk)
                .map(|part| {
                    scope.spawn(move || {
                        part.iter()
                            .map(|e| self.render(e, target, artifacts))
                            .collect::<Vec<_>>()
                    })
                })
                .collect();
            handles
                .into_iter()
                .flat_map(|h| h.join().expect("render worker panicked"))
                .collect()
        })
    }

    /// Renders one environment to the files of `target`.
    pub fn render(
        &self,
        env: &Environment,
        target: Target,
        artifacts: &ArtifactHashes,
    ) -> Result<Vec<RenderedFile>, RenderError> {
        self.render_graph(env, &env.graph, target, artifacts)
    }

    /// Renders a graph derived from `env`'s (a subset, or one adapted to
    /// where it deploys) to the files of `target`.
    pub fn render_graph(
        &self,
        env: &Environment,
        graph: &ResourceGraph,
        target: Target,
        artifacts: &ArtifactHashes,
    ) -> Result<Vec<RenderedFile>, RenderError> {
        let graph = prepare(graph, artifacts);
        match target {
            Target::Cloudformation => self.cloudformation(env, &graph),
            Target::Terraform => self.terraform(env, &graph),
            Target::All => {
                // Both fit in one folder: CloudFormation reads template.yaml,
                // Terraform reads *.tf.
                let mut files = self.cloudformation(env, &graph)?;
                files.extend(self.terraform(env, &graph)?);
                Ok(files)
            }
        }
    }

    /// A graph's CloudFormation template as JSON with long-form intrinsics,
    /// the form the deploy engine sends (see `cfn_json`).
    pub fn cloudformation_json(
        &self,
        env: &Environment,
        graph: &ResourceGraph,
        artifacts: &ArtifactHashes,
    ) -> Result<Json, RenderError> {
        let files = self.render_graph(env, graph, Target::Cloudformation, artifacts)?;
        let text = &files[0].text;
        cfn_json::to_json(text).map_err(|e| RenderError::Template(format!("template.yaml: {e}")))
    }

    /// What every resource's template sees of the environment, built once.
    fn base_context(&self, graph: &ResourceGraph) -> Context {
        let mut ctx = Context::new();
        let tags: Vec<TagPair> = graph.tags.iter().map(|(k, v)| TagPair { key: k, value: v }).collect();
        ctx.insert("tags", &tags);
        let cfn_tags: Vec<Json> = graph.tags.iter().map(|(k, v)| json!({"Key": k, "Value": v})).collect();
        ctx.insert("cfn_tags", &cfn_tags);
        ctx.insert("tag_map", &graph.tags);
        ctx.insert("region", &graph.region);
        ctx
    }

    fn context(&self, base: &Context, r: &Resource) -> Context {
        let mut ctx = base.clone();
        ctx.insert("r", &json!({"id": r.id, "name": r.name}));
        ctx.insert("p", &r.properties);
        // Shapes both targets share, derived from the properties once.
        match r.kind {
            Kind::Role => ctx.insert("policy_statements", &policy_statements(&r.properties["statements"])),
            Kind::GlueTable => {
                let columns: Vec<Json> = r.properties["columns"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|c| json!({"Name": c["name"], "Type": c["type"]}))
                    .collect();
                let partitions: Vec<Json> = r.properties["partition_keys"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|c| json!({"Name": c["name"], "Type": c["type"]}))
                    .collect();
                ctx.insert("glue_columns", &columns);
                ctx.insert("glue_partition_keys", &partitions);
            }
            Kind::EcrRepository => {
                let keep = r.properties["keep_images"].as_u64().unwrap_or(20);
                let policy = json!({"rules": [{
                    "rulePriority": 1,
                    "description": format!("Keep the {keep} newest images"),
                    "selection": {"tagStatus": "any", "countType": "imageCountMoreThan", "countNumber": keep},
                    "action": {"type": "expire"},
                }]});
                ctx.insert("ecr_lifecycle", &policy);
            }
            Kind::Alarm => {
                let dims: Vec<Json> = r.properties["dimensions"]
                    .as_object()
                    .into_iter()
                    .flatten()
                    .map(|(k, v)| json!({"Name": k, "Value": v}))
                    .collect();
                ctx.insert("alarm_dimensions", &dims);
            }
            _ => {}
        }
        ctx
    }

    /// Every resource's text of one target: (resources section, outputs section).
    fn each(&self, graph: &ResourceGraph, target: &str) -> Result<(String, String), RenderError> {
        let base = self.base_context(graph);
        let (mut resources, mut outputs) = (String::new(), String::new());
        let separator = if target == "terraform" { "\n\n" } else { "\n" };
        for r in &graph.resources {
            let name = format!(
                "{target}/{}.{}",
                kind_name(r.kind),
                if target == "terraform" { "tf" } else { "yaml" }
            );
            let mut ctx = self.context(&base, r);
            for (section, out) in [("resource", &mut resources), ("output", &mut outputs)] {
                ctx.insert("section", section);
                let text = self.tera.render(&name, &ctx)?;
                let text = text.trim_matches('\n');
                if !text.trim().is_empty() {
                    out.push_str(text);
                    out.push_str(separator);
                }
            }
        }
        Ok((resources, outputs))
    }

    fn cloudformation(&self, env: &Environment, graph: &ResourceGraph) -> Result<Vec<RenderedFile>, RenderError> {
        let mut text = String::new();
        text.push_str("AWSTemplateFormatVersion: \"2010-09-09\"\n");
        text.push_str(&format!(
            "Description: {}\n",
            filters::yaml_string(&format!(
                "pipegen environment {} ({}): e-commerce analytics pipeline. Generated by pipegen; do not edit.",
                env.name, env.config.tenant
            ))
        ));
        if !graph.parameters.is_empty() {
            text.push_str("Parameters:\n");
            for p in &graph.parameters {
                let ty = match p.kind.as_str() {
                    "vpc_id" => "AWS::EC2::VPC::Id",
                    _ => "List<AWS::EC2::Subnet::Id>",
                };
                text.push_str(&format!(
                    "  {}:\n    Type: {ty}\n    Description: {}\n",
                    p.name,
                    filters::yaml_string(&p.description)
                ));
            }
        }
        let (resources, outputs) = self.each(graph, "cloudformation")?;
        text.push_str("Resources:\n");
        text.push_str(&resources);
        if !outputs.is_empty() {
            text.push_str("Outputs:\n");
            text.push_str(&outputs);
        }
        Ok(vec![RenderedFile {
            name: "template.yaml".into(),
            text,
        }])
    }

    fn terraform(&self, env: &Environment, graph: &ResourceGraph) -> Result<Vec<RenderedFile>, RenderError> {
        let tags: BTreeMap<&str, &str> = graph.tags.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let mut main = String::new();
        main.push_str(&format!(
            "# pipegen environment {} ({}): e-commerce analytics pipeline.\n# Generated by pipegen; do not edit.\n\n",
            env.name, env.config.tenant
        ));
        main.push_str(
            "terraform {\n  required_version = \">= 1.6\"\n  required_providers {\n    aws = {\n      source  = \"hashicorp/aws\"\n      version = \"~> 6.0\"\n    }\n  }\n}\n\n",
        );
        main.push_str(&format!(
            "provider \"aws\" {{\n  region = {}\n  default_tags {{\n    tags = {}\n  }}\n}}\n\n",
            filters::hcl_value(&json!(graph.region), 2),
            filters::hcl_value(&json!(tags), 4)
        ));
        main.push_str("data \"aws_caller_identity\" \"current\" {}\n\ndata \"aws_partition\" \"current\" {}\n\n");
        let (resources, outputs) = self.each(graph, "terraform")?;
        main.push_str(&resources);
        let mut variables = String::new();
        for p in &graph.parameters {
            let ty = if p.kind == "vpc_id" { "string" } else { "list(string)" };
            variables.push_str(&format!(
                "variable \"{}\" {{\n  description = {}\n  type = {ty}\n}}\n\n",
                filters::snake(&p.name),
                filters::hcl_value(&json!(p.description), 2)
            ));
        }
        Ok(vec![
            RenderedFile {
                name: "main.tf".into(),
                text: hcl::format(main.trim_end()),
            },
            RenderedFile {
                name: "variables.tf".into(),
                text: hcl::format(variables.trim_end()),
            },
            RenderedFile {
                name: "outputs.tf".into(),
                text: hcl::format(outputs.trim_end()),
            },
        ])
    }
}

/// Fills in what the graph leaves to render time: artifact hashes in code
/// keys and image tags, and the SQL of named queries.
fn prepare(graph: &ResourceGraph, artifacts: &ArtifactHashes) -> ResourceGraph {
    let mut graph = graph.clone();
    for r in &mut graph.resources {
        match r.kind {
            Kind::Function => {
                let workload: Option<Workload> = serde_json::from_value(r.properties["workload"].clone()).ok();
                if let Some(w) = workload {
                    let hash = artifacts.get(w.as_str());
                    if let Some(key) = r.properties["code"]["key"].as_str() {
                        r.properties["code"]["key"] = json!(key.replace("{artifact_hash}", &hash));
                    }
                }
            }
            Kind::TaskDefinition => {
                r.properties["image_tag"] = json!(artifacts.get("etl"));
            }
            Kind::NamedQuery => {
                let sql = r.name.as_deref().and_then(query_sql).unwrap_or_default();
                r.properties["sql"] = Json::String(sql.trim_end().to_string());
            }
            _ => {}
        }
    }
    graph
}

/// IAM policy statements (the JSON policy language both targets embed) from
/// the graph's statements.
pub fn policy_statements(statements: &Json) -> Vec<Json> {
    statements
        .as_array()
        .into_iter()
        .flatten()
        .map(|st| {
            let mut out = json!({
                "Sid": st["sid"],
                "Effect": "Allow",
                "Action": st["actions"],
                "Resource": st["resources"],
            });
            if let Some(conditions) = st["conditions"].as_array().filter(|c| !c.is_empty()) {
                let mut by_operator = serde_json::Map::new();
                for c in conditions {
                    let op = c["operator"].as_str().unwrap_or_default().to_string();
                    let entry = by_operator.entry(op).or_insert_with(|| json!({}));
                    entry[c["key"].as_str().unwrap_or_default()] = c["values"].clone();
                }
                out["Condition"] = Json::Object(by_operator);
            }
            out
        })
        .collect()
}
