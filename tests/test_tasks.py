"""lmbook.tasks: seeded generators and baselines; the Django loader of lmbook.data."""

import datetime
import re

import pytest

from lmbook import data, tasks


def test_dates_deterministic_and_correct():
    a, b = tasks.date_pairs(200, seed=3), tasks.date_pairs(200, seed=3)
    assert a == b and a != tasks.date_pairs(200, seed=4)
    assert all(re.fullmatch(r"(19[5-9]\d|20[0-4]\d)-\d\d-\d\d", iso) for _, iso in a)
    assert len({src for src, _ in a}) > 190
    assert (
        tasks.date_pairs(1, formats=[("de_DE", "dd.MM.y")], seed=0)[0][0].count(".")
        == 2
    )


def test_held_out_dates_are_never_written_by_a_training_format():
    from babel.dates import format_date

    held = tasks.held_out_date_pairs(60, seed=3)
    assert held == tasks.held_out_date_pairs(60, seed=3)
    assert list(held) == list(tasks.HELD_OUT_DATE_FORMATS)
    assert not set(held) & set(tasks.DATE_FORMATS)
    for pairs in held.values():
        assert 0 < len(pairs) <= 60
        for text, iso in pairs:
            day = datetime.date.fromisoformat(iso)
            written = {format_date(day, p, locale=loc) for loc, p in tasks.DATE_FORMATS}
            assert text not in written
    # "mars", "mai", "juin", "août": the same word in both widths, so dropped
    french = held[("fr_FR", "d MMM y")]
    assert len(french) < 60 and not any("mars" in text for text, _ in french)
    one = tasks.held_out_date_pairs(5, seed=3, formats=[("nl_NL", "d MMMM y")])
    assert list(one) == [("nl_NL", "d MMMM y")] and len(one[("nl_NL", "d MMMM y")]) == 5


def test_date_layout_and_words():
    assert tasks.date_layout("Wed, Jan 8, 2020") == "A, A 9, 9"
    assert tasks.date_layout("8. März 2020") == "9. A 9"
    assert tasks.date_layout("19.07.2033") == "9.9.9"
    assert tasks.date_words("mercoledì 8 gennaio 2020") == ["mercoledì", "gennaio"]
    assert tasks.date_words("8 de janv. de 2020") == ["de", "janv", "de"]
    assert tasks.date_words("1/8/2020") == []


def test_numbers_deterministic_both_directions():
    a = tasks.number_pairs(50, seed=1)
    assert a == tasks.number_pairs(50, seed=1)
    back = tasks.number_pairs(50, seed=1, direction="to_digits")
    for (src, words), (src2, digits) in zip(a, back):
        lang, number = src.split("|")
        assert src2 == f"{lang}|{words}" and digits == number
    assert all(
        len(s.split("|")[1]) <= 3 for s, _ in tasks.number_pairs(40, max_digits=3)
    )


def test_django_pairs_and_baselines():
    pairs = data.load_django_translations("fr")
    assert len(pairs) > 700 and ("Arabic", "Arabe") in pairs
    assert len({e for e, _ in pairs}) == len(pairs)
    train, test = tasks.split_pairs(pairs, 0.2, seed=0)
    assert len(test) == round(0.2 * len(pairs)) and not set(train) & set(test)
    d = tasks.word_dictionary(train)
    assert d["Enter"] in {"Saisissez", "Saisir"}
    out = tasks.dictionary_baseline(["Enter a number ."], d)[0]
    assert out.startswith(d["Enter"])
    assert tasks.copy_baseline(["x"]) == ["x"]
    assert tasks.tokenize("Hi %(name)s, ok?") == ["Hi", "%(name)s", ",", "ok", "?"]
    text = "Saisissez l’adresse (valide), svp."
    assert tasks.detokenize(tasks.tokenize(text)) == text


def test_parse_po():
    text = (
        'msgid ""\nmsgstr "header"\n\n#, fuzzy\nmsgid "a"\nmsgstr "b"\n\n'
        'msgctxt "x"\nmsgid "One"\nmsgid_plural "Many"\nmsgstr[0] "Un"\n'
        'msgstr[1] "Des"\n\nmsgid "Say \\"hi\\""\nmsgstr ""\n"Dis "\n"\\"salut\\""\n'
    )
    assert data.parse_po(text) == [("One", "Un"), ('Say "hi"', 'Dis "salut"')]
    with pytest.raises(ValueError, match="malformed"):
        data.parse_po("nonsense here\n")


def test_bad_input_raises_clear_errors():
    with pytest.raises(TypeError, match="n must be an int"):
        tasks.date_pairs(2.0)
    with pytest.raises(ValueError, match="n must be >= 1"):
        tasks.number_pairs(0)
    with pytest.raises(ValueError, match="direction"):
        tasks.number_pairs(3, direction="sideways")
    with pytest.raises(ValueError, match="formats"):
        tasks.date_pairs(3, formats="d MMMM y")
    with pytest.raises(TypeError, match="seed"):
        tasks.date_pairs(3, seed="zero")
    with pytest.raises(ValueError, match="no catalogue"):
        data.load_django_translations("xx")
    with pytest.raises(ValueError, match="test_fraction"):
        tasks.split_pairs([(1, 2), (3, 4)], 1.5)
    with pytest.raises(TypeError, match="text"):
        tasks.tokenize(3)
    with pytest.raises(TypeError, match="text"):
        tasks.date_layout(None)
    with pytest.raises(TypeError, match="text"):
        tasks.date_words(["8 May 2020"])
    with pytest.raises(ValueError, match="formats"):
        tasks.held_out_date_pairs(3, formats=[])
    with pytest.raises(ValueError, match="each format"):
        tasks.held_out_date_pairs(3, train_formats=["d MMMM y"])
    with pytest.raises(ValueError, match="n must be >= 1"):
        tasks.held_out_date_pairs(0)
