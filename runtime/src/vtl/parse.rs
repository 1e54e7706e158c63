//! The template parser: text with `$references` and `#directives`; the expression grammar
//! inside directives and method arguments is in `parse/expr.rs`.

use super::ast::{Expr, Node};

mod expr;

/// A template that does not parse: where and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("template line {line}, column {column}: {message}")]
pub struct ParseError {
    /// 1-based line in the template.
    pub line: usize,
    /// 1-based column.
    pub column: usize,
    /// What is wrong.
    pub message: String,
}

pub(super) struct Parser<'a> {
    src: &'a str,
    pos: usize,
}

/// What ended a block of nodes.
#[derive(Debug, PartialEq)]
enum Close {
    Eof,
    EndDirective,
    Else,
    ElseIf(Expr),
}

type Result<T> = std::result::Result<T, ParseError>;

impl<'a> Parser<'a> {
    pub(super) fn new(src: &'a str) -> Self {
        Parser { src, pos: 0 }
    }

    pub(super) fn template(&mut self) -> Result<Vec<Node>> {
        let (nodes, end) = self.block()?;
        match end {
            Close::Eof => Ok(nodes),
            _ => {
                Err(self.error("`#end`, `#else` or `#elseif` without an open `#if` or `#foreach`"))
            }
        }
    }

    fn error(&self, message: impl Into<String>) -> ParseError {
        let before = &self.src[..self.pos.min(self.src.len())];
        let line = before.matches('\n').count() + 1;
        let column = before.len() - before.rfind('\n').map_or(0, |i| i + 1) + 1;
        ParseError {
            line,
            column,
            message: message.into(),
        }
    }

