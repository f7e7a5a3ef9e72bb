"""Handlers for the LibreTranslate-compatible /translate, /languages, /detect, and the native
/v1/skills/translate: thin translations onto the translate skill."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fastapi import Request
from fastapi.responses import JSONResponse

from assistant.api import translate as W
from assistant.daemon.apps import AppIdentity
from assistant.daemon.handlers import Handler, HandlerContext

if TYPE_CHECKING:
    from skills.translate import TranslateSkill
    from skills.translate.base import Quality

# LibreTranslate answers with language names; py3langid knows only codes. Unlisted codes show as the code.
NAMES = {
    "ar": "Arabic",
    "bg": "Bulgarian",
    "ca": "Catalan",
    "cs": "Czech",
    "da": "Danish",
    "de": "German",
    "el": "Greek",
    "en": "English",
    "eo": "Esperanto",
    "es": "Spanish",
    "et": "Estonian",
    "fa": "Persian",
    "fi": "Finnish",
    "fr": "French",
    "ga": "Irish",
    "gl": "Galician",
    "he": "Hebrew",
    "hi": "Hindi",
    "hu": "Hungarian",
    "id": "Indonesian",
    "is": "Icelandic",
    "it": "Italian",
    "ja": "Japanese",
    "ko": "Korean",
    "lt": "Lithuanian",
    "lv": "Latvian",
    "ms": "Malay",
    "nb": "Norwegian Bokmål",
    "nl": "Dutch",
    "pl": "Polish",
    "pt": "Portuguese",
    "ro": "Romanian",
    "ru": "Russian",
    "sk": "Slovak",
    "sl": "Slovenian",
    "sq": "Albanian",
    "sv": "Swedish",
    "th": "Thai",
    "tl": "Tagalog",
    "tr": "Turkish",
    "uk": "Ukrainian",
    "ur": "Urdu",
    "vi": "Vietnamese",
    "zh": "Chinese",
}
PIVOT = "en"


def _skill(ctx: HandlerContext) -> TranslateSkill:
    return ctx.services.skill("translate")


def _targets(pairs: list[str]) -> dict[str, list[str]]:
    """Return, per source language, the targets a dedicated model reaches directly or through English."""
    direct: dict[str, set[str]] = {}
    for p in pairs:
        a, b = p.split("-", 1)
        direct.setdefault(a, set()).add(b)
        direct.setdefault(b, set())
    out: dict[str, list[str]] = {}
    for src, tgts in direct.items():
        reach = set(tgts)
        if src != PIVOT and PIVOT in tgts:
            reach |= direct.get(PIVOT, set())
        reach.discard(src)
        out[src] = sorted(reach)
    return out


def _lt_translate_sync(
    skill: Any, body: W.LibreTranslateRequest
) -> tuple[W.LibreTranslateResponse, list[Any]]:
    from skills.translate import TranslateOptions

    texts, outs, detected, results = body.texts(), [], [], []
    source, target = body.source.lower(), body.target.lower()
    for text in texts:
        if source == "auto" and not any(ch.isalpha() for ch in text):
            # nothing to detect or translate (numbers, punctuation): LibreTranslate echoes such text
            outs.append(text)
            detected.append(W.DetectedLanguage(language=target, confidence=0.0))
            continue
        r = skill.translate(text, TranslateOptions(source=source, target=target))
        results.append(r)
        outs.append(r.text)
        if r.detected is not None:
            detected.append(
                W.DetectedLanguage(
                    language=r.detected.language, confidence=round(r.detected.confidence * 100, 2)
                )
            )
    single = isinstance(body.q, str)
    # no engine here offers alternatives: an empty list per text, in LibreTranslate's shape
    empty: list[list[str]] = [[] for _ in outs]
    no_alternatives: list[str] | list[list[str]] = [] if single else empty
    resp = W.LibreTranslateResponse(
        translatedText=outs[0] if single else outs,
        detectedLanguage=(detected[0] if single else detected) if source == "auto" and detected else None,
        alternatives=no_alternatives if body.alternatives else None,
    )
    return resp, results


async def lt_translate(
    ctx: HandlerContext, body: W.LibreTranslateRequest, app: AppIdentity, request: Request
) -> Any:
    if len(body.texts()) > W.MAX_TEXTS:
        from assistant.daemon.errors import BadRequest

        raise BadRequest(
            f"q holds {len(body.texts())} texts, over the limit of {W.MAX_TEXTS}",
            "send fewer texts per request",
            field="q",
        )
    resp, results = await ctx.to_thread(_lt_translate_sync, _skill(ctx), body)
    # said in the body and in headers, so a lower-quality chat-model translation is never passed off
    # as a dedicated model's
    quality: Quality = "lower" if any(r.quality == "lower" for r in results) else "high"
    engines = "+".join(sorted({r.engine for r in results})) or "none"
    resp.engine, resp.quality = engines, quality
    return JSONResponse(
        resp.model_dump(exclude_none=True),
        headers={"X-Translation-Quality": quality, "X-Translation-Engine": engines},
    )


async def lt_languages(ctx: HandlerContext, body: None, app: AppIdentity, request: Request) -> W.LanguageList:
    skill = await ctx.to_thread(_skill, ctx)
    pairs = await ctx.to_thread(skill.pairs)
    return W.LanguageList(
        [
            W.LanguageInfo(code=code, name=NAMES.get(code, code), targets=targets)
            for code, targets in sorted(_targets(pairs).items())
        ]
    )


async def lt_detect(
    ctx: HandlerContext, body: W.DetectRequest, app: AppIdentity, request: Request
) -> W.DetectionList:
    if not any(ch.isalpha() for ch in body.q):
        return W.DetectionList([])
    found = await ctx.to_thread(_skill(ctx).detect, body.q)
    return W.DetectionList(
        [W.DetectedLanguage(language=d.language, confidence=round(d.confidence * 100, 2)) for d in found]
    )


async def translate(
    ctx: HandlerContext, body: W.TranslateRequest, app: AppIdentity, request: Request
) -> W.TranslateResponse:
    from skills.translate import TranslateOptions

    opts = TranslateOptions(
        source=body.source.lower(), target=body.target.lower(), engine=body.engine, allow_llm=body.allow_llm
    )
    r = await ctx.to_thread(_skill(ctx).translate, body.text, opts)
    return W.TranslateResponse(
        text=r.text,
        source=r.source,
        target=r.target,
        engine=r.engine,
        quality=r.quality,
        route=[W.RouteHop(engine=h.engine, direction=h.direction, quality=h.quality) for h in r.route],
        detected=W.Detection(language=r.detected.language, confidence=r.detected.confidence)
        if r.detected
        else None,
        sentences=r.sentences,
        cached_sentences=r.cached_sentences,
        seconds=round(r.seconds, 4),
    )


async def pairs(ctx: HandlerContext, body: None, app: AppIdentity, request: Request) -> W.PairsResponse:
    skill = await ctx.to_thread(_skill, ctx)
    return W.PairsResponse(
        pairs=skill.pairs(), languages=skill.languages(), llm_fallback=skill.llm is not None
    )


def handlers() -> dict[str, Handler]:
    return {
        "lt_translate": lt_translate,
        "lt_languages": lt_languages,
        "lt_detect": lt_detect,
        "translate": translate,
        "translate_pairs": pairs,
    }
