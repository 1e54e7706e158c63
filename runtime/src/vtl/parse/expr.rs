//! The expression grammar inside directives and method arguments, and `$references`:
//! `||`/`or` < `&&`/`and` < `!`/`not` < comparisons < `+ -` < `* / %` < values.

use serde_json::Value;

use super::super::ast::{Access, BinOp, Expr, Reference};
use super::{Parser, Result};

impl Parser<'_> {
    pub(super) fn paren_expr(&mut self) -> Result<Expr> {
        self.expect("(")?;
        let e = self.expr()?;
        self.expect(")")?;
        Ok(e)
    }

    /// `$name...`; `None` (position unchanged) when `$` does not start a reference.
    pub(super) fn reference(&mut self) -> Result<Option<Reference>> {
        let start = self.pos;
        self.pos += 1;
        let quiet = self.eat("!");
        let formal = self.eat("{");
        let Some(name) = self.ident() else {
            self.pos = start;
            return Ok(None);
        };
        let name = name.to_owned();
        let mut chain = Vec::new();
        loop {
            let save = self.pos;
            if self.eat(".") {
                match self.ident() {
                    Some(member) => {
                        let member = member.to_owned();
                        if self.eat("(") {
                            let args = self.args(")")?;
                            chain.push(Access::Call(member, args));
                        } else {
                            chain.push(Access::Prop(member));
                        }
                    }
                    None => {
                        self.pos = save;
                        break;
                    }
                }
            } else if self.eat("[") {
                let index = self.expr()?;
                self.expect("]")?;
                chain.push(Access::Index(index));
            } else {
                break;
            }
        }
        if formal && !self.eat("}") {
            return Err(self.error("`${` reference is not closed by `}`"));
        }
        Ok(Some(Reference {
            name,
            chain,
            quiet,
            source: self.src[start..self.pos].to_owned(),
        }))
    }

    fn args(&mut self, close: &str) -> Result<Vec<Expr>> {
        let mut args = Vec::new();
        self.skip_ws();
        if self.eat(close) {
            return Ok(args);
        }
        loop {
            args.push(self.expr()?);
            self.skip_ws();
            if self.eat(close) {
                return Ok(args);
            }
            self.expect(",")?;
        }
    }

    pub(super) fn expr(&mut self) -> Result<Expr> {
        let mut left = self.and()?;
        loop {
            self.skip_ws();
            if self.eat("||") || self.keyword("or") {
                left = Expr::Binary(BinOp::Or, Box::new(left), Box::new(self.and()?));
            } else {
                return Ok(left);
            }
        }
    }

    fn keyword(&mut self, word: &str) -> bool {
        let rest = self.rest();
        if rest.starts_with(word)
            && !rest[word.len()..]
                .bytes()
                .next()
                .is_some_and(|c| c.is_ascii_alphanumeric() || c == b'_')
        {
            self.pos += word.len();
            true
        } else {
            false
        }
    }

    fn and(&mut self) -> Result<Expr> {
        let mut left = self.not()?;
        loop {
            self.skip_ws();
            if self.eat("&&") || self.keyword("and") {
                left = Expr::Binary(BinOp::And, Box::new(left), Box::new(self.not()?));
            } else {
                return Ok(left);
            }
        }
    }

    fn not(&mut self) -> Result<Expr> {
        self.skip_ws();
        if (self.rest().starts_with('!') && !self.rest().starts_with("!=")) || self.keyword("not") {
            if self.peek() == Some(b'!') {
                self.pos += 1;
            }
            return Ok(Expr::Not(Box::new(self.not()?)));
        }
        self.cmp()
    }

    fn cmp(&mut self) -> Result<Expr> {
        let left = self.add()?;
        self.skip_ws();
        let op = [
            ("==", BinOp::Eq),
            ("!=", BinOp::Ne),
            ("<=", BinOp::Le),
            (">=", BinOp::Ge),
            ("<", BinOp::Lt),
            (">", BinOp::Gt),
        ]
        .into_iter()
        .find(|(s, _)| self.rest().starts_with(s));
        match op {
            Some((s, op)) => {
                self.pos += s.len();
                Ok(Expr::Binary(op, Box::new(left), Box::new(self.add()?)))
            }
            None => Ok(left),
        }
    }

    fn add(&mut self) -> Result<Expr> {
        let mut left = self.mul()?;
        loop {
            self.skip_ws();
            let op = match self.peek() {
                Some(b'+') => BinOp::Add,
                Some(b'-') => BinOp::Sub,
                _ => return Ok(left),
            };
            self.pos += 1;
            left = Expr::Binary(op, Box::new(left), Box::new(self.mul()?));
        }
    }

    fn mul(&mut self) -> Result<Expr> {
        let mut left = self.primary()?;
        loop {
            self.skip_ws();
            let op = match self.peek() {
                Some(b'*') => BinOp::Mul,
                Some(b'/') => BinOp::Div,
                Some(b'%') => BinOp::Rem,
                _ => return Ok(left),
            };
            self.pos += 1;
            left = Expr::Binary(op, Box::new(left), Box::new(self.primary()?));
        }
    }

    fn primary(&mut self) -> Result<Expr> {
        self.skip_ws();
        match self.peek() {
            Some(b'$') => match self.reference()? {
                Some(r) => Ok(Expr::Ref(r)),
                None => Err(self.error("expected a reference after `$`")),
            },
            Some(b'\'') => {
                self.pos += 1;
                let rest = self.rest();
                let end = rest
                    .find('\'')
                    .ok_or_else(|| self.error("string is not closed by `'`"))?;
                self.pos += end + 1;
                Ok(Expr::Lit(Value::String(rest[..end].to_owned())))
            }
            Some(b'"') => {
                self.pos += 1;
                let rest = self.rest();
                let end = rest
                    .find('"')
                    .ok_or_else(|| self.error("string is not closed by `\"`"))?;
                let inner = &rest[..end];
                let nodes = Parser::new(inner).template().map_err(|mut e| {
                    e.message = format!("in a string: {}", e.message);
                    e
                })?;
                self.pos += end + 1;
                Ok(Expr::Interp(nodes))
            }
            Some(b'[') => {
                self.pos += 1;
                Ok(Expr::List(self.args("]")?))
            }
            Some(b'{') => {
                self.pos += 1;
                let mut entries = Vec::new();
                self.skip_ws();
                if !self.eat("}") {
                    loop {
                        let k = self.expr()?;
                        self.expect(":")?;
                        let v = self.expr()?;
                        entries.push((k, v));
                        self.skip_ws();
                        if self.eat("}") {
                            break;
                        }
                        self.expect(",")?;
                    }
                }
                Ok(Expr::Map(entries))
            }
            Some(b'(') => self.paren_expr(),
            Some(c) if c.is_ascii_digit() || c == b'-' => {
                let start = self.pos;
                self.pos += 1;
                while self.peek().is_some_and(|c| c.is_ascii_digit() || c == b'.') {
                    self.pos += 1;
                }
                let text = &self.src[start..self.pos];
                serde_json::from_str::<Value>(text)
                    .ok()
                    .filter(Value::is_number)
                    .map(Expr::Lit)
                    .ok_or_else(|| self.error(format!("`{text}` is not a number")))
            }
            _ => {
                for (word, value) in [
                    ("true", Value::Bool(true)),
                    ("false", Value::Bool(false)),
                    ("null", Value::Null),
                ] {
                    if self.keyword(word) {
                        return Ok(Expr::Lit(value));
                    }
                }
                Err(self.error("expected a value"))
            }
        }
    }
}
