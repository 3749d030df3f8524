//! A destination's private credentials file: a small TOML file an operator
//! points a destination at (`credentials = "/path"`) instead of exporting the
//! provider's environment variables.
//!
//! ```toml
//! # S3
//! access_key_id = "AKIA…"
//! secret_access_key = "…"
//! session_token = "…"        # optional
//! # Azure
//! account = "myaccount"      # optional when the destination names it
//! key = "…"
//! ```
//!
//! The file is refused unless it is owned by the user running Strata and
//! gives nothing to group or others (0600 or 0400). Secrets are zeroed when
//! dropped, never shown by `Debug`, and never quoted in an error: a parse
//! error names the file and the line, not what is on it.

use serde::Deserialize;
use std::fmt;
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use zeroize::Zeroizing;

/// A secret string: zeroed on drop, `Debug` prints `<redacted>`.
#[derive(Clone)]
pub struct Secret(Zeroizing<String>);

impl Secret {
    /// Wraps `s`.
    pub fn new(s: String) -> Secret {
        Secret(Zeroizing::new(s))
    }

    /// The secret itself, for handing to the storage client.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

/// S3 keys from a credentials file.
#[derive(Debug, Clone)]
pub struct S3Keys {
    /// Access key id (not secret on its own, but kept out of messages all the same).
    pub access_key_id: Secret,
    /// Secret access key.
    pub secret_access_key: Secret,
    /// Session token of temporary credentials.
    pub session_token: Option<Secret>,
}

/// An Azure storage account key from a credentials file.
#[derive(Debug, Clone)]
pub struct AzureKey {
    /// Storage account, when the file names it.
    pub account: Option<String>,
    /// Account key (base64).
    pub key: Secret,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct S3File {
    access_key_id: String,
    secret_access_key: String,
    #[serde(default)]
    session_token: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AzureFile {
    #[serde(default)]
    account: Option<String>,
    key: String,
}

const S3_FORM: &str =
    "access_key_id = \"…\" and secret_access_key = \"…\" (session_token = \"…\" optional)";
const AZURE_FORM: &str = "key = \"…\" (account = \"…\" optional)";

/// Reads S3 keys from the private file at `path`.
pub fn read_s3(path: &Path) -> Result<S3Keys, String> {
    let text = read_private(path)?;
    parse_s3(&text).map_err(|why| format!("credentials file {}: {why}", path.display()))
}

/// Reads an Azure account key from the private file at `path`.
pub fn read_azure(path: &Path) -> Result<AzureKey, String> {
    let text = read_private(path)?;
    parse_azure(&text).map_err(|why| format!("credentials file {}: {why}", path.display()))
}

/// Parses the S3 form; the error never quotes `text`.
pub fn parse_s3(text: &str) -> Result<S3Keys, String> {
    let f: S3File = parse(text, S3_FORM)?;
    let f = Zeroed(f);
    let nonempty = |s: &str, what: &str| {
        if s.trim().is_empty() {
            Err(format!("{what} is empty; write {S3_FORM}"))
        } else {
            Ok(Secret::new(s.trim().to_string()))
        }
    };
    Ok(S3Keys {
        access_key_id: nonempty(&f.0.access_key_id, "access_key_id")?,
        secret_access_key: nonempty(&f.0.secret_access_key, "secret_access_key")?,
        session_token: f
            .0
            .session_token
            .as_deref()
            .filter(|t| !t.trim().is_empty())
            .map(|t| Secret::new(t.trim().to_string())),
    })
}

/// Parses the Azure form; the error never quotes `text`.
pub fn parse_azure(text: &str) -> Result<AzureKey, String> {
    let f: AzureFile = parse(text, AZURE_FORM)?;
    let f = Zeroed(f);
    if f.0.key.trim().is_empty() {
        return Err(format!("key is empty; write {AZURE_FORM}"));
    }
    let account =
        f.0.account
            .as_deref()
            .map(str::trim)
            .filter(|a| !a.is_empty())
            .map(str::to_string);
    if let Some(a) = &account
        && !a.chars().all(|c| c.is_ascii_alphanumeric())
    {
        return Err("account must be letters and digits only".into());
    }
    Ok(AzureKey {
        account,
        key: Secret::new(f.0.key.trim().to_string()),
    })
}

/// The parsed file, its plain strings zeroed when dropped.
struct Zeroed<T: Scrub>(T);

trait Scrub {
    fn scrub(&mut self);
}

impl Scrub for S3File {
    fn scrub(&mut self) {
        use zeroize::Zeroize;
        self.access_key_id.zeroize();
        self.secret_access_key.zeroize();
        self.session_token.zeroize();
    }
}

impl Scrub for AzureFile {
    fn scrub(&mut self) {
        use zeroize::Zeroize;
        self.key.zeroize();
    }
}

impl<T: Scrub> Drop for Zeroed<T> {
    fn drop(&mut self) {
        self.0.scrub();
    }
}

/// TOML into `T`, with an error that gives the line only: the library's own
/// message quotes the offending text, which may be a secret.
fn parse<T: serde::de::DeserializeOwned>(text: &str, form: &str) -> Result<T, String> {
    toml::from_str(text).map_err(|e| {
        let at = e
            .span()
            .map(|s| {
                let line = text
                    .get(..s.start)
                    .map(|b| b.matches('\n').count() + 1)
                    .unwrap_or(1);
                format!(" (line {line})")
            })
            .unwrap_or_default();
        format!("not the expected TOML{at}; write {form}, nothing else")
    })
}

/// The file's text, if it is ours and private.
fn read_private(path: &Path) -> Result<Zeroizing<String>, String> {
    read_private_file(path, "credentials file")
}

/// Reads a secret from the regular file at `path`, which must be private
/// (no group or other bits) and owned by the user running Strata; `what`
/// names it in errors ("credentials file", "passphrase file").
pub fn read_private_file(path: &Path, what: &str) -> Result<Zeroizing<String>, String> {
    let shown = path.display();
    // Followed through symlinks: mounted secrets are often links.
    let meta = std::fs::metadata(path).map_err(|e| {
        format!(
            "cannot read the {what} {shown}: {}; check the path",
            e.kind()
        )
    })?;
    if !meta.is_file() {
        return Err(format!("the {what} {shown} is not a regular file"));
    }
    let mode = meta.mode() & 0o7777;
    if mode & 0o077 != 0 {
        return Err(format!(
            "the {what} {shown} is readable by others (mode {mode:04o}); it holds a secret and must be private: run `chmod 600 {shown}`"
        ));
    }
    let me = rustix::process::geteuid().as_raw();
    if meta.uid() != me {
        return Err(format!(
            "the {what} {shown} belongs to user id {}, not to the user running strata ({me}); a secret must be owned by whoever uses it: `chown` it",
            meta.uid()
        ));
    }
    let bytes = Zeroizing::new(std::fs::read(path).map_err(|e| {
        format!(
            "cannot read the {what} {shown}: {}; check its permissions",
            e.kind()
        )
    })?);
    match std::str::from_utf8(&bytes) {
        Ok(s) => Ok(Zeroizing::new(s.to_string())),
        Err(_) => Err(format!("the {what} {shown} is not UTF-8 text")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn s3_and_azure_forms_parse_and_debug_redacts() {
        let k =
            parse_s3("access_key_id = \"AK1\"\nsecret_access_key = \"s3cr3t-value\"\n").unwrap();
        assert_eq!(k.access_key_id.expose(), "AK1");
        assert_eq!(k.secret_access_key.expose(), "s3cr3t-value");
        assert!(k.session_token.is_none());
        let shown = format!("{k:?}");
        assert!(
            !shown.contains("s3cr3t") && !shown.contains("AK1"),
            "{shown}"
        );
        let a = parse_azure("account = \"dev1\"\nkey = \"a2V5\"\n").unwrap();
        assert_eq!(a.account.as_deref(), Some("dev1"));
        assert_eq!(a.key.expose(), "a2V5");
        assert!(!format!("{a:?}").contains("a2V5"));
        for bad in [
            "",
            "access_key_id = \"x\"",
            "secret_access_key = \"hidden-1\"\nextra = 1",
            "access_key_id = \"\"\nsecret_access_key = \"y\"",
        ] {
            let e = parse_s3(bad).unwrap_err();
            assert!(!e.contains("hidden-1"), "{e}");
            assert!(e.contains("access_key_id"), "{e}");
        }
        assert!(parse_azure("key = \"\"").is_err());
        assert!(parse_azure("account = \"a b\"\nkey = \"k\"").is_err());
    }

    #[test]
    fn only_a_private_file_of_ours_is_read() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("creds");
        std::fs::write(&f, "access_key_id = \"a\"\nsecret_access_key = \"b\"\n").unwrap();
        std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o644)).unwrap();
        let e = read_s3(&f).unwrap_err();
        assert!(e.contains("chmod 600") && e.contains("0644"), "{e}");
        std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o400)).unwrap();
        assert_eq!(read_s3(&f).unwrap().secret_access_key.expose(), "b");
        std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o600)).unwrap();
        assert!(read_azure(&f).unwrap_err().contains("line"));
        let e = read_s3(&dir.path().join("none")).unwrap_err();
        assert!(e.contains("check the path"), "{e}");
    }

    proptest! {
        /// Whatever the file holds, parsing never panics and no error quotes
        /// a secret-looking value that was in it.
        #[test]
        fn parsers_never_panic_nor_quote_the_input(
            before in "\\PC{0,40}",
            secret in "[A-Za-z0-9+/]{12,40}",
            after in "\\PC{0,40}",
            quoted in any::<bool>(),
        ) {
            let value = if quoted { format!("\"{secret}\"") } else { secret.clone() };
            for text in [
                format!("{before}{value}{after}"),
                format!("access_key_id = {value}\n{before}"),
                format!("secret_access_key = {value}\n{after}"),
                format!("key = {value}{after}"),
                format!("{before} = {value}"),
            ] {
                if let Err(e) = parse_s3(&text) {
                    prop_assert!(!e.contains(&secret), "{e}");
                }
                if let Err(e) = parse_azure(&text) {
                    prop_assert!(!e.contains(&secret), "{e}");
                }
            }
        }
    }
}
