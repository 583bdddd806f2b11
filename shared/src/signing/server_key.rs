//! A distribution's own signing key: generated here (Ed25519 as OpenPGP v4's legacy EdDSA,
//! the newest kind GnuPG 2.2, and so pacman 6, verifies) or imported, and used to sign the
//! databases it publishes (and, when a repository asks for it, unsigned packages).

use std::io::Read;

use pgp::composed::{
    ArmorOptions, Deserializable, DetachedSignature, KeyType, PublicOrSecret,
    SecretKeyParamsBuilder, SignedPublicKey, SignedSecretKey,
};
use pgp::crypto::hash::HashAlgorithm;
use pgp::crypto::public_key::PublicKeyAlgorithm;
use pgp::ser::Serialize;
use pgp::types::{KeyDetails, KeyVersion, Password};

use super::{SignatureFile, fingerprint_hex};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ServerKeyError {
    #[error("the key could not be read: {0}")]
    Malformed(String),
    #[error(
        "no secret key found: send an armored secret key (`gpg --armor --export-secret-keys KEYID`)"
    )]
    NotSecret,
    #[error("send exactly one secret key, not {0}")]
    NotOne(usize),
    #[error("the key is OpenPGP version {0}; pacman and GnuPG 2.2 verify only version 4 keys")]
    Version(u8),
    #[error(
        "the key's algorithm ({0:?}) cannot sign signatures GnuPG 2.2 verifies; use Ed25519 \
         (legacy EdDSA), RSA or ECDSA"
    )]
    Algorithm(PublicKeyAlgorithm),
    #[error(
        "the key is protected by a passphrase; export it without one (Rieter encrypts stored \
         keys itself)"
    )]
    Protected,
    #[error("the key has a self-signature that does not verify: {0}")]
    BadBinding(String),
    #[error("the key is revoked")]
    Revoked,
    #[error("signing failed: {0}")]
    Sign(String),
}

/// A secret key that signs for a distribution.
#[derive(Debug, Clone)]
pub struct ServerKey {
    secret: SignedSecretKey,
}

impl ServerKey {
    /// A new Ed25519 (legacy EdDSA, v4) key that certifies and signs, for `user_id` (e.g.
    /// `Rieter arch <rieter@host>`).
    pub fn generate(user_id: &str) -> Result<Self, ServerKeyError> {
        let params = SecretKeyParamsBuilder::default()
            .key_type(KeyType::Ed25519Legacy)
            .can_certify(true)
            .can_sign(true)
            .primary_user_id(user_id.to_owned())
            .preferred_hash_algorithms([HashAlgorithm::Sha256, HashAlgorithm::Sha512][..].into())
            .build()
            .map_err(|e| ServerKeyError::Sign(e.to_string()))?;
        let secret = params
            .generate(rand08::thread_rng())
            .map_err(|e| ServerKeyError::Sign(e.to_string()))?;
        Ok(Self { secret })
    }

    /// An armored (or binary) secret key an administrator exported, checked to sign in a
    /// way pacman verifies.
    pub fn import(input: &[u8]) -> Result<Self, ServerKeyError> {
        let (keys, _) = PublicOrSecret::from_reader_many(input)
            .map_err(|e| ServerKeyError::Malformed(e.to_string()))?;
        let mut secrets = Vec::new();
        for key in keys {
            match key.map_err(|e| ServerKeyError::Malformed(e.to_string()))? {
                PublicOrSecret::Secret(key) => secrets.push(key),
                PublicOrSecret::Public(_) => return Err(ServerKeyError::NotSecret),
            }
        }
        match secrets.len() {
            0 => return Err(ServerKeyError::NotSecret),
            1 => {}
            n => return Err(ServerKeyError::NotOne(n)),
        }
        let secret = secrets.remove(0);
        if secret.version() != KeyVersion::V4 {
            return Err(ServerKeyError::Version(secret.version().into()));
        }
        secret
            .verify_bindings()
            .map_err(|e| ServerKeyError::BadBinding(e.to_string()))?;
        if !secret.details.revocation_signatures.is_empty() {
            return Err(ServerKeyError::Revoked);
        }
        let key = Self { secret };
        let signer = key.signer();
        if signer.secret_params_encrypted() {
            return Err(ServerKeyError::Protected);
        }
        let algorithm = signer.algorithm();
        if !matches!(
            algorithm,
            PublicKeyAlgorithm::EdDSALegacy
                | PublicKeyAlgorithm::RSA
                | PublicKeyAlgorithm::RSASign
                | PublicKeyAlgorithm::ECDSA
        ) {
            return Err(ServerKeyError::Algorithm(algorithm));
        }
        // Proves the key signs, and that pacman's checks accept the result.
        key.sign(&b"rieter"[..])?;
        Ok(key)
    }

