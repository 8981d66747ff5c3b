//! Pictures of a drawn screen for places without a terminal: a standalone SVG (the README, a
//! chat attachment), ANSI text (`less -R`, a terminal log) and JSON (a bot that draws its own).
//! Pure functions of a [`Buffer`] and the [`Theme`]; `snapshot --format` only wires them.
//!
//! Every cell's text is sanitised again here, whatever the model did, so a picture can carry
//! no control character: the SVG is escaped XML with no script, link, external font or
//! `foreignObject`; the ANSI text holds no escape sequence but the SGR ones written here.
//!
//! Colours: `Rgb` as given; the 16 named colours and `Indexed` 0-15 as xterm's default palette
//! ([`XTERM_16`]); `Indexed` 16-255 as xterm's 256-colour table; `Reset` as the theme's `base`
//! colours, or where the theme leaves those to the terminal, as a terminal of the theme's kind
//! shows them ([`Canvas::of`]).

use ratatui::buffer::{Buffer, Cell};
use ratatui::style::{Color, Modifier};

use super::Theme;
use crate::model::text::sanitize;

/// What `snapshot --format` writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Text,
    Svg,
    Ansi,
    Json,
}

impl Format {
    pub const ALL: [Format; 4] = [Format::Text, Format::Svg, Format::Ansi, Format::Json];

    pub fn name(self) -> &'static str {
        match self {
            Format::Text => "text",
            Format::Svg => "svg",
            Format::Ansi => "ansi",
            Format::Json => "json",
        }
    }
}

/// A colour as the picture paints it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rgb(pub u8, pub u8, pub u8);

impl Rgb {
    /// `#rrggbb`, as SVG and the JSON write it.
    pub fn hex(self) -> String {
        format!("#{:02x}{:02x}{:02x}", self.0, self.1, self.2)
    }

    /// Relative luminance (WCAG), 0 for black to 1 for white.
    fn luminance(self) -> f64 {
        let lin = |c: u8| {
            let c = f64::from(c) / 255.0;
            if c <= 0.039_28 {
                c / 12.92
            } else {
                ((c + 0.055) / 1.055).powf(2.4)
            }
        };
        0.2126 * lin(self.0) + 0.7152 * lin(self.1) + 0.0722 * lin(self.2)
    }
}

/// The 16 named colours, in ANSI order (black, red, green, yellow, blue, magenta, cyan, gray,
/// dark gray, then the light ones, white last): xterm's default palette, which its 256-colour
/// table starts with too, so `Color::Red` and `Color::Indexed(1)` paint alike.
pub const XTERM_16: [Rgb; 16] = [
    Rgb(0x00, 0x00, 0x00),
    Rgb(0xcd, 0x00, 0x00),
    Rgb(0x00, 0xcd, 0x00),
    Rgb(0xcd, 0xcd, 0x00),
    Rgb(0x00, 0x00, 0xee),
    Rgb(0xcd, 0x00, 0xcd),
    Rgb(0x00, 0xcd, 0xcd),
    Rgb(0xe5, 0xe5, 0xe5),
    Rgb(0x7f, 0x7f, 0x7f),
    Rgb(0xff, 0x00, 0x00),
    Rgb(0x00, 0xff, 0x00),
    Rgb(0xff, 0xff, 0x00),
    Rgb(0x5c, 0x5c, 0xff),
    Rgb(0xff, 0x00, 0xff),
    Rgb(0x00, 0xff, 0xff),
    Rgb(0xff, 0xff, 0xff),
];

/// A dark terminal's default text and background, for themes that leave them to the terminal.
pub const DARK_CANVAS: Canvas = Canvas {
    fg: Rgb(0xe5, 0xe5, 0xe5),
    bg: Rgb(0x12, 0x12, 0x12),
};

/// A light terminal's default text and background.
pub const LIGHT_CANVAS: Canvas = Canvas {
    fg: Rgb(0x00, 0x00, 0x00),
    bg: Rgb(0xff, 0xff, 0xff),
};

