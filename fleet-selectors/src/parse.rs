//! The text form: lexer and recursive-descent parser.

use fleet_core::Duration;

use crate::ast::{
    CmpOp, DocRoot, KEYWORDS, Literal, LiteralKind, Predicate, Selector, Span, Subject, Test,
    is_bare_char,
};
use crate::error::{Diagnostic, SelectorError};

/// How deeply parentheses and `not` may nest before the parser gives up (so hostile input
/// cannot exhaust the stack).
pub const MAX_DEPTH: usize = 64;

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    LParen,
    RParen,
    LBracket,
    RBracket,
    Comma,
    Op(CmpOp),
    Tilde,
    Str(String),
    Word(String),
}

#[derive(Debug, Clone)]
struct Token {
    tok: Tok,
    span: Span,
}

fn lex(src: &str) -> Result<Vec<Token>, Diagnostic> {
    let mut out = Vec::new();
    let mut it = src.char_indices().peekable();
    while let Some(&(i, c)) = it.peek() {
        let single = |tok| Token {
            tok,
            span: Span::new(i, i + c.len_utf8()),
        };
        match c {
            c if c.is_whitespace() => {
                it.next();
            }
            '(' => {
                it.next();
                out.push(single(Tok::LParen));
            }
            ')' => {
                it.next();
                out.push(single(Tok::RParen));
            }
            '[' => {
                it.next();
                out.push(single(Tok::LBracket));
            }
            ']' => {
                it.next();
                out.push(single(Tok::RBracket));
            }
            ',' => {
                it.next();
                out.push(single(Tok::Comma));
            }
            '~' => {
                it.next();
                out.push(single(Tok::Tilde));
            }
            '=' | '!' | '<' | '>' => {
                it.next();
                let next_eq = it.peek().is_some_and(|&(_, d)| d == '=');
                let (op, len) = match (c, next_eq) {
                    ('=', true) => (CmpOp::Eq, 2),
                    ('=', false) => (CmpOp::Eq, 1),
                    ('!', true) => (CmpOp::Ne, 2),
                    ('<', true) => (CmpOp::Le, 2),
                    ('<', false) => (CmpOp::Lt, 1),
                    ('>', true) => (CmpOp::Ge, 2),
                    ('>', false) => (CmpOp::Gt, 1),
                    _ => {
                        return Err(Diagnostic::new("unexpected `!`", Span::new(i, i + 1))
                            .help("write `!=` for inequality and `not` for negation"));
                    }
                };
                if len == 2 {
                    it.next();
                }
                out.push(Token {
                    tok: Tok::Op(op),
                    span: Span::new(i, i + len),
                });
            }
            '"' | '\'' => {
                let quote = c;
                it.next();
                let mut s = String::new();
                let mut end = None;
                while let Some((j, d)) = it.next() {
                    match d {
                        d if d == quote => {
                            end = Some(j + 1);
                            break;
                        }
                        '\\' => {
                            let Some((k, e)) = it.next() else { break };
                            match e {
                                '"' | '\'' | '\\' => s.push(e),
                                'n' => s.push('\n'),
                                't' => s.push('\t'),
                                'r' => s.push('\r'),
                                'u' => {
                                    let mut hex = String::new();
                                    let mut closed = false;
                                    if it.next_if(|&(_, x)| x == '{').is_none() {
                                        return Err(Diagnostic::new(
                                            "expected `{` after `\\u`",
                                            Span::new(j, k + 1),
                                        ));
                                    }
                                    for (_, x) in it.by_ref() {
                                        if x == '}' {
                                            closed = true;
                                            break;
                                        }
                                        hex.push(x);
                                        if hex.len() > 6 {
                                            break;
                                        }
                                    }
                                    let ch = u32::from_str_radix(&hex, 16)
                                        .ok()
                                        .and_then(char::from_u32)
                                        .filter(|_| closed);
                                    match ch {
                                        Some(ch) => s.push(ch),
                                        None => {
                                            return Err(Diagnostic::new(
                                                format!("invalid unicode escape `\\u{{{hex}`"),
                                                Span::new(j, k + 1),
                                            ));
                                        }
                                    }
                                }
                                other => {
                                    return Err(Diagnostic::new(
                                        format!("unknown escape `\\{other}`"),
                                        Span::new(j, k + other.len_utf8()),
                                    )
                                    .help(
                                        "escapes are \\\", \\', \\\\, \\n, \\t, \\r and \\u{..}",
                                    ));
                                }
                            }
                        }
                        d => s.push(d),
                    }
                }
                let Some(end) = end else {
                    return Err(
                        Diagnostic::new("unterminated string", Span::new(i, src.len()))
                            .help(format!("add the closing `{quote}`")),
                    );
                };
                out.push(Token {
                    tok: Tok::Str(s),
                    span: Span::new(i, end),
                });
            }
            c if is_bare_char(c) => {
                let mut end = i;
                while let Some(&(j, d)) = it.peek() {
                    if !is_bare_char(d) {
                        break;
                    }
                    end = j + d.len_utf8();
                    it.next();
                }
                out.push(Token {
                    tok: Tok::Word(src.get(i..end).unwrap_or_default().to_owned()),
                    span: Span::new(i, end),
                });
            }
            other => {
                return Err(Diagnostic::new(
                    format!("unexpected character `{other}`"),
                    Span::new(i, i + other.len_utf8()),
                ));
            }
        }
    }
    Ok(out)
}

