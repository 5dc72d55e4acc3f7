//! `benches/results/echo.svg`: grouped bars, one group per cell and one bar per server, of
//! round trips/s (with the min–max of the repetitions) and of server CPU per round trip.
//! Plain SVG text; the same results always give the same file.

use std::fmt::Write as _;
use std::fs;

use crate::server::package_dir;
use crate::throughput::{median, Results, Run};

const WIDTH: f64 = 960.0;
const PANEL_HEIGHT: f64 = 300.0;
const LEFT: f64 = 80.0;
const RIGHT: f64 = 20.0;
const TOP: f64 = 60.0;
const BOTTOM: f64 = 40.0;
/// Bar colours by server, in `server::ALL` order.
const COLOURS: [(&str, &str); 3] = [
    ("minireactor", "#d1495b"),
    ("tokio", "#00798c"),
    ("raw", "#8d96a3"),
];

pub fn write(results: &Results) -> Result<(), String> {
    let dir = package_dir().join("benches/results");
    fs::create_dir_all(&dir).map_err(|e| format!("creating {}: {e}", dir.display()))?;
    let path = dir.join("echo.svg");
    fs::write(&path, chart(results)).map_err(|e| format!("writing {}: {e}", path.display()))?;
    eprintln!("wrote {}", path.display());
    Ok(())
}

fn chart(results: &Results) -> String {
    let height = TOP + 2.0 * (PANEL_HEIGHT + BOTTOM);
    let mut svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{WIDTH}\" height=\"{height}\" \
         viewBox=\"0 0 {WIDTH} {height}\" font-family=\"sans-serif\" font-size=\"12\">\n\
         <rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
    );
    // The legend.
    for (s, kind) in results.servers.iter().enumerate() {
        let x = LEFT + s as f64 * 130.0;
        let _ = writeln!(
            svg,
            "<rect x=\"{x}\" y=\"14\" width=\"14\" height=\"14\" fill=\"{}\"/>\
             <text x=\"{}\" y=\"26\">{}</text>",
            colour(kind.name),
            x + 20.0,
            kind.name
        );
    }
    panel(
        &mut svg,
        results,
        TOP,
        "round trips/s (median, min–max)",
        |r| r.round_trips_per_sec,
        true,
    );
    panel(
        &mut svg,
        results,
        TOP + PANEL_HEIGHT + BOTTOM,
        "server CPU µs per round trip (median)",
        |r| r.cpu_us_per_round_trip,
        false,
    );
    svg.push_str("</svg>\n");
    svg
}

/// One bar chart of `metric`, its plot area starting at `top`.
fn panel(
    svg: &mut String,
    results: &Results,
    top: f64,
    title: &str,
    metric: fn(&Run) -> f64,
    whiskers: bool,
) {
    let plot_height = PANEL_HEIGHT - 50.0;
    let bottom = top + 30.0 + plot_height;
    let plot_width = WIDTH - LEFT - RIGHT;
    let max = results
        .runs
        .iter()
        .flatten()
        .flatten()
        .map(metric)
        .fold(0.0, f64::max);
    // Gridlines at a round step, as many as it takes to pass the tallest value (about 6).
    let step = nice_step(max / 6.0);
    let lines = ((max / step).ceil() as usize).max(1);
    let scale = |v: f64| bottom - v / (step * lines as f64) * plot_height;

    let _ = writeln!(
        svg,
        "<text x=\"{LEFT}\" y=\"{}\" font-weight=\"bold\">{title}</text>",
        top + 12.0
    );
    for i in 0..=lines {
        let value = step * i as f64;
        let y = scale(value);
        let _ = writeln!(
            svg,
            "<line x1=\"{LEFT}\" x2=\"{}\" y1=\"{y:.1}\" y2=\"{y:.1}\" stroke=\"#ddd\"/>\
             <text x=\"{}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>",
            WIDTH - RIGHT,
            LEFT - 6.0,
            y + 4.0,
            tick_label(value)
        );
    }
    let group_width = plot_width / results.cells.len().max(1) as f64;
    let bar_width = group_width * 0.8 / results.servers.len().max(1) as f64;
    for (c, cell) in results.cells.iter().enumerate() {
        let group_x = LEFT + c as f64 * group_width + group_width * 0.1;
        let _ = writeln!(
            svg,
            "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text>",
            group_x + group_width * 0.4,
            bottom + 18.0,
            cell.label()
        );
        for (s, kind) in results.servers.iter().enumerate() {
            let values: Vec<f64> = results.runs[c][s].iter().map(metric).collect();
            let x = group_x + s as f64 * bar_width;
            let value = median(values.clone());
            let y = scale(value);
            let mid = x + (bar_width - 2.0) / 2.0;
            let _ = writeln!(
                svg,
                "<rect x=\"{x:.1}\" y=\"{y:.1}\" width=\"{:.1}\" height=\"{:.1}\" fill=\"{}\"/>",
                bar_width - 2.0,
                bottom - y,
                colour(kind.name)
            );
            // The label goes above the bar, or above its whisker if that reaches higher.
            let mut label_y = y;
            if whiskers {
                let low = scale(values.iter().copied().fold(f64::INFINITY, f64::min));
                let high = scale(values.iter().copied().fold(0.0, f64::max));
                label_y = label_y.min(high);
                let _ = writeln!(
                    svg,
                    "<line x1=\"{mid:.1}\" x2=\"{mid:.1}\" y1=\"{low:.1}\" y2=\"{high:.1}\" stroke=\"black\"/>"
                );
            }
            let _ = writeln!(
                svg,
                "<text x=\"{mid:.1}\" y=\"{:.1}\" text-anchor=\"middle\" font-size=\"10\">{}</text>",
                label_y - 3.0,
                bar_label(value)
            );
        }
    }
    let _ = writeln!(
        svg,
        "<line x1=\"{LEFT}\" x2=\"{}\" y1=\"{bottom:.1}\" y2=\"{bottom:.1}\" stroke=\"black\"/>",
        WIDTH - RIGHT
    );
}

fn colour(server: &str) -> &'static str {
    COLOURS
        .iter()
        .find(|(name, _)| *name == server)
        .map_or("#444", |(_, colour)| colour)
}

/// The smallest of 1, 2, 2.5 or 5 times a power of ten that is at least `raw` (1 for nothing).
fn nice_step(raw: f64) -> f64 {
    if raw <= 0.0 || !raw.is_finite() {
        return 1.0;
    }
    let magnitude = 10f64.powf(raw.log10().floor());
    [1.0, 2.0, 2.5, 5.0, 10.0]
        .into_iter()
        .map(|m| m * magnitude)
        .find(|step| *step >= raw)
        .unwrap_or(10.0 * magnitude)
}

/// A bar's value in three significant digits or so: `232k`, `4.11`.
fn bar_label(value: f64) -> String {
    match value {
        v if v >= 10_000.0 => format!("{:.0}k", v / 1000.0),
        v if v >= 1000.0 => format!("{:.1}k", v / 1000.0),
        v if v >= 100.0 => format!("{v:.0}"),
        v if v >= 10.0 => format!("{v:.1}"),
        v => format!("{v:.2}"),
    }
}

fn tick_label(value: f64) -> String {
    let (value, suffix) = if value >= 1000.0 {
        (value / 1000.0, "k")
    } else {
        (value, "")
    };
    // Two decimals hide the float error of `step * i`; trailing zeros go.
    let text = format!("{value:.2}");
    format!(
        "{}{suffix}",
        text.trim_end_matches('0').trim_end_matches('.')
    )
}
