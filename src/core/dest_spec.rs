//! Checks of a destination definition before anything is written: the one
//! place `dest add` and `apply` agree on what a valid S3, Azure or SFTP
//! destination looks like, so both refuse the same things with the same words.

use super::error::CoreError;
use crate::model::DestinationKind;
use std::path::Path;

/// An `http://` or `https://` URL with a host, for endpoints.
pub(crate) fn check_endpoint(what: &str, url: &str) -> Result<(), String> {
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))
        .ok_or_else(|| format!("{what}: endpoint {url:?} must start with http:// or https://"))?;
    let host = rest.split('/').next().unwrap_or("");
    if host.is_empty()
        || host.contains('@')
        || rest.contains('?')
        || rest.contains('#')
        || url.chars().any(|c| c.is_whitespace() || c.is_control())
    {
        return Err(format!(
            "{what}: endpoint {url:?} must be a plain scheme://host[:port][/path] (credentials never go into URLs)"
        ));
    }
    Ok(())
}

fn absolute_file(what: &str, key: &str, path: Option<&Path>) -> Result<(), String> {
    match path {
        Some(p) if !p.is_absolute() => Err(format!(
            "{what}: {key} {:?} is relative; give an absolute path so it means the same from the daemon",
            p.display().to_string()
        )),
        Some(p) => super::bounds::check_path(&format!("{what}: {key}"), p),
        None => Ok(()),
    }
}

/// Whether `kind`'s URL and settings are well formed (nothing is contacted).
/// Most uploads a destination may run at once (`parallel_uploads`).
pub const MAX_PARALLEL_UPLOADS: u32 = crate::dest::MAX_PARALLEL_WRITES as u32;

/// Checks a destination's `parallel_uploads` (1 to [`MAX_PARALLEL_UPLOADS`]), naming the destination.
pub(crate) fn check_parallel(name: &str, n: Option<u32>) -> Result<(), CoreError> {
    match n {
        Some(n) if !(1..=MAX_PARALLEL_UPLOADS).contains(&n) => Err(CoreError::Invalid(format!(
            "destination {name:?}: parallel_uploads is {n}; use 1 to {MAX_PARALLEL_UPLOADS}"
        ))),
        _ => Ok(()),
    }
}

/// Checks a destination's `rate_limit`, naming the destination.
pub(crate) fn check_rate(name: &str, rate: Option<&str>) -> Result<(), CoreError> {
    match rate {
        Some(r) => crate::model::parse_rate(r)
            .map(|_| ())
            .map_err(|e| CoreError::Invalid(format!("destination {name:?}: rate_limit: {e}"))),
        None => Ok(()),
    }
}

pub(crate) fn check_kind(name: &str, kind: &DestinationKind) -> Result<(), CoreError> {
    let what = format!("destination {name:?}");
    let check = || -> Result<(), String> {
        match kind {
            DestinationKind::Local { .. } => Ok(()),
            DestinationKind::S3(s) => {
                s.location().map_err(|e| format!("{what}: {e}"))?;
                if let Some(e) = &s.endpoint {
                    check_endpoint(&what, e)?;
                }
                if let Some(r) = &s.region
                    && (r.is_empty() || !r.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'))
                {
                    return Err(format!(
                        "{what}: region {r:?} must be letters, digits and '-', e.g. eu-west-1"
                    ));
                }
                if let Some(c) = &s.storage_class
                    && (c.is_empty() || !c.chars().all(|c| c.is_ascii_uppercase() || c == '_'))
                {
                    return Err(format!(
                        "{what}: storage class {c:?} must be an S3 class name such as STANDARD_IA or GLACIER_IR"
                    ));
                }
                absolute_file(&what, "credentials", s.credentials.as_deref())
            }
            DestinationKind::Azure(a) => {
                a.location().map_err(|e| format!("{what}: {e}"))?;
                if let Some(e) = &a.endpoint {
                    check_endpoint(&what, e)?;
                }
                if let Some(acc) = &a.account
                    && (acc.is_empty() || !acc.chars().all(|c| c.is_ascii_alphanumeric()))
                {
                    return Err(format!(
                        "{what}: account {acc:?} must be letters and digits"
                    ));
                }
                absolute_file(&what, "credentials", a.credentials.as_deref())
            }
            DestinationKind::Sftp(s) => {
                s.target().map_err(|e| format!("{what}: {e}"))?;
                absolute_file(&what, "identity", s.identity.as_deref())?;
                absolute_file(&what, "known_hosts", s.known_hosts.as_deref())
            }
        }
    };
    check().map_err(CoreError::Invalid)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{S3Spec, SftpSpec};
    use proptest::prelude::*;

    #[test]
    fn endpoints() {
        assert!(check_endpoint("d", "http://127.0.0.1:9000").is_ok());
        assert!(check_endpoint("d", "https://s3.example.com/base").is_ok());
        for bad in [
            "ftp://x",
            "http://",
            "https://user:pw@host",
            "http://h?x=1",
            "h:9000",
        ] {
            assert!(check_endpoint("d", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn kinds() {
        let s3 = |region: Option<&str>, class: Option<&str>| {
            DestinationKind::S3(S3Spec {
                url: "s3://b/p".into(),
                endpoint: None,
                region: region.map(Into::into),
                storage_class: class.map(Into::into),
                credentials: None,
            })
        };
        assert!(check_kind("d", &s3(Some("eu-west-1"), Some("STANDARD_IA"))).is_ok());
        assert!(check_kind("d", &s3(Some("eu west"), None)).is_err());
        assert!(check_kind("d", &s3(None, Some("glacier;rm"))).is_err());
        let sftp = DestinationKind::Sftp(SftpSpec {
            url: "sftp://u@h/r".into(),
            identity: Some("key".into()),
            known_hosts: None,
        });
        assert!(
            check_kind("d", &sftp).is_err(),
            "a relative identity is refused"
        );
    }

    proptest! {
        #[test]
        fn endpoint_check_never_panics(url in "\\PC{0,60}") {
            let _ = check_endpoint("d", &url);
            let _ = check_endpoint("d", &format!("http://{url}"));
        }
    }
}
