//! Themes: TOML files of semantic colour slots. The built-in ones (themes/)
//! are embedded in the binary; a file of the same name in `<home>/themes/`
//! overrides one. `NO_COLOR` selects `mono`, which keeps meaning through
//! symbols and bold/reverse instead of colour.

use ratatui::style::{Color, Modifier, Style};
use std::path::Path;
use std::str::FromStr;

/// Built-in themes: (name, TOML).
pub const BUILTIN: [(&str, &str); 4] = [
    ("default", include_str!("../../themes/default.toml")),
    ("light", include_str!("../../themes/light.toml")),
    (
        "high-contrast",
        include_str!("../../themes/high-contrast.toml"),
    ),
    ("mono", include_str!("../../themes/mono.toml")),
];

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    name: String,
    text: String,
    muted: String,
    accent: String,
    header: String,
    selection_fg: String,
    selection_bg: String,
    ok: String,
    warn: String,
    error: String,
    gauge: String,
}

/// Resolved styles for each semantic slot.
#[derive(Debug, Clone, PartialEq)]
pub struct Theme {
    /// Theme name.
    pub name: String,
    /// Plain text.
    pub text: Style,
    /// Secondary text.
    pub muted: Style,
    /// Highlights (titles, active tab).
    pub accent: Style,
    /// Header bar.
    pub header: Style,
    /// Selected row.
    pub selection: Style,
    /// Success.
    pub ok: Style,
    /// Attention.
    pub warn: Style,
    /// Failure.
    pub error: Style,
    /// Progress gauges.
    pub gauge: Style,
    /// Whether colour is used at all (mono adds symbols and modifiers instead).
    pub colour: bool,
}

fn colour(slot: &str, v: &str) -> Result<Color, String> {
    Color::from_str(v).map_err(|_| {
        format!("{slot} = {v:?} is not a colour (a name like \"cyan\" or \"#rrggbb\")")
    })
}

impl Theme {
    /// Parses a theme file.
    pub fn parse(text: &str) -> Result<Theme, String> {
        let f: File = toml::from_str(text).map_err(|e| e.to_string().replace('\n', " "))?;
        let fg = |slot: &str, v: &str| colour(slot, v).map(|c| Style::default().fg(c));
        let colour_on = f.name != "mono";
        let mono = |s: Style, m: Modifier| if colour_on { s } else { s.add_modifier(m) };
        Ok(Theme {
            text: fg("text", &f.text)?,
            muted: fg("muted", &f.muted)?,
            accent: mono(fg("accent", &f.accent)?, Modifier::BOLD),
            header: mono(
                fg("header", &f.header)?.add_modifier(Modifier::BOLD),
                Modifier::BOLD,
            ),
            selection: if colour_on {
                Style::default()
                    .fg(colour("selection_fg", &f.selection_fg)?)
                    .bg(colour("selection_bg", &f.selection_bg)?)
            } else {
                Style::default().add_modifier(Modifier::REVERSED)
            },
            ok: fg("ok", &f.ok)?,
            warn: mono(fg("warn", &f.warn)?, Modifier::BOLD),
            error: mono(fg("error", &f.error)?, Modifier::BOLD),
            gauge: fg("gauge", &f.gauge)?,
            colour: colour_on,
            name: f.name,
        })
    }

    /// Finds a theme by name: `<home>/themes/NAME.toml` first, then the built-ins.
    pub fn load(name: &str, home: &Path) -> Result<Theme, String> {
        let user = home.join("themes").join(format!("{name}.toml"));
        if let Ok(text) = std::fs::read_to_string(&user) {
            return Theme::parse(&text).map_err(|e| format!("theme {}: {e}", user.display()));
        }
        match BUILTIN.iter().find(|(n, _)| *n == name) {
            Some((_, text)) => Theme::parse(text),
            None => Err(format!(
                "no theme {name:?}; built-in themes are {}, or put {name}.toml in {}",
                BUILTIN
                    .iter()
                    .map(|(n, _)| *n)
                    .collect::<Vec<_>>()
                    .join(", "),
                home.join("themes").display()
            )),
        }
    }

    /// The theme to use: `--theme`, else mono under `NO_COLOR`, else default.
    pub fn choose(flag: Option<&str>, home: &Path) -> Result<Theme, String> {
        let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        let name = flag.unwrap_or(if no_color { "mono" } else { "default" });
        Theme::load(name, home)
    }

    /// The theme for a remote terminal: its own `NO_COLOR` and `TERM`, not
    /// the server's.
    pub fn for_terminal(home: &Path, term: &str, no_color: bool) -> Result<Theme, String> {
        if no_color || term == "dumb" {
            return Theme::load("mono", home);
        }
        let mut t = Theme::load("default", home)?;
        t.limit(Depth::of_term(term));
        Ok(t)
    }

