//! S3 and S3-compatible buckets (AWS, MinIO, Ceph RGW, B2, R2, Wasabi, GCS
//! through its interoperable endpoint) as [`ObjectDest`]s.
//!
//! Credentials, first found wins: the destination's private `credentials`
//! file ([`super::credentials`]), else what `object_store` finds in the
//! environment (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`,
//! `AWS_SESSION_TOKEN`, web identity, container or instance credentials).
//! They go into the client only: never into a message, the catalog or a log.

use super::object::{ObjectDest, client_options, retry_config};
use super::{DestError, credentials};
use crate::model::S3Spec;
use object_store::aws::{AmazonS3Builder, S3ConditionalPut};
use std::sync::Arc;

/// Region when neither the destination nor the environment names one.
pub const DEFAULT_REGION: &str = "us-east-1";

/// A destination for `spec`, described as `describe` in messages. Nothing is
/// contacted here: the first operation (the repository's config read, for
/// every user of [`super::open`]) is what fails when the bucket cannot be
/// reached or the keys are refused.
pub fn open(spec: &S3Spec, describe: String) -> Result<ObjectDest, DestError> {
    let refuse =
        |why: String, denied: bool| super::object::refuse_open(&describe, &spec.url, why, denied);
    let loc = spec.location().map_err(|e| refuse(e, false))?;
    let mut allow_http = false;
    if let Some(ep) = &spec.endpoint {
        let url = url::Url::parse(ep).map_err(|e| {
            refuse(
                format!("endpoint {ep:?} is not a URL ({e}); write it as https://host[:port]"),
                false,
            )
        })?;
        match url.scheme() {
            "https" => {}
            "http" => allow_http = true,
            other => {
                return Err(refuse(
                    format!(
                        "endpoint {ep:?} uses {other}://; write it as https://host[:port] (or http:// for a local test server)"
                    ),
                    false,
                ));
            }
        }
    }
    let env_region = || {
        ["AWS_REGION", "AWS_DEFAULT_REGION"]
            .iter()
            .find_map(|k| std::env::var(k).ok().filter(|v| !v.is_empty()))
    };
    let mut b = match &spec.credentials {
        Some(path) => {
            let keys = credentials::read_s3(path).map_err(|e| refuse(e, true))?;
            let mut b = AmazonS3Builder::new()
                .with_access_key_id(keys.access_key_id.expose())
                .with_secret_access_key(keys.secret_access_key.expose());
            if let Some(t) = &keys.session_token {
                b = b.with_token(t.expose());
            }
            b
        }
        None => {
            // Off AWS (an endpoint is given) the instance metadata service
            // is no source of keys: say what is missing instead of asking it.
            let env = |k: &str| std::env::var_os(k).is_some_and(|v| !v.is_empty());
            let any = [
                "AWS_ACCESS_KEY_ID",
                "AWS_WEB_IDENTITY_TOKEN_FILE",
                "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
                "AWS_CONTAINER_CREDENTIALS_FULL_URI",
            ]
            .iter()
            .any(|k| env(k));
            if spec.endpoint.is_some() && !any {
                return Err(refuse(
                    "no S3 credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN for temporary keys), or pass --credentials FILE (a private 0600 file)".into(),
                    true,
                ));
            }
            AmazonS3Builder::from_env()
        }
    };
    let region = spec
        .region
        .clone()
        .or_else(env_region)
        .unwrap_or_else(|| DEFAULT_REGION.to_string());
    b = b
        .with_bucket_name(&loc.bucket)
        .with_region(region)
        .with_retry(retry_config())
        .with_conditional_put(S3ConditionalPut::ETagMatch);
    if let Some(ep) = &spec.endpoint {
        // Path-style requests (`endpoint/bucket/key`): what S3-compatible
        // servers answer, where bucket names in the host may not resolve.
        b = b
            .with_endpoint(ep.trim_end_matches('/'))
            .with_virtual_hosted_style_request(false);
    }
    let store = b
        .with_client_options(client_options(allow_http))
        .build()
        .map_err(|e| refuse(format!("cannot set up the S3 client: {e}"), false))?;
    Ok(ObjectDest::new(Arc::new(store), &loc.prefix, describe)
        .with_storage_class(spec.storage_class.as_deref()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(url: &str, endpoint: Option<&str>) -> S3Spec {
        S3Spec {
            url: url.into(),
            endpoint: endpoint.map(str::to_string),
            region: None,
            storage_class: None,
            credentials: None,
        }
    }

    #[test]
    fn bad_urls_and_endpoints_are_permanent_and_named() {
        for (url, ep) in [
            ("s3://Bad", None),
            ("s3://b", Some("ftp://h")),
            ("s3://b", Some("not a url")),
        ] {
            let e = open(&spec(url, ep), url.into()).err().unwrap();
            assert_eq!(e.kind(), crate::dest::ErrorKind::Permanent, "{e}");
            assert!(e.to_string().contains(url), "{e}");
        }
        if std::env::var_os("AWS_ACCESS_KEY_ID").is_none() {
            let e = open(
                &spec("s3://b/p", Some("http://127.0.0.1:9")),
                "s3://b/p".into(),
            )
            .err()
            .unwrap();
            assert_eq!(e.kind(), crate::dest::ErrorKind::Denied, "{e}");
            assert!(e.to_string().contains("no S3 credentials"), "{e}");
        }
    }

    #[test]
    fn a_credentials_file_readable_by_others_is_denied() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("c");
        std::fs::write(&f, "access_key_id = \"a\"\nsecret_access_key = \"b\"\n").unwrap();
        std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o644)).unwrap();
        let s = S3Spec {
            credentials: Some(f),
            ..spec("s3://b", Some("http://127.0.0.1:9"))
        };
        let e = open(&s, "s3://b".into()).err().unwrap();
        assert_eq!(e.kind(), crate::dest::ErrorKind::Denied, "{e}");
        assert!(e.to_string().contains("chmod 600"), "{e}");
    }
}
