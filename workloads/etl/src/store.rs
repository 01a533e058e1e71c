//! Where the lake lives: an S3 bucket (AWS, or the emulator through
//! `AWS_ENDPOINT_URL`) or a local directory (fast tests, benchmarks, and
//! students without any emulator). Both hold keys like `silver/events/...`.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use aws_sdk_s3::primitives::ByteStream;

/// One object of a listing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ObjectInfo {
    pub key: String,
    /// Changes whenever the content does (S3 ETag; size and mtime for files).
    pub etag: String,
    /// Last modification, microseconds since the epoch.
    pub modified_micros: i64,
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("s3://{bucket}/{key}: {message}")]
    S3 {
        bucket: String,
        key: String,
        message: String,
    },
    #[error("{path}: {source}")]
    File { path: String, source: std::io::Error },
    #[error("{key}: write refused (injected failure after the allowed number of writes)")]
    Injected { key: String },
}

/// A lake: an S3 bucket or a directory.
#[derive(Clone, Debug)]
pub struct Store {
    backend: Backend,
    /// Test hook: writes allowed before every further write fails (negative:
    /// unlimited). Simulates a run killed midway.
    writes_left: Arc<AtomicI64>,
}

#[derive(Clone, Debug)]
enum Backend {
    S3 { client: aws_sdk_s3::Client, bucket: String },
    Dir { root: PathBuf },
}

impl Store {
    pub fn s3(client: aws_sdk_s3::Client, bucket: impl Into<String>) -> Store {
        Store::with(Backend::S3 {
            client,
            bucket: bucket.into(),
        })
    }

    pub fn dir(root: impl Into<PathBuf>) -> Store {
        Store::with(Backend::Dir { root: root.into() })
    }

    fn with(backend: Backend) -> Store {
        Store {
            backend,
            writes_left: Arc::new(AtomicI64::new(-1)),
        }
    }

    /// Makes every write after the next `n` fail (tests of interrupted runs).
    pub fn fail_after_writes(&self, n: i64) {
        self.writes_left.store(n, Ordering::SeqCst);
    }

    /// `s3://bucket` or the directory, for messages.
    pub fn describe(&self) -> String {
        match &self.backend {
            Backend::S3 { bucket, .. } => format!("s3://{bucket}"),
            Backend::Dir { root } => root.display().to_string(),
        }
    }

    /// Every object under a prefix, in key order.
    pub async fn list(&self, prefix: &str) -> Result<Vec<ObjectInfo>, StoreError> {
        let mut out = Vec::new();
        match &self.backend {
            Backend::S3 { client, bucket } => {
                let mut pages = client
                    .list_objects_v2()
                    .bucket(bucket)
                    .prefix(prefix)
                    .into_paginator()
                    .send();
                while let Some(page) = pages.next().await {
                    let page = page.map_err(|e| s3_error(bucket, prefix, e))?;
                    for o in page.contents() {
                        out.push(ObjectInfo {
                            key: o.key().unwrap_or_default().to_string(),
                            etag: o.e_tag().unwrap_or_default().trim_matches('"').to_string(),
                            modified_micros: o
                                .last_modified()
                                .and_then(|t| t.to_millis().ok())
                                .map(|ms| ms * 1000)
                                .unwrap_or(0),
                        });
                    }
                }
            }
            Backend::Dir { root } => {
                walk(root, root, prefix, &mut out)?;
            }
        }
        out.sort_by(|a, b| a.key.cmp(&b.key));
        Ok(out)
    }