    /// The key as [`Self::to_bytes`] wrote it.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, ServerKeyError> {
        let secret = SignedSecretKey::from_bytes(bytes)
            .map_err(|e| ServerKeyError::Malformed(e.to_string()))?;
        Ok(Self { secret })
    }

    /// The secret key in binary OpenPGP form: seal it before storing it.
    pub fn to_bytes(&self) -> Vec<u8> {
        self.secret.to_bytes().expect("serialising a key to memory")
    }

    pub fn fingerprint(&self) -> String {
        fingerprint_hex(&self.secret.fingerprint())
    }

    /// The public key, armored, as `pacman-key --add` takes it.
    pub fn public_key_armored(&self) -> String {
        SignedPublicKey::from(self.secret.clone())
            .to_armored_string(ArmorOptions::default())
            .expect("armoring a key to memory")
    }

    /// A detached signature over `data` (read to its end). Blocking.
    pub fn sign(&self, data: impl Read) -> Result<SignatureFile, ServerKeyError> {
        let signature = match self.signer() {
            Signer::Primary(key) => DetachedSignature::sign_binary_data(
                rand08::thread_rng(),
                key,
                &Password::empty(),
                HashAlgorithm::Sha256,
                data,
            ),
            Signer::Subkey(key) => DetachedSignature::sign_binary_data(
                rand08::thread_rng(),
                key,
                &Password::empty(),
                HashAlgorithm::Sha256,
                data,
            ),
        }
        .map_err(|e| ServerKeyError::Sign(e.to_string()))?;
        SignatureFile::from_signed(signature).map_err(|e| ServerKeyError::Sign(e.to_string()))
    }

    /// The primary key if it may sign, else the first signing subkey.
    fn signer(&self) -> Signer<'_> {
        let primary_signs = self
            .secret
            .details
            .users
            .iter()
            .flat_map(|u| &u.signatures)
            .any(|s| s.key_flags().sign());
        if !primary_signs
            && let Some(sub) = self
                .secret
                .secret_subkeys
                .iter()
                .find(|s| s.signatures.iter().any(|b| b.key_flags().sign()))
        {
            return Signer::Subkey(&sub.key);
        }
        Signer::Primary(&self.secret.primary_key)
    }
}

enum Signer<'a> {
    Primary(&'a pgp::packet::SecretKey),
    Subkey(&'a pgp::packet::SecretSubkey),
}

impl Signer<'_> {
    fn secret_params_encrypted(&self) -> bool {
        match self {
            Self::Primary(k) => k.secret_params().is_encrypted(),
            Self::Subkey(k) => k.secret_params().is_encrypted(),
        }
    }

    fn algorithm(&self) -> PublicKeyAlgorithm {
        match self {
            Self::Primary(k) => k.algorithm(),
            Self::Subkey(k) => k.algorithm(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::signing::{PackagerKey, PackagerKeys};

    #[test]
    fn a_generated_key_signs_what_its_public_key_verifies() {
        let key = ServerKey::generate("Rieter test <rieter@localhost>").unwrap();
        let data = b"the database".to_vec();
        let signature = key.sign(&data[..]).unwrap();
        // What pacman reads: binary, small, with the issuer key ID.
        assert!(
            signature.as_bytes().len() < 200,
            "{}",
            signature.as_bytes().len()
        );
        assert!(
            key.fingerprint()
                .ends_with(&signature.issuers()[0].to_uppercase())
        );
        let public = PackagerKey::parse_many(key.public_key_armored().as_bytes()).unwrap();
        assert_eq!(public[0].fingerprint, key.fingerprint());
        let keys = PackagerKeys::new(public);
        assert_eq!(
            signature.verify(&keys, &data[..]).unwrap(),
            key.fingerprint()
        );
        assert!(signature.verify(&keys, &b"the databasf"[..]).is_err());

        // Stored and read back, it is the same key.
        let again = ServerKey::from_bytes(&key.to_bytes()).unwrap();
        assert_eq!(again.fingerprint(), key.fingerprint());
        // Exported and imported too.
        let armored = key
            .secret
            .to_armored_string(ArmorOptions::default())
            .unwrap();
        assert_eq!(
            ServerKey::import(armored.as_bytes()).unwrap().fingerprint(),
            key.fingerprint()
        );
    }

    #[test]
    fn imports_refuse_public_keys_and_garbage() {
        let key = ServerKey::generate("Rieter test <rieter@localhost>").unwrap();
        assert_eq!(
            ServerKey::import(key.public_key_armored().as_bytes()).unwrap_err(),
            ServerKeyError::NotSecret
        );
        assert!(matches!(
            ServerKey::import(b"-----BEGIN PGP PRIVATE KEY BLOCK-----\n\nxx\n").unwrap_err(),
            ServerKeyError::Malformed(_)
        ));
    }
}
