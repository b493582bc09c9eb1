//! The loaded policy and its atomic replacement: `PUT /v1/policy` and `SIGHUP` build a new
//! [`LoadedPolicy`], check it against the model ([`ServedNetwork::check_policy`]) and only
//! then swap it in. A request reads the current one once, at admission, and keeps it (its
//! `Arc`) to the end, so no request is ever decided by two policies.

use crate::engine::ServedNetwork;
use pcee::PolicyFile;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};

/// A policy file as loaded: the parsed policy, its JSON and where it came from.
#[derive(Debug)]
pub struct LoadedPolicy {
    /// The policy (diagrams, default δ, method).
    pub file: PolicyFile,
    /// The file's JSON as it was given (served by `GET /v1/policy`).
    pub json: serde_json::Value,
    /// Where it came from: the file's path, or `PUT /v1/policy`.
    pub origin: String,
    /// 1 for the policy loaded at start-up, one more for every replacement.
    pub version: u64,
    /// The first 16 bytes of the SHA-256 of the policy's canonical text: its name across
    /// replicas ([`crate::token::policy_digest`]).
    pub digest: [u8; 16],
}

/// Why a policy was not loaded; one line.
#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    /// Not a valid policy file (the core's reader says which field).
    #[error("{0}")]
    Invalid(String),
    /// A valid policy, but of another network.
    #[error("the policy {0}")]
    OtherModel(String),
}

/// The current policy, replaced atomically.
#[derive(Debug)]
pub struct PolicySlot {
    current: RwLock<Arc<LoadedPolicy>>,
    /// Serialises replacements, so versions are handed out in swap order.
    replacing: Mutex<()>,
    path: PathBuf,
}

impl PolicySlot {
    /// Loads `path`, checked against `model`, as version 1.
    ///
    /// # Errors
    /// [`PolicyError`] when the file is not a valid policy or does not fit the model.
    pub fn open(path: &Path, model: &ServedNetwork) -> Result<PolicySlot, PolicyError> {
        // The caller names the file (`ServeError::Policy`), so the message does not repeat it.
        let bytes = std::fs::read(path)
            .map_err(|err| PolicyError::Invalid(format!("cannot read the file: {err}")))?;
        let loaded = parse(&bytes, path.display().to_string(), 1, model)?;
        Ok(PolicySlot {
            current: RwLock::new(Arc::new(loaded)),
            replacing: Mutex::new(()),
            path: path.to_path_buf(),
        })
    }

    /// The policy in force now.
    pub fn current(&self) -> Arc<LoadedPolicy> {
        self.current.read().expect("policy lock").clone()
    }

    /// Replaces the policy by the file `bytes` (a policy file's JSON), checked against `model`
    /// first; the old one stays when the new one is refused.
    ///
    /// # Errors
    /// [`PolicyError`] when `bytes` is not a valid policy or does not fit `model`.
    pub fn replace(
        &self,
        bytes: &[u8],
        origin: &str,
        model: &ServedNetwork,
    ) -> Result<Arc<LoadedPolicy>, PolicyError> {
        let swapped = self.swap(None, bytes, origin, model)?;
        Ok(swapped.expect("an unconditional swap happens"))
    }

    /// Replaces the policy as [`PolicySlot::replace`] does, but only while version `expected`
    /// is in force: `Ok(None)` when another replacement came first (nothing is swapped).
    ///
    /// # Errors
    /// [`PolicyError`] as [`PolicySlot::replace`].
    pub fn replace_if_current(
        &self,
        expected: u64,
        bytes: &[u8],
        origin: &str,
        model: &ServedNetwork,
    ) -> Result<Option<Arc<LoadedPolicy>>, PolicyError> {
        self.swap(Some(expected), bytes, origin, model)
    }

    fn swap(
        &self,
        expected: Option<u64>,
        bytes: &[u8],
        origin: &str,
        model: &ServedNetwork,
    ) -> Result<Option<Arc<LoadedPolicy>>, PolicyError> {
        let _one_at_a_time = self.replacing.lock().expect("replace lock");
        let version = self.current().version;
        if expected.is_some_and(|e| e != version) {
            return Ok(None);
        }
        let loaded = Arc::new(parse(bytes, origin.to_string(), version + 1, model)?);
        *self.current.write().expect("policy lock") = loaded.clone();
        Ok(Some(loaded))
    }

    /// Re-reads the file given at start-up (`SIGHUP`), as [`PolicySlot::replace`].
    ///
    /// # Errors
    /// [`PolicyError`] when the file cannot be read, is not a valid policy or does not fit;
    /// its message does not repeat the file's name (the caller names it).
    pub fn reload(&self, model: &ServedNetwork) -> Result<Arc<LoadedPolicy>, PolicyError> {
        let bytes = std::fs::read(&self.path)
            .map_err(|err| PolicyError::Invalid(format!("cannot read the file: {err}")))?;
        self.replace(&bytes, &self.path.display().to_string(), model)
    }
}

/// Parses a policy file's bytes with the core's strict reader and checks it against `model`.
fn parse(
    bytes: &[u8],
    origin: String,
    version: u64,
    model: &ServedNetwork,
) -> Result<LoadedPolicy, PolicyError> {
    let file = PolicyFile::from_json_bytes(bytes, Path::new(&origin))
        .map_err(|err| PolicyError::Invalid(err.what))?;
    model
        .check_policy(&file)
        .map_err(|err| PolicyError::OtherModel(err.to_string()))?;
    let json =
        serde_json::from_slice(bytes).map_err(|err| PolicyError::Invalid(err.to_string()))?;
    Ok(LoadedPolicy {
        digest: crate::token::policy_digest(&file),
        file,
        json,
        origin,
        version,
    })
}
