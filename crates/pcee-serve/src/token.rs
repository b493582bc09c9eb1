//! Feedback tokens: what any replica of a fleet needs to count a label for a decision another
//! replica made (docs/oip.md §8.1). With `--feedback-key FILE` every Open Inference Protocol
//! answer carries, per sample, `pcee1.` followed by the base64url text (RFC 4648 §5, no
//! padding) of a 64-byte payload and a 16-byte tag: the first half of
//! HMAC-SHA256(key, `"pcee-feedback-v1\0" ‖ model name ‖ "\0" ‖ payload`) (RFC 2104; its §5
//! allows a tag of half the hash). The payload, little-endian: format `1` (u8), key id (u8),
//! exit (u16), predicted class (u32), the replica's boot id (u64, random at start-up), the
//! decision's sequence number on that boot (u64, its `/v1` image id), decision time (u64, Unix
//! ms), the policy's digest (16 bytes), the δ used (f64), whether the decision was monitored
//! (u8: δ was the policy's), 7 zero bytes.
//!
//! The tag proves the decision is one this fleet made (another model, another key or any
//! changed byte fails); not that the label sent with it is true.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::path::Path;

/// The text every token starts with.
pub const PREFIX: &str = "pcee1.";
const PAYLOAD: usize = 64;
const TAG: usize = 16;
const DOMAIN: &[u8] = b"pcee-feedback-v1\0";

/// What a token says about one decision.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Decided {
    /// Exit taken (0-based).
    pub exit: u16,
    /// Predicted class.
    pub prediction: u32,
    /// The deciding replica's boot id.
    pub boot: u64,
    /// The decision's sequence number on that boot.
    pub sequence: u64,
    /// When it was decided, Unix milliseconds.
    pub time_ms: u64,
    /// The first 16 bytes of the SHA-256 of the policy's canonical text.
    pub digest: [u8; 16],
    /// The δ the sample was decided with.
    pub delta: f64,
    /// Whether δ was the policy's (the monitor counts only those decisions).
    pub monitored: bool,
}

/// The keys of `--feedback-key`: the first signs, every one verifies.
#[derive(Clone)]
pub struct Keys {
    keys: Vec<(u8, Vec<u8>)>,
}

impl std::fmt::Debug for Keys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let ids: Vec<u8> = self.keys.iter().map(|k| k.0).collect();
        write!(f, "Keys {{ ids: {ids:?} }}") // never the secrets
    }
}

impl Keys {
    /// Reads a key file: lines `<key id 0–255> <secret, hex, at least 32 bytes>`; blank lines
    /// and lines starting with `#` are skipped (e.g. `echo "1 $(openssl rand -hex 32)"`).
    ///
    /// # Errors
    /// One line naming the file, the line and what was expected.
    pub fn read(path: &Path) -> Result<Keys, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|err| format!("{}: cannot read the key file: {err}", path.display()))?;
        Keys::parse(&text).map_err(|err| format!("{}: {err}", path.display()))
    }

    /// The keys of a key file's text ([`Keys::read`]).
    ///
    /// # Errors
    /// One line naming the line and what was expected.
    pub fn parse(text: &str) -> Result<Keys, String> {
        let mut keys: Vec<(u8, Vec<u8>)> = Vec::new();
        for (i, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let bad = |what: &str| format!("line {}: {what}", i + 1);
            let (id, secret) = line
                .split_once(char::is_whitespace)
                .ok_or_else(|| bad("expected `<key id> <secret in hex>`"))?;
            let id: u8 = id
                .parse()
                .map_err(|_| bad(&format!("key id {id:?}; expected an integer 0–255")))?;
            let secret = hex(secret.trim())
                .filter(|s| s.len() >= 32)
                .ok_or_else(|| bad("the secret; expected at least 32 bytes in hex (64 digits)"))?;
            if keys.iter().any(|k| k.0 == id) {
                return Err(bad(&format!("key id {id} given twice")));
            }
            keys.push((id, secret));
        }
        if keys.is_empty() {
            return Err("no key; expected lines `<key id> <secret in hex>`".into());
        }
        Ok(Keys { keys })
    }

    /// The token of `decided` for model `model`, signed with the first key.
    pub fn sign(&self, model: &str, decided: &Decided) -> String {
        let (id, key) = &self.keys[0];
        let payload = encode(*id, decided);
        let mut bytes = payload.to_vec();
        bytes.extend_from_slice(&tag(key, model, &payload)[..TAG]);
        format!("{PREFIX}{}", URL_SAFE_NO_PAD.encode(bytes))
    }

    /// The decision a token of model `model` vouches for.
    ///
    /// # Errors
    /// What is wrong, one phrase: the form, the key id, or a tag that does not verify.
    pub fn verify(&self, model: &str, token: &str) -> Result<Decided, String> {
        let text = token
            .strip_prefix(PREFIX)
            .ok_or_else(|| format!("expected a token starting with {PREFIX:?}"))?;
        let bytes = URL_SAFE_NO_PAD
            .decode(text)
            .ok()
            .filter(|b| b.len() == PAYLOAD + TAG)
            .ok_or("not a token of this server (its text is not 80 bytes of base64url)")?;
        let (payload, given) = bytes.split_at(PAYLOAD);
        if payload[0] != 1 {
            return Err(format!("token format {}; expected 1", payload[0]));
        }
        let key = self
            .keys
            .iter()
            .find(|k| k.0 == payload[1])
            .ok_or_else(|| format!("key id {} is not one of this server's", payload[1]))?;
        mac(&key.1, model, payload)
            .verify_truncated_left(given)
            .map_err(|_| {
                "the token's tag does not verify: it was changed, or signed for another model or \
             with another key"
                    .to_string()
            })?;
        Ok(decode(payload))
    }
}

