//! Deployable artifacts of the built workloads: each Lambda as a zip holding
//! its binary as `bootstrap` (the `provided.al2023` convention), and the ETL
//! as a container image context (Dockerfile + binary) and as a plain binary
//! (building an image needs a Docker engine; the binary runs anywhere).
//!
//! Artifacts are content-addressed and reproducible: the zip entry has a fixed
//! timestamp and mode, so the same binary gives the same bytes and the same
//! SHA-256, and an unchanged workload is never uploaded twice.

use std::io::Write;
use std::path::{Path, PathBuf};

use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::artifacts::hex;

/// The Lambda workloads (zipped) and the job (container context + binary).
pub const FUNCTIONS: &[&str] = &["ingest", "detector", "simulator"];
pub const JOB: &str = "etl";

/// What an artifact is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ArtifactKind {
    LambdaZip,
    ContainerContext,
    Binary,
}

/// One artifact on disk.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct Artifact {
    pub workload: String,
    pub kind: ArtifactKind,
    /// Relative to the output folder.
    pub path: PathBuf,
    pub sha256: String,
    pub bytes: u64,
}

/// A packaging failure, with the file it concerns.
#[derive(Debug, thiserror::Error)]
pub enum PackageError {
    #[error(
        "{path}: the `{workload}` binary is missing\n  help: build it with `cargo build --release -p pipegen-{workload}` (or `pipegen build`)"
    )]
    Missing { workload: String, path: PathBuf },
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("zip {path}: {message}")]
    Zip { path: PathBuf, message: String },
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> PackageError + '_ {
    move |source| PackageError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// The container image the ETL runs in (ECS Fargate).
pub const DOCKERFILE: &str = "\
# The pipegen ETL job. Built by `pipegen build`; the binary sits beside this file.
FROM public.ecr.aws/amazonlinux/amazonlinux:2023-minimal
COPY etl /usr/local/bin/etl
USER 1000
ENTRYPOINT [\"/usr/local/bin/etl\"]
";

/// A zip with one entry, `bootstrap`, executable, with a fixed timestamp:
/// the same binary always gives the same bytes.
pub fn lambda_zip(binary: &[u8]) -> Result<Vec<u8>, String> {
    let mut buf = std::io::Cursor::new(Vec::new());
    let mut zip = zip::ZipWriter::new(&mut buf);
    let opts = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .unix_permissions(0o755)
        .last_modified_time(zip::DateTime::default());
    zip.start_file("bootstrap", opts).map_err(|e| e.to_string())?;
    zip.write_all(binary).map_err(|e| e.to_string())?;
    zip.finish().map_err(|e| e.to_string())?;
    Ok(buf.into_inner())
}

fn sha256(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

fn write(path: &Path, bytes: &[u8]) -> Result<(), PackageError> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(io(dir))?;
    }
    std::fs::write(path, bytes).map_err(io(path))
}

/// Packages the workload binaries found in `binaries` into `out`:
/// `lambda/<workload>/<sha256>.zip`, `etl/<sha256>/{Dockerfile,etl}` and
/// `etl/etl-<sha256>`, plus `manifest.json` listing them.
pub fn package(binaries: &Path, out: &Path) -> Result<Vec<Artifact>, PackageError> {
    let read = |workload: &str| -> Result<Vec<u8>, PackageError> {
        let path = binaries.join(workload);
        if !path.is_file() {
            return Err(PackageError::Missing {
                workload: workload.into(),
                path,
            });
        }
        std::fs::read(&path).map_err(io(&path))
    };
    let mut artifacts = Vec::new();
    for w in FUNCTIONS {
        let zip = lambda_zip(&read(w)?).map_err(|message| PackageError::Zip {
            path: binaries.join(w),
            message,
        })?;
        let hash = sha256(&zip);
        let rel = PathBuf::from(format!("lambda/{w}/{hash}.zip"));
        write(&out.join(&rel), &zip)?;
        artifacts.push(Artifact {
            workload: w.to_string(),
            kind: ArtifactKind::LambdaZip,
            path: rel,
            sha256: hash,
            bytes: zip.len() as u64,
        });
    }
    let etl = read(JOB)?;
    // The context's hash covers the Dockerfile and the binary.
    let mut h = Sha256::new();
    h.update(DOCKERFILE.as_bytes());
    h.update([0]);
    h.update(&etl);
    let context_hash = hex(&h.finalize());
    let context = PathBuf::from(format!("etl/{context_hash}"));
    write(&out.join(&context).join("Dockerfile"), DOCKERFILE.as_bytes())?;
    write(&out.join(&context).join("etl"), &etl)?;
    set_executable(&out.join(&context).join("etl"))?;
    artifacts.push(Artifact {
        workload: JOB.into(),
        kind: ArtifactKind::ContainerContext,
        path: context.clone(),
        sha256: context_hash,
        bytes: (etl.len() + DOCKERFILE.len()) as u64,
    });
    let binary_hash = sha256(&etl);
    let rel = PathBuf::from(format!("etl/etl-{binary_hash}"));
    // The same bytes as the context's binary: a hard link where the file
    // system allows (debug builds of the ETL are hundreds of MB).
    let target = out.join(&rel);
    let _ = std::fs::remove_file(&target);
    if std::fs::hard_link(out.join(&context).join("etl"), &target).is_err() {
        write(&target, &etl)?;
        set_executable(&target)?;
    }
    artifacts.push(Artifact {
        workload: JOB.into(),
        kind: ArtifactKind::Binary,
        path: rel,
        sha256: binary_hash,
        bytes: etl.len() as u64,
    });
    let manifest = serde_json::to_vec_pretty(&artifacts).expect("artifacts serialize");
    write(&out.join("manifest.json"), &manifest)?;
    Ok(artifacts)
}