/// A colour of xterm's 256-colour table.
pub fn xterm_256(index: u8) -> Rgb {
    match index {
        0..=15 => XTERM_16[usize::from(index)],
        16..=231 => {
            let level = |v: u8| if v == 0 { 0 } else { 55 + v * 40 };
            let i = index - 16;
            Rgb(level(i / 36), level((i / 6) % 6), level(i % 6))
        }
        _ => {
            let v = 8 + (index - 232) * 10;
            Rgb(v, v, v)
        }
    }
}

/// The colour a cell's `color` paints, `reset` standing for the terminal's default.
pub fn rgb_of(color: Color, reset: Rgb) -> Rgb {
    let named = |i: usize| XTERM_16[i];
    match color {
        Color::Reset => reset,
        Color::Black => named(0),
        Color::Red => named(1),
        Color::Green => named(2),
        Color::Yellow => named(3),
        Color::Blue => named(4),
        Color::Magenta => named(5),
        Color::Cyan => named(6),
        Color::Gray => named(7),
        Color::DarkGray => named(8),
        Color::LightRed => named(9),
        Color::LightGreen => named(10),
        Color::LightYellow => named(11),
        Color::LightBlue => named(12),
        Color::LightMagenta => named(13),
        Color::LightCyan => named(14),
        Color::White => named(15),
        Color::Indexed(i) => xterm_256(i),
        Color::Rgb(r, g, b) => Rgb(r, g, b),
    }
}

/// The picture's default text and background: what `Color::Reset` paints.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Canvas {
    pub fg: Rgb,
    pub bg: Rgb,
}

impl Canvas {
    /// The theme's `base` colours where it sets them. Where it leaves them to the terminal
    /// (the dark and light themes do), the picture paints the terminal the theme is made for:
    /// a light one when the theme's text (`base` fg, else `hint`) is a dark colour, as in the
    /// light theme, else a dark one.
    pub fn of(theme: &Theme) -> Self {
        let set = |c: Option<Color>| c.filter(|c| *c != Color::Reset);
        let text = set(theme.base.fg).or(set(theme.hint.fg));
        let terminal = match text {
            Some(c) if rgb_of(c, DARK_CANVAS.fg).luminance() < 0.2 => LIGHT_CANVAS,
            _ => DARK_CANVAS,
        };
        Canvas {
            fg: set(theme.base.fg).map_or(terminal.fg, |c| rgb_of(c, terminal.fg)),
            bg: set(theme.base.bg).map_or(terminal.bg, |c| rgb_of(c, terminal.bg)),
        }
    }
}

/// How a cell looks once its colours are resolved and `REVERSED` and `HIDDEN` applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Look {
    fg: Rgb,
    bg: Rgb,
    /// Bold, dim, italic, underlined, crossed out (the rest are applied or ignored).
    modifier: Modifier,
}

const DRAWN: Modifier = Modifier::BOLD
    .union(Modifier::DIM)
    .union(Modifier::ITALIC)
    .union(Modifier::UNDERLINED)
    .union(Modifier::CROSSED_OUT);

impl Look {
    fn of(cell: &Cell, canvas: Canvas) -> Self {
        let mut fg = rgb_of(cell.fg, canvas.fg);
        let mut bg = rgb_of(cell.bg, canvas.bg);
        if cell.modifier.contains(Modifier::REVERSED) {
            std::mem::swap(&mut fg, &mut bg);
        }
        if cell.modifier.contains(Modifier::HIDDEN) {
            fg = bg;
        }
        Look {
            fg,
            bg,
            modifier: cell.modifier.intersection(DRAWN),
        }
    }

    /// A blank in this look shows nothing but its background.
    fn blank_is_invisible(self) -> bool {
        !self
            .modifier
            .intersects(Modifier::UNDERLINED | Modifier::CROSSED_OUT)
    }

    fn modifier_names(self) -> Vec<&'static str> {
        [
            (Modifier::BOLD, "bold"),
            (Modifier::DIM, "dim"),
            (Modifier::ITALIC, "italic"),
            (Modifier::UNDERLINED, "underlined"),
            (Modifier::CROSSED_OUT, "crossed_out"),
        ]
        .into_iter()
        .filter(|(m, _)| self.modifier.contains(*m))
        .map(|(_, name)| name)
        .collect()
    }
}