    /// Maps `#rrggbb` colours to what a terminal of `depth` can show.
    pub fn limit(&mut self, depth: Depth) {
        for st in [
            &mut self.text,
            &mut self.muted,
            &mut self.accent,
            &mut self.header,
            &mut self.selection,
            &mut self.ok,
            &mut self.warn,
            &mut self.error,
            &mut self.gauge,
        ] {
            st.fg = st.fg.map(|c| depth.map(c));
            st.bg = st.bg.map(|c| depth.map(c));
        }
    }
}

/// How many colours a terminal shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Depth {
    /// 24-bit colour.
    True,
    /// The xterm 256-colour palette.
    Indexed,
    /// The 16 basic colours.
    Basic,
}

impl Depth {
    /// Judged from `TERM` (SSH clients send it with the pty request).
    pub fn of_term(term: &str) -> Depth {
        if term.contains("truecolor") || term.contains("direct") {
            Depth::True
        } else if term.contains("256") {
            Depth::Indexed
        } else {
            Depth::Basic
        }
    }

    fn map(self, c: Color) -> Color {
        let Color::Rgb(r, g, b) = c else { return c };
        match self {
            Depth::True => c,
            Depth::Indexed => {
                let q = |v: u8| (u16::from(v) * 5 + 127) / 255;
                Color::Indexed((16 + 36 * q(r) + 6 * q(g) + q(b)) as u8)
            }
            Depth::Basic => {
                const BASIC: [(Color, (i32, i32, i32)); 8] = [
                    (Color::Black, (0, 0, 0)),
                    (Color::Red, (205, 0, 0)),
                    (Color::Green, (0, 205, 0)),
                    (Color::Yellow, (205, 205, 0)),
                    (Color::Blue, (0, 0, 238)),
                    (Color::Magenta, (205, 0, 205)),
                    (Color::Cyan, (0, 205, 205)),
                    (Color::White, (229, 229, 229)),
                ];
                let (r, g, b) = (i32::from(r), i32::from(g), i32::from(b));
                BASIC
                    .iter()
                    .min_by_key(|(_, (x, y, z))| (r - x).pow(2) + (g - y).pow(2) + (b - z).pow(2))
                    .map_or(c, |(col, _)| *col)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colours_follow_the_terminal() {
        assert_eq!(Depth::of_term("xterm-256color"), Depth::Indexed);
        assert_eq!(Depth::of_term("xterm"), Depth::Basic);
        assert_eq!(
            Depth::Indexed.map(Color::Rgb(255, 136, 0)),
            Color::Indexed(214)
        );
        assert_eq!(Depth::Basic.map(Color::Rgb(250, 10, 10)), Color::Red);
        assert_eq!(Depth::Basic.map(Color::Cyan), Color::Cyan);
        let home = tempfile::tempdir().unwrap();
        assert_eq!(
            Theme::for_terminal(home.path(), "xterm", true)
                .unwrap()
                .name,
            "mono"
        );
        assert_eq!(
            Theme::for_terminal(home.path(), "dumb", false)
                .unwrap()
                .name,
            "mono"
        );
        assert_eq!(
            Theme::for_terminal(home.path(), "xterm", false)
                .unwrap()
                .name,
            "default"
        );
    }

    #[test]
    fn builtins_parse_and_user_themes_override() {
        for (n, text) in BUILTIN {
            assert_eq!(Theme::parse(text).unwrap().name, n);
        }
        let home = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(home.path().join("themes")).unwrap();
        let custom = BUILTIN[0]
            .1
            .replace("accent = \"cyan\"", "accent = \"#ff8800\"");
        std::fs::write(home.path().join("themes/default.toml"), custom).unwrap();
        let t = Theme::load("default", home.path()).unwrap();
        assert_eq!(t.accent.fg, Some(Color::Rgb(0xff, 0x88, 0x00)));
        assert!(
            Theme::load("nope", home.path())
                .unwrap_err()
                .contains("built-in themes are")
        );
        std::fs::write(
            home.path().join("themes/bad.toml"),
            BUILTIN[0].1.replace("\"cyan\"", "\"not-a-colour\""),
        )
        .unwrap();
        assert!(
            Theme::load("bad", home.path())
                .unwrap_err()
                .contains("not a colour")
        );
    }

    #[test]
    fn mono_keeps_meaning_without_colour() {
        let m = Theme::load("mono", Path::new("/nonexistent")).unwrap();
        assert!(!m.colour);
        assert!(m.selection.add_modifier.contains(Modifier::REVERSED));
        assert!(m.error.add_modifier.contains(Modifier::BOLD));
    }
}