    fn rest(&self) -> &'a str {
        &self.src[self.pos..]
    }

    fn peek(&self) -> Option<u8> {
        self.src.as_bytes().get(self.pos).copied()
    }

    fn eat(&mut self, s: &str) -> bool {
        if self.rest().starts_with(s) {
            self.pos += s.len();
            true
        } else {
            false
        }
    }

    fn skip_ws(&mut self) {
        while self.peek().is_some_and(|c| c.is_ascii_whitespace()) {
            self.pos += 1;
        }
    }

    fn expect(&mut self, s: &str) -> Result<()> {
        self.skip_ws();
        if self.eat(s) {
            Ok(())
        } else {
            Err(self.error(format!("expected `{s}`")))
        }
    }

    fn ident(&mut self) -> Option<&'a str> {
        let start = self.pos;
        let bytes = self.src.as_bytes();
        if !bytes.get(start).is_some_and(|c| c.is_ascii_alphabetic()) {
            return None;
        }
        let mut end = start;
        while bytes
            .get(end)
            .is_some_and(|c| c.is_ascii_alphanumeric() || *c == b'_' || *c == b'-')
        {
            end += 1;
        }
        // A trailing `-` is text, as in `$a-`.
        while end > start + 1 && bytes[end - 1] == b'-' {
            end -= 1;
        }
        self.pos = end;
        Some(&self.src[start..end])
    }

    /// Directives alone on their line take the line with them, so templates stay readable.
    fn gobble_line(&mut self, text: &mut String, directive_start: usize) {
        let line_start = self.src[..directive_start].rfind('\n').map_or(0, |i| i + 1);
        if !self.src[line_start..directive_start]
            .bytes()
            .all(|c| c == b' ' || c == b'\t')
        {
            return;
        }
        let rest = self.rest();
        let line_end = rest.find('\n');
        let tail = &rest[..line_end.unwrap_or(rest.len())];
        if tail.bytes().all(|c| c == b' ' || c == b'\t' || c == b'\r') {
            let keep = text.trim_end_matches([' ', '\t']).len();
            text.truncate(keep);
            self.pos += line_end.map_or(rest.len(), |i| i + 1);
        }
    }

    fn block(&mut self) -> Result<(Vec<Node>, Close)> {
        let mut nodes = Vec::new();
        let mut text = String::new();
        loop {
            let Some(c) = self.peek() else {
                flush(&mut text, &mut nodes);
                return Ok((nodes, Close::Eof));
            };
            let start = self.pos;
            match c {
                b'$' => match self.reference()? {
                    Some(r) => {
                        flush(&mut text, &mut nodes);
                        nodes.push(Node::Ref(r));
                    }
                    None => {
                        self.pos = start + 1;
                        text.push('$');
                    }
                },
                b'#' if self.eat("##") => {
                    let rest = self.rest();
                    self.pos += rest.find('\n').unwrap_or(rest.len());
                }
                b'#' if self.eat("#*") => match self.rest().find("*#") {
                    Some(i) => self.pos += i + 2,
                    None => return Err(self.error("`#*` comment is not closed")),
                },
                b'#' => {
                    self.pos += 1;
                    let braced = self.eat("{");
                    let name = self.ident().unwrap_or("");
                    if braced && !self.eat("}") {
                        return Err(self.error("expected `}` after the directive name"));
                    }
                    match name {
                        "set" => {
                            self.expect("(")?;
                            self.skip_ws();
                            if !self.eat("$") {
                                return Err(self.error("`#set` needs `$name = value`"));
                            }
                            self.eat("!");
                            let var = self
                                .ident()
                                .ok_or_else(|| self.error("`#set` needs a variable name"))?
                                .to_owned();
                            self.expect("=")?;
                            let value = self.expr()?;
                            self.expect(")")?;
                            self.gobble_line(&mut text, start);
                            flush(&mut text, &mut nodes);
                            nodes.push(Node::Set(var, value));
                        }
                        "if" => {
                            let cond = self.paren_expr()?;
                            self.gobble_line(&mut text, start);
                            flush(&mut text, &mut nodes);
                            nodes.push(self.if_chain(cond)?);
                        }
                        "foreach" => {
                            self.expect("(")?;
                            self.skip_ws();
                            if !self.eat("$") {
                                return Err(self.error("`#foreach` needs `$item in list`"));
                            }
                            let var = self
                                .ident()
                                .ok_or_else(|| self.error("`#foreach` needs a variable name"))?
                                .to_owned();
                            self.expect("in")?;
                            let list = self.expr()?;
                            self.expect(")")?;
                            self.gobble_line(&mut text, start);
                            flush(&mut text, &mut nodes);
                            let (body, end) = self.block()?;
                            if end != Close::EndDirective {
                                return Err(self.error("`#foreach` is not closed by `#end`"));
                            }
                            nodes.push(Node::Foreach(var, list, body));
                        }
                        "elseif" => {
                            let cond = self.paren_expr()?;
                            self.gobble_line(&mut text, start);
                            flush(&mut text, &mut nodes);
                            return Ok((nodes, Close::ElseIf(cond)));
                        }
                        "else" | "end" => {
                            self.gobble_line(&mut text, start);
                            flush(&mut text, &mut nodes);
                            let end = if name == "else" {
                                Close::Else
                            } else {
                                Close::EndDirective
                            };
                            return Ok((nodes, end));
                        }
                        "" => {
                            self.pos = start + 1;
                            text.push('#');
                        }
                        other => {
                            self.pos = start;
                            return Err(self.error(format!("unknown directive `#{other}`")));
                        }
                    }
                }
                _ => {
                    let rest = self.rest();
                    let n = rest.find(['$', '#']).unwrap_or(rest.len()).max(1);
                    let n = (1..=n)
                        .rev()
                        .find(|i| rest.is_char_boundary(*i))
                        .unwrap_or(n);
                    text.push_str(&rest[..n]);
                    self.pos += n;
                }
            }
        }
    }

    fn if_chain(&mut self, first: Expr) -> Result<Node> {
        let mut branches = Vec::new();
        let mut cond = first;
        loop {
            let (body, end) = self.block()?;
            branches.push((cond, body));
            match end {
                Close::EndDirective => return Ok(Node::If(branches, Vec::new())),
                Close::ElseIf(next) => cond = next,
                Close::Else => {
                    let (otherwise, end) = self.block()?;
                    if end != Close::EndDirective {
                        return Err(self.error("`#else` is not closed by `#end`"));
                    }
                    return Ok(Node::If(branches, otherwise));
                }
                Close::Eof => return Err(self.error("`#if` is not closed by `#end`")),
            }
        }
    }
}

fn flush(text: &mut String, nodes: &mut Vec<Node>) {
    if !text.is_empty() {
        nodes.push(Node::Text(std::mem::take(text)));
    }
}
