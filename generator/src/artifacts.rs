//! Content hashes of the workload artifacts.
//!
//! Artifact keys in templates are content-addressed so an unchanged workload
//! is never re-uploaded and a changed one always is. Until `pipegen build`
//! has produced the real packages, the hash is taken over the workload's
//! source (its crate, the shared events crate and `Cargo.lock`): it changes
//! exactly when a build would, and rendering never depends on having built.

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::render::ArtifactHashes;

/// The workloads that become artifacts.
pub const WORKLOADS: &[&str] = &["ingest", "detector", "simulator", "etl"];

/// Hashes of each workload's sources under `workspace` (the repository root).
pub fn source_hashes(workspace: &Path) -> ArtifactHashes {
    let mut out = ArtifactHashes::default();
    for w in WORKLOADS {
        let mut files = Vec::new();
        for dir in [workspace.join("workloads").join(w), workspace.join("workloads/events")] {
            collect(&dir, &mut files);
        }
        files.push(workspace.join("Cargo.lock"));
        files.sort();
        let mut hasher = Sha256::new();
        hasher.update(w.as_bytes());
        for f in files {
            if let Ok(bytes) = std::fs::read(&f) {
                let rel = f.strip_prefix(workspace).unwrap_or(&f);
                hasher.update(rel.to_string_lossy().as_bytes());
                hasher.update([0]);
                hasher.update(&bytes);
            }
        }
        out.0.insert(w.to_string(), hex(&hasher.finalize()));
    }
    out
}

fn collect(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for e in entries.flatten() {
        let p = e.path();
        let name = e.file_name();
        if name == "target" || name.to_string_lossy().starts_with('.') {
            continue;
        }
        if p.is_dir() {
            collect(&p, out);
        } else {
            out.push(p);
        }
    }
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_follow_content() {
        let dir = std::env::temp_dir().join(format!("pipegen-artifacts-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("workloads/ingest/src")).unwrap();
        std::fs::create_dir_all(dir.join("workloads/events/src")).unwrap();
        std::fs::write(dir.join("workloads/ingest/src/main.rs"), "fn main() {}").unwrap();
        std::fs::write(dir.join("Cargo.lock"), "lock").unwrap();
        let a = source_hashes(&dir);
        assert_eq!(a, source_hashes(&dir), "same content, same hashes");
        assert_eq!(a.0["ingest"].len(), 64);
        assert_ne!(a.0["ingest"], a.0["detector"]);
        std::fs::write(dir.join("workloads/ingest/src/main.rs"), "fn main() { }").unwrap();
        let b = source_hashes(&dir);
        assert_ne!(a.0["ingest"], b.0["ingest"], "changed source, changed hash");
        assert_eq!(a.0["detector"], b.0["detector"], "other workloads unchanged");
        std::fs::write(dir.join("workloads/events/src/lib.rs"), "//").unwrap();
        assert_ne!(
            b.0["detector"],
            source_hashes(&dir).0["detector"],
            "the shared crate counts for all"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