/// One glyph on a row: where it starts, how many cells it covers (2 for a wide character)
/// and its text, sanitised.
struct Glyph<'a> {
    x: u16,
    width: u16,
    text: std::borrow::Cow<'a, str>,
    cell: &'a Cell,
}

/// The glyphs of row `y`, left to right; the cells a wide glyph covers are skipped.
fn glyphs(buf: &Buffer, y: u16) -> Vec<Glyph<'_>> {
    let area = buf.area;
    let mut out = Vec::with_capacity(usize::from(area.width));
    let mut x = area.left();
    while x < area.right() {
        let cell = &buf[(x, y)];
        let text = sanitize(cell.symbol());
        let text = if text.is_empty() {
            std::borrow::Cow::Borrowed(" ")
        } else {
            text
        };
        let width = u16::try_from(super::unicode_width(&text))
            .unwrap_or(1)
            .clamp(1, area.right() - x);
        out.push(Glyph {
            x: x - area.left(),
            width,
            text,
            cell,
        });
        x += width;
    }
    out
}

/// Consecutive glyphs of one look.
struct Run {
    x: u16,
    width: u16,
    text: String,
    look: Look,
}

fn runs(glyphs: &[Glyph<'_>], canvas: Canvas, same: impl Fn(&Look, &Look) -> bool) -> Vec<Run> {
    let mut out: Vec<Run> = Vec::new();
    for g in glyphs {
        let look = Look::of(g.cell, canvas);
        match out.last_mut() {
            Some(run) if same(&run.look, &look) => {
                run.width += g.width;
                run.text.push_str(&g.text);
            }
            _ => out.push(Run {
                x: g.x,
                width: g.width,
                text: g.text.to_string(),
                look,
            }),
        }
    }
    out
}

/// Text of one row with XML's five specials escaped; characters XML 1.0 cannot hold at all
/// (after sanitising, only U+FFFE and U+FFFF) become U+FFFD.
fn xml_escape(text: &str, out: &mut String) {
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\u{fffe}' | '\u{ffff}' => out.push('\u{fffd}'),
            c if c.is_control() => out.push('\u{fffd}'),
            c => out.push(c),
        }
    }
}

/// The SVG's grid: a cell is 0.6 em wide (a monospace advance) and 1.3 em tall.
const FONT_SIZE: f64 = 14.0;
const CELL_W: f64 = 8.4;
const CELL_H: f64 = 18.0;
/// From a row's top to the text's baseline.
const BASELINE: f64 = 13.5;

/// Monospace faces most systems have, then the generic family; nothing is downloaded.
pub const FONT_FAMILY: &str = "ui-monospace, 'SF Mono', Menlo, 'Cascadia Mono', Consolas, \
                               'DejaVu Sans Mono', 'Liberation Mono', monospace";

fn num(v: f64) -> String {
    let s = format!("{v:.1}");
    s.strip_suffix(".0")
        .map_or_else(|| s.clone(), str::to_string)
}

