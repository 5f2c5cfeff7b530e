//! The report's lists and tables that both sinks print the same way: written once over a
//! [`Markup`], which knows how each sink draws a heading, a list, a table and a folded block.

use super::model::Report;
use super::sentences::Markup;

/// Most input warnings listed; the rest are counted.
const INPUT_WARNINGS_MAX: usize = 50;

/// What the collection could not get, before the appendix: read it before trusting an absence.
pub fn coverage_warnings(out: &mut String, r: &Report, m: &dyn Markup) {
    if r.coverage_warnings.is_empty() {
        return;
    }
    out.push_str(&m.heading(2, "Coverage warnings"));
    let items: Vec<String> = r.coverage_warnings.iter().map(|w| m.text(w)).collect();
    out.push_str(&m.list(&items));
}

/// What a rule needed and the input lacks, with the command that would collect it.
pub fn missing(out: &mut String, r: &Report, m: &dyn Markup) {
    if r.missing.is_empty() {
        return;
    }
    out.push_str(&m.heading(2, "Missing from the input"));
    let rows: Vec<Vec<String>> = r
        .missing
        .iter()
        .map(|x| vec![m.code(&x.provision), m.text(&x.what), m.code(&x.collect)])
        .collect();
    out.push_str(&m.table(&["provision", "what", "how to collect it"], &rows));
}

/// Each input, the hosts it covers and the collector's notes on how it ran.
pub fn inputs(out: &mut String, r: &Report, m: &dyn Markup) {
    out.push_str(&m.heading(3, "Inputs"));
    let mut rows: Vec<Vec<String>> = r
        .inputs
        .iter()
        .map(|i| {
            vec![
                m.code(&i.name),
                m.text(&i.kind),
                i.entries.to_string(),
                i.collector
                    .as_deref()
                    .map(|c| m.text(c))
                    .unwrap_or_else(|| "no manifest".into()),
                match i.complete {
                    Some(true) => "yes".to_string(),
                    Some(false) => m.strong("no"),
                    None => "—".to_string(),
                },
            ]
        })
        .collect();
    rows.extend(r.unreadable.iter().map(|(name, why)| {
        vec![
            m.code(name),
            "unreadable".to_string(),
            "—".to_string(),
            m.text(why),
            "—".to_string(),
        ]
    }));
    out.push_str(&m.table(
        &["input", "kind", "entries", "collector", "complete"],
        &rows,
    ));
    if !r.hosts.is_empty() {
        let hosts: Vec<String> = r.hosts.iter().map(|h| m.code(h)).collect();
        out.push_str(&m.paragraph(&format!("Hosts: {}", hosts.join(", "))));
    }
    if !r.collection_notes.is_empty() {
        let notes: Vec<String> = r.collection_notes.iter().map(|n| m.text(n)).collect();
        out.push_str(&m.list(&notes));
    }
}

/// Folded: not gaps, only the collector's account of what does not exist or does not apply on
/// each host.
pub fn not_applicable(out: &mut String, r: &Report, m: &dyn Markup) {
    if r.not_applicable.is_empty() {
        return;
    }
    out.push_str(&m.heading(3, "Not applicable on these hosts"));
    let items: Vec<String> = r.not_applicable.iter().map(|l| m.text(l)).collect();
    out.push_str(&m.details(
        &format!(
            "{} source(s) absent or not applicable (not gaps)",
            r.not_applicable.len()
        ),
        &m.list(&items),
    ));
}

/// Rules that could not run on a provision, and why.
pub fn skipped_rules(out: &mut String, r: &Report, m: &dyn Markup) {
    if r.skipped_rules.is_empty() {
        return;
    }
    out.push_str(&m.heading(3, "Rules skipped"));
    let rows: Vec<Vec<String>> = r
        .skipped_rules
        .iter()
        .map(|s| vec![m.code(s.rule), m.code(&s.provision), m.text(&s.reason)])
        .collect();
    out.push_str(&m.table(&["rule", "provision", "why"], &rows));
}

/// What the readers skipped or doubted in each input.
pub fn input_warnings(out: &mut String, r: &Report, m: &dyn Markup) {
    let warnings: Vec<(&str, &String)> = r
        .inputs
        .iter()
        .flat_map(|i| i.warnings.iter().map(move |w| (i.name.as_str(), w)))
        .collect();
    if warnings.is_empty() {
        return;
    }
    out.push_str(&m.heading(3, "Input warnings"));
    let mut items: Vec<String> = warnings
        .iter()
        .take(INPUT_WARNINGS_MAX)
        .map(|(input, w)| format!("{}: {}", m.code(input), m.text(w)))
        .collect();
    if warnings.len() > INPUT_WARNINGS_MAX {
        items.push(format!(
            "… and {} more",
            warnings.len() - INPUT_WARNINGS_MAX
        ));
    }
    out.push_str(&m.list(&items));
}

/// The fleet view: provisions grouped by diagnosis and normalized error ("3 of 8 provisions").
pub fn fleet_summary(out: &mut String, r: &Report, m: &dyn Markup) {
    out.push_str(&m.heading(3, "Across all inputs"));
    let items: Vec<String> = r
        .fleet
        .iter()
        .map(|g| {
            let on = if g.servers.is_empty() {
                String::new()
            } else {
                let servers: Vec<String> = g.servers.iter().map(|s| m.code(s)).collect();
                format!(" on CN {}", servers.join(", "))
            };
            let error = if g.error.is_empty() {
                String::new()
            } else {
                format!(" — {}", m.text(&g.error))
            };
            format!(
                "{} of {} provisions: {}{error}{on}",
                g.count,
                g.of,
                m.code(g.key)
            )
        })
        .collect();
    out.push_str(&m.list(&items));
}
