//! UTF-8 checked piece by piece, for text that arrives in pieces (the
//! fragments of a message, or the reads of one large frame).
//!
//! RFC 6455 §8.1 lets a client fail the connection as soon as the text it
//! has so far can no longer become valid UTF-8; the Autobahn TestSuite
//! calls that failing fast (cases 6.4.x). [`Utf8Check`] keeps only the
//! last incomplete code point (at most 3 bytes) between pieces, so every
//! byte is looked at once.

/// The state of a text being checked piece by piece (see the module docs).
#[derive(Clone, Copy, Debug, Default)]
pub struct Utf8Check {
    /// The start of a code point whose remaining bytes have not arrived.
    carry: [u8; 4],
    len: usize,
}

/// The text can no longer become valid UTF-8.
#[derive(Debug, PartialEq, Eq)]
pub struct InvalidUtf8;

impl Utf8Check {
    /// Checks the next piece. An error means the text so far is not the
    /// start of any valid UTF-8 text.
    pub fn feed(&mut self, mut bytes: &[u8]) -> Result<(), InvalidUtf8> {
        if self.len > 0 {
            let want = width(self.carry[0]) - self.len;
            let take = want.min(bytes.len());
            self.carry[self.len..self.len + take].copy_from_slice(&bytes[..take]);
            self.len += take;
            bytes = &bytes[take..];
            match std::str::from_utf8(&self.carry[..self.len]) {
                Ok(_) => self.len = 0,
                // Still incomplete: every byte of the piece went into it.
                Err(e) if e.error_len().is_none() => return Ok(()),
                Err(_) => return Err(InvalidUtf8),
            }
        }
        match std::str::from_utf8(bytes) {
            Ok(_) => Ok(()),
            Err(e) if e.error_len().is_none() => {
                let rest = &bytes[e.valid_up_to()..];
                self.carry[..rest.len()].copy_from_slice(rest);
                self.len = rest.len();
                Ok(())
            }
            Err(_) => Err(InvalidUtf8),
        }
    }

    /// The text ends here: valid only if no code point is left incomplete.
    pub fn finish(&self) -> Result<(), InvalidUtf8> {
        if self.len == 0 {
            Ok(())
        } else {
            Err(InvalidUtf8)
        }
    }
}

/// The length of the code point that starts with `lead` (a lead byte that
/// `from_utf8` accepted as the start of an incomplete code point).
fn width(lead: u8) -> usize {
    match lead {
        0xC0..=0xDF => 2,
        0xE0..=0xEF => 3,
        _ => 4,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Feeds `text` split at every pair of points; the verdict always
    /// equals `from_utf8` on the whole, and an invalid text is refused no
    /// later than the piece that holds its first bad byte.
    fn agrees(text: &[u8]) {
        let whole = std::str::from_utf8(text);
        for a in 0..=text.len() {
            for b in a..=text.len() {
                let mut c = Utf8Check::default();
                let pieces = [&text[..a], &text[a..b], &text[b..]];
                let mut failed_at = None;
                for (i, p) in pieces.iter().enumerate() {
                    if c.feed(p).is_err() {
                        failed_at = Some(i);
                        break;
                    }
                }
                let ok = failed_at.is_none() && c.finish().is_ok();
                assert_eq!(ok, whole.is_ok(), "{text:02x?} split at {a},{b}");
                if let (Err(e), Some(i)) = (whole, failed_at)
                    && let Some(len) = e.error_len()
                {
                    // The byte that shows the text is bad decides, not the
                    // end of the text.
                    let bad = (e.valid_up_to() + len).min(text.len() - 1);
                    let holder = if bad < a {
                        0
                    } else if bad < b {
                        1
                    } else {
                        2
                    };
                    assert!(i <= holder, "{text:02x?} split at {a},{b}: failed late");
                }
            }
        }
    }

    #[test]
    fn piecewise_equals_whole() {
        for t in [
            &b"hello"[..],
            "κόσμε".as_bytes(),
            "a€b𤭢c".as_bytes(),
            b"\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xf4\x90\x80\x80edited",
            b"\xed\xa0\x80",
            b"\xf0\x90\x80",
            b"\xc0\xaf",
            b"\x80",
            b"ab\xf4\x8f\xbf\xbf",
            b"\xe0\x9f\xbf",
        ] {
            agrees(t);
        }
    }

    /// Autobahn 6.4.2: the byte 0x90 after 0xF4 is refused as soon as it
    /// arrives, with more text still to come.
    #[test]
    fn fails_fast() {
        let mut c = Utf8Check::default();
        assert!(
            c.feed(b"\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xf4")
                .is_ok()
        );
        assert_eq!(c.feed(b"\x90"), Err(InvalidUtf8));
    }
}
