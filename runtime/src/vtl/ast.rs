//! The parsed form of a template.

/// A template node.
#[derive(Debug, Clone, PartialEq)]
pub enum Node {
    /// Literal text.
    Text(String),
    /// A reference rendered in place.
    Ref(Reference),
    /// `#set($name = expr)`.
    Set(String, Expr),
    /// `#if / #elseif / #else / #end`: the branches, then the else branch.
    If(Vec<(Expr, Vec<Node>)>, Vec<Node>),
    /// `#foreach($var in expr) ... #end`.
    Foreach(String, Expr, Vec<Node>),
}

/// `$name.prop.method(args)[index]`.
#[derive(Debug, Clone, PartialEq)]
pub struct Reference {
    /// The variable's name.
    pub name: String,
    /// What follows it.
    pub chain: Vec<Access>,
    /// `$!name`: renders nothing when undefined.
    pub quiet: bool,
    /// The reference as written, rendered when undefined (as Velocity does).
    pub source: String,
}

/// One step after a variable.
#[derive(Debug, Clone, PartialEq)]
pub enum Access {
    /// `.name`
    Prop(String),
    /// `.name(args)`
    Call(String, Vec<Expr>),
    /// `[expr]`
    Index(Expr),
}

/// An expression in a directive or argument.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    /// A literal value.
    Lit(serde_json::Value),
    /// A double-quoted string, interpolated.
    Interp(Vec<Node>),
    /// A reference.
    Ref(Reference),
    /// `[a, b]`
    List(Vec<Expr>),
    /// `{"k": v}`
    Map(Vec<(Expr, Expr)>),
    /// `!e`
    Not(Box<Expr>),
    /// `a op b`
    Binary(BinOp, Box<Expr>, Box<Expr>),
}

/// Binary operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BinOp {
    /// `||`, `or`
    Or,
    /// `&&`, `and`
    And,
    /// `==`
    Eq,
    /// `!=`
    Ne,
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
    /// `+`
    Add,
    /// `-`
    Sub,
    /// `*`
    Mul,
    /// `/`
    Div,
    /// `%`
    Rem,
}
