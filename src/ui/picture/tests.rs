use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};

use super::*;

fn theme(name: &str) -> Theme {
    let spec = crate::config::theme::builtin(name)
        .expect("a built-in theme")
        .expect("it parses");
    Theme::from(&spec)
}

#[test]
fn xterm_256_table_has_its_cube_and_gray_ramp() {
    assert_eq!(xterm_256(1), Rgb(0xcd, 0, 0));
    assert_eq!(xterm_256(16), Rgb(0, 0, 0));
    assert_eq!(xterm_256(25).hex(), "#005faf");
    assert_eq!(xterm_256(196), Rgb(0xff, 0, 0));
    assert_eq!(xterm_256(231), Rgb(0xff, 0xff, 0xff));
    assert_eq!(xterm_256(232), Rgb(8, 8, 8));
    assert_eq!(xterm_256(240).hex(), "#585858");
    assert_eq!(xterm_256(255), Rgb(0xee, 0xee, 0xee));
    assert_eq!(rgb_of(Color::Red, Rgb(1, 2, 3)), xterm_256(1));
    assert_eq!(rgb_of(Color::Reset, Rgb(1, 2, 3)), Rgb(1, 2, 3));
    assert_eq!(rgb_of(Color::Rgb(1, 2, 3), Rgb(0, 0, 0)).hex(), "#010203");
}

#[test]
fn reset_paints_the_theme_base_or_the_terminal_the_theme_is_made_for() {
    assert_eq!(Canvas::of(&Theme::dark()), DARK_CANVAS);
    assert_eq!(Canvas::of(&Theme::monochrome()), DARK_CANVAS);
    assert_eq!(Canvas::of(&theme("light")), LIGHT_CANVAS);
    assert_eq!(
        Canvas::of(&theme("high-contrast")),
        Canvas {
            fg: XTERM_16[15],
            bg: XTERM_16[0]
        }
    );
}

fn buffer(lines: &[&str]) -> Buffer {
    let width = lines.iter().map(|l| l.chars().count()).max().unwrap_or(1) as u16;
    let mut buf = Buffer::empty(Rect::new(0, 0, width, lines.len() as u16));
    for (y, line) in lines.iter().enumerate() {
        buf.set_string(0, y as u16, line, Style::new());
    }
    buf
}

#[test]
fn a_wide_character_takes_two_cells_and_the_next_text_starts_after_them() {
    let mut buf = buffer(&["          "]);
    buf.set_string(0, 0, "日本", Style::new().fg(Color::Red));
    buf.set_string(4, 0, "ab", Style::new().fg(Color::Green));
    let svg = to_svg(&buf, &Theme::dark(), "t");
    assert!(
        svg.contains(r##"<text x="0" y="13.5" textLength="33.6" lengthAdjust="spacingAndGlyphs" fill="#cd0000">日本</text>"##),
        "{svg}"
    );
    assert!(
        svg.contains(r##"x="33.6" y="13.5" textLength="16.8""##),
        "{svg}"
    );
    assert_eq!(to_json(&buf, &Theme::dark(), "v")["lines"][0], "日本ab");
}

#[test]
fn runs_merge_by_style_and_backgrounds_merge_per_row() {
    let mut buf = buffer(&["          "]);
    buf.set_string(0, 0, "ab  cd", Style::new().bg(Color::Blue));
    buf.set_style(
        Rect::new(4, 0, 2, 1),
        Style::new().add_modifier(Modifier::BOLD),
    );
    let svg = to_svg(&buf, &Theme::dark(), "t");
    assert_eq!(svg.matches("<rect x=").count(), 1, "{svg}");
    assert!(svg.contains(r##"<rect x="0" y="0" width="50.4" height="18" fill="#0000ee"/>"##));
    assert_eq!(svg.matches("<text").count(), 2, "{svg}");
    assert!(svg.contains(r#"font-weight="bold">cd</text>"#), "{svg}");
    let json = to_json(&buf, &Theme::dark(), "v");
    let runs = json["runs"][0].as_array().unwrap();
    assert_eq!(runs.len(), 2, "{json}");
    assert_eq!(runs[0]["text"], "ab  ");
    assert_eq!(runs[1]["modifiers"][0], "bold");
}

#[test]
fn reversed_swaps_colours_and_dim_underline_italic_are_drawn() {
    let mut buf = buffer(&["abcd"]);
    buf.set_style(
        Rect::new(0, 0, 1, 1),
        Style::new()
            .fg(Color::Yellow)
            .add_modifier(Modifier::REVERSED),
    );
    buf.set_style(
        Rect::new(1, 0, 1, 1),
        Style::new().add_modifier(Modifier::DIM),
    );
    buf.set_style(
        Rect::new(2, 0, 1, 1),
        Style::new().add_modifier(Modifier::UNDERLINED | Modifier::ITALIC),
    );
    let svg = to_svg(&buf, &Theme::dark(), "t");
    assert!(
        svg.contains(r##"fill="#cdcd00"/>"##),
        "background yellow: {svg}"
    );
    assert!(svg.contains(r##"fill="#121212">a</text>"##), "{svg}");
    assert!(svg.contains(r#"opacity="0.6">b</text>"#), "{svg}");
    assert!(
        svg.contains(r#"font-style="italic" text-decoration="underline">c</text>"#),
        "{svg}"
    );
}

#[test]
fn ansi_writes_sgr_for_each_change_and_resets_every_line() {
    let mut buf = buffer(&["ab   ", "     "]);
    buf.set_style(
        Rect::new(0, 0, 1, 1),
        Style::new()
            .fg(Color::Indexed(25))
            .bg(Color::Rgb(1, 2, 3))
            .add_modifier(Modifier::BOLD),
    );
    assert_eq!(
        to_ansi(&buf),
        "\u{1b}[0;1;38;5;25;48;2;1;2;3ma\u{1b}[0mb\u{1b}[0m\n\u{1b}[0m\n"
    );
}

#[test]
fn control_characters_and_xml_specials_never_reach_a_picture_raw() {
    let mut buf = buffer(&["<script>&\"'      \u{ffff}"]);
    // Straight into the cells: ratatui's text drawing would drop them before we saw them.
    for (x, symbol) in ["\u{1b}", "[", "2", "J", "\u{9b}", "\u{7}"]
        .iter()
        .enumerate()
    {
        buf[(11 + x as u16, 0)].set_symbol(symbol);
    }
    let svg = to_svg(&buf, &Theme::dark(), "<&>");
    assert!(
        svg.contains(">&lt;script&gt;&amp;&quot;&apos;␛[2J�␇\u{fffd}</text>"),
        "{svg}"
    );
    assert!(svg.contains("<title>&lt;&amp;&gt;</title>"), "{svg}");
    assert!(to_ansi(&buf).contains("<script>&\"'␛[2J�␇\u{ffff}"));
    assert_eq!(
        to_json(&buf, &Theme::dark(), "v")["lines"][0],
        "<script>&\"'␛[2J�␇\u{ffff}"
    );
    for text in [
        svg,
        to_ansi(&buf),
        to_json(&buf, &Theme::dark(), "v").to_string(),
    ] {
        assert!(
            !text.contains('\u{9b}') && !text.contains('\u{7}'),
            "{text:?}"
        );
        assert!(!text.contains("\u{1b}[2J"), "{text:?}");
    }
}
