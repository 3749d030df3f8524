//! Turns the bytes an SSH client sends for its terminal into key events.

use ratatui::crossterm::event::{Event, KeyEvent, KeyEventKind};

/// Splits channel data into key presses. Escape sequences may be cut across
/// packets, so unfinished ones wait for the next packet.
#[derive(Debug, Default)]
pub struct KeyParser {
    pending: Vec<u8>,
}

/// Longest sequence we wait for; anything longer is noise and is dropped.
const MAX_PENDING: usize = 64;

impl KeyParser {
    /// Feeds one packet; returns the key presses it completes.
    pub fn feed(&mut self, data: &[u8]) -> Vec<KeyEvent> {
        let mut keys = Vec::new();
        for (i, b) in data.iter().enumerate() {
            self.pending.push(*b);
            let more = i + 1 < data.len();
            // A lone ESC followed by more bytes in the same packet starts a
            // sequence (arrow keys, Alt+key); only at a packet's end is it Esc.
            if self.pending == [0x1b] && more {
                continue;
            }
            match terminput::Event::parse_from(&self.pending) {
                Ok(Some(ev)) => {
                    self.pending.clear();
                    if let Ok(Event::Key(k)) = terminput_crossterm::to_crossterm(ev)
                        && k.kind == KeyEventKind::Press
                    {
                        keys.push(k);
                    }
                }
                Ok(None) if self.pending.len() < MAX_PENDING => {}
                _ => self.pending.clear(),
            }
        }
        keys
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use ratatui::crossterm::event::{KeyCode, KeyModifiers};

    fn codes(p: &mut KeyParser, data: &[u8]) -> Vec<KeyCode> {
        p.feed(data).into_iter().map(|k| k.code).collect()
    }

    #[test]
    fn keys_arrows_and_split_sequences() {
        let mut p = KeyParser::default();
        assert_eq!(
            codes(&mut p, b"jk\r"),
            [KeyCode::Char('j'), KeyCode::Char('k'), KeyCode::Enter]
        );
        assert_eq!(codes(&mut p, b"\x1b[A\x1b[B"), [KeyCode::Up, KeyCode::Down]);
        assert_eq!(codes(&mut p, b"\x1b"), [KeyCode::Esc]);
        let mut p = KeyParser::default();
        assert!(codes(&mut p, b"\x1b[1;").is_empty());
        assert_eq!(codes(&mut p, b"5A"), [KeyCode::Up]);
        let k = KeyParser::default().feed(b"\x03");
        assert_eq!(k[0].code, KeyCode::Char('c'));
        assert!(k[0].modifiers.contains(KeyModifiers::CONTROL));
    }

    proptest! {
        // Bytes come from the network: never panic, never grow without bound.
        #[test]
        fn any_bytes_are_safe(chunks in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..40), 0..20)) {
            let mut p = KeyParser::default();
            for c in chunks {
                let _ = p.feed(&c);
                prop_assert!(p.pending.len() <= MAX_PENDING);
            }
        }
    }
}