/// The screen as a standalone SVG: one `<rect>` per run of a background other than the
/// canvas, one `<text>` per run of one look, stretched with `textLength` to exactly its cells
/// so columns line up whatever monospace face the viewer has. `title` names the picture for
/// screen readers.
pub fn to_svg(buf: &Buffer, theme: &Theme, title: &str) -> String {
    use std::fmt::Write;
    let canvas = Canvas::of(theme);
    let area = buf.area;
    let (w, h) = (
        f64::from(area.width) * CELL_W,
        f64::from(area.height) * CELL_H,
    );
    let mut svg = String::new();
    let _ = write!(
        svg,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{h}\" \
         viewBox=\"0 0 {w} {h}\" font-family=\"{FONT_FAMILY}\" font-size=\"{fs}\" \
         xml:space=\"preserve\" style=\"white-space:pre\">\n<title>",
        w = num(w),
        h = num(h),
        fs = num(FONT_SIZE),
    );
    xml_escape(title, &mut svg);
    let _ = writeln!(
        svg,
        "</title>\n<rect width=\"100%\" height=\"100%\" fill=\"{}\"/>",
        canvas.bg.hex()
    );
    let rows: Vec<Vec<Glyph<'_>>> = (area.top()..area.bottom())
        .map(|y| glyphs(buf, y))
        .collect();
    svg.push_str("<g shape-rendering=\"crispEdges\">\n");
    for (row, glyphs) in rows.iter().enumerate() {
        let top = row as f64 * CELL_H;
        for run in runs(glyphs, canvas, |a, b| a.bg == b.bg) {
            if run.look.bg == canvas.bg {
                continue;
            }
            let _ = writeln!(
                svg,
                "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"{}\"/>",
                num(f64::from(run.x) * CELL_W),
                num(top),
                num(f64::from(run.width) * CELL_W),
                num(CELL_H),
                run.look.bg.hex()
            );
        }
    }
    svg.push_str("</g>\n<g>\n");
    for (row, glyphs) in rows.iter().enumerate() {
        let baseline = row as f64 * CELL_H + BASELINE;
        let same_text = |a: &Look, b: &Look| a.fg == b.fg && a.modifier == b.modifier;
        for run in runs(glyphs, canvas, same_text) {
            let (x, width, text) = if run.look.blank_is_invisible() {
                let lead = run.text.len() - run.text.trim_start_matches(' ').len();
                let text = run.text.trim_matches(' ');
                if text.is_empty() {
                    continue;
                }
                let trail = run.text.len() - lead - text.len();
                // Spaces are one byte and one cell each.
                let cut = u16::try_from(lead + trail).unwrap_or(run.width);
                (
                    run.x + u16::try_from(lead).unwrap_or(0),
                    run.width.saturating_sub(cut),
                    text,
                )
            } else {
                (run.x, run.width, run.text.as_str())
            };
            let _ = write!(
                svg,
                "<text x=\"{}\" y=\"{}\" textLength=\"{}\" lengthAdjust=\"spacingAndGlyphs\" \
                 fill=\"{}\"",
                num(f64::from(x) * CELL_W),
                num(baseline),
                num(f64::from(width) * CELL_W),
                run.look.fg.hex()
            );
            let m = run.look.modifier;
            if m.contains(Modifier::BOLD) {
                svg.push_str(" font-weight=\"bold\"");
            }
            if m.contains(Modifier::ITALIC) {
                svg.push_str(" font-style=\"italic\"");
            }
            if m.contains(Modifier::DIM) {
                svg.push_str(" opacity=\"0.6\"");
            }
            match (
                m.contains(Modifier::UNDERLINED),
                m.contains(Modifier::CROSSED_OUT),
            ) {
                (true, true) => svg.push_str(" text-decoration=\"underline line-through\""),
                (true, false) => svg.push_str(" text-decoration=\"underline\""),
                (false, true) => svg.push_str(" text-decoration=\"line-through\""),
                (false, false) => {}
            }
            svg.push('>');
            xml_escape(text, &mut svg);
            svg.push_str("</text>\n");
        }
    }
    svg.push_str("</g>\n</svg>\n");
    svg
}

/// A blank cell that shows nothing on a terminal: dropped at the end of a line.
fn shows_nothing(g: &Glyph<'_>) -> bool {
    g.text == " "
        && g.cell.bg == Color::Reset
        && !g
            .cell
            .modifier
            .intersects(Modifier::REVERSED | Modifier::UNDERLINED | Modifier::CROSSED_OUT)
}

/// The glyphs of a row without the trailing ones that show nothing.
fn trimmed<'a, 'b>(glyphs: &'b [Glyph<'a>]) -> &'b [Glyph<'a>] {
    let end = glyphs
        .iter()
        .rposition(|g| !shows_nothing(g))
        .map_or(0, |i| i + 1);
    &glyphs[..end]
}

