"""Attacker-controlled text is made visible, never interpreted."""

from stekker.text import visible


def test_controls_bidi_and_separators_become_escapes():
    nasty = "v=spf1 \x1b[2J\u202egnp.exe\x07\x00 \u2028x -all"
    assert visible(nasty) == "v=spf1 \\x1b[2J\\u202egnp.exe\\x07\\x00 \\u2028x -all"


def test_newlines_kept_only_when_asked_and_text_otherwise_unchanged():
    assert visible("a\nb") == "a\\x0ab"
    assert visible("a\nb", keep_newlines=True) == "a\nb"
    assert visible("gemeente’s zoë 🔌 <b>") == "gemeente’s zoë 🔌 <b>"


def test_shorten_cuts_a_long_value_and_says_so():
    from stekker.text import shorten

    assert shorten("abc") == "abc" and shorten(12345, 5) == "12345"
    assert shorten("x" * 100_000) == "x" * 59 + "…" and len(shorten("y" * 61)) == 60
