//! One line of an error and its causes, for messages where a client's
//! own error text leaves out the cause that says what went wrong (a TLS
//! alert under a connection error). Apart from `error`, so the engines can
//! use it without reaching the error type that names them.

/// An error and its sources, one line (a client error's own text often
/// leaves out the cause that says what went wrong). A cause whose text
/// the line already holds (a wrapper repeating its source) is left out.
pub(crate) fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string().trim_end().to_owned();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        let cause_text = cause_text.trim_end();
        if !text.contains(cause_text) {
            text.push_str(": ");
            text.push_str(cause_text);
        }
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::error_chain;

    /// An error whose text repeats its source's, as client wrappers do.
    #[derive(Debug, thiserror::Error)]
    #[error("client error ({0})")]
    struct Wrapper(#[source] Inner);

    #[derive(Debug, thiserror::Error)]
    #[error("{0}")]
    struct Inner(&'static str);

    #[derive(Debug, thiserror::Error)]
    #[error("request failed\n")]
    struct Outer(#[source] Wrapper);

    #[test]
    fn a_chain_names_each_cause_once_on_one_line() {
        let error = Outer(Wrapper(Inner("received fatal alert: BadCertificate")));
        assert_eq!(
            error_chain(&error),
            "request failed: client error (received fatal alert: BadCertificate)"
        );
    }
}
