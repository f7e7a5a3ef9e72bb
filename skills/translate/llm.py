"""The lower-quality fallback: the default chat model translates pairs no dedicated model covers."""

from __future__ import annotations

from typing import Any, Sequence

from skills.translate.base import Quality

NAMES = {
    "en": "English",
    "pt": "Portuguese",
    "de": "German",
    "fr": "French",
    "es": "Spanish",
    "it": "Italian",
    "nl": "Dutch",
    "ru": "Russian",
    "zh": "Chinese",
    "ja": "Japanese",
    "ko": "Korean",
    "ar": "Arabic",
    "pl": "Polish",
    "tr": "Turkish",
    "sv": "Swedish",
    "uk": "Ukrainian",
    "cs": "Czech",
    "hi": "Hindi",
}


def language_name(code: str) -> str:
    """Return the English name of a language code, or the code itself."""
    return NAMES.get(code, code)


class LLMTranslator:
    """Asks the chat model for each sentence; marked quality="lower" so front ends can say so."""

    quality: Quality = "lower"
    directions: tuple[str, ...] = ("*",)

    def __init__(self, runtime: Any, model_id: str | None = None) -> None:
        self.runtime = runtime
        self.model_id = model_id or runtime.model_for("chat")
        self.name = f"llm:{self.model_id}"

    def translate_batch(self, texts: Sequence[str], direction: str) -> list[str]:
        from runtime.engines.base import ChatMessage, GenerationOptions

        src, tgt = direction.split("-", 1)
        out = []
        for text in texts:
            messages = [
                ChatMessage(
                    "system",
                    "You are a translation engine. Reply with the translation only, no notes, no quotes.",
                ),
                ChatMessage("user", f"Translate from {language_name(src)} to {language_name(tgt)}:\n{text}"),
            ]
            opts = GenerationOptions(max_tokens=max(32, len(text)), temperature=0.0, stop=("\n\n",))
            pieces = [ev.text for ev in self.runtime.chat(messages, opts, model=self.model_id)]
            out.append("".join(pieces).strip().strip('"“”').strip())
        return out

    def close(self) -> None:
        pass
