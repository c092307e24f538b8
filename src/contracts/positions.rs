//! Where each value of a YAML (or JSON) document is written: line and column by JSON pointer,
//! read from the YAML parser's events, so that a problem found in the parsed document (by the
//! standard's JSON schema, say) can point at the file.

use std::collections::HashMap;

use saphyr_parser::{Event, Parser, Span};

/// A position in a file: 1-based line and column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Position {
    /// 1-based line.
    pub line: usize,
    /// 1-based column.
    pub column: usize,
}

/// The position of every value of a document, by JSON pointer (`/schema/0/properties/2/name`).
/// A mapping's value is found at its key, which is where a reader looks for it.
#[derive(Debug, Default)]
pub struct Positions {
    at: HashMap<String, Position>,
}

/// One open collection while the events are walked.
enum Open {
    /// A mapping: the pointer of its next value, once its key has been read.
    Mapping {
        pointer: String,
        key: Option<String>,
    },
    /// A sequence and the index of its next item.
    Sequence { pointer: String, next: usize },
}

impl Positions {
    /// Reads the positions of `text`'s first document. A text the YAML parser refuses gives
    /// what was read up to the fault (the parse error itself is reported by the caller's own
    /// YAML reader).
    pub fn of(text: &str) -> Self {
        let mut at = HashMap::new();
        let mut stack: Vec<Open> = Vec::new();
        for item in Parser::new_from_str(text) {
            let Ok((event, span)) = item else { break };
            if stack.len() > super::source::MAX_NESTING {
                // a file nested this deep is refused: what is above is enough to point into it
                break;
            }
            match event {
                Event::DocumentEnd => break,
                Event::Scalar(value, ..) => {
                    if let Some(Open::Mapping { pointer, key }) = stack.last_mut()
                        && key.is_none()
                    {
                        let child = format!("{pointer}/{}", escape(&value));
                        at.insert(child.clone(), position(span));
                        *key = Some(child);
                        continue;
                    }
                    Self::place(&mut stack, &mut at, span);
                }
                Event::Alias(_) => {
                    Self::place(&mut stack, &mut at, span);
                }
                Event::MappingStart(..) => {
                    let pointer = Self::place(&mut stack, &mut at, span);
                    stack.push(Open::Mapping { pointer, key: None });
                }
                Event::SequenceStart(..) => {
                    let pointer = Self::place(&mut stack, &mut at, span);
                    stack.push(Open::Sequence { pointer, next: 0 });
                }
                Event::MappingEnd | Event::SequenceEnd => {
                    stack.pop();
                }
                _ => {}
            }
        }
        Self { at }
    }

    /// Records a value that starts at `span` as the next child of the innermost collection and
    /// returns its pointer.
    fn place(stack: &mut [Open], at: &mut HashMap<String, Position>, span: Span) -> String {
        match stack.last_mut() {
            None => {
                at.entry(String::new()).or_insert(position(span));
                String::new()
            }
            Some(Open::Mapping { pointer, key }) => match key.take() {
                Some(child) => child,
                // a key that is itself a collection: not a JSON document's key
                None => format!("{pointer}/?"),
            },
            Some(Open::Sequence { pointer, next }) => {
                let child = format!("{pointer}/{next}");
                *next += 1;
                at.insert(child.clone(), position(span));
                child
            }
        }
    }

    /// Where the value at `pointer` is written, or else its nearest written ancestor (a missing
    /// property is reported at the object that misses it); line 1 when nothing is known.
    pub fn at(&self, pointer: &str) -> Position {
        let mut p = pointer;
        loop {
            if let Some(found) = self.at.get(p) {
                return *found;
            }
            match p.rfind('/') {
                Some(i) => p = &p[..i],
                None => {
                    return Position { line: 1, column: 1 };
                }
            }
        }
    }
}

fn position(span: Span) -> Position {
    Position {
        line: span.start.line(),
        column: span.start.col() + 1,
    }
}

/// A key as a JSON pointer segment (RFC 6901: `~` as `~0`, `/` as `~1`).
fn escape(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

/// A JSON pointer as the field path lakemeta's messages use: `/schema/0/properties/2/name` is
/// `schema[0].properties[2].name`; the root is `(document)`.
pub fn field_path(pointer: &str) -> String {
    let mut out = String::new();
    for seg in pointer.split('/').skip(1) {
        let seg = seg.replace("~1", "/").replace("~0", "~");
        if !seg.is_empty() && seg.bytes().all(|b| b.is_ascii_digit()) {
            out.push('[');
            out.push_str(&seg);
            out.push(']');
        } else {
            if !out.is_empty() {
                out.push('.');
            }
            out.push_str(&seg);
        }
    }
    if out.is_empty() {
        "(document)".to_string()
    } else {
        out
    }
}

/// A field path (`schema[0].properties[2].name`) as a JSON pointer
/// (`/schema/0/properties/2/name`).
pub fn pointer_of(field: &str) -> String {
    if field == "(document)" {
        return String::new();
    }
    let mut out = String::new();
    for part in field.split('.') {
        let mut rest = part;
        let key_end = rest.find('[').unwrap_or(rest.len());
        let key = &rest[..key_end];
        if !key.is_empty() {
            out.push('/');
            out.push_str(&escape(key));
        }
        rest = &rest[key_end..];
        while let Some(close) = rest.find(']') {
            out.push('/');
            // a key of the user's own may hold brackets: never slice past them
            out.push_str(rest.get(1..close).unwrap_or_default().trim());
            rest = &rest[close + 1..];
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_found_at_their_keys_and_items() {
        let text = "apiVersion: v3.1.0\nschema:\n  - name: orders\n    properties:\n      - name: id\n        logicalType: integer\n      - {name: total, logicalType: number}\n";
        let p = Positions::of(text);
        assert_eq!(p.at("/apiVersion"), Position { line: 1, column: 1 });
        assert_eq!(p.at("/schema/0"), Position { line: 3, column: 5 });
        assert_eq!(p.at("/schema/0/properties/0/logicalType").line, 6);
        assert_eq!(p.at("/schema/0/properties/1").line, 7);
        assert_eq!(p.at("/schema/0/properties/1/logicalType").column, 23);
        // a missing property: where its object is
        assert_eq!(p.at("/schema/0/properties/0/required").line, 5);
    }

    #[test]
    fn pointers_read_as_field_paths() {
        assert_eq!(
            field_path("/schema/0/properties/2/name"),
            "schema[0].properties[2].name"
        );
        assert_eq!(field_path(""), "(document)");
        assert_eq!(field_path("/a~1b"), "a/b");
        assert_eq!(
            pointer_of("schema[0].properties[2].name"),
            "/schema/0/properties/2/name"
        );
        assert_eq!(pointer_of("(document)"), "");
        // a user's key with brackets does not break it
        assert_eq!(pointer_of("a[0]]"), "/a/0/");
    }
}
