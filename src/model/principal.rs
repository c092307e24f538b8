/// Who runs a session or a call. Every statement runs as a principal; governance decides what
/// it may do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// The user name.
    pub name: String,
}

impl Principal {
    /// A principal with the given name.
    pub fn new(name: impl Into<String>) -> Self {
        Self { name: name.into() }
    }

    /// The principal named by `user`, else the operating-system user, else `anonymous`.
    pub fn from_user_or_os(user: Option<&str>) -> Self {
        let name = user
            .map(str::to_string)
            .filter(|u| !u.trim().is_empty())
            .or_else(|| std::env::var("USER").ok().filter(|u| !u.is_empty()))
            .or_else(|| std::env::var("USERNAME").ok().filter(|u| !u.is_empty()))
            .unwrap_or_else(|| "anonymous".to_string());
        Self { name }
    }
}
