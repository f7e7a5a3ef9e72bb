"""Person names for resolving "her" and "him": the usual gender of first names (listed, or guessed
from the name's ending), and words that mark a sender as an organisation rather than a person."""

from __future__ import annotations

from skills.memory.text import tokens

# First names by usual gender, for "her" and "him"; names not listed count as either.
FEMALE = set(
    "ana anna maria mary sofia sophie emma olivia ava mia isabella amelia charlotte emily grace chloe lucy laura "
    "sarah sara julia carla clara elena helena ines joana beatriz marta rita paula teresa rosa lucia camila "
    "valentina fernanda gabriela mariana leticia priya ananya aisha fatima yuki mei li hana jessica jennifer "
    "linda susan karen nancy lisa betty helen sandra donna carol ruth sharon michelle kim amy anne alice eva "
    "nina lena hannah leah rachel rebecca natalie zoe ella lily diana dana fiona claire kate katie megan "
    "nora olga irene ingrid freya astrid greta elsa heidi marie louise chiara giulia francesca ada "
    "leila layla yasmin noor zainab amara chioma ngozi aiko sakura jia xin ying".split()
)
MALE = set(
    "bruno joao john james robert michael william david richard joseph thomas charles daniel matthew anthony "
    "mark paul steven andrew kenneth joshua kevin brian george edward ronald timothy jason jeffrey ryan jacob "
    "gary nicholas eric jonathan stephen larry justin scott brandon frank benjamin gregory samuel raymond "
    "patrick alexander jack dennis jerry tyler aaron jose adam henry nathan douglas peter zachary kyle noah "
    "ethan liam lucas mateus pedro tiago rui miguel diogo carlos luis jorge manuel antonio francisco rafael "
    "hugo andre ricardo marco luca giovanni hans lars sven erik olaf raj arjun rahul omar ali ahmed hiro kenji "
    "wei chen tom ben sam max leo oscar felix victor ivan igor dmitri tomas martin simon oliver harry farid karim "
    "yusuf mohammed muhammad hassan hussein khalid tariq amir reza kofi kwame chidi emeka tunde sipho".split()
)
# Senders that are organisations or robots, never "her" or "him".
ORG_WORDS = frozenset(
    "team desk news newsletter newsletters support noreply reply info notifications notification service bot "
    "admin billing sales digest alerts alert mailer updates inc ltd llc gmbh bank store shop".split()
)


def gender(person: str) -> tuple[str, float]:
    """Return the usual gender of a person's first name ("f", "m" or "") and how sure that is:
    1 for listed names, 0.5 for a guess from the ending (-a, -ah, -ie, -ine, -elle: mostly female;
    other consonant endings: mostly male), 0 when unknown."""
    first = tokens(person)[:1]
    if not first:
        return "", 0.0
    name = first[0]
    if name in FEMALE:
        return "f", 1.0
    if name in MALE:
        return "m", 1.0
    if len(name) < 3 or not name.isalpha():
        return "", 0.0
    if name.endswith(("a", "ah", "ie", "ine", "elle", "ette", "een")):
        return "f", 0.5
    if name[-1] in "bcdfgkmnprstvz":
        return "m", 0.5
    return "", 0.0


__all__ = ["FEMALE", "MALE", "ORG_WORDS", "gender"]