#[cfg(unix)]
fn set_executable(path: &Path) -> Result<(), PackageError> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).map_err(io(path))
}

#[cfg(not(unix))]
fn set_executable(_: &Path) -> Result<(), PackageError> {
    Ok(())
}

/// The Rust target triple of a Lambda architecture on Linux.
pub fn target_triple(architecture: &str) -> &'static str {
    match architecture {
        "arm64" => "aarch64-unknown-linux-gnu",
        _ => "x86_64-unknown-linux-gnu",
    }
}

/// Builds the workloads with cargo for `architecture` (`release` profile
/// unless `profile` says otherwise) and returns the folder of the binaries.
pub fn cargo_build(root: &Path, architecture: &str, profile: &str) -> Result<PathBuf, String> {
    let triple = target_triple(architecture);
    let host = if cfg!(target_arch = "aarch64") {
        "arm64"
    } else {
        "x86_64"
    };
    let mut cmd = std::process::Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    cmd.current_dir(root).args(["build", "--profile", profile]);
    for w in FUNCTIONS.iter().chain([&JOB]) {
        cmd.args(["-p", &format!("pipegen-{w}")]);
    }
    let cross = architecture != host;
    if cross {
        cmd.args(["--target", triple]);
    }
    let status = cmd.status().map_err(|e| format!("cargo: {e}"))?;
    if !status.success() {
        return Err(if cross {
            format!(
                "building for {architecture} ({triple}) failed; a cross build needs `rustup target add {triple}` and a linker for it \
                 (e.g. Debian's gcc-aarch64-linux-gnu with CARGO_TARGET_{}_LINKER set), or set `lambda.architecture: {host}`",
                triple.to_uppercase().replace('-', "_")
            )
        } else {
            "cargo build failed (see its output above)".into()
        });
    }
    let dir = if profile == "dev" { "debug" } else { profile };
    Ok(if cross {
        root.join("target").join(triple).join(dir)
    } else {
        root.join("target").join(dir)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fake_binaries(dir: &Path, etl: &[u8]) {
        std::fs::create_dir_all(dir).unwrap();
        for w in FUNCTIONS {
            std::fs::write(dir.join(w), format!("\x7fELF {w}")).unwrap();
        }
        std::fs::write(dir.join(JOB), etl).unwrap();
    }

    #[test]
    fn packaging_is_reproducible_and_follows_each_binary() {
        let root = std::env::temp_dir().join(format!("pipegen-package-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        fake_binaries(&root.join("bin"), b"etl v1");
        let a = package(&root.join("bin"), &root.join("out1")).unwrap();
        let b = package(&root.join("bin"), &root.join("out2")).unwrap();
        assert_eq!(a, b, "same binaries, same artifacts");
        assert_eq!(a.len(), 5);
        for art in &a {
            let p = root.join("out1").join(&art.path);
            assert!(p.exists(), "{}", p.display());
            if art.kind == ArtifactKind::LambdaZip {
                assert_eq!(sha256(&std::fs::read(&p).unwrap()), art.sha256);
                assert_eq!(
                    std::fs::read(&p).unwrap(),
                    std::fs::read(root.join("out2").join(&art.path)).unwrap()
                );
            }
        }
        assert_eq!(
            std::fs::read_to_string(root.join("out1/etl").join(&a[3].sha256).join("Dockerfile")).unwrap(),
            DOCKERFILE
        );
        let manifest: Vec<Artifact> =
            serde_json::from_slice(&std::fs::read(root.join("out1/manifest.json")).unwrap()).unwrap();
        assert_eq!(manifest, a);
        // A changed ETL changes only the ETL's hashes.
        std::fs::write(root.join("bin").join(JOB), b"etl v2").unwrap();
        let c = package(&root.join("bin"), &root.join("out1")).unwrap();
        for (x, y) in a.iter().zip(&c) {
            assert_eq!(x.sha256 == y.sha256, x.workload != JOB, "{}", x.workload);
        }
        std::fs::remove_file(root.join("bin/detector")).unwrap();
        assert!(matches!(
            package(&root.join("bin"), &root.join("out3")),
            Err(PackageError::Missing { .. })
        ));
        std::fs::remove_dir_all(&root).unwrap();
    }

    #[test]
    fn the_same_binary_gives_the_same_zip_and_another_binary_another() {
        let a = lambda_zip(b"\x7fELF binary").unwrap();
        std::thread::sleep(std::time::Duration::from_millis(1100));
        assert_eq!(
            a,
            lambda_zip(b"\x7fELF binary").unwrap(),
            "no timestamp leaks into the bytes"
        );
        assert_ne!(sha256(&a), sha256(&lambda_zip(b"\x7fELF binarz").unwrap()));
        let mut z = zip::ZipArchive::new(std::io::Cursor::new(a)).unwrap();
        assert_eq!(z.len(), 1);
        let mut f = z.by_name("bootstrap").unwrap();
        assert_eq!(f.unix_mode().map(|m| m & 0o777), Some(0o755));
        let mut body = Vec::new();
        std::io::Read::read_to_end(&mut f, &mut body).unwrap();
        assert_eq!(body, b"\x7fELF binary");
    }
}
