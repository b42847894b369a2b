//! The workspace's one JSON reader, in place of serde_json (replacing it made the wasm build
//! about 12 KB smaller): strict for a safetensors header ([`parse`]), full JSON for the other
//! files read by hand, such as a recorded performance ([`parse_json`], used by
//! `tidepool_engine::performance`).
//!
//! [`parse`] reads exactly what a safetensors header holds: objects, arrays, strings (every
//! JSON escape, surrogate pairs included) and non-negative integers, with JSON's whitespace
//! around them. Everything else is refused: `true`, `false`, `null`, negative numbers,
//! fractions and exponents (valid JSON a safetensors header never holds), duplicate keys,
//! nesting deeper than [`MAX_DEPTH`], and of course anything that is not JSON.
//! [`parse_json`] also reads `true`, `false`, `null` and every JSON number (a non-negative
//! integer up to `u64::MAX` exactly, any other as an f64, as JavaScript writes them: `-0.5`,
//! `1e+21`, `2.5E-3`); it still refuses duplicate keys, nesting deeper than [`MAX_DEPTH`] and
//! numbers beyond an f64's range. Neither ever panics, their recursion is bounded, and every
//! error says what is wrong and at which byte.

use std::collections::BTreeMap;
use std::fmt;

/// Containers nested deeper than this are refused (a safetensors header nests three deep:
/// the header, a tensor entry, its shape).
pub const MAX_DEPTH: usize = 16;

/// A JSON value. [`parse`] only makes the first four kinds (what a safetensors header holds).
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    /// Keys are unique; iteration is in key order.
    Object(BTreeMap<String, Value>),
    Array(Vec<Value>),
    String(String),
    /// A non-negative integer without fraction or exponent, exactly.
    Integer(u64),
    /// Any other number ([`parse_json`] only): negative, with a fraction or an exponent, or
    /// above `u64::MAX`. Always finite.
    Number(f64),
    Bool(bool),
    Null,
}

impl Value {
    /// The member `key` of an object; `None` for a missing key or a value that is not an
    /// object.
    pub fn get(&self, key: &str) -> Option<&Value> {
        match self {
            Value::Object(members) => members.get(key),
            _ => None,
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_u64(&self) -> Option<u64> {
        match self {
            Value::Integer(n) => Some(*n),
            _ => None,
        }
    }

    /// Any number as an f64 (an integer above 2^53 rounded to the nearest).
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Value::Integer(n) => Some(*n as f64),
            Value::Number(v) => Some(*v),
            _ => None,
        }
    }

    pub fn as_array(&self) -> Option<&[Value]> {
        match self {
            Value::Array(items) => Some(items),
            _ => None,
        }
    }
}

/// What is wrong with a header (or with the text [`parse_json`] read), and where.
#[derive(Clone, Debug, PartialEq)]
pub struct Error {
    /// Byte offset into the text (for a header, the bytes after the 8-byte length).
    pub at: usize,
    /// What is wrong, e.g. "expected `:` after an object key, found `,`".
    pub what: String,
    /// The text is JSON, but holds something a safetensors header never does (`null`, a
    /// float, a duplicate key, …); `false` means the text is not JSON at all.
    pub unsupported: bool,
    /// Read by [`parse`] (a safetensors header) rather than [`parse_json`].
    pub header: bool,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let of = if self.header { " header" } else { "" };
        write!(f, "{} at byte {} of the JSON{of}", self.what, self.at)
    }
}