struct Parser<'a> {
    src: &'a str,
    toks: Vec<Token>,
    pos: usize,
    depth: usize,
}

type PResult<T> = Result<T, Diagnostic>;

impl Parser<'_> {
    fn peek(&self) -> Option<&Token> {
        self.toks.get(self.pos)
    }

    fn next(&mut self) -> Option<Token> {
        let t = self.toks.get(self.pos).cloned();
        self.pos += 1;
        t
    }

    fn end_span(&self) -> Span {
        Span::new(self.src.len(), self.src.len())
    }

    fn peek_word(&self, w: &str) -> bool {
        matches!(self.peek(), Some(Token { tok: Tok::Word(x), .. }) if x == w)
    }

    fn unexpected(&self, what: &str) -> Diagnostic {
        match self.peek() {
            Some(t) => Diagnostic::new(
                format!("expected {what}, found {}", describe(&t.tok)),
                t.span,
            ),
            None => Diagnostic::new(format!("expected {what}, found the end"), self.end_span()),
        }
    }

    fn or(&mut self) -> PResult<Selector> {
        let mut parts = vec![self.and()?];
        while self.peek_word("or") {
            self.next();
            parts.push(self.and()?);
        }
        Ok(if parts.len() == 1 {
            parts.pop().unwrap_or(Selector::All)
        } else {
            Selector::Or(parts)
        })
    }

    fn and(&mut self) -> PResult<Selector> {
        let mut parts = vec![self.unary()?];
        while self.peek_word("and") {
            self.next();
            parts.push(self.unary()?);
        }
        Ok(if parts.len() == 1 {
            parts.pop().unwrap_or(Selector::All)
        } else {
            Selector::And(parts)
        })
    }

    fn deeper(&mut self, at: Span) -> PResult<()> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(Diagnostic::new(
                format!("selector nests more than {MAX_DEPTH} levels deep"),
                at,
            ));
        }
        Ok(())
    }

    fn unary(&mut self) -> PResult<Selector> {
        match self.peek().cloned() {
            Some(Token {
                tok: Tok::Word(w),
                span,
            }) if w == "not" => {
                self.next();
                self.deeper(span)?;
                let inner = self.unary()?;
                self.depth -= 1;
                Ok(Selector::Not(Box::new(inner)))
            }
            Some(Token {
                tok: Tok::LParen,
                span,
            }) => {
                self.next();
                self.deeper(span)?;
                let inner = self.or()?;
                self.depth -= 1;
                match self.next() {
                    Some(Token {
                        tok: Tok::RParen, ..
                    }) => Ok(inner),
                    _ => {
                        self.pos -= 1;
                        Err(self
                            .unexpected("`)`")
                            .help(format!("the `(` at byte {} is not closed", span.start)))
                    }
                }
            }
            _ => self.predicate().map(Selector::Pred),
        }
    }

    fn bracketed_string(&mut self) -> PResult<(String, Span)> {
        match self.next() {
            Some(Token {
                tok: Tok::LBracket, ..
            }) => {}
            _ => {
                self.pos -= 1;
                return Err(self.unexpected("`[`"));
            }
        }
        let (s, span) = match self.next() {
            Some(Token {
                tok: Tok::Str(s),
                span,
            }) => (s, span),
            _ => {
                self.pos -= 1;
                return Err(self.unexpected("a quoted name"));
            }
        };
        match self.next() {
            Some(Token {
                tok: Tok::RBracket,
                span: close,
            }) => Ok((s, span.to(close))),
            _ => {
                self.pos -= 1;
                Err(self.unexpected("`]`"))
            }
        }
    }

    fn subject(&mut self) -> PResult<Subject> {
        let Some(Token {
            tok: Tok::Word(w),
            span,
        }) = self.next()
        else {
            self.pos -= 1;
            return Err(self.unexpected("a property, `label.<key>`, or `(`"));
        };
        let root = |name: &str| match name {
            "observed" => Some(DocRoot::Observed),
            "desired" => Some(DocRoot::Desired),
            _ => None,
        };
        Ok(match w.as_str() {
            "label" => Subject::LabelKeys(span),
            "labels" => {
                let (key, s) = self.bracketed_string()?;
                Subject::Label(key, span.to(s))
            }
            "properties" => {
                let (name, s) = self.bracketed_string()?;
                Subject::Property(name, span.to(s))
            }
            "capabilities" => Subject::Capabilities(span),
            "id" => Subject::Id(span),
            "kind" => Subject::Kind(span),
            "substrate" => Subject::Substrate(span),
            w if w.starts_with("label.") => {
                let key = w.get(6..).unwrap_or_default();
                if key.is_empty() {
                    return Err(Diagnostic::new("missing label key after `label.`", span));
                }
                Subject::Label(key.to_owned(), span)
            }
            w if w.split('.').next().and_then(root).is_some() => {
                let mut segs = w.split('.');
                let r = segs.next().and_then(root).unwrap_or(DocRoot::Observed);
                let mut path: Vec<String> = segs.map(str::to_owned).collect();
                let mut full = span;
                while matches!(
                    self.peek(),
                    Some(Token {
                        tok: Tok::LBracket,
                        ..
                    })
                ) {
                    let (seg, s) = self.bracketed_string()?;
                    path.push(seg);
                    full = full.to(s);
                }
                if path.is_empty() || path.iter().any(String::is_empty) {
                    return Err(
                        Diagnostic::new(format!("invalid document path `{w}`"), span)
                            .help("write `observed.spec.replicas` or `observed[\"spec\"]`"),
                    );
                }
                Subject::Path(r, path, full)
            }
            w if KEYWORDS.contains(&w) => {
                return Err(Diagnostic::new(
                    format!("expected a property, found the keyword `{w}`"),
                    span,
                )
                .help(format!(
                    "write `properties[\"{w}\"]` for a property named `{w}`"
                )));
            }
            w if w
                .chars()
                .next()
                .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
                && w.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') =>
            {
                Subject::Property(w.to_owned(), span)
            }
            _ => {
                return Err(Diagnostic::new(
                    format!("`{w}` is not a property name"),
                    span,
                )
                .help("property names are letters, digits and `_`; write `properties[\"..\"]` for others"));
            }
        })
    }

    fn predicate(&mut self) -> PResult<Predicate> {
        let subject = self.subject()?;
        let start = subject.span();
        let (test, end) = match self.next() {
            Some(Token {
                tok: Tok::Op(op), ..
            }) => {
                let lit = self.literal()?;
                let end = lit.span;
                (Test::Compare(op, lit), end)
            }
            Some(Token {
                tok: Tok::Tilde, ..
            }) => {
                let lit = self.literal()?;
                let end = lit.span;
                (Test::Glob(lit), end)
            }
            Some(Token {
                tok: Tok::Word(w),
                span,
            }) => match w.as_str() {
                "exists" => (Test::Exists, span),
                "contains" => {
                    let lit = self.literal()?;
                    let end = lit.span;
                    (Test::Contains(lit), end)
                }
                "in" => {
                    let (values, end) = self.list()?;
                    (
                        Test::In {
                            negated: false,
                            values,
                        },
                        end,
                    )
                }
                "not" if self.peek_word("in") => {
                    self.next();
                    let (values, end) = self.list()?;
                    (
                        Test::In {
                            negated: true,
                            values,
                        },
                        end,
                    )
                }
                _ => {
                    self.pos -= 1;
                    return Err(self.unexpected(
                        "an operator (`=`, `!=`, `<`, `<=`, `>`, `>=`, `~`, `in`, `not in`, `exists`, `contains`)",
                    ));
                }
            },
            _ => {
                self.pos -= 1;
                return Err(self.unexpected(
                    "an operator (`=`, `!=`, `<`, `<=`, `>`, `>=`, `~`, `in`, `not in`, `exists`, `contains`)",
                ));
            }
        };
        Ok(Predicate {
            subject,
            test,
            span: start.to(end),
        })
    }

    fn list(&mut self) -> PResult<(Vec<Literal>, Span)> {
        match self.next() {
            Some(Token {
                tok: Tok::LParen, ..
            }) => {}
            _ => {
                self.pos -= 1;
                return Err(self.unexpected("`(` to start the list"));
            }
        }
        let mut values = Vec::new();
        loop {
            if let Some(Token {
                tok: Tok::RParen,
                span,
            }) = self.peek().cloned()
            {
                self.next();
                if values.is_empty() {
                    return Err(
                        Diagnostic::new("empty list", span).help("a list needs at least one value")
                    );
                }
                return Ok((values, span));
            }
            values.push(self.literal()?);
            match self.next() {
                Some(Token {
                    tok: Tok::Comma, ..
                }) => {}
                Some(Token {
                    tok: Tok::RParen,
                    span,
                }) => return Ok((values, span)),
                _ => {
                    self.pos -= 1;
                    return Err(self.unexpected("`,` or `)`"));
                }
            }
        }
    }

    fn literal(&mut self) -> PResult<Literal> {
        match self.next() {
            Some(Token {
                tok: Tok::Str(s),
                span,
            }) => Ok(Literal {
                kind: LiteralKind::Quoted(s),
                span,
            }),
            Some(Token {
                tok: Tok::Word(w),
                span,
            }) if w.starts_with("now") => self.now(&w, span),
            Some(Token {
                tok: Tok::Word(w),
                span,
            }) if KEYWORDS.contains(&w.as_str()) => Err(Diagnostic::new(
                format!("expected a value, found the keyword `{w}`"),
                span,
            )
            .help(format!("quote it: `\"{w}\"`"))),
            Some(Token {
                tok: Tok::Word(w),
                span,
            }) => Ok(Literal {
                kind: LiteralKind::Bare(w),
                span,
            }),
            _ => {
                self.pos -= 1;
                Err(self.unexpected("a value"))
            }
        }
    }

    /// `now`, `now - 30d`, `now-30d`, `now + 1h`.
    fn now(&mut self, word: &str, span: Span) -> PResult<Literal> {
        let rest = word.get(3..).unwrap_or_default();
        let (sign, dur, end) = if rest.is_empty() {
            match self.peek().cloned() {
                Some(Token {
                    tok: Tok::Word(w), ..
                }) if w == "-" || w == "+" => {
                    self.next();
                    match self.next() {
                        Some(Token {
                            tok: Tok::Word(d),
                            span: ds,
                        }) => (w, d, ds),
                        _ => {
                            self.pos -= 1;
                            return Err(self
                                .unexpected("a duration such as `30d`")
                                .help(format!("after `now {w}` comes a duration: `now {w} 30d`")));
                        }
                    }
                }
                Some(Token {
                    tok: Tok::Word(w),
                    span: s,
                }) if w.starts_with('-') || w.starts_with('+') => {
                    self.next();
                    let (sign, d) = w.split_at(1);
                    (sign.to_owned(), d.to_owned(), s)
                }
                _ => ("+".to_owned(), "0s".to_owned(), span),
            }
        } else if rest.starts_with('-') || rest.starts_with('+') {
            let (sign, d) = rest.split_at(1);
            (sign.to_owned(), d.to_owned(), span)
        } else {
            return Ok(Literal {
                kind: LiteralKind::Bare(word.to_owned()),
                span,
            });
        };
        let full = span.to(end);
        let d: Duration = dur.parse().map_err(|e: fleet_core::DurationError| {
            Diagnostic::new(format!("invalid duration `{dur}`: {}", e.reason), end)
                .help("durations look like `30d`, `12h`, `1h30m`")
        })?;
        if dur.starts_with('-') {
            return Err(Diagnostic::new(format!("invalid duration `{dur}`"), end));
        }
        let d = if sign == "-" {
            Duration::from_delta(-d.as_delta())
        } else {
            d
        };
        Ok(Literal {
            kind: LiteralKind::Now(d),
            span: full,
        })
    }
}