fn sgr_colour(color: Color, foreground: bool, out: &mut Vec<String>) {
    let (base, bright, extended) = if foreground {
        (30, 90, 38)
    } else {
        (40, 100, 48)
    };
    let code = match color {
        Color::Reset => return,
        Color::Black => base,
        Color::Red => base + 1,
        Color::Green => base + 2,
        Color::Yellow => base + 3,
        Color::Blue => base + 4,
        Color::Magenta => base + 5,
        Color::Cyan => base + 6,
        Color::Gray => base + 7,
        Color::DarkGray => bright,
        Color::LightRed => bright + 1,
        Color::LightGreen => bright + 2,
        Color::LightYellow => bright + 3,
        Color::LightBlue => bright + 4,
        Color::LightMagenta => bright + 5,
        Color::LightCyan => bright + 6,
        Color::White => bright + 7,
        Color::Indexed(i) => {
            out.push(format!("{extended};5;{i}"));
            return;
        }
        Color::Rgb(r, g, b) => {
            out.push(format!("{extended};2;{r};{g};{b}"));
            return;
        }
    };
    out.push(code.to_string());
}

/// `ESC [ 0 ; … m` for a cell's colours and modifiers, starting from a reset.
fn sgr(cell: &Cell) -> String {
    let mut codes = vec!["0".to_string()];
    for (m, code) in [
        (Modifier::BOLD, "1"),
        (Modifier::DIM, "2"),
        (Modifier::ITALIC, "3"),
        (Modifier::UNDERLINED, "4"),
        (Modifier::REVERSED, "7"),
        (Modifier::HIDDEN, "8"),
        (Modifier::CROSSED_OUT, "9"),
    ] {
        if cell.modifier.contains(m) {
            codes.push(code.to_string());
        }
    }
    sgr_colour(cell.fg, true, &mut codes);
    sgr_colour(cell.bg, false, &mut codes);
    format!("\u{1b}[{}m", codes.join(";"))
}

/// The screen as text with SGR sequences for its colours and styles, the terminal's own
/// palette and default colours, so it reads right in the terminal it is printed on. Nothing
/// but SGR: no cursor move, no OSC. Each line ends with a reset (`ESC [ 0 m`); blanks that
/// show nothing are trimmed off its end.
pub fn to_ansi(buf: &Buffer) -> String {
    let area = buf.area;
    let mut out = String::new();
    for y in area.top()..area.bottom() {
        let glyphs = glyphs(buf, y);
        let mut current: Option<(Color, Color, Modifier)> = None;
        for g in trimmed(&glyphs) {
            let style = (g.cell.fg, g.cell.bg, g.cell.modifier);
            if current != Some(style) {
                out.push_str(&sgr(g.cell));
                current = Some(style);
            }
            out.push_str(&g.text);
        }
        out.push_str("\u{1b}[0m\n");
    }
    out
}

/// The screen as JSON (documented in docs/usage.md, "Pictures"):
/// `{view, width, height, foreground, background, lines, runs}`. `lines` is the text, as
/// `--format text` prints it; `runs[i]` is row i as runs of one look,
/// `{x, width, text, fg, bg, modifiers}`, colours resolved as in the SVG.
pub fn to_json(buf: &Buffer, theme: &Theme, view: &str) -> serde_json::Value {
    let canvas = Canvas::of(theme);
    let area = buf.area;
    let mut lines = Vec::new();
    let mut rows = Vec::new();
    for y in area.top()..area.bottom() {
        let glyphs = glyphs(buf, y);
        let line: String = glyphs.iter().map(|g| g.text.as_ref()).collect();
        lines.push(serde_json::Value::String(line.trim_end().to_string()));
        let row: Vec<serde_json::Value> = runs(trimmed(&glyphs), canvas, |a, b| a == b)
            .into_iter()
            .map(|run| {
                serde_json::json!({
                    "x": run.x,
                    "width": run.width,
                    "text": run.text,
                    "fg": run.look.fg.hex(),
                    "bg": run.look.bg.hex(),
                    "modifiers": run.look.modifier_names(),
                })
            })
            .collect();
        rows.push(serde_json::Value::Array(row));
    }
    serde_json::json!({
        "view": view,
        "width": area.width,
        "height": area.height,
        "foreground": canvas.fg.hex(),
        "background": canvas.bg.hex(),
        "lines": lines,
        "runs": rows,
    })
}

#[cfg(test)]
mod tests;
