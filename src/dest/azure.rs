//! Azure Blob Storage containers (and Azurite, the emulator) as
//! [`ObjectDest`]s.
//!
//! The account: the destination's `account`, else the credentials file's,
//! else `AZURE_STORAGE_ACCOUNT`. The key: the destination's private
//! `credentials` file ([`super::credentials`]), else `AZURE_STORAGE_KEY`;
//! without either, whatever else `object_store` finds in the `AZURE_*`
//! environment (SAS token, service principal, managed identity).

use super::object::{ObjectDest, client_options, retry_config};
use super::{DestError, credentials};
use crate::model::AzureSpec;
use object_store::azure::MicrosoftAzureBuilder;
use std::sync::Arc;

/// A destination for `spec`, described as `describe` in messages. Nothing is
/// contacted here (see [`super::s3::open`]).
pub fn open(spec: &AzureSpec, describe: String) -> Result<ObjectDest, DestError> {
    let refuse =
        |why: String, denied: bool| super::object::refuse_open(&describe, &spec.url, why, denied);
    let loc = spec.location().map_err(|e| refuse(e, false))?;
    let env = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
    let file = match &spec.credentials {
        Some(p) => Some(credentials::read_azure(p).map_err(|e| refuse(e, true))?),
        None => None,
    };
    let account = spec
        .account
        .clone()
        .or_else(|| file.as_ref().and_then(|f| f.account.clone()))
        .or_else(|| env("AZURE_STORAGE_ACCOUNT"))
        .or_else(|| env("AZURE_STORAGE_ACCOUNT_NAME"))
        .ok_or_else(|| {
            refuse(
                "no storage account: pass --account NAME, put account = \"NAME\" in the credentials file or set AZURE_STORAGE_ACCOUNT".into(),
                false,
            )
        })?;
    let key = file
        .map(|f| f.key)
        .or_else(|| env("AZURE_STORAGE_KEY").map(credentials::Secret::new))
        .or_else(|| env("AZURE_STORAGE_ACCOUNT_KEY").map(credentials::Secret::new));
    let mut b = match &key {
        Some(k) => MicrosoftAzureBuilder::new().with_access_key(k.expose()),
        None => MicrosoftAzureBuilder::from_env(),
    };
    b = b
        .with_account(account)
        .with_container_name(&loc.bucket)
        .with_retry(retry_config());
    let mut allow_http = false;
    if let Some(ep) = &spec.endpoint {
        let url = url::Url::parse(ep).map_err(|e| {
            refuse(
                format!("endpoint {ep:?} is not a URL ({e}); write it as https://ACCOUNT.blob.core.windows.net or, for Azurite, http://127.0.0.1:10000/devstoreaccount1"),
                false,
            )
        })?;
        match url.scheme() {
            "https" => {}
            "http" => allow_http = true,
            other => {
                return Err(refuse(
                    format!(
                        "endpoint {ep:?} uses {other}://; write it as https://… (or http:// for Azurite)"
                    ),
                    false,
                ));
            }
        }
        // Path-style for Azurite: the account is the endpoint's first path part.
        b = b.with_endpoint(ep.trim_end_matches('/').to_string());
    }
    let store = b
        .with_client_options(client_options(allow_http))
        .build()
        .map_err(|e| {
            // The library's message about a malformed key may quote part of it.
            let why = if e.to_string().to_ascii_lowercase().contains("key") {
                "the account key is not valid (it must be the base64 key from the storage account's access keys)".to_string()
            } else {
                format!("cannot set up the Azure client: {e}")
            };
            refuse(why, key.is_some())
        })?;
    Ok(ObjectDest::new(Arc::new(store), &loc.prefix, describe))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_malformed_key_is_refused_without_quoting_it() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("c");
        std::fs::write(&f, "account = \"dev1\"\nkey = \"not-base64-%%%-s3cr3t\"\n").unwrap();
        std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o600)).unwrap();
        let spec = AzureSpec {
            url: "azblob://c/p".into(),
            account: None,
            endpoint: Some("http://127.0.0.1:9/dev1".into()),
            credentials: Some(f),
        };
        let e = open(&spec, "azblob://c/p".into()).err().unwrap();
        let msg = e.to_string();
        assert!(
            msg.contains("azblob://c/p") && msg.contains("not valid"),
            "{msg}"
        );
        assert!(!msg.contains("s3cr3t") && !msg.contains("%%%"), "{msg}");
    }
}
