//! Column-aligned text tables as the real tools print them.

/// How a column's cells line up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Align {
    Left,
    Right,
}

/// Renders rows with each column as wide as its widest cell (header included), columns joined by
/// `sep`, the last column never padded and trailing blanks trimmed. This is the layout of node
/// `tabula` (imgadm) and of illumos `zfs list`/`zpool list` (which right-align numbers).
pub fn render(
    header: Option<&[&str]>,
    rows: &[Vec<String>],
    aligns: &[Align],
    sep: &str,
) -> String {
    let columns = header
        .map(|h| h.len())
        .or_else(|| rows.first().map(Vec::len))
        .unwrap_or(0);
    let mut widths = vec![0usize; columns];
    let header_cells: Option<Vec<String>> =
        header.map(|h| h.iter().map(|s| s.to_string()).collect());
    for row in header_cells.iter().chain(rows.iter()) {
        for (i, cell) in row.iter().enumerate().take(columns) {
            widths[i] = widths[i].max(cell.chars().count());
        }
    }
    let mut out = String::new();
    for row in header_cells.iter().chain(rows.iter()) {
        let mut line = String::new();
        for (i, cell) in row.iter().enumerate().take(columns) {
            if i > 0 {
                line.push_str(sep);
            }
            let pad = widths[i].saturating_sub(cell.chars().count());
            let last = i + 1 == columns;
            match aligns.get(i).copied().unwrap_or(Align::Left) {
                Align::Right => {
                    line.push_str(&" ".repeat(pad));
                    line.push_str(cell);
                }
                Align::Left => {
                    line.push_str(cell);
                    if !last {
                        line.push_str(&" ".repeat(pad));
                    }
                }
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// Rows joined by tabs with no header: the `-H` scripting mode of zfs and zpool.
pub fn render_tabs(rows: &[Vec<String>]) -> String {
    rows.iter().map(|r| format!("{}\n", r.join("\t"))).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tabula_layout() {
        let rows = vec![
            vec!["trent".to_string(), "trentm".to_string(), "-".to_string()],
            vec![
                "dave".to_string(),
                "bahamas10".to_string(),
                "red".to_string(),
            ],
        ];
        let text = render(Some(&["NAME", "GITHUB", "COLOR"]), &rows, &[], "  ");
        assert_eq!(
            text,
            "NAME   GITHUB     COLOR\ntrent  trentm     -\ndave   bahamas10  red\n"
        );
    }

    #[test]
    fn right_aligned_numbers() {
        let rows = vec![vec![
            "zones".to_string(),
            "1.5G".to_string(),
            "/zones".to_string(),
        ]];
        let text = render(
            Some(&["NAME", "USED", "MOUNTPOINT"]),
            &rows,
            &[Align::Left, Align::Right, Align::Left],
            "  ",
        );
        assert_eq!(text, "NAME   USED  MOUNTPOINT\nzones  1.5G  /zones\n");
    }
}