fn describe(t: &Tok) -> String {
    match t {
        Tok::LParen => "`(`".into(),
        Tok::RParen => "`)`".into(),
        Tok::LBracket => "`[`".into(),
        Tok::RBracket => "`]`".into(),
        Tok::Comma => "`,`".into(),
        Tok::Op(op) => format!("`{}`", op.as_str()),
        Tok::Tilde => "`~`".into(),
        Tok::Str(s) => format!("the string `\"{s}\"`"),
        Tok::Word(w) => format!("`{w}`"),
    }
}

/// Parses the text form. The empty (or all-whitespace) text is [`Selector::All`].
///
/// # Errors
///
/// [`SelectorError`] with the first syntax error, its span and, where one helps, a hint.
pub fn parse(text: &str) -> Result<Selector, SelectorError> {
    let toks = lex(text).map_err(|d| SelectorError::new(text, vec![d]))?;
    if toks.is_empty() {
        return Ok(Selector::All);
    }
    let mut p = Parser {
        src: text,
        toks,
        pos: 0,
        depth: 0,
    };
    let sel = p.or().map_err(|d| SelectorError::new(text, vec![d]))?;
    if p.peek().is_some() {
        let d = p.unexpected("`and`, `or` or the end");
        return Err(SelectorError::new(text, vec![d]));
    }
    Ok(sel)
}
