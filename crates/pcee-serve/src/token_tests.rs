use super::*;

const ONE: &str = "1 000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
const TWO: &str = "2 ffeeddccbbaa99887766554433221100ffeeddccbbaa99887766554433221100";

fn decided() -> Decided {
    Decided {
        exit: 3,
        prediction: 7,
        boot: 0x0123_4567_89ab_cdef,
        sequence: 42,
        time_ms: 1_765_000_000_000,
        digest: [9; 16],
        delta: 0.9,
        monitored: true,
    }
}

#[test]
fn a_token_carries_its_decision_and_has_the_stated_length() {
    let keys = Keys::parse(ONE).unwrap();
    let token = keys.sign("m", &decided());
    // 80 bytes in base64url without padding: ⌈80 · 4 / 3⌉ = 107 characters, after the prefix.
    assert_eq!(token.len(), PREFIX.len() + 107);
    assert_eq!(keys.verify("m", &token).unwrap(), decided());
}

#[test]
fn any_changed_byte_another_model_or_key_fails() {
    let keys = Keys::parse(ONE).unwrap();
    let token = keys.sign("m", &decided());
    let bytes = URL_SAFE_NO_PAD.decode(&token[PREFIX.len()..]).unwrap();
    for i in 2..bytes.len() {
        let mut changed = bytes.clone();
        changed[i] ^= 1;
        let forged = format!("{PREFIX}{}", URL_SAFE_NO_PAD.encode(&changed));
        assert!(keys.verify("m", &forged).is_err(), "byte {i}");
    }
    assert!(keys
        .verify("other", &token)
        .unwrap_err()
        .contains("does not verify"));
    let two = Keys::parse(&TWO.replace("2 ", "1 ")).unwrap();
    assert!(two.verify("m", &token).is_err());
    assert!(keys
        .verify("m", "pcee1.abc")
        .unwrap_err()
        .contains("80 bytes"));
    assert!(keys.verify("m", "x").unwrap_err().contains("pcee1."));
}

#[test]
fn rotation_the_first_key_signs_every_key_verifies() {
    let old = Keys::parse(ONE).unwrap();
    let both = Keys::parse(&format!("# rotation\n{TWO}\n\n{ONE}\n")).unwrap();
    let token = old.sign("m", &decided());
    assert_eq!(both.verify("m", &token).unwrap(), decided());
    let new = both.sign("m", &decided());
    assert!(old.verify("m", &new).unwrap_err().contains("key id 2"));
}

#[test]
fn key_files_are_checked_line_by_line() {
    assert!(Keys::parse("").unwrap_err().contains("no key"));
    assert!(Keys::parse("1 abcd")
        .unwrap_err()
        .contains("line 1: the secret"));
    assert!(Keys::parse("300 00")
        .unwrap_err()
        .contains("key id \"300\""));
    assert!(Keys::parse(&format!("{ONE}\n{ONE}"))
        .unwrap_err()
        .contains("line 2: key id 1 given twice"));
    assert!(!format!("{:?}", Keys::parse(ONE).unwrap()).contains("0001"));
}
