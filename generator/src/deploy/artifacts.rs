//! The built workloads in the environment's artifacts bucket.
//!
//! Keys are content hashes (`lambda/<workload>/<sha256>.zip`, the same key the
//! template's functions name), so an artifact already in the bucket is the
//! same bytes and is never uploaded again; a changed workload gets a new key,
//! which is what makes CloudFormation update the function.

use std::path::{Path, PathBuf};

use aws_sdk_s3::primitives::ByteStream;

use super::{Aws, DeployError, api};
use crate::package::{Artifact, ArtifactKind};
use crate::render::ArtifactHashes;

/// A `pipegen build` output folder and its manifest.
#[derive(Clone, Debug)]
pub struct ArtifactSet {
    pub dir: PathBuf,
    pub artifacts: Vec<Artifact>,
}

/// What uploading did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Uploaded {
    pub uploaded: Vec<String>,
    pub unchanged: Vec<String>,
}

impl ArtifactSet {
    /// Reads `dir/manifest.json`.
    pub fn load(dir: &Path) -> Result<ArtifactSet, DeployError> {
        let path = dir.join("manifest.json");
        let bytes = std::fs::read(&path).map_err(|e| {
            DeployError::Input(format!(
                "{}: {e}\n  help: build the artifacts first with `pipegen build ENV` (or pass --artifacts DIR)",
                path.display()
            ))
        })?;
        let artifacts: Vec<Artifact> = serde_json::from_slice(&bytes)
            .map_err(|e| DeployError::Input(format!("{}: not a pipegen build manifest: {e}", path.display())))?;
        for a in &artifacts {
            if !dir.join(&a.path).exists() {
                return Err(DeployError::Input(format!(
                    "{}: listed in the manifest but missing\n  help: run `pipegen build ENV` again",
                    dir.join(&a.path).display()
                )));
            }
        }
        Ok(ArtifactSet {
            dir: dir.to_path_buf(),
            artifacts,
        })
    }

    /// The hashes the template's code keys and image tag carry: each
    /// function's zip, and the ETL's container context.
    pub fn hashes(&self) -> ArtifactHashes {
        let mut h = ArtifactHashes::default();
        for a in &self.artifacts {
            if matches!(a.kind, ArtifactKind::LambdaZip | ArtifactKind::ContainerContext) {
                h.0.insert(a.workload.clone(), a.sha256.clone());
            }
        }
        h
    }

    /// Every file to upload, as (bucket key, local path): the artifacts'
    /// paths in the build folder are their keys.
    fn files(&self) -> Vec<(String, PathBuf)> {
        let mut out = Vec::new();
        for a in &self.artifacts {
            let local = self.dir.join(&a.path);
            if local.is_dir() {
                let mut names: Vec<_> = std::fs::read_dir(&local)
                    .into_iter()
                    .flatten()
                    .flatten()
                    .map(|e| e.file_name())
                    .collect();
                names.sort();
                for n in names {
                    out.push((format!("{}/{}", key_of(&a.path), n.to_string_lossy()), local.join(&n)));
                }
            } else {
                out.push((key_of(&a.path), local));
            }
        }
        out
    }
}

fn key_of(path: &Path) -> String {
    path.components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join("/")
}

/// Uploads what the bucket does not have yet.
pub async fn upload_artifacts(aws: &Aws, bucket: &str, set: &ArtifactSet) -> Result<Uploaded, DeployError> {
    let mut done = Uploaded::default();
    for (key, path) in set.files() {
        let size = std::fs::metadata(&path)
            .map_err(|e| DeployError::Input(format!("{}: {e}", path.display())))?
            .len();
        let present = aws.s3.head_object().bucket(bucket).key(&key).send().await;
        match present {
            Ok(h) if h.content_length() == Some(size as i64) => {
                done.unchanged.push(key);
                continue;
            }
            Ok(_) => {}
            Err(e) if e.as_service_error().is_some_and(|s| s.is_not_found()) => {}
            Err(e) => return Err(api(format!("look up s3://{bucket}/{key}"))(e)),
        }
        let body = ByteStream::from_path(&path)
            .await
            .map_err(|e| DeployError::Input(format!("{}: {e}", path.display())))?;
        aws.s3
            .put_object()
            .bucket(bucket)
            .key(&key)
            .body(body)
            .send()
            .await
            .map_err(api(format!("upload {} to s3://{bucket}/{key}", path.display())))?;
        done.uploaded.push(key);
    }
    Ok(done)
}
