//! Registers silver, invalid and gold in the Glue catalog, with their
//! partitions, so Athena can query them without waiting for a crawler
//! (spec/gold.md). Table definitions come from `pipegen_events::lake`, the
//! same source the generator renders into CloudFormation and Terraform.

use aws_sdk_glue::types::{Column, PartitionInput, SerDeInfo, StorageDescriptor, TableInput};
use pipegen_events::lake::{StorageFormat, TableDef};

#[derive(Debug, thiserror::Error)]
#[error("Glue catalog, database `{database}`, table `{table}`: {message}")]
pub struct CatalogError {
    pub database: String,
    pub table: String,
    pub message: String,
}

/// A Glue database of one environment and the lake bucket its tables read.
#[derive(Clone, Debug)]
pub struct Catalog {
    pub client: aws_sdk_glue::Client,
    pub database: String,
    pub bucket: String,
}

impl Catalog {
    fn error(&self, table: &str, message: impl std::fmt::Display) -> CatalogError {
        CatalogError {
            database: self.database.clone(),
            table: table.into(),
            message: message.to_string(),
        }
    }

    fn storage(&self, t: &TableDef, location: String) -> StorageDescriptor {
        let (input, output, serde) = match t.format {
            StorageFormat::Parquet => (
                "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat",
                "org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat",
                "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe",
            ),
            StorageFormat::JsonLines => (
                "org.apache.hadoop.mapred.TextInputFormat",
                "org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat",
                "org.openx.data.jsonserde.JsonSerDe",
            ),
        };
        StorageDescriptor::builder()
            .location(location)
            .input_format(input)
            .output_format(output)
            .serde_info(SerDeInfo::builder().serialization_library(serde).build())
            .set_columns(Some(columns(t.columns)))
            .build()
    }

    /// Creates the table when it does not exist yet (an existing table is
    /// left as the infrastructure defined it).
    pub async fn ensure_table(&self, t: &TableDef) -> Result<bool, CatalogError> {
        match self
            .client
            .get_table()
            .database_name(&self.database)
            .name(t.name)
            .send()
            .await
        {
            Ok(_) => return Ok(false),
            Err(e) if e.as_service_error().is_some_and(|s| s.is_entity_not_found_exception()) => {}
            Err(e) => return Err(self.error(t.name, aws_sdk_glue::error::DisplayErrorContext(&e))),
        }
        let input = TableInput::builder()
            .name(t.name)
            .description(t.grain)
            .table_type("EXTERNAL_TABLE")
            .parameters(
                "classification",
                if t.format == StorageFormat::Parquet {
                    "parquet"
                } else {
                    "json"
                },
            )
            .set_partition_keys(Some(columns(t.partition_keys)))
            .storage_descriptor(self.storage(t, format!("s3://{}/{}", self.bucket, t.prefix)))
            .build()
            .map_err(|e| self.error(t.name, e))?;
        self.client
            .create_table()
            .database_name(&self.database)
            .table_input(input)
            .send()
            .await
            .map_err(|e| self.error(t.name, aws_sdk_glue::error::DisplayErrorContext(&e)))?;
        Ok(true)
    }

    /// Adds partitions (values in the order of the table's partition keys);
    /// ones that exist already are fine. Returns how many were new.
    pub async fn add_partitions(&self, t: &TableDef, values: &[Vec<String>]) -> Result<usize, CatalogError> {
        let mut added = 0;
        for chunk in values.chunks(100) {
            let inputs: Vec<PartitionInput> = chunk
                .iter()
                .map(|v| {
                    let path: String = t
                        .partition_keys
                        .iter()
                        .zip(v)
                        .map(|(k, x)| format!("{}={}/", k.name, x))
                        .collect();
                    PartitionInput::builder()
                        .set_values(Some(v.clone()))
                        .storage_descriptor(self.storage(t, format!("s3://{}/{}{}", self.bucket, t.prefix, path)))
                        .build()
                })
                .collect();
            let out = self
                .client
                .batch_create_partition()
                .database_name(&self.database)
                .table_name(t.name)
                .set_partition_input_list(Some(inputs))
                .send()
                .await
                .map_err(|e| self.error(t.name, aws_sdk_glue::error::DisplayErrorContext(&e)))?;
            let failed = out.errors();
            for f in failed {
                let code = f.error_detail().and_then(|d| d.error_code()).unwrap_or_default();
                if code != "AlreadyExistsException" {
                    return Err(self.error(
                        t.name,
                        format!(
                            "partition {:?}: {} {}",
                            f.partition_values(),
                            code,
                            f.error_detail().and_then(|d| d.error_message()).unwrap_or_default()
                        ),
                    ));
                }
            }
            added += chunk.len() - failed.len();
        }
        Ok(added)
    }
}

fn columns(cols: &[pipegen_events::lake::Column]) -> Vec<Column> {
    cols.iter()
        .map(|c| {
            Column::builder()
                .name(c.name)
                .r#type(c.glue_type)
                .build()
                .expect("name is set")
        })
        .collect()
}
