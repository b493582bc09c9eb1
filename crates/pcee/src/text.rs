//! Text helpers shared by every front end (the CLI, the Python package, the server).

/// `message` with its control characters escaped (a newline in a file name becomes `\n`), so an
/// error is always exactly one line.
pub fn one_line(message: &str) -> String {
    message
        .chars()
        .flat_map(|c| {
            if c.is_control() {
                c.escape_default().collect::<Vec<_>>()
            } else {
                vec![c]
            }
        })
        .collect()
}