/// `s` as a JSON string literal, quotes included (the writers' side of this module: the page's
/// JSON, the rhythm data sets).
pub fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 || c == '\u{2028}' || c == '\u{2029}' => {
                const HEX: &[u8; 16] = b"0123456789abcdef";
                out.push_str("\\u");
                for shift in [12, 8, 4, 0] {
                    out.push(HEX[(c as usize >> shift) & 15] as char);
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Parses one JSON value (with optional surrounding whitespace, such as the spaces that pad
/// a safetensors header to 8 bytes) that must fill `text`, refusing what a safetensors header
/// never holds (see the module documentation).
pub fn parse(text: &[u8]) -> Result<Value, Error> {
    Parser::<false> { text, i: 0 }.document()
}

/// Parses one JSON value of any kind that must fill `text` (with optional surrounding
/// whitespace). Only duplicate keys, nesting deeper than [`MAX_DEPTH`] and numbers beyond an
/// f64's range are refused although JSON (`unsupported` errors).
///
/// ```
/// use tidepool_melody::model_file::json_header::{parse_json, Value};
/// let v = parse_json(br#"{"a": [-0.5, 1e+21, 2.5E-3, 7, true, null]}"#).unwrap();
/// let items = v.get("a").and_then(Value::as_array).unwrap();
/// assert_eq!(items[1].as_f64(), Some(1e21));
/// assert_eq!(items[3], Value::Integer(7));
/// let e = parse_json(b"[1, 2").unwrap_err();
/// assert_eq!((e.at, e.what.as_str()), (5, "expected `,` or `]` after an array element, found the end of the text"));
/// ```
pub fn parse_json(text: &[u8]) -> Result<Value, Error> {
    Parser::<true> { text, i: 0 }.document()
}

/// `FULL`: full JSON ([`parse_json`]) rather than a safetensors header ([`parse`]). A constant,
/// so the page's wasm module, which only reads headers, carries no code of the full reader.
struct Parser<'a, const FULL: bool> {
    text: &'a [u8],
    /// The next byte to read; never beyond `text.len()`.
    i: usize,
}

impl<const FULL: bool> Parser<'_, FULL> {
    fn document(&mut self) -> Result<Value, Error> {
        let p = self;
        p.whitespace();
        let value = p.value(0)?;
        p.whitespace();
        match p.peek() {
            None => Ok(value),
            Some(_) => Err(p.syntax(p.i, format!("{} after the JSON value", p.found()))),
        }
    }

    fn peek(&self) -> Option<u8> {
        self.text.get(self.i).copied()
    }

    /// Consumes `byte` if it is next.
    fn eat(&mut self, byte: u8) -> bool {
        let next = self.peek() == Some(byte);
        if next {
            self.i += 1;
        }
        next
    }

    fn whitespace(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.peek() {
            self.i += 1;
        }
    }

    /// The next byte, for an error message.
    fn found(&self) -> String {
        match self.peek() {
            None if FULL => "the end of the text".into(),
            None => "the end of the header".into(),
            Some(c @ b' '..=b'~') => {
                let mut shown = String::from("`");
                shown.push(c as char);
                shown.push('`');
                shown
            }
            Some(c) => format!("byte 0x{c:02x}"),
        }
    }

    fn syntax(&self, at: usize, what: String) -> Error {
        Error {
            at,
            what,
            unsupported: false,
            header: !FULL,
        }
    }

    fn unsupported(&self, at: usize, what: String) -> Error {
        Error {
            at,
            what,
            unsupported: true,
            header: !FULL,
        }
    }

    fn value(&mut self, depth: usize) -> Result<Value, Error> {
        match self.peek() {
            Some(b'{') => self.object(depth),
            Some(b'[') => self.array(depth),
            Some(b'"') => self.string().map(Value::String),
            Some(b'-' | b'0'..=b'9') => self.number(),
            Some(b't' | b'f' | b'n') => {
                let rest = self.text.get(self.i..).unwrap_or_default();
                match ["true", "false", "null"]
                    .into_iter()
                    .find(|w| rest.starts_with(w.as_bytes()))
                {
                    Some(word) if FULL => {
                        self.i += word.len();
                        Ok(match word {
                            "true" => Value::Bool(true),
                            "false" => Value::Bool(false),
                            _ => Value::Null,
                        })
                    }
                    Some(word) => Err(self.unsupported(
                        self.i,
                        format!(
                            "`{word}`, which a safetensors header never holds (only objects, \
                             arrays, strings and non-negative integers)"
                        ),
                    )),
                    None => {
                        Err(self
                            .syntax(self.i, format!("expected a value, found {}", self.found())))
                    }
                }
            }
            _ => Err(self.syntax(self.i, format!("expected a value, found {}", self.found()))),
        }
    }

    /// Refuses a container opening at `self.i` at `depth`.
    fn enter(&self, depth: usize) -> Result<(), Error> {
        if depth >= MAX_DEPTH {
            return Err(self.unsupported(self.i, format!("nesting deeper than {MAX_DEPTH} levels")));
        }
        Ok(())
    }

    fn object(&mut self, depth: usize) -> Result<Value, Error> {
        self.enter(depth)?;
        self.i += 1; // `{`
        let mut members = BTreeMap::new();
        self.whitespace();
        if self.eat(b'}') {
            return Ok(Value::Object(members));
        }
        loop {
            self.whitespace();
            let key_at = self.i;
            if self.peek() != Some(b'"') {
                return Err(self.syntax(
                    self.i,
                    format!("expected a string key, found {}", self.found()),
                ));
            }
            let key = self.string()?;
            self.whitespace();
            if !self.eat(b':') {
                return Err(self.syntax(
                    self.i,
                    format!("expected `:` after an object key, found {}", self.found()),
                ));
            }
            self.whitespace();
            let value = self.value(depth + 1)?;
            if members.contains_key(&key) {
                return Err(self.unsupported(key_at, format!("duplicate key `{key}`")));
            }
            members.insert(key, value);
            self.whitespace();
            let at = self.i;
            if self.eat(b'}') {
                return Ok(Value::Object(members));
            }
            if !self.eat(b',') {
                return Err(self.syntax(
                    at,
                    format!(
                        "expected `,` or `}}` after an object member, found {}",
                        self.found()
                    ),
                ));
            }
        }
    }

    fn array(&mut self, depth: usize) -> Result<Value, Error> {
        self.enter(depth)?;
        self.i += 1; // `[`
        let mut items = Vec::new();
        self.whitespace();
        if self.eat(b']') {
            return Ok(Value::Array(items));
        }
        loop {
            self.whitespace();
            items.push(self.value(depth + 1)?);
            self.whitespace();
            let at = self.i;
            if self.eat(b']') {
                return Ok(Value::Array(items));
            }
            if !self.eat(b',') {
                return Err(self.syntax(
                    at,
                    format!(
                        "expected `,` or `]` after an array element, found {}",
                        self.found()
                    ),
                ));
            }
        }
    }

    /// A string; `self.i` is at its opening quote.
    fn string(&mut self) -> Result<String, Error> {
        let open = self.i;
        self.i += 1;
        let mut out = String::new();
        loop {
            // A run of literal characters. It ends at an ASCII byte, so it never splits a
            // well-formed UTF-8 sequence and can be checked on its own.
            let start = self.i;
            while let Some(c) = self.peek() {
                if c == b'"' || c == b'\\' || c < 0x20 {
                    break;
                }
                self.i += 1;
            }
            let run = self.text.get(start..self.i).unwrap_or_default();
            match std::str::from_utf8(run) {
                Ok(run) => out.push_str(run),
                Err(e) => {
                    return Err(
                        self.syntax(start + e.valid_up_to(), "invalid UTF-8 in a string".into())
                    )
                }
            }
            let at = self.i;
            match self.peek() {
                None => {
                    return Err(
                        self.syntax(open, "a string that never ends (no closing `\"`)".into())
                    )
                }
                Some(b'"') => {
                    self.i += 1;
                    return Ok(out);
                }
                Some(b'\\') => {
                    self.i += 1;
                    let single = match self.peek() {
                        Some(b'"') => Some('"'),
                        Some(b'\\') => Some('\\'),
                        Some(b'/') => Some('/'),
                        Some(b'b') => Some('\u{8}'),
                        Some(b'f') => Some('\u{c}'),
                        Some(b'n') => Some('\n'),
                        Some(b'r') => Some('\r'),
                        Some(b't') => Some('\t'),
                        _ => None,
                    };
                    let c = if let Some(c) = single {
                        self.i += 1;
                        c
                    } else if self.eat(b'u') {
                        self.unicode_escape(at)?
                    } else {
                        return Err(self.syntax(
                            at,
                            format!(
                                "invalid escape in a string: `\\` followed by {}",
                                self.found()
                            ),
                        ));
                    };
                    out.push(c);
                }
                Some(c) => {
                    return Err(self.syntax(
                        at,
                        format!("control character 0x{c:02x} in a string (it must be escaped)"),
                    ))
                }
            }
        }
    }

    /// The character of a `\uXXXX` escape (two of them for a surrogate pair); `self.i` is at
    /// the first hex digit and `at` at the backslash.
    fn unicode_escape(&mut self, at: usize) -> Result<char, Error> {
        let high = self.hex4()?;
        let code = match high {
            0xd800..=0xdbff => {
                let low_at = self.i;
                let rest = self.text.get(low_at..).unwrap_or_default();
                if !rest.starts_with(b"\\u") {
                    return Err(self.syntax(
                        at,
                        format!(
                            "`\\u{high:04x}` is the first half of a surrogate pair but no \
                             `\\u` escape follows"
                        ),
                    ));
                }
                self.i += 2;
                let low = self.hex4()?;
                if !(0xdc00..=0xdfff).contains(&low) {
                    return Err(self.syntax(
                        low_at,
                        format!(
                            "`\\u{high:04x}` is the first half of a surrogate pair but \
                             `\\u{low:04x}` is not a second half"
                        ),
                    ));
                }
                0x10000 + ((high - 0xd800) << 10) + (low - 0xdc00)
            }
            0xdc00..=0xdfff => {
                return Err(self.syntax(
                    at,
                    format!("`\\u{high:04x}` is the second half of a surrogate pair, alone"),
                ))
            }
            c => c,
        };
        // Every value left is a scalar value; the fallback only keeps this panic-free.
        char::from_u32(code)
            .ok_or_else(|| self.syntax(at, format!("`\\u{code:x}` is not a character")))
    }

    /// The four hex digits of a `\u` escape, at `self.i`.
    fn hex4(&mut self) -> Result<u32, Error> {
        let mut code = 0;
        for _ in 0..4 {
            match self.peek().and_then(|c| (c as char).to_digit(16)) {
                Some(d) => code = code * 16 + d,
                None => {
                    return Err(self.syntax(
                        self.i,
                        format!("expected 4 hex digits after `\\u`, found {}", self.found()),
                    ))
                }
            }
            self.i += 1;
        }
        Ok(code)
    }

    /// A number in full JSON syntax: a non-negative integer that fits in a u64 is an
    /// [`Value::Integer`]; any other is refused by [`parse`] and a finite [`Value::Number`] for
    /// [`parse_json`].
    fn number(&mut self) -> Result<Value, Error> {
        let at = self.i;
        let negative = self.eat(b'-');
        let mut n = Some(0u64);
        match self.peek() {
            Some(b'0') => {
                self.i += 1;
                if let Some(b'0'..=b'9') = self.peek() {
                    return Err(self.syntax(at, "a number with a leading zero".into()));
                }
            }
            Some(b'1'..=b'9') => {
                while let Some(d @ b'0'..=b'9') = self.peek() {
                    n = n
                        .and_then(|n| n.checked_mul(10))
                        .and_then(|n| n.checked_add(u64::from(d - b'0')));
                    self.i += 1;
                }
            }
            _ => {
                return Err(self.syntax(
                    self.i,
                    format!("expected a digit after `-`, found {}", self.found()),
                ))
            }
        }
        let mut fraction_or_exponent = false;
        if self.eat(b'.') {
            self.digits("after the decimal point")?;
            fraction_or_exponent = true;
        }
        if let Some(b'e' | b'E') = self.peek() {
            self.i += 1;
            if let Some(b'+' | b'-') = self.peek() {
                self.i += 1;
            }
            self.digits("in the exponent")?;
            fraction_or_exponent = true;
        }
        if FULL && (negative || fraction_or_exponent || n.is_none()) {
            // The grammar was checked above, so Rust's f64 syntax (a superset) reads it.
            let text = std::str::from_utf8(self.text.get(at..self.i).unwrap_or_default())
                .unwrap_or_default();
            return match text.parse::<f64>() {
                Ok(v) if v.is_finite() => Ok(Value::Number(v)),
                _ => Err(self.unsupported(
                    at,
                    format!("the number `{text}` is beyond a 64-bit float's range"),
                )),
            };
        }
        let why = if negative {
            "a negative number"
        } else if fraction_or_exponent {
            "a number with a fraction or exponent"
        } else {
            match n {
                Some(n) => return Ok(Value::Integer(n)),
                None => "an integer above 18446744073709551615",
            }
        };
        Err(self.unsupported(
            at,
            format!(
                "{why}, which a safetensors header never holds (its numbers are sizes and \
                 offsets)"
            ),
        ))
    }

    /// One or more decimal digits.
    fn digits(&mut self, place: &str) -> Result<(), Error> {
        if !matches!(self.peek(), Some(b'0'..=b'9')) {
            return Err(self.syntax(
                self.i,
                format!("expected a digit {place}, found {}", self.found()),
            ));
        }
        while let Some(b'0'..=b'9') = self.peek() {
            self.i += 1;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tidepool_reservoir::SeededRng;

    const MODEL: &str = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../web/models/melody-lstm.safetensors"
    );

    /// The JSON header of the shipped model.
    fn real_header() -> Vec<u8> {
        let bytes = std::fs::read(MODEL).expect("web/models/melody-lstm.safetensors");
        let len = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
        bytes[8..8 + len].to_vec()
    }

    fn string(s: &str) -> Value {
        Value::String(s.into())
    }

    fn object(members: &[(&str, Value)]) -> Value {
        Value::Object(
            members
                .iter()
                .map(|(k, v)| (k.to_string(), v.clone()))
                .collect(),
        )
    }

    /// Our value as serde_json's, to compare the two readers.
    fn from_serde(v: &serde_json::Value) -> Option<Value> {
        Some(match v {
            serde_json::Value::Object(m) => Value::Object(
                m.iter()
                    .map(|(k, v)| Some((k.clone(), from_serde(v)?)))
                    .collect::<Option<_>>()?,
            ),
            serde_json::Value::Array(a) => {
                Value::Array(a.iter().map(from_serde).collect::<Option<_>>()?)
            }
            serde_json::Value::String(s) => Value::String(s.clone()),
            serde_json::Value::Number(n) => Value::Integer(n.as_u64()?),
            _ => return None,
        })
    }

    fn refused(text: &[u8]) -> Error {
        parse(text).expect_err(&String::from_utf8_lossy(text))
    }

    #[test]
    fn reads_the_shipped_header_as_serde_json_does() {
        let text = real_header();
        assert!(text.ends_with(b" "), "the header keeps its padding");
        let header = parse(&text).unwrap();
        let serde: serde_json::Value = serde_json::from_slice(&text).unwrap();
        assert_eq!(Some(&header), from_serde(&serde).as_ref());
        let bias = header.get("linear.bias").unwrap();
        assert_eq!(bias.get("dtype").and_then(Value::as_str), Some("F16"));
        assert_eq!(
            bias.get("shape").and_then(Value::as_array),
            Some([Value::Integer(130)].as_slice())
        );
        assert_eq!(
            bias.get("data_offsets"),
            Some(&Value::Array(vec![
                Value::Integer(16640),
                Value::Integer(16900)
            ]))
        );
        let meta = header.get("__metadata__").unwrap();
        assert_eq!(
            meta.get("format_version").and_then(Value::as_str),
            Some("1")
        );
        assert_eq!(meta.get("missing"), None);
        assert_eq!(bias.get("dtype").unwrap().get("x"), None, "get on a string");
    }

    #[test]
    fn every_escape_decodes() {
        let text = concat!(
            r#"["\"\\\/\b\f\n\r\t", "\u0041\u00e9\u20AC\uFFFF\u0000", "#,
            r#""\ud83c\udfb5\uD800\uDC00\uDBFF\uDFFF", "é€🎵 raw", ""]"#
        )
        .as_bytes();
        assert_eq!(
            parse(text).unwrap(),
            Value::Array(vec![
                string("\"\\/\u{8}\u{c}\n\r\t"),
                string("Aé€\u{ffff}\u{0}"),
                string("🎵\u{10000}\u{10ffff}"),
                string("é€🎵 raw"),
                string(""),
            ])
        );
    }

    #[test]
    fn nesting_whitespace_and_integers() {
        let text = concat!(
            " \t\r\n{ \"a\" : [ 0 , 1 , [ ] , { } , [[18446744073709551615]] ] ,",
            " \"b\":{\"c\":{}}}\n "
        )
        .as_bytes();
        assert_eq!(
            parse(text).unwrap(),
            object(&[
                (
                    "a",
                    Value::Array(vec![
                        Value::Integer(0),
                        Value::Integer(1),
                        Value::Array(vec![]),
                        object(&[]),
                        Value::Array(vec![Value::Array(vec![Value::Integer(u64::MAX)])]),
                    ])
                ),
                ("b", object(&[("c", object(&[]))])),
            ])
        );
        let deepest = format!("{}{}", "[".repeat(MAX_DEPTH), "]".repeat(MAX_DEPTH));
        assert!(parse(deepest.as_bytes()).is_ok());
        let deeper = format!("{}{}", "[".repeat(MAX_DEPTH + 1), "]".repeat(MAX_DEPTH + 1));
        let e = refused(deeper.as_bytes());
        assert_eq!((e.at, e.unsupported), (MAX_DEPTH, true), "{e}");
        assert!(e.to_string().contains("nesting deeper"), "{e}");
        // Far deeper than the stack could take, were the depth not bounded.
        let abyss = "[{\"a\":".repeat(1 << 20);
        assert_eq!(refused(abyss.as_bytes()).at, 6 * MAX_DEPTH / 2);
    }

    /// Every refusal: the input, the byte named, words of the message, and whether the text
    /// was JSON at all.
    #[test]
    fn refusals_say_what_and_where() {
        let cases: &[(&[u8], usize, &str, bool)] = &[
            (
                b"",
                0,
                "expected a value, found the end of the header",
                false,
            ),
            (b"   ", 3, "expected a value", false),
            (b"{} {}", 3, "`{` after the JSON value", false),
            (b"{\"a\":1,}", 7, "expected a string key, found `}`", false),
            (
                b"{\"a\" 1}",
                5,
                "expected `:` after an object key, found `1`",
                false,
            ),
            (
                b"{\"a\":1 \"b\":2}",
                7,
                "expected `,` or `}` after an object member",
                false,
            ),
            (b"{\"a\":1", 6, "found the end of the header", false),
            (
                b"[1 2]",
                3,
                "expected `,` or `]` after an array element",
                false,
            ),
            (b"[1,]", 3, "expected a value, found `]`", false),
            (b"[", 1, "expected a value, found the end", false),
            (b"{a:1}", 1, "expected a string key, found `a`", false),
            (b"[\"abc", 1, "a string that never ends", false),
            (
                b"[\"a\\q\"]",
                3,
                "invalid escape in a string: `\\` followed by `q`",
                false,
            ),
            (
                b"[\"a\\",
                3,
                "`\\` followed by the end of the header",
                false,
            ),
            (
                b"[\"\\u12G4\"]",
                6,
                "expected 4 hex digits after `\\u`, found `G`",
                false,
            ),
            (b"[\"\\u12", 6, "found the end of the header", false),
            (
                b"[\"\\ud800\"]",
                2,
                "first half of a surrogate pair but no `\\u`",
                false,
            ),
            (b"[\"\\ud800\\n\"]", 2, "no `\\u` escape follows", false),
            (
                b"[\"\\ud800\\u0041\"]",
                8,
                "`\\u0041` is not a second half",
                false,
            ),
            (
                b"[\"\\udc00\"]",
                2,
                "second half of a surrogate pair, alone",
                false,
            ),
            (
                b"[\"a\nb\"]",
                3,
                "control character 0x0a in a string",
                false,
            ),
            (b"[\"\x00\"]", 2, "control character 0x00", false),
            (b"[\"ab\xff\"]", 4, "invalid UTF-8 in a string", false),
            (b"[\"\xc3\"]", 2, "invalid UTF-8", false),
            (b"[\xc3\xa9]", 1, "expected a value, found byte 0xc3", false),
            (b"[01]", 1, "leading zero", false),
            (b"[-]", 2, "expected a digit after `-`, found `]`", false),
            (
                b"[1.]",
                3,
                "expected a digit after the decimal point",
                false,
            ),
            (b"[1e]", 3, "expected a digit in the exponent", false),
            (b"[1e+]", 4, "expected a digit in the exponent", false),
            (b"[tru]", 1, "expected a value, found `t`", false),
            (b"[nul", 1, "expected a value, found `n`", false),
            (
                b"[true]",
                1,
                "`true`, which a safetensors header never holds",
                true,
            ),
            (b"[false]", 1, "`false`", true),
            (b"{\"a\": null}", 6, "`null`", true),
            (b"[-1]", 1, "a negative number", true),
            (b"[-0]", 1, "a negative number", true),
            (b"[1.5]", 1, "a number with a fraction or exponent", true),
            (b"[1e3]", 1, "a number with a fraction or exponent", true),
            (b"[0E-2]", 1, "fraction or exponent", true),
            (
                b"[18446744073709551616]",
                1,
                "an integer above 18446744073709551615",
                true,
            ),
            (b"{\"a\":1,\"b\":2,\"a\":3}", 13, "duplicate key `a`", true),
            (b"{\"\\u0061\":1,\"a\":2}", 12, "duplicate key `a`", true),
        ];
        for &(text, at, words, unsupported) in cases {
            let e = refused(text);
            let shown = e.to_string();
            assert!(
                shown.contains(words)
                    && shown.ends_with(&format!(" at byte {at} of the JSON header"))
                    && e.at == at
                    && e.unsupported == unsupported,
                "{:?}: {shown} (unsupported: {})",
                String::from_utf8_lossy(text),
                e.unsupported
            );
            let serde = serde_json::from_slice::<serde_json::Value>(text);
            assert_eq!(
                serde.is_ok(),
                unsupported,
                "serde_json disagrees that {:?} is JSON",
                String::from_utf8_lossy(text)
            );
        }
    }

    /// Thousands of mutations of the shipped header: no panic, every error names a byte inside
    /// the text, and the reader agrees with serde_json on every input (what it accepts,
    /// serde_json reads to the same value; what it refuses as not JSON, serde_json refuses).
    #[test]
    fn mutated_headers_never_panic_and_agree_with_serde_json() {
        const BYTES: &[u8] =
            b"{}[]\":,\\u0123456789abcdefABCDEF-+.eE tfnrb/\t\n\x00\x1f\x7f\x80\xbf\xc3\xe2\xf0\xff";
        const TOKENS: &[&str] = &[
            "\\u",
            "\\ud83c\\udfb5",
            "\\ud800",
            "\\udc00",
            "\\u00e9",
            "\\\"",
            "\\\\",
            "null",
            "true",
            "false",
            "-1",
            "1.5",
            "1e3",
            "01",
            "0",
            "18446744073709551615",
            "18446744073709551616",
            "[[[[[[[[[[[[[[[[[[",
            "]]]]",
            "{\"a\":",
            "\"",
            "\"dtype\":",
            "\"F16\"",
            ",",
            ":",
            "é",
            "🎵",
        ];
        let real = real_header();
        let mut rng = SeededRng::new(2024, 7);
        let (mut accepted, mut unsupported, mut syntax) = (0, 0, 0);
        for case in 0..20_000 {
            let mut text = real.clone();
            for _ in 0..1 + rng.below(4) {
                let at = rng.below(text.len() + 1);
                match rng.below(7) {
                    0 if at < text.len() => text[at] ^= 1 << rng.below(8),
                    1 if at < text.len() => text[at] = BYTES[rng.below(BYTES.len())],
                    2 => {
                        let token = TOKENS[rng.below(TOKENS.len())].as_bytes();
                        text.splice(at..at, token.iter().copied());
                    }
                    3 => {
                        let end = (at + 1 + rng.below(40)).min(text.len());
                        text.drain(at..end);
                    }
                    4 => text.truncate(at),
                    5 => {
                        let end = (at + rng.below(200)).min(text.len());
                        let copy = text[at..end].to_vec();
                        let to = rng.below(text.len() + 1);
                        text.splice(to..to, copy);
                    }
                    _ => {
                        // A short run of random bytes.
                        let run: Vec<u8> = (0..1 + rng.below(6))
                            .map(|_| rng.below(256) as u8)
                            .collect();
                        text.splice(at..at, run);
                    }
                }
            }
            let ours = parse(&text);
            let serde = serde_json::from_slice::<serde_json::Value>(&text);
            let shown = || format!("case {case}: {:?}", String::from_utf8_lossy(&text));
            match ours {
                Ok(value) => {
                    accepted += 1;
                    let serde =
                        serde.unwrap_or_else(|e| panic!("{}: serde_json refuses: {e}", shown()));
                    assert_eq!(Some(value), from_serde(&serde), "{}", shown());
                }
                Err(e) => {
                    assert!(e.at <= text.len(), "{}: {e}", shown());
                    assert!(
                        e.to_string()
                            .ends_with(&format!(" at byte {} of the JSON header", e.at)),
                        "{e}"
                    );
                    if e.unsupported {
                        unsupported += 1;
                    } else {
                        syntax += 1;
                        assert!(
                            serde.is_err(),
                            "{}: serde_json reads what we call not JSON: {e}",
                            shown()
                        );
                    }
                }
            }
        }
        // The mutations reach every outcome.
        assert!(
            accepted > 300 && unsupported > 100 && syntax > 1000,
            "{accepted} {unsupported} {syntax}"
        );
    }

    /// Random documents of the kinds a header holds, written by serde_json (compact and
    /// pretty), read back exactly.
    #[test]
    fn random_documents_round_trip_through_serde_json() {
        fn document(rng: &mut SeededRng, depth: usize) -> serde_json::Value {
            match rng.below(if depth >= 5 { 2 } else { 4 }) {
                0 => {
                    let len = rng.below(8);
                    let s: String = (0..len)
                        .filter_map(|_| {
                            char::from_u32(match rng.below(4) {
                                0 => rng.below(0x20),
                                1 => 0x20 + rng.below(0x60),
                                2 => rng.below(0x1_0000),
                                _ => 0x1_0000 + rng.below(0x10_0000),
                            } as u32)
                        })
                        .collect();
                    serde_json::Value::String(s)
                }
                1 => serde_json::Value::from(match rng.below(3) {
                    0 => rng.below(10) as u64,
                    1 => rng.below(1 << 30) as u64 * rng.below(1 << 30) as u64,
                    _ => u64::MAX - rng.below(3) as u64,
                }),
                2 => serde_json::Value::Array(
                    (0..rng.below(5))
                        .map(|_| document(rng, depth + 1))
                        .collect(),
                ),
                _ => serde_json::Value::Object(
                    (0..rng.below(5))
                        .map(|i| (format!("k{i}\u{e9}\n"), document(rng, depth + 1)))
                        .collect(),
                ),
            }
        }
        let mut rng = SeededRng::new(5, 1);
        for _ in 0..2000 {
            let doc = document(&mut rng, 0);
            let want = from_serde(&doc);
            for text in [
                serde_json::to_vec(&doc).unwrap(),
                serde_json::to_vec_pretty(&doc).unwrap(),
            ] {
                assert_eq!(
                    parse(&text).ok(),
                    want,
                    "{}",
                    String::from_utf8_lossy(&text)
                );
            }
        }
    }

    /// Full JSON: what [`parse`] refuses as unsupported, [`parse_json`] reads (numbers exactly
    /// as an f64, integers exactly as a u64), and it keeps refusing what is not JSON, duplicate
    /// keys, deep nesting and numbers beyond an f64, naming the byte.
    #[test]
    fn full_json_reads_every_kind_and_still_names_the_byte() {
        let v =
            parse_json(b" [true, false, null, -0, -1, 1.5, 1e3, 0E-2, 18446744073709551616, 7] ")
                .unwrap();
        let items = v.as_array().unwrap();
        assert_eq!(
            items[..3],
            [Value::Bool(true), Value::Bool(false), Value::Null]
        );
        let numbers: Vec<Value> = [-0.0, -1.0, 1.5, 1e3, 0.0, 18446744073709551616.0]
            .into_iter()
            .map(Value::Number)
            .collect();
        assert_eq!(items[3..9], numbers[..]);
        assert!(
            items[3].as_f64().unwrap().is_sign_negative(),
            "-0 keeps its sign"
        );
        assert_eq!(items[9], Value::Integer(7));
        // Whatever the strict reader accepts, the full one reads the same.
        let header = real_header();
        assert_eq!(parse_json(&header).unwrap(), parse(&header).unwrap());
        let cases: &[(&[u8], usize, &str, bool)] = &[
            (
                b"[1e999]",
                1,
                "the number `1e999` is beyond a 64-bit float's range",
                true,
            ),
            (b"[-1e309]", 1, "`-1e309` is beyond", true),
            (b"{\"a\":1,\"a\":2.5}", 7, "duplicate key `a`", true),
            (b"[tru]", 1, "expected a value, found `t`", false),
            (
                b"[1,",
                3,
                "expected a value, found the end of the text",
                false,
            ),
            (b"[-]", 2, "expected a digit after `-`", false),
            (
                b"[1.]",
                3,
                "expected a digit after the decimal point",
                false,
            ),
            (b"[01]", 1, "leading zero", false),
            (b"[1] x", 4, "`x` after the JSON value", false),
        ];
        for &(text, at, words, unsupported) in cases {
            let e = parse_json(text).expect_err(&String::from_utf8_lossy(text));
            let shown = e.to_string();
            assert!(
                shown.contains(words)
                    && shown.ends_with(&format!(" at byte {at} of the JSON"))
                    && (e.at, e.unsupported, e.header) == (at, unsupported, false),
                "{:?}: {shown} ({e:?})",
                String::from_utf8_lossy(text)
            );
        }
        let deeper = "[".repeat(MAX_DEPTH + 1);
        let e = parse_json(deeper.as_bytes()).unwrap_err();
        assert_eq!((e.at, e.unsupported), (MAX_DEPTH, true), "{e}");
    }

    /// Numbers as JavaScript and Rust write them (`1e+21`, `2.5E-3`, shortest round-trip
    /// decimals of random bit patterns) are read back to the same f64, bit for bit.
    #[test]
    fn full_json_numbers_round_trip_exactly() {
        for (text, want) in [
            ("1e+21", 1e21_f64),
            ("2.5E-3", 2.5e-3),
            ("-0.5", -0.5),
            ("4.41e4", 44100.0),
        ] {
            let v = parse_json(text.as_bytes()).unwrap();
            assert_eq!(v.as_f64().map(f64::to_bits), Some(want.to_bits()), "{text}");
        }
        let mut rng = SeededRng::new(11, 3);
        let mut checked = 0;
        while checked < 20_000 {
            let bits = (rng.below(1 << 32) as u64) << 32 | rng.below(1 << 32) as u64;
            let x = f64::from_bits(bits);
            if !x.is_finite() {
                continue;
            }
            for text in [format!("{x}"), format!("{x:e}"), format!("{x:E}")] {
                let v = parse_json(text.as_bytes()).unwrap_or_else(|e| panic!("{text}: {e}"));
                assert_eq!(
                    v.as_f64().map(f64::to_bits),
                    Some(bits),
                    "{text} read as {v:?}"
                );
            }
            checked += 1;
        }
    }
}
