"""How good the chat-model fallback is for pairs no dedicated model covers: chrF against reference
translations for en->de and en->fr, next to doing nothing (the English copied through) and, where a
dedicated model exists (en->pt), next to Bergamot on the same sentences.

    .venv/bin/python -m benchmarks.bench_translate_fallback

chrF: the character n-gram F-score (n = 1..6, recall weighted twice, spaces ignored), 0-100; the
references are one hand translation each, so read small differences as noise.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections import Counter
from typing import Any

from benchmarks.common import median, write

SENTENCES: tuple[tuple[str, dict[str, str]], ...] = (
    ("Good morning.", {"de": "Guten Morgen.", "fr": "Bonjour.", "pt": "Bom dia."}),
    (
        "The library opens at nine.",
        {
            "de": "Die Bibliothek öffnet um neun.",
            "fr": "La bibliothèque ouvre à neuf heures.",
            "pt": "A biblioteca abre às nove.",
        },
    ),
    (
        "Where is the train station?",
        {"de": "Wo ist der Bahnhof?", "fr": "Où est la gare ?", "pt": "Onde fica a estação de trem?"},
    ),
    (
        "I would like a cup of coffee, please.",
        {
            "de": "Ich hätte gern eine Tasse Kaffee, bitte.",
            "fr": "Je voudrais une tasse de café, s'il vous plaît.",
            "pt": "Eu gostaria de uma xícara de café, por favor.",
        },
    ),
    (
        "The meeting has been moved to Thursday afternoon.",
        {
            "de": "Das Treffen wurde auf Donnerstagnachmittag verschoben.",
            "fr": "La réunion a été déplacée à jeudi après-midi.",
            "pt": "A reunião foi remarcada para quinta-feira à tarde.",
        },
    ),
    (
        "Please send me the signed contract by Friday.",
        {
            "de": "Bitte schicken Sie mir den unterschriebenen Vertrag bis Freitag.",
            "fr": "Veuillez m'envoyer le contrat signé d'ici vendredi.",
            "pt": "Por favor, envie-me o contrato assinado até sexta-feira.",
        },
    ),
    (
        "It is raining, so take an umbrella.",
        {
            "de": "Es regnet, also nimm einen Regenschirm mit.",
            "fr": "Il pleut, alors prends un parapluie.",
            "pt": "Está chovendo, então leve um guarda-chuva.",
        },
    ),
    (
        "My sister works at the hospital.",
        {
            "de": "Meine Schwester arbeitet im Krankenhaus.",
            "fr": "Ma sœur travaille à l'hôpital.",
            "pt": "Minha irmã trabalha no hospital.",
        },
    ),
)


def _ngrams(text: str, n: int) -> Counter[str]:
    s = "".join(text.split())
    return Counter(s[i : i + n] for i in range(len(s) - n + 1))


def chrf(hypothesis: str, reference: str, max_n: int = 6, beta: float = 2.0) -> float:
    """Return chrF (0-100) of one hypothesis against one reference."""
    precisions, recalls = [], []
    for n in range(1, max_n + 1):
        h, r = _ngrams(hypothesis, n), _ngrams(reference, n)
        if not h or not r:
            continue
        hit = sum((h & r).values())
        precisions.append(hit / sum(h.values()))
        recalls.append(hit / sum(r.values()))
    if not precisions:
        return 0.0
    p, r = sum(precisions) / len(precisions), sum(recalls) / len(recalls)
    return 0.0 if p + r == 0 else 100 * (1 + beta**2) * p * r / (beta**2 * p + r)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--chat-model", default=None, help="chat model for the fallback (default: the runtime's)")
    ap.add_argument("--sentences", type=int, default=6, help="how many of the sentences to translate")
    args = ap.parse_args()

    from assistant.services import Services
    from runtime.config import Config
    from skills.translate import TranslateOptions

    env = {"ASSISTANT_HOME": tempfile.mkdtemp(prefix="bench-tr-fallback-")}
    if args.chat_model:
        env["ASSISTANT_CHAT_MODEL"] = args.chat_model
    services = Services(Config.from_env(env))
    skill = services.skill("translate")
    rows: list[dict[str, Any]] = []
    try:
        for target, engines in (("de", (None,)), ("fr", (None,)), ("pt", ("bergamot", "llm"))):
            for engine in engines:
                for source_text, refs in SENTENCES[: args.sentences]:
                    t0 = time.perf_counter()
                    r = skill.translate(
                        source_text, TranslateOptions(source="en", target=target, engine=engine)
                    )
                    rows.append(
                        {
                            "target": target,
                            "engine": r.engine,
                            "quality": r.quality,
                            "source": source_text,
                            "output": r.text,
                            "reference": refs[target],
                            "chrf": round(chrf(r.text, refs[target]), 1),
                            "chrf_copy_source": round(chrf(source_text, refs[target]), 1),
                            "seconds": round(time.perf_counter() - t0, 3),
                        }
                    )
                    print(f"en-{target} {r.engine:28} {rows[-1]['chrf']:5.1f}  {r.text}")
    finally:
        services.close()

    summary: dict[str, Any] = {}
    for key in sorted({(r["target"], r["engine"]) for r in rows}):
        mine = [r for r in rows if (r["target"], r["engine"]) == key]
        summary[f"en-{key[0]} {key[1]}"] = {
            "chrf_mean": round(sum(r["chrf"] for r in mine) / len(mine), 1),
            "chrf_copy_source_mean": round(sum(r["chrf_copy_source"] for r in mine) / len(mine), 1),
            "seconds_median": round(median([r["seconds"] for r in mine]), 3),
        }
    for name, s in summary.items():
        print(
            f"{name:36} chrF {s['chrf_mean']:5.1f} (English copied through: {s['chrf_copy_source_mean']:5.1f}), "
            f"{s['seconds_median']:.2f} s/sentence"
        )
    print(f"wrote {write('translate_fallback', {'summary': summary, 'sentences': rows})}")


if __name__ == "__main__":
    main()