    /// An object's bytes, or `None` when it does not exist.
    pub async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        match &self.backend {
            Backend::S3 { client, bucket } => match client.get_object().bucket(bucket).key(key).send().await {
                Ok(o) => {
                    let body = o.body.collect().await.map_err(|e| StoreError::S3 {
                        bucket: bucket.clone(),
                        key: key.into(),
                        message: e.to_string(),
                    })?;
                    Ok(Some(body.into_bytes().to_vec()))
                }
                Err(e) if e.as_service_error().is_some_and(|s| s.is_no_such_key()) => Ok(None),
                Err(e) => Err(s3_error(bucket, key, e)),
            },
            Backend::Dir { root } => {
                let path = root.join(key);
                match std::fs::read(&path) {
                    Ok(b) => Ok(Some(b)),
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
                    Err(source) => Err(StoreError::File {
                        path: path.display().to_string(),
                        source,
                    }),
                }
            }
        }
    }

    /// Writes an object (whole; readers never see half of it).
    pub async fn put(&self, key: &str, body: Vec<u8>) -> Result<(), StoreError> {
        if self.writes_left.load(Ordering::SeqCst) >= 0 && self.writes_left.fetch_sub(1, Ordering::SeqCst) <= 0 {
            return Err(StoreError::Injected { key: key.into() });
        }
        match &self.backend {
            Backend::S3 { client, bucket } => client
                .put_object()
                .bucket(bucket)
                .key(key)
                .body(ByteStream::from(body))
                .send()
                .await
                .map(|_| ())
                .map_err(|e| s3_error(bucket, key, e)),
            Backend::Dir { root } => {
                let path = root.join(key);
                let file = |source| StoreError::File {
                    path: path.display().to_string(),
                    source,
                };
                if let Some(parent) = path.parent() {
                    std::fs::create_dir_all(parent).map_err(file)?;
                }
                // Write then rename, so a reader never sees a partial object.
                let tmp = path.with_extension("partial");
                std::fs::write(&tmp, body).map_err(file)?;
                std::fs::rename(&tmp, &path).map_err(file)
            }
        }
    }

    /// Deletes objects (missing ones are fine), in batches of 1,000.
    /// Writes a local file to `key` without holding it in memory (a silver
    /// partition can be gigabytes).
    pub async fn put_file(&self, key: &str, source: &Path) -> Result<(), StoreError> {
        if self.writes_left.load(Ordering::SeqCst) >= 0 && self.writes_left.fetch_sub(1, Ordering::SeqCst) <= 0 {
            return Err(StoreError::Injected { key: key.into() });
        }
        let file = |path: &Path, source| StoreError::File {
            path: path.display().to_string(),
            source,
        };
        match &self.backend {
            Backend::S3 { client, bucket } => {
                let body = ByteStream::from_path(source).await.map_err(|e| StoreError::S3 {
                    bucket: bucket.clone(),
                    key: key.into(),
                    message: format!("{}: {e}", source.display()),
                })?;
                client
                    .put_object()
                    .bucket(bucket)
                    .key(key)
                    .body(body)
                    .send()
                    .await
                    .map(|_| ())
                    .map_err(|e| s3_error(bucket, key, e))
            }
            Backend::Dir { root } => {
                let path = root.join(key);
                if let Some(parent) = path.parent() {
                    std::fs::create_dir_all(parent).map_err(|e| file(parent, e))?;
                }
                let tmp = path.with_extension("partial");
                std::fs::copy(source, &tmp).map_err(|e| file(&tmp, e))?;
                std::fs::rename(&tmp, &path).map_err(|e| file(&path, e))
            }
        }
    }

    /// Copies `key` into a local file, streaming; `false` when there is no such key.
    pub async fn get_to_file(&self, key: &str, target: &Path) -> Result<bool, StoreError> {
        let file = |source| StoreError::File {
            path: target.display().to_string(),
            source,
        };
        match &self.backend {
            Backend::S3 { client, bucket } => match client.get_object().bucket(bucket).key(key).send().await {
                Ok(o) => {
                    use std::io::Write;
                    let mut out = std::io::BufWriter::new(std::fs::File::create(target).map_err(file)?);
                    let mut body = o.body;
                    while let Some(chunk) = body.next().await {
                        let chunk = chunk.map_err(|e| StoreError::S3 {
                            bucket: bucket.clone(),
                            key: key.into(),
                            message: e.to_string(),
                        })?;
                        out.write_all(&chunk).map_err(file)?;
                    }
                    out.flush().map_err(file)?;
                    Ok(true)
                }
                Err(e) if e.as_service_error().is_some_and(|s| s.is_no_such_key()) => Ok(false),
                Err(e) => Err(s3_error(bucket, key, e)),
            },
            Backend::Dir { root } => match std::fs::copy(root.join(key), target) {
                Ok(_) => Ok(true),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
                Err(e) => Err(file(e)),
            },
        }
    }

    pub async fn delete(&self, keys: &[String]) -> Result<(), StoreError> {
        match &self.backend {
            Backend::S3 { client, bucket } => {
                use aws_sdk_s3::types::{Delete, ObjectIdentifier};
                for chunk in keys.chunks(1000) {
                    // A request the SDK refuses to build (e.g. an empty key).
                    let invalid_request = |e: aws_sdk_s3::error::BuildError| StoreError::S3 {
                        bucket: bucket.clone(),
                        key: chunk[0].clone(),
                        message: e.to_string(),
                    };
                    let objects = chunk
                        .iter()
                        .map(|k| ObjectIdentifier::builder().key(k).build())
                        .collect::<Result<Vec<_>, _>>()
                        .map_err(invalid_request)?;
                    let delete = Delete::builder()
                        .set_objects(Some(objects))
                        .quiet(true)
                        .build()
                        .map_err(invalid_request)?;
                    let out = client
                        .delete_objects()
                        .bucket(bucket)
                        .delete(delete)
                        .send()
                        .await
                        .map_err(|e| s3_error(bucket, &chunk[0], e))?;
                    if let Some(err) = out.errors().first() {
                        return Err(StoreError::S3 {
                            bucket: bucket.clone(),
                            key: err.key().unwrap_or_default().into(),
                            message: err.message().unwrap_or("delete failed").into(),
                        });
                    }
                }
                Ok(())
            }
            Backend::Dir { root } => {
                for k in keys {
                    let path = root.join(k);
                    match std::fs::remove_file(&path) {
                        Ok(()) => {}
                        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                        Err(source) => {
                            return Err(StoreError::File {
                                path: path.display().to_string(),
                                source,
                            });
                        }
                    }
                }
                Ok(())
            }
        }
    }
}

