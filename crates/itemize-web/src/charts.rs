//! Small server-side SVG charts for the pages: stacked bars, horizontal bars and lines, written as inline
//! `<svg>` text with no script, no external resources and no `style` attributes (only presentation
//! attributes, which the content security policy allows).
//!
//! Amounts arrive as exact decimal text. They are parsed to `f64` only to place pixels; every amount a person
//! reads (tooltips, bar-end labels, totals) is formatted from the text itself by [`money_text`]. Each value is
//! drawn with `class="seg"`, `data-series`/`data-category` attributes and a `<title>` tooltip, inside an
//! `<a href>` when it links somewhere. Output depends only on the input, so it can be compared in tests.

use std::fmt::{self, Write as _};

/// Width of every chart's view box; the `<svg>` itself scales to its container.
const WIDTH: f64 = 720.0;
/// Height of the plot area of category charts.
const PLOT_HEIGHT: f64 = 240.0;
/// Height of one row of a horizontal bar chart.
const ROW: f64 = 24.0;
/// Rough width of one character at the 12px font size, for layout.
const CHAR_WIDTH: f64 = 7.0;
/// Okabe-Ito colours (colour-blind friendly), assigned by series index.
const PALETTE: [&str; 8] =
    ["#0072B2", "#E69F00", "#009E73", "#D55E00", "#56B4E9", "#CC79A7", "#F0E442", "#999999"];
/// The start of every bar segment's tag.
const BAR: &str = r#"rect class="seg""#;
const OVERLAY_COLOUR: &str = "#000000";
const GRID_COLOUR: &str = "#e0e0e0";
const AXIS_COLOUR: &str = "#555555";

/// Appends formatted text to a `String` (which cannot fail).
macro_rules! w {
    ($out:expr, $($arg:tt)*) => {{
        let _ = write!($out, $($arg)*);
    }};
}

/// One value of a chart: `amount` is the exact decimal text shown to people (e.g. `"12345.67"`); it is parsed
/// to `f64` only for pixel geometry, never for text people read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Point {
    /// Exact decimal text, e.g. `"12345.67"` or `"-20.5"`.
    pub amount: String,
    /// Where clicking the value leads, if anywhere.
    pub href: Option<String>,
}

impl Point {
    /// A value without a link.
    pub fn new(amount: impl Into<String>) -> Self {
        Self { amount: amount.into(), href: None }
    }

    /// A value that links to `href`.
    pub fn linked(amount: impl Into<String>, href: impl Into<String>) -> Self {
        Self { amount: amount.into(), href: Some(href.into()) }
    }
}

/// A named run of values, one per category on the x axis (values past the last category are ignored, missing
/// trailing ones are absent).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Series {
    /// Shown in the legend and tooltips.
    pub name: String,
    /// One value per category, in category order.
    pub points: Vec<Point>,
}