fn mac(key: &[u8], model: &str, payload: &[u8]) -> Hmac<Sha256> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(DOMAIN);
    mac.update(model.as_bytes());
    mac.update(b"\0");
    mac.update(payload);
    mac
}

fn tag(key: &[u8], model: &str, payload: &[u8]) -> Vec<u8> {
    mac(key, model, payload).finalize().into_bytes().to_vec()
}

fn encode(key_id: u8, d: &Decided) -> [u8; PAYLOAD] {
    let mut p = [0u8; PAYLOAD];
    p[0] = 1;
    p[1] = key_id;
    p[2..4].copy_from_slice(&d.exit.to_le_bytes());
    p[4..8].copy_from_slice(&d.prediction.to_le_bytes());
    p[8..16].copy_from_slice(&d.boot.to_le_bytes());
    p[16..24].copy_from_slice(&d.sequence.to_le_bytes());
    p[24..32].copy_from_slice(&d.time_ms.to_le_bytes());
    p[32..48].copy_from_slice(&d.digest);
    p[48..56].copy_from_slice(&d.delta.to_le_bytes());
    p[56] = u8::from(d.monitored);
    p
}

fn decode(p: &[u8]) -> Decided {
    let u64_at = |i: usize| u64::from_le_bytes(p[i..i + 8].try_into().expect("8 bytes"));
    Decided {
        exit: u16::from_le_bytes([p[2], p[3]]),
        prediction: u32::from_le_bytes(p[4..8].try_into().expect("4 bytes")),
        boot: u64_at(8),
        sequence: u64_at(16),
        time_ms: u64_at(24),
        digest: p[32..48].try_into().expect("16 bytes"),
        delta: f64::from_bits(u64_at(48)),
        monitored: p[56] == 1,
    }
}

/// The bytes of an even-length hex string.
fn hex(text: &str) -> Option<Vec<u8>> {
    if text.len() % 2 != 0 || !text.is_ascii() {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).ok())
        .collect()
}

/// The digest tokens carry for a policy: the first 16 bytes of the SHA-256 of its canonical
/// text ([`pcee::PolicyFile::to_json_text`]).
pub fn policy_digest(policy: &pcee::PolicyFile) -> [u8; 16] {
    use sha2::Digest;
    let hash = Sha256::digest(policy.to_json_text().as_bytes());
    hash[..16].try_into().expect("16 of 32 bytes")
}

/// `sha256:` and the digest in lower-case hex, as the server shows it.
pub fn digest_text(digest: &[u8; 16]) -> String {
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256:{hex}")
}

#[cfg(test)]
#[path = "token_tests.rs"]
mod tests;