fn s3_error<E: std::error::Error + Send + Sync + 'static, R: std::fmt::Debug>(
    bucket: &str,
    key: &str,
    e: aws_sdk_s3::error::SdkError<E, R>,
) -> StoreError {
    StoreError::S3 {
        bucket: bucket.into(),
        key: key.into(),
        message: aws_sdk_s3::error::DisplayErrorContext(&e).to_string(),
    }
}

fn walk(root: &Path, dir: &Path, prefix: &str, out: &mut Vec<ObjectInfo>) -> Result<(), StoreError> {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(source) => {
            return Err(StoreError::File {
                path: dir.display().to_string(),
                source,
            });
        }
    };
    for entry in entries {
        let entry = entry.map_err(|source| StoreError::File {
            path: dir.display().to_string(),
            source,
        })?;
        let path = entry.path();
        let key = path
            .strip_prefix(root)
            .unwrap_or(&path)
            .to_string_lossy()
            .replace(std::path::MAIN_SEPARATOR, "/");
        let meta = entry.metadata().map_err(|source| StoreError::File {
            path: path.display().to_string(),
            source,
        })?;
        if meta.is_dir() {
            // Only descend where the prefix can still match.
            let dir_key = format!("{key}/");
            if dir_key.starts_with(prefix) || prefix.starts_with(&dir_key) {
                walk(root, &path, prefix, out)?;
            }
        } else if key.starts_with(prefix) && !key.ends_with(".partial") {
            let modified = meta
                .modified()
                .ok()
                .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                .map(|d| d.as_micros() as i64)
                .unwrap_or(0);
            out.push(ObjectInfo {
                key,
                etag: format!("{}-{}", meta.len(), modified),
                modified_micros: modified,
            });
        }
    }
    Ok(())
}