/// Stacked vertical bars over `categories`, one colour per series, with a legend and a y axis of 4–6 nice
/// ticks. Positive values stack up from zero and negative ones (credits) down from zero. `overlay` (e.g. a
/// budget) is drawn as a dashed black polyline with its own legend entry and a dot (`seg overlay`) per value.
pub fn stacked_bars(
    title: &str,
    currency: &str,
    categories: &[String],
    series: &[Series],
    overlay: Option<&Series>,
) -> String {
    const KIND: &str = "stacked-bars";
    let mut stacks = vec![(0.0, 0.0); categories.len()];
    for s in series {
        for ((up, down), p) in stacks.iter_mut().zip(&s.points) {
            let v = value(&p.amount);
            *if v > 0.0 { up } else { down } += v;
        }
    }
    let overlay_values = overlay.into_iter().flat_map(|o| o.points.iter().take(stacks.len()));
    let all: Vec<f64> = stacks
        .iter()
        .flat_map(|&(up, down)| [up, down])
        .chain(overlay_values.map(|p| value(&p.amount)))
        .collect();
    let Some((mut out, frame)) = category_chart(KIND, title, currency, categories, series, overlay, &all)
    else {
        return no_data(KIND, title);
    };
    let (bar_width, w) = ((frame.slot * 0.7).max(1.0), N((frame.slot * 0.7).max(1.0)));
    out.push_str(r#"<g class="bars">"#);
    for (i, category) in categories.iter().enumerate() {
        let (x, mut up, mut down) = (N(frame.centre(i) - bar_width / 2.0), 0.0, 0.0);
        for (si, s) in series.iter().enumerate() {
            let Some(point) = s.points.get(i) else { continue };
            let v = value(&point.amount);
            if v == 0.0 {
                continue;
            }
            // The segment spans [from, to] in value space.
            let (from, to) = if v > 0.0 { (up, up + v) } else { (down + v, down) };
            (up, down) = if v > 0.0 { (to, down) } else { (up, from) };
            let (y, h, fill) = (N(frame.y.at(to)), N(frame.y.at(from) - frame.y.at(to)), colour(si));
            let attrs = format!(r##"x="{x}" y="{y}" width="{w}" height="{h}" fill="{fill}" stroke="#fff""##);
            segment(
                &mut out,
                BAR,
                Key { series: Some(&s.name), category },
                &attrs,
                point,
                currency,
                money_text,
            );
        }
    }
    out.push_str("</g>");
    frame.draw_zero(&mut out);
    if let Some(o) = overlay {
        draw_line(&mut out, &frame, o, None);
    }
    out + "</svg>"
}

/// Horizontal bars in the order given (the caller sorts): label on the left, exact amount at the bar's end.
/// Negative bars extend left of the zero line; their amount is written just right of it. Bars carry
/// `data-category` (their label) but no `data-series`.
pub fn horizontal_bars(title: &str, currency: &str, bars: &[(String, Point)]) -> String {
    horizontal(title, currency, bars, money_text)
}

/// [`horizontal_bars`] for counts (assets, lines): whole numbers with thousands separators, `unit` after them.
pub fn count_bars(title: &str, unit: &str, bars: &[(String, Point)]) -> String {
    horizontal(title, unit, bars, count_text)
}

/// A whole number for people: `"2670"` → `"2,670"`; anything else as [`money_text`] gives it.
pub fn count_text(amount: &str) -> String {
    let t = amount.trim();
    let t = t.strip_suffix('.').unwrap_or(t);
    let (sign, digits) = t.strip_prefix('-').map_or(("", t), |d| ("-", d));
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return money_text(amount);
    }
    let mut out = String::from(sign);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn horizontal(title: &str, currency: &str, bars: &[(String, Point)], fmt: fn(&str) -> String) -> String {
    const KIND: &str = "horizontal-bars";
    let values: Vec<f64> = bars.iter().map(|(_, p)| value(&p.amount)).collect();
    let Some((min, max)) = extent(&values) else {
        return no_data(KIND, title);
    };
    let ticks = nice_ticks(min, max);
    let labels: Vec<String> = bars.iter().map(|(label, _)| clip(label, 28)).collect();
    let amounts: Vec<String> = bars.iter().map(|(_, p)| fmt(&p.amount)).collect();
    let plot_left = 16.0 + widest(&labels);
    let plot_right = (WIDTH - widest(&amounts) - 14.0).max(plot_left + 100.0);
    let (top, bottom) = (36.0, 36.0 + ROW * bars.len() as f64);
    let x = Scale::new(&ticks, plot_left, plot_right);

    let total = exact_sum(bars.iter().map(|(_, p)| p));
    let desc =
        format!("{}{}", plural(bars.len(), "bar", "bars"), total_text(total.as_deref(), currency, fmt));
    let mut out = open_svg(KIND, title, &desc, bottom + 24.0);
    out.push_str(r#"<g class="x-axis">"#);
    for &t in &ticks {
        line(&mut out, "grid", (x.at(t), top), (x.at(t), bottom), GRID_COLOUR);
        text(&mut out, (x.at(t), bottom + 14.0), r#" text-anchor="middle""#, &compact(t));
    }
    text(&mut out, (8.0, bottom + 14.0), r#" class="unit""#, currency);
    out.push_str(r#"</g><g class="bars">"#);
    let zero = x.at(0.0);
    for (i, ((label, point), &v)) in bars.iter().zip(&values).enumerate() {
        let row = top + ROW * i as f64;
        text(&mut out, (plot_left - 8.0, row + ROW / 2.0 + 4.0), r#" text-anchor="end""#, &labels[i]);
        let (x0, x1) = (x.at(v.min(0.0)), x.at(v.max(0.0)));
        if v != 0.0 {
            let (x, y, w, h, fill) = (N(x0), N(row + 4.0), N(x1 - x0), N(ROW - 8.0), colour(0));
            let attrs = format!(r#"x="{x}" y="{y}" width="{w}" height="{h}" fill="{fill}""#);
            segment(&mut out, BAR, Key { series: None, category: label }, &attrs, point, currency, fmt);
        }
        text(&mut out, (x1.max(zero) + 4.0, row + ROW / 2.0 + 4.0), r#" class="amount""#, &amounts[i]);
    }
    out.push_str("</g>");
    line(&mut out, "zero", (zero, top), (zero, bottom), AXIS_COLOUR);
    out + "</svg>"
}

/// Line chart: one polyline per series over `categories`, and a dot per value, each dot its own link and
/// tooltip. The y axis always includes zero.
pub fn lines(title: &str, currency: &str, categories: &[String], series: &[Series]) -> String {
    const KIND: &str = "lines";
    let all: Vec<f64> = series
        .iter()
        .flat_map(|s| s.points.iter().take(categories.len()))
        .map(|p| value(&p.amount))
        .collect();
    let Some((mut out, frame)) = category_chart(KIND, title, currency, categories, series, None, &all) else {
        return no_data(KIND, title);
    };
    frame.draw_zero(&mut out);
    for (i, s) in series.iter().enumerate() {
        draw_line(&mut out, &frame, s, Some(i));
    }
    out + "</svg>"
}

/// Formats exact decimal text for people: `"1234567.8"` → `"1,234,567.80"`, `"-1234.505"` → `"-1,234.51"`.
/// Two decimals, rounded half away from zero on the digits themselves (no float involved); a result of zero
/// has no sign. Text that is not a plain decimal (optional sign, digits, optional `.` and digits) is returned
/// unchanged.
pub fn money_text(amount: &str) -> String {
    let Some(d) = parse_decimal(amount) else {
        return amount.to_owned();
    };
    let mut digits: Vec<u8> =
        d.int.bytes().chain(d.frac.bytes().chain(*b"00").take(2)).map(|b| b - b'0').collect();
    if d.frac.as_bytes().get(2).is_some_and(|&b| b >= b'5') {
        // Add one cent: trailing nines become zeros and the digit before them takes the carry.
        let keep = digits.iter().rposition(|&x| x != 9);
        digits[keep.map_or(0, |i| i + 1)..].fill(0);
        match keep {
            Some(i) => digits[i] += 1,
            None => digits.insert(0, 1),
        }
    }
    let cents = digits.split_off(digits.len() - 2);
    let int = &digits[digits.iter().position(|&x| x != 0).unwrap_or(digits.len())..];
    let negative = d.negative && int.iter().chain(&cents).any(|&x| x != 0);
    let mut out = String::from(if negative { "-" } else { "" });
    for (i, digit) in int.iter().enumerate() {
        if i > 0 && (int.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(char::from(b'0' + digit));
    }
    if int.is_empty() {
        out.push('0');
    }
    out.push('.');
    out.extend(cents.iter().map(|&x| char::from(b'0' + x)));
    out
}

/// Escapes text for SVG/HTML content and attribute values (`& < > " '`).
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

/// A coordinate, written with at most one decimal (and never as `-0`).
#[derive(Debug, Clone, Copy)]
struct N(f64);

impl fmt::Display for N {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let v = (self.0 * 10.0).round() / 10.0;
        let v = if v.is_finite() && v != 0.0 { v } else { 0.0 };
        if v.fract() == 0.0 { write!(f, "{v:.0}") } else { write!(f, "{v:.1}") }
    }
}

/// A linear map from the tick range `[lo, hi]` to pixels `[from, to]`.
#[derive(Debug, Clone, Copy)]
struct Scale {
    lo: f64,
    hi: f64,
    from: f64,
    to: f64,
}

impl Scale {
    fn new(ticks: &[f64], from: f64, to: f64) -> Self {
        let (lo, hi) = (ticks.first().copied().unwrap_or(0.0), ticks.last().copied().unwrap_or(1.0));
        Self { lo, hi, from, to }
    }

    fn at(self, v: f64) -> f64 {
        let span = self.hi - self.lo;
        if span > 0.0 { self.from + (v - self.lo) / span * (self.to - self.from) } else { self.from }
    }
}

/// The plot area and axes of a chart over categories.
#[derive(Debug)]
struct Frame<'a> {
    categories: &'a [String],
    currency: &'a str,
    ticks: Vec<f64>,
    y: Scale,
    left: f64,
    right: f64,
    top: f64,
    bottom: f64,
    slot: f64,
    rotate: bool,
    label_every: usize,
    height: f64,
}

impl<'a> Frame<'a> {
    fn new(categories: &'a [String], currency: &'a str, (min, max): (f64, f64), top: f64) -> Self {
        let ticks = nice_ticks(min, max);
        let left = (widest(&ticks.iter().map(|&t| compact(t)).collect::<Vec<_>>()) + 14.0).max(40.0);
        let right = WIDTH - 12.0;
        let slot = (right - left) / categories.len().max(1) as f64;
        let longest = widest(&categories.iter().map(|c| clip(c, 16)).collect::<Vec<_>>());
        let rotate = longest > slot * 0.95;
        let label_every = if rotate { (20.0 / slot).ceil().max(1.0) as usize } else { 1 };
        let bottom = top + PLOT_HEIGHT;
        let height = bottom + if rotate { 20.0 + longest * 0.65 } else { 26.0 };
        let y = Scale::new(&ticks, bottom, top);
        Self { categories, currency, ticks, y, left, right, top, bottom, slot, rotate, label_every, height }
    }

    fn centre(&self, i: usize) -> f64 {
        self.left + self.slot * (i as f64 + 0.5)
    }

    fn draw_axes(&self, out: &mut String) {
        out.push_str(r#"<g class="y-axis">"#);
        for &t in &self.ticks {
            let y = self.y.at(t);
            line(out, "grid", (self.left, y), (self.right, y), GRID_COLOUR);
            text(out, (self.left - 6.0, y + 4.0), r#" text-anchor="end""#, &compact(t));
        }
        text(out, (self.left - 6.0, self.top - 8.0), r#" text-anchor="end" class="unit""#, self.currency);
        out.push_str(r#"</g><g class="x-axis">"#);
        for (i, category) in self.categories.iter().enumerate().step_by(self.label_every) {
            let (x, label) = (self.centre(i), clip(category, 16));
            if self.rotate {
                let y = self.bottom + 12.0;
                let rotate = format!(r#" text-anchor="end" transform="rotate(-40 {} {})""#, N(x), N(y));
                text(out, (x, y), &rotate, &label);
            } else {
                text(out, (x, self.bottom + 16.0), r#" text-anchor="middle""#, &label);
            }
        }
        out.push_str("</g>");
    }

    fn draw_zero(&self, out: &mut String) {
        let y = self.y.at(0.0);
        line(out, "zero", (self.left, y), (self.right, y), AXIS_COLOUR);
    }
}

/// The common start of a chart over categories (header, legend, axes); `None` when there is nothing to draw.
fn category_chart<'a>(
    kind: &str,
    title: &str,
    currency: &'a str,
    categories: &'a [String],
    series: &[Series],
    overlay: Option<&Series>,
    all_values: &[f64],
) -> Option<(String, Frame<'a>)> {
    let range = extent(all_values)?;
    let mut entries: Vec<(&str, &str, bool)> =
        series.iter().enumerate().map(|(i, s)| (s.name.as_str(), colour(i), false)).collect();
    entries.extend(overlay.map(|o| (o.name.as_str(), OVERLAY_COLOUR, true)));
    let (legend, legend_height) = legend(&entries, 30.0);
    let frame = Frame::new(categories, currency, range, 30.0 + legend_height + 16.0);
    let total = exact_sum(series.iter().flat_map(|s| s.points.iter().take(categories.len())));
    let (n, m) =
        (plural(categories.len(), "category", "categories"), plural(series.len(), "series", "series"));
    let mut desc = format!("{n}, {m}{}", total_text(total.as_deref(), currency, money_text));
    if let Some(o) = overlay {
        w!(desc, "; line: {}", o.name);
    }
    let mut out = open_svg(kind, title, &desc, frame.height);
    out.push_str(&legend);
    frame.draw_axes(&mut out);
    Some((out, frame))
}

/// One series as a polyline over the category centres plus a dot (link + tooltip) per value.
fn draw_line(out: &mut String, frame: &Frame<'_>, s: &Series, index: Option<usize>) {
    let colour = index.map_or(OVERLAY_COLOUR, colour);
    let at = |(i, p): (usize, &Point)| (frame.centre(i), frame.y.at(value(&p.amount)));
    let points: Vec<(f64, f64)> = s.points.iter().take(frame.categories.len()).enumerate().map(at).collect();
    let (tag, dash) = match index {
        Some(_) => (r#"circle class="seg""#, ""),
        None => (r#"circle class="seg overlay""#, r#" stroke-dasharray="6 4""#),
    };
    w!(out, r#"<g class="line" data-series="{}">"#, escape(&s.name));
    if points.len() >= 2 {
        let coords: Vec<String> = points.iter().map(|&(x, y)| format!("{},{}", N(x), N(y))).collect();
        w!(out, r#"<polyline points="{}" fill="none" stroke="{colour}" stroke-width="2""#, coords.join(" "));
        w!(out, r#" stroke-linejoin="round"{dash}/>"#);
    }
    for ((point, category), &(x, y)) in s.points.iter().zip(frame.categories).zip(&points) {
        let attrs = format!(r##"cx="{}" cy="{}" r="3.5" fill="{colour}" stroke="#ffffff""##, N(x), N(y));
        segment(out, tag, Key { series: Some(&s.name), category }, &attrs, point, frame.currency, money_text);
    }
    out.push_str("</g>");
}

/// What a segment shows: its series (if any) and category.
#[derive(Debug, Clone, Copy)]
struct Key<'a> {
    series: Option<&'a str>,
    category: &'a str,
}

/// One value's shape, `<tag data-* attrs>` with its tooltip `<title>`, inside `<a href>` when the point links
/// somewhere (script-capable schemes are dropped).
fn segment(
    out: &mut String,
    tag: &str,
    key: Key<'_>,
    attrs: &str,
    point: &Point,
    currency: &str,
    fmt: fn(&str) -> String,
) {
    let href = point.href.as_deref().filter(|h| safe_href(h));
    if let Some(href) = href {
        w!(out, r#"<a href="{}">"#, escape(href));
    }
    w!(out, "<{tag}");
    let who = match key.series {
        Some(series) => {
            w!(out, r#" data-series="{}""#, escape(series));
            format!("{series} · {}", key.category)
        }
        None => key.category.to_owned(),
    };
    let tip = format!("{who}: {} {currency}", fmt(&point.amount));
    w!(out, r#" data-category="{}" {attrs}><title>{}</title>"#, escape(key.category), escape(tip.trim_end()));
    let element = tag.split(' ').next().unwrap_or_default();
    w!(out, "</{element}>{}", if href.is_some() { "</a>" } else { "" });
}

fn safe_href(href: &str) -> bool {
    let head: String =
        href.chars().filter(|c| !c.is_ascii_whitespace() && !c.is_control()).take(12).collect();
    let head = head.to_ascii_lowercase();
    !["javascript:", "vbscript:", "data:"].iter().any(|scheme| head.starts_with(scheme))
}

fn line(out: &mut String, class: &str, (x1, y1): (f64, f64), (x2, y2): (f64, f64), stroke: &str) {
    let (x1, y1, x2, y2) = (N(x1), N(y1), N(x2), N(y2));
    w!(out, r#"<line class="{class}" x1="{x1}" y1="{y1}" x2="{x2}" y2="{y2}" stroke="{stroke}"/>"#);
}

/// `<text>` at `(x, y)` with `extra` attributes (each after a space); `content` is escaped here.
fn text(out: &mut String, (x, y): (f64, f64), extra: &str, content: &str) {
    w!(out, r#"<text x="{}" y="{}"{extra}>{}</text>"#, N(x), N(y), escape(content));
}

/// Legend entries (name, colour, is a line) in wrapping rows from `top`: the SVG and the height used.
fn legend(entries: &[(&str, &str, bool)], top: f64) -> (String, f64) {
    if entries.is_empty() {
        return (String::new(), 0.0);
    }
    let mut out = String::from(r#"<g class="legend">"#);
    let (mut x, mut y) = (8.0, top);
    for &(name, colour, is_line) in entries {
        let label = clip(name, 32);
        let width = 30.0 + text_width(&label);
        if x > 8.0 && x + width > WIDTH - 8.0 {
            (x, y) = (8.0, y + 18.0);
        }
        let (dy, height) = if is_line { (3.5, 3.0) } else { (0.0, 10.0) };
        w!(out, r#"<rect x="{}" y="{}" width="10" height="{height}" fill="{colour}"/>"#, N(x), N(y + dy));
        text(&mut out, (x + 14.0, y + 9.5), "", &label);
        x += width;
    }
    out.push_str("</g>");
    (out, y + 18.0 - top)
}

/// The opening `<svg>` with its accessible name and description, and the visible title.
fn open_svg(kind: &str, title: &str, desc: &str, height: f64) -> String {
    let id = chart_id(kind, title);
    let mut out =
        format!(r#"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {} {}""#, N(WIDTH), N(height));
    w!(out, r#" width="100%" role="img" aria-labelledby="{id}-title" aria-describedby="{id}-desc""#);
    w!(out, r##" class="chart" font-family="system-ui, sans-serif" font-size="12" fill="#333333">"##);
    w!(
        out,
        r#"<title id="{id}-title">{}</title><desc id="{id}-desc">{}</desc>"#,
        escape(title),
        escape(desc)
    );
    text(&mut out, (8.0, 18.0), r#" font-size="14" font-weight="600""#, &clip(title, 90));
    out
}

/// The small chart shown when there is nothing (or only zeros) to draw.
fn no_data(kind: &str, title: &str) -> String {
    let mut out = open_svg(kind, title, "No data", 80.0);
    text(&mut out, (WIDTH / 2.0, 54.0), r#" class="no-data" text-anchor="middle""#, "No data");
    out + "</svg>"
}

/// Element ids from an FNV-1a hash of kind and title: stable, and distinct for the charts of one page.
fn chart_id(kind: &str, title: &str) -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for b in kind.bytes().chain([0]).chain(title.bytes()) {
        hash = (hash ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
    }
    format!("chart-{hash:016x}")
}

fn colour(i: usize) -> &'static str {
    PALETTE[i % PALETTE.len()]
}

/// The range to draw (always including zero), or `None` when every value is zero or there are none.
fn extent(values: &[f64]) -> Option<(f64, f64)> {
    let (min, max) = values.iter().fold((0.0_f64, 0.0_f64), |(lo, hi), &v| (lo.min(v), hi.max(v)));
    (max - min > 0.0 && (max - min).is_finite()).then_some((min, max))
}

/// 4–6 ticks on multiples of 1, 2, 2.5 or 5 × 10ⁿ, covering `[min(lo, 0), max(hi, 0)]` and including 0.
fn nice_ticks(lo: f64, hi: f64) -> Vec<f64> {
    let (lo, hi) = (lo.min(0.0), hi.max(0.0));
    if !(hi - lo > 0.0 && (hi - lo).is_finite()) {
        return vec![0.0, 1.0];
    }
    // The first step tried gives at least 100 intervals and each next one at most doubles the step, so
    // the first with at most 6 ticks has at least 4.
    let start = (hi - lo).log10().floor() as i32 - 2;
    for exp in start..=start + 3 {
        for mantissa in [1.0, 2.0, 2.5, 5.0] {
            let step = mantissa * 10f64.powi(exp);
            let (first, last) = ((lo / step + 1e-9).floor() as i64, (hi / step - 1e-9).ceil() as i64);
            if last - first < 6 {
                return (first..=last).map(|i| i as f64 * step).collect();
            }
        }
    }
    vec![lo, hi]
}

/// A tick label: `1200000` → `"1.2M"`, `250000` → `"250k"`, `0` → `"0"`.
fn compact(v: f64) -> String {
    let units = [(1e12, "T"), (1e9, "B"), (1e6, "M"), (1e3, "k")];
    let (unit, suffix) =
        units.into_iter().find(|&(unit, _)| v.abs() >= unit * (1.0 - 1e-9)).unwrap_or((1.0, ""));
    let text = format!("{:.6}", v / unit);
    let text = text.trim_end_matches('0').trim_end_matches('.');
    if text == "-0" { "0".to_owned() } else { format!("{text}{suffix}") }
}

/// The geometry value of an amount: its `f64`, or 0 when it is not a plain decimal.
fn value(amount: &str) -> f64 {
    let parsed = parse_decimal(amount).and_then(|_| amount.trim().parse::<f64>().ok());
    parsed.filter(|v| v.is_finite()).unwrap_or(0.0)
}

#[derive(Debug)]
struct Decimal<'a> {
    negative: bool,
    int: &'a str,
    frac: &'a str,
}

fn parse_decimal(s: &str) -> Option<Decimal<'_>> {
    let s = s.trim();
    let (negative, body) = match s.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, s.strip_prefix('+').unwrap_or(s)),
    };
    let (int, frac) = body.split_once('.').unwrap_or((body, ""));
    let digits = |t: &str| t.bytes().all(|b| b.is_ascii_digit());
    let valid = !(int.is_empty() && frac.is_empty()) && digits(int) && digits(frac);
    valid.then_some(Decimal { negative, int, frac })
}

/// The exact sum of the valid amounts as decimal text (invalid ones are skipped); `None` on overflow.
fn exact_sum<'a>(points: impl Iterator<Item = &'a Point>) -> Option<String> {
    let parsed: Vec<Decimal<'_>> = points.filter_map(|p| parse_decimal(&p.amount)).collect();
    let scale = parsed.iter().map(|d| d.frac.len()).max().unwrap_or(0);
    let mut sum: i128 = 0;
    for d in &parsed {
        let padding = std::iter::repeat_n(b'0', scale - d.frac.len());
        let mut v: i128 = 0;
        for b in d.int.bytes().chain(d.frac.bytes()).chain(padding) {
            v = v.checked_mul(10)?.checked_add(i128::from(b - b'0'))?;
        }
        sum = if d.negative { sum.checked_sub(v)? } else { sum.checked_add(v)? };
    }
    let digits = format!("{:0>width$}", sum.unsigned_abs(), width = scale + 1);
    let (int, frac) = digits.split_at(digits.len() - scale);
    Some(format!("{}{int}.{frac}", if sum < 0 { "-" } else { "" }))
}

fn total_text(total: Option<&str>, currency: &str, fmt: fn(&str) -> String) -> String {
    total.map_or_else(String::new, |t| format!(", total {} {currency}", fmt(t)).trim_end().to_owned())
}

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// At most `max` characters, ending in `…` when cut.
fn clip(s: &str, max: usize) -> String {
    if s.chars().count() <= max { s.to_owned() } else { s.chars().take(max - 1).chain(['…']).collect() }
}

fn text_width(s: &str) -> f64 {
    s.chars().count() as f64 * CHAR_WIDTH
}

fn widest(texts: &[String]) -> f64 {
    texts.iter().map(|t| text_width(t)).fold(0.0, f64::max)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cats(names: &[&str]) -> Vec<String> {
        names.iter().map(|s| (*s).to_owned()).collect()
    }

    /// A series from amounts, where `"12.5@/x"` is `12.5` linking to `/x`.
    fn series(name: &str, amounts: &[&str]) -> Series {
        let point = |a: &&str| a.split_once('@').map_or_else(|| Point::new(*a), |(a, h)| Point::linked(a, h));
        Series { name: name.to_owned(), points: amounts.iter().map(point).collect() }
    }

    /// The tags (text between `<` and `>`) starting with `prefix`.
    fn tags<'a>(svg: &'a str, prefix: &str) -> Vec<&'a str> {
        svg.split('<').skip(1).filter(|t| t.starts_with(prefix)).filter_map(|t| t.split('>').next()).collect()
    }

    fn attr<'a>(tag: &'a str, name: &str) -> Option<&'a str> {
        tag.split(&format!(" {name}=\"")).nth(1)?.split('"').next()
    }

    fn num(tag: &str, name: &str) -> f64 {
        attr(tag, name).and_then(|v| v.parse().ok()).unwrap_or(f64::NAN)
    }

    /// Tags nest, only known elements appear, no coordinate has more than one decimal, no style or script.
    fn assert_well_formed(svg: &str) {
        assert!(svg.starts_with("<svg ") && svg.ends_with("</svg>"), "{svg}");
        assert!(!svg.contains("style=") && !svg.contains("<script"), "{svg}");
        let mut open: Vec<&str> = Vec::new();
        for tag in tags(svg, "") {
            if let Some(name) = tag.strip_prefix('/') {
                assert_eq!(open.pop(), Some(name), "in {svg}");
                continue;
            }
            let name = tag.split(' ').next().unwrap_or_default();
            let known = ["svg", "title", "desc", "text", "g", "rect", "line", "polyline", "circle", "a"];
            assert!(known.contains(&name), "<{name}> in {svg}");
            assert!(!tag.contains('\'') && tag.matches('"').count() % 2 == 0, "{tag}");
            for key in ["x", "y", "width", "height", "x1", "y1", "x2", "y2", "cx", "cy", "points"] {
                for number in attr(tag, key).unwrap_or_default().split([' ', ',']) {
                    assert!(
                        number.split('.').nth(1).is_none_or(|d| d.len() == 1),
                        "{key}={number} in <{tag}>"
                    );
                }
            }
            if !tag.ends_with('/') {
                open.push(name);
            }
        }
        assert!(open.is_empty(), "unclosed {open:?}");
    }

    #[test]
    fn nice_ticks_cover_the_range_with_four_to_six_round_steps() {
        assert_eq!(nice_ticks(0.0, 987.0), [0.0, 200.0, 400.0, 600.0, 800.0, 1000.0]);
        assert_eq!(nice_ticks(0.0, 120.0), [0.0, 25.0, 50.0, 75.0, 100.0, 125.0]);
        assert_eq!(nice_ticks(-300.0, 900.0), [-500.0, 0.0, 500.0, 1000.0]);
        assert_eq!(nice_ticks(-987.0, 0.0), [-1000.0, -800.0, -600.0, -400.0, -200.0, 0.0]);
        for hi in [0.07, 1.0, 3.0, 7.0, 9.99, 12.3, 99.0, 101.0, 555.0, 1001.0, 12_345.67, 1_000_001.0, 7.5e9]
        {
            for lo in [0.0, -hi / 7.0, -hi / 3.0, -hi, -hi * 2.9] {
                let ticks = nice_ticks(lo, hi);
                let (first, last, step) = (ticks[0], ticks[ticks.len() - 1], ticks[1] - ticks[0]);
                assert!(
                    (4..=6).contains(&ticks.len()) && first <= lo && last >= hi * (1.0 - 1e-9),
                    "{ticks:?}"
                );
                assert!(ticks.iter().any(|t| t.abs() < 1e-12), "zero in {ticks:?}");
                let mantissa = step / 10f64.powf(step.log10().floor());
                assert!([1.0, 2.0, 2.5, 5.0].iter().any(|m| (m - mantissa).abs() < 1e-6), "step {step}");
            }
        }
        let labels =
            [1_200_000.0, 250_000.0, 0.0, -1500.0, 1_250_000.0, 0.25, 999.0, 3e9, 0.1 + 0.2].map(compact);
        assert_eq!(labels, ["1.2M", "250k", "0", "-1.5k", "1.25M", "0.25", "999", "3B", "0.3"]);
    }

    #[test]
    fn money_text_formats_the_digits_exactly() {
        let cases = ["0=0.00", "1234567.8=1,234,567.80", "-1234.505=-1,234.51", "12.3456=12.35", "abc=abc"];
        let more = ["12.344999=12.34", "999.995=1,000.00", "-0.001=0.00", "000123.4=123.40", ".5=0.50"];
        for (text, shown) in cases.iter().chain(&more).filter_map(|case| case.split_once('=')) {
            assert_eq!(money_text(text), shown, "{text}");
        }
        assert_eq!(money_text("9007199254740993.01"), "9,007,199,254,740,993.01", "no float on the way");
        for invalid in ["", "-", ".", "1e5", "1,000", "1.2.3", "NaN", "--1"] {
            assert_eq!(money_text(invalid), invalid);
        }
        let points = [Point::new("0.1"), Point::new("0.2"), Point::new("-0.05"), Point::new("junk")];
        assert_eq!(exact_sum(points.iter()).as_deref(), Some("0.25"));
    }

    #[test]
    fn stacked_heights_are_proportional_and_the_desc_sums_exactly() {
        let data = [series("A", &["100", "0.1"]), series("B", &["300", "0.2"])];
        let svg = stacked_bars("Costs", "EUR", &cats(&["2026-05", "2026-06"]), &data, None);
        assert_well_formed(&svg);
        let segs = tags(&svg, "rect class=\"seg\" data-series");
        let (a, b) = (segs[0], segs[1]);
        assert_eq!((attr(a, "data-category"), attr(b, "data-category")), (Some("2026-05"), Some("2026-05")));
        assert!(num(a, "height") > 10.0 && (num(b, "height") / num(a, "height") - 3.0).abs() < 0.02);
        assert!((num(b, "y") + num(b, "height") - num(a, "y")).abs() < 0.2, "B sits on A");
        assert!(svg.contains(">2 categories, 2 series, total 400.30 EUR</desc>"), "{svg}");
    }

    #[test]
    fn linked_segments_are_inside_links_and_tooltips_are_exact() {
        let data =
            [series("AWS", &["12345.67@/c?p=aws&m=2026-05", "5"]), series("Azure", &["7", "0.5@/c?p=az"])];
        let budget = series("Budget", &["20000@/budgets/1", "20000"]);
        let svg = stacked_bars("Spend", "USD", &cats(&["2026-05", "2026-06"]), &data, Some(&budget));
        assert_well_formed(&svg);
        let pieces: Vec<&str> = svg.split('<').collect();
        let mut linked = Vec::new();
        for (i, piece) in pieces.iter().enumerate().filter(|(_, p)| p.contains("class=\"seg")) {
            if pieces[i - 1].starts_with("a href=\"") {
                linked.push((attr(piece, "data-series").unwrap_or_default(), attr(piece, "data-category")));
            }
        }
        let expected = [("AWS", Some("2026-05")), ("Azure", Some("2026-06")), ("Budget", Some("2026-05"))];
        assert_eq!(linked, expected);
        assert_eq!(svg.matches("<a href=").count(), 3);
        assert!(svg.contains(r#"<a href="/c?p=aws&amp;m=2026-05"><rect class="seg" data-series="AWS""#));
        for tip in
            ["AWS · 2026-05: 12,345.67 USD", "Azure · 2026-06: 0.50 USD", "Budget · 2026-05: 20,000.00 USD"]
        {
            assert!(svg.contains(&format!("<title>{tip}</title>")), "{tip} in {svg}");
        }
        assert!(
            svg.contains("<polyline ") && svg.contains(">Budget</text>") && svg.contains("; line: Budget")
        );
        assert!(!svg.contains("12345.67"), "amounts are never shown unformatted");
    }

    #[test]
    fn caller_text_is_escaped_and_script_links_dropped() {
        let hostile = r#"<script>"&'"#;
        let data = [series(hostile, &["1@/x?q=<script>\"&'", "2@ JavaScript:alert(1)"])];
        let categories = cats(&[hostile, "b"]);
        for svg in [
            stacked_bars(hostile, hostile, &categories, &data, Some(&data[0])),
            lines(hostile, hostile, &categories, &data),
            horizontal_bars(hostile, hostile, &[(hostile.to_owned(), Point::linked("3", hostile))]),
        ] {
            assert_well_formed(&svg);
            assert!(svg.contains("&lt;script&gt;&quot;&amp;&#39;"), "{svg}");
            assert!(!svg.to_ascii_lowercase().contains("javascript:"), "{svg}");
        }
    }

    #[test]
    fn no_data_is_a_small_valid_chart() {
        let zeros = [series("A", &["0", "0.00"])];
        for svg in [
            stacked_bars("Empty", "USD", &[], &[], None),
            stacked_bars("Zeros", "USD", &cats(&["a", "b"]), &zeros, None),
            lines("Empty", "USD", &cats(&["a"]), &[]),
            lines("Zeros", "USD", &cats(&["a", "b"]), &zeros),
            horizontal_bars("Empty", "USD", &[]),
        ] {
            assert_well_formed(&svg);
            assert!(svg.contains(">No data</text>") && svg.contains("viewBox=\"0 0 720 80\""), "{svg}");
            assert!(!svg.contains("class=\"seg"));
        }
    }

    #[test]
    fn negatives_stack_below_the_zero_line() {
        let data = [series("Compute", &["100"]), series("Credit", &["-50"]), series("Refund", &["-30"])];
        let svg = stacked_bars("Net", "USD", &cats(&["2026-05"]), &data, None);
        assert_well_formed(&svg);
        let zero = num(tags(&svg, "line class=\"zero\"")[0], "y1");
        let [up, credit, refund] = tags(&svg, "rect class=\"seg\"")[..] else { panic!("three segments") };
        assert!((num(up, "y") + num(up, "height") - zero).abs() < 0.2, "positive ends at zero");
        assert!((num(credit, "y") - zero).abs() < 0.2, "first negative starts at zero");
        assert!(num(refund, "y") >= num(credit, "y") + num(credit, "height") - 0.2, "second below the first");
        assert!((num(credit, "height") / num(refund, "height") - 5.0 / 3.0).abs() < 0.02);
        assert!(svg.contains(">-50</text>"), "axis includes the negative range: {svg}");
    }

    #[test]
    fn horizontal_bars_show_exact_amounts_and_proportional_widths() {
        let bar = |label: &str, point: Point| (label.to_owned(), point);
        let laptops = Point::linked("2000", "/assets?type=laptop");
        let bars =
            [bar("Laptops", laptops), bar("Phones", Point::new("500.5")), bar("Credits", Point::new("-250"))];
        let svg = horizontal_bars("By type", "GBP", &bars);
        assert_well_formed(&svg);
        let [laptops, _, credits] = tags(&svg, "rect class=\"seg\"")[..] else { panic!("three bars") };
        assert!((num(laptops, "width") / num(credits, "width") - 8.0).abs() < 0.05);
        let zero = num(tags(&svg, "line class=\"zero\"")[0], "x1");
        assert!((num(credits, "x") + num(credits, "width") - zero).abs() < 0.2 && num(credits, "x") < zero);
        assert!((num(laptops, "x") - zero).abs() < 0.2);
        for text in [">2,000.00<", ">500.50<", ">-250.00<", ">Laptops<", "<title>Phones: 500.50 GBP</title>"]
        {
            assert!(svg.contains(text), "{text} in {svg}");
        }
        assert!(svg.contains(r#"<a href="/assets?type=laptop"><rect class="seg" data-category="Laptops""#));
        assert!(svg.contains(">3 bars, total 2,250.50 GBP</desc>"));
    }

    #[test]
    fn lines_have_a_linked_dot_per_point() {
        let months = cats(&["2026-01", "2026-02", "2026-03"]);
        let data = [series("Licences", &["10@/l/1", "20@/l/2", "15@/l/3"]), series("Cloud", &["5", "-5"])];
        let svg = lines("Trend", "USD", &months, &data);
        assert_well_formed(&svg);
        let dots = tags(&svg, "circle class=\"seg\"");
        assert_eq!(
            (dots.len(), svg.matches("<polyline ").count(), svg.matches("<a href=").count()),
            (5, 2, 3)
        );
        assert!(svg.contains("<title>Cloud · 2026-02: -5.00 USD</title>"));
        let zero = num(tags(&svg, "line class=\"zero\"")[0], "y1");
        assert!(num(dots[4], "cy") > zero && num(dots[3], "cy") < zero);
        assert!(((zero - num(dots[1], "cy")) / (zero - num(dots[0], "cy")) - 2.0).abs() < 0.02, "20 vs 10");
    }

    #[test]
    fn ids_are_per_chart_and_output_is_deterministic() {
        let (months, data) = (cats(&["a"]), [series("A", &["1"])]);
        let one = stacked_bars("One", "USD", &months, &data, None);
        assert_eq!(one, stacked_bars("One", "USD", &months, &data, None));
        let id = |svg: &str| attr(tags(svg, "svg")[0], "aria-labelledby").unwrap_or_default().to_owned();
        assert_ne!(id(&one), id(&stacked_bars("Two", "USD", &months, &data, None)));
        assert_ne!(id(&one), id(&lines("One", "USD", &months, &data)));
        assert!(one.contains(&format!("<title id=\"{}\">One</title>", id(&one))));
        assert!(one.contains(" width=\"100%\"") && one.contains(" role=\"img\""));
    }

    #[test]
    fn many_categories_rotate_and_thin_their_labels() {
        let days: Vec<String> = (1..=60).map(|d| format!("2026-05-{d:02}")).collect();
        let svg = stacked_bars("Daily", "USD", &days, &[series("A", &["1"; 60])], None);
        assert_well_formed(&svg);
        let labels = tags(&svg, "text").into_iter().filter(|t| t.contains("rotate(-40 ")).count();
        assert!((10..60).contains(&labels), "{labels}");
        assert_eq!(tags(&svg, "rect class=\"seg\"").len(), 60);
    }

    #[test]
    fn counts_are_whole_numbers() {
        assert_eq!(count_text("2670"), "2,670");
        assert_eq!(count_text("-1000000"), "-1,000,000");
        assert_eq!(count_text("7"), "7");
        assert_eq!(count_text("2.5"), "2.50");
        let svg = count_bars("Assets by state", "assets", &[("in-use".into(), Point::new("2670"))]);
        assert!(svg.contains(">2,670<") && svg.contains("in-use: 2,670 assets"), "{svg}");
        assert!(!svg.contains("2,670.00"));
    }
}
