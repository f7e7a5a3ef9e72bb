"""Tool calling for chat: tools rendered into the prompt in the model's own format, and calls whose
arguments are generated under a grammar built from each function's JSON schema.

The format is Hermes/Qwen2.5's, which Qwen's chat template itself produces: the tools go into the
system turn inside `<tools></tools>`, the model answers `<tool_call>{"name": ..., "arguments": ...}
</tool_call>`, and results come back in a user turn as `<tool_response>...</tool_response>`. Models
whose template has no tool format get the same text, which small instruct models follow well enough.

How a reply is generated (`ToolChat.stream`):
- `auto`: the model writes freely; the moment it emits `<tool_call>` the free run stops and a second
  run continues from there under the call grammar, so its text is unconstrained and its calls are
  always valid JSON for one of the tools' schemas. Small models (Qwen2.5-Coder-0.5B) often write the
  call's JSON without its tag: a reply that opens with `{` is held back until it is a whole JSON
  object naming one of the tools with arguments valid for its schema (then it is that call, and the
  reply ends there), or until it cannot become one (then all of it is text, sent as it was written).
- `required` or a named function: the prompt already ends with `<tool_call>`; only the grammar runs.
- `none`: the tools are left out of the prompt (earlier calls and results stay in it).
A call cut short by max_tokens is dropped, never returned half-written.
"""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass, field, replace
from typing import Any, Generator, Mapping, Sequence

from runtime.engines.base import CancelToken, ChatMessage, GenerationOptions, GenerationStats, TokenEvent
from runtime.errors import ConfigError

OPEN, CLOSE = "<tool_call>", "</tool_call>"
DEFAULT_SYSTEM = "You are a helpful assistant."
NAME_RE = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")


class ToolSchemaError(ConfigError):
    """A tool definition the grammar cannot express, or a malformed one; `field` names it."""

    code = "invalid_tool"


@dataclass(frozen=True)
class Tool:
    """One function the model may call: its name, description and JSON schema of the arguments."""

    name: str
    description: str = ""
    parameters: Mapping[str, Any] = field(default_factory=lambda: {"type": "object", "properties": {}})

    def spec(self) -> dict[str, Any]:
        """The OpenAI-shaped definition shown to the model (what Qwen's template renders)."""
        fn: dict[str, Any] = {"name": self.name}
        if self.description:
            fn["description"] = self.description
        fn["parameters"] = dict(self.parameters)
        return {"type": "function", "function": fn}


@dataclass(frozen=True)
class ToolCall:
    """A call the model made: `arguments` is a JSON object's text, valid for the tool's schema."""

    id: str
    name: str
    arguments: str


@dataclass(frozen=True)
class Turn:
    """A chat turn that may carry tool calls (assistant) or a tool's result (role "tool")."""

    role: str  # "system" | "user" | "assistant" | "tool"
    content: str = ""
    tool_calls: tuple[ToolCall, ...] = ()
    tool_call_id: str = ""


@dataclass(frozen=True)
class ToolCallEvent(TokenEvent):
    """Streamed as soon as the model has finished writing a call (text is empty); parallel calls
    come one event each, in order."""

    calls: tuple[ToolCall, ...] = ()


Choice = str
""""auto" | "none" | "required" | the name of one tool (call exactly that one)."""


def render(turns: Sequence[Turn], tools: Sequence[Tool], show_tools: bool) -> list[ChatMessage]:
    """Return turns as plain chat messages in the Hermes/Qwen tool format."""
    out: list[ChatMessage] = []
    rest = list(turns)
    system = ""
    if rest and rest[0].role == "system":
        system = rest.pop(0).content
    if show_tools and tools:
        listing = "\n".join(json.dumps(t.spec(), ensure_ascii=False) for t in tools)
        system = (
            (system or DEFAULT_SYSTEM)
            + "\n\n# Tools\n\nYou may call one or more functions to assist with the user query.\n\n"
            "You are provided with function signatures within <tools></tools> XML tags:\n<tools>\n"
            + listing
            + "\n</tools>\n\nFor each function call, return a json object with function name and "
            "arguments within <tool_call></tool_call> XML tags:\n<tool_call>\n"
            '{"name": <function-name>, "arguments": <args-json-object>}\n</tool_call>'
        )
    if system:
        out.append(ChatMessage("system", system))
    results: list[str] = []
    for t in rest:
        if t.role == "tool":
            results.append(f"<tool_response>\n{t.content}\n</tool_response>")
            continue
        if results:  # consecutive results share one user turn, as in Qwen's template
            out.append(ChatMessage("user", "\n".join(results)))
            results = []
        if t.role == "assistant" and t.tool_calls:
            calls = "\n".join(f"{OPEN}\n{_call_json(c)}\n{CLOSE}" for c in t.tool_calls)
            out.append(ChatMessage("assistant", f"{t.content}\n{calls}" if t.content else calls))
        else:
            out.append(ChatMessage(t.role, t.content))
    if results:
        out.append(ChatMessage("user", "\n".join(results)))
    return out


def _call_json(c: ToolCall) -> str:
    try:
        args: Any = json.loads(c.arguments) if c.arguments.strip() else {}
    except ValueError:
        args = c.arguments  # a client's own malformed history: show it as the string it is
    return json.dumps({"name": c.name, "arguments": args}, ensure_ascii=False)


# Keywords llama.cpp's converter would silently ignore: honouring the schema means refusing them.
UNSUPPORTED = frozenset(
    {
        "not",
        "if",
        "then",
        "else",
        "dependentRequired",
        "dependentSchemas",
        "patternProperties",
        "propertyNames",
        "uniqueItems",
        "multipleOf",
        "contains",
        "unevaluatedProperties",
        "allOf",
    }
)
DEFS_REF = re.compile(r"^#/(\$defs|definitions)/([^/]+)$")


def _walk(node: Any, where: str, tag: str) -> Any:
    """Copy a schema, renaming local $refs to tag-prefixed top-level $defs; refuse what is unsupported."""
    if isinstance(node, list):
        return [_walk(x, f"{where}[{i}]", tag) for i, x in enumerate(node)]
    if not isinstance(node, Mapping):
        return node
    out: dict[str, Any] = {}
    for k, v in node.items():
        if k in UNSUPPORTED:
            raise ToolSchemaError(
                f"the grammar cannot enforce the {k!r} keyword (at {where or 'the top'})",
                f"remove {k!r} from the schema, or check that constraint in your own code",
            )
        if k == "$ref":
            m = DEFS_REF.match(str(v))
            if m is None:
                raise ToolSchemaError(
                    f"$ref {v!r} is not a local #/$defs/NAME reference",
                    "inline the referenced schema, or move it under $defs",
                )
            out[k] = f"#/$defs/{tag}{m.group(2)}"
        elif k in ("$defs", "definitions") and isinstance(v, Mapping):
            continue  # hoisted by call_schema
        elif k in ("enum", "const", "default", "examples", "description", "title"):
            out[k] = v  # values, not schemas
        elif k in ("properties", "$defs", "definitions") and isinstance(v, Mapping):
            out[k] = {name: _walk(sub, f"{where}.{k}.{name}", tag) for name, sub in v.items()}
        else:
            out[k] = _walk(v, f"{where}.{k}", tag)
    return out


def call_schema(tool: Tool, tag: str = "t0-") -> dict[str, Any]:
    """The JSON schema of one call object, `{"name": <const>, "arguments": <parameters>}`, with the
    parameters' $defs hoisted to the top (renamed with tag, so several tools' defs never clash)."""
    params = dict(tool.parameters)
    defs: dict[str, Any] = {}
    for key in ("$defs", "definitions"):
        for name, sub in (params.get(key) or {}).items():
            defs[f"{tag}{name}"] = _walk(sub, f"{key}.{name}", tag)
    schema: dict[str, Any] = {
        "type": "object",
        "properties": {"name": {"const": tool.name}, "arguments": _walk(params, "", tag)},
        "required": ["name", "arguments"],
        "additionalProperties": False,
    }
    if defs:
        schema["$defs"] = defs
    return schema


def check_tools(tools: Sequence[Tool], field_prefix: str = "tools") -> None:
    """Raise ToolSchemaError naming `tools[i].function...` for a tool the grammar cannot express."""
    from runtime.engines.llama_cpp import schema_gbnf

    seen: set[str] = set()
    for i, t in enumerate(tools):
        where = f"{field_prefix}[{i}].function"
        if not NAME_RE.fullmatch(t.name):
            raise ToolSchemaError(
                f"tool name {t.name!r} is not 1-64 letters, digits, '_', '.' or '-'",
                "rename the function",
                field=f"{where}.name",
            )
        if t.name in seen:
            raise ToolSchemaError(f"two tools are named {t.name!r}", "give each a unique name", field=where)
        seen.add(t.name)
        params = t.parameters
        if not isinstance(params, Mapping) or params.get("type", "object") != "object":
            raise ToolSchemaError(
                "a function's parameters must be a JSON schema of type object",
                'send {"type": "object", "properties": {...}}',
                field=f"{where}.parameters",
            )
        try:
            schema_gbnf(call_schema(t))
        except ToolSchemaError as exc:
            raise ToolSchemaError(exc.message, exc.fix, field=f"{where}.parameters") from None
        except Exception as exc:  # llama.cpp's converter raises plain errors for what it cannot express
            raise ToolSchemaError(
                f"the grammar cannot express this schema: {type(exc).__name__}: {exc}",
                "simplify the schema (no remote $ref, no unsupported keywords)",
                field=f"{where}.parameters",
            ) from None


SCHEMA_KEYWORDS = frozenset(
    {"type", "properties", "items", "anyOf", "oneOf", "enum", "const", "$ref", "prefixItems", "required"}
)


def check_schema(schema: Any, where: str) -> dict[str, Any]:
    """Return schema, ready for the grammar; ToolSchemaError naming `where` if it is not a JSON schema
    (no schema keyword at its top) or uses what the grammar cannot enforce."""
    from runtime.engines.llama_cpp import schema_gbnf

    if not isinstance(schema, Mapping) or not SCHEMA_KEYWORDS & set(schema):
        raise ToolSchemaError(
            "this is not a JSON schema (it has none of type, properties, items, anyOf, oneOf, enum, const, $ref)",
            'send "json", or a JSON schema such as {"type": "object", "properties": {...}}',
            field=where,
        )
    try:
        checked = _walk(schema, "", "")
        defs = {
            n: _walk(sub, n, "") for k in ("$defs", "definitions") for n, sub in (schema.get(k) or {}).items()
        }
        if defs:
            checked["$defs"] = defs
        schema_gbnf(checked)
    except ToolSchemaError as exc:
        raise ToolSchemaError(exc.message, exc.fix, field=where) from None
    except Exception as exc:  # llama.cpp's converter raises plain errors for what it cannot express
        raise ToolSchemaError(
            f"the grammar cannot express this schema: {type(exc).__name__}: {exc}",
            "simplify the schema (no remote $ref, no unsupported keywords)",
            field=where,
        ) from None
    return dict(schema)


def calls_grammar(tools: Sequence[Tool], parallel: bool) -> str:
    """GBNF for what follows `<tool_call>`: one call (or several when parallel), then the close tag."""
    from runtime.engines.llama_cpp import schema_gbnf

    calls = [call_schema(t, f"t{i}-") for i, t in enumerate(tools)]
    defs = {k: v for c in calls for k, v in c.pop("$defs", {}).items()}
    schema: dict[str, Any] = {"anyOf": calls} if len(calls) > 1 else calls[0]
    if defs:
        schema["$defs"] = defs
    body = schema_gbnf(schema, rule="call")
    more = '("\\n<tool_call>\\n" call "\\n</tool_call>")*' if parallel else ""
    return f'root ::= "\\n" call "\\n</tool_call>" {more}\n{body}'


def parse_calls(text: str, known: set[str]) -> list[ToolCall]:
    """Return the complete calls in the text after `<tool_call>`; a half-written last one is dropped."""
    out: list[ToolCall] = []
    for chunk in (OPEN + text).split(CLOSE):
        body = chunk.strip()
        if not body.startswith(OPEN):
            continue
        try:
            obj = json.loads(body[len(OPEN) :])
        except ValueError:
            continue  # cut short by max_tokens: the grammar guarantees every finished call parses
        if not isinstance(obj, dict) or obj.get("name") not in known:
            continue
        out.append(
            ToolCall(
                f"call_{uuid.uuid4().hex[:24]}",
                str(obj["name"]),
                json.dumps(obj.get("arguments", {}), ensure_ascii=False),
            )
        )
    return out


UNTAGGED_HEAD = re.compile(r'\s*\{\s*(?:(?P<other>[^"\s])|"(?P<key>(?:[^"\\]|\\.)*)")?')
UNTAGGED_NAME = re.compile(r'\s*\{\s*"name"\s*(?::\s*(?:(?P<other>[^"\s])|"(?P<name>(?:[^"\\]|\\.)*)")?)?')
CALL_KEYS = ("name", "arguments")


def _object_end(text: str, start: int) -> int | None:
    """Index just past the JSON object opening at text[start] ("{"), or None while it is unclosed."""
    depth, in_str, esc = 0, False, False
    for i in range(start, len(text)):
        c = text[i]
        if in_str:
            if esc:
                esc = False
            elif c == "\\":
                esc = True
            elif c == '"':
                in_str = False
        elif c == '"':
            in_str = True
        elif c in "{[":
            depth += 1
        elif c in "}]":
            depth -= 1
            if depth == 0:
                return i + 1
    return None


def _valid_arguments(args: Any, tool: Tool) -> bool:
    import jsonschema  # lazily: only an untagged candidate needs it

    try:
        return isinstance(args, dict) and jsonschema.validators.validator_for(tool.parameters)(
            tool.parameters
        ).is_valid(args)
    except jsonschema.exceptions.SchemaError:
        return False


def read_untagged(text: str, tools: Sequence[Tool]) -> tuple[str, ToolCall | None, int]:
    """Read a reply that opens with "{" as a call written without its <tool_call> tag.

    Return ("wait", None, 0) while it could still become one, ("text", None, 0) once it cannot, and
    ("call", call, end) when text opens with a whole JSON object `{"name": <a tool's name>,
    "arguments": <valid for its schema>}` ending at text[end]. Obvious non-calls (a first key other
    than name/arguments, a name that is no tool's) are known before the object closes.
    """
    by_name = {t.name: t for t in tools}
    head = UNTAGGED_HEAD.match(text)
    if head is None:
        return "text", None, 0
    if head.group("other") is not None:
        return "text", None, 0
    key = head.group("key")
    if key is not None and key not in CALL_KEYS:
        return "text", None, 0  # a whole first key that no call has
    named = UNTAGGED_NAME.match(text)
    if named is not None and (
        named.group("other") is not None or named.group("name") not in (None, *by_name)
    ):
        return "text", None, 0
    start = text.index("{")
    end = _object_end(text, start)
    if end is None:
        return "wait", None, 0
    try:
        obj = json.loads(text[start:end])
    except ValueError:
        return "text", None, 0
    if not isinstance(obj, dict) or not set(obj) <= set(CALL_KEYS) or obj.get("name") not in by_name:
        return "text", None, 0
    args = obj.get("arguments", {})
    if not _valid_arguments(args, by_name[obj["name"]]):
        return "text", None, 0
    call = ToolCall(f"call_{uuid.uuid4().hex[:24]}", obj["name"], json.dumps(args, ensure_ascii=False))
    return "call", call, end


class _Linked(CancelToken):
    """A cancel token of our own that also reads as cancelled when the caller's is."""

    def __init__(self, parent: CancelToken | None) -> None:
        super().__init__()
        self.parent = parent

    @property
    def cancelled(self) -> bool:
        return self._event.is_set() or (self.parent is not None and self.parent.cancelled)


def _partial_open(text: str) -> int:
    """Length of the longest suffix of text that could begin `<tool_call>` (held back from the stream)."""
    for k in range(min(len(OPEN) - 1, len(text)), 0, -1):
        if OPEN.startswith(text[-k:]):
            return k
    return 0


class ToolChat:
    """Chat with tools over a Runtime (anything with `scheduler.use(model_id)` yielding a TextEngine)."""

    def __init__(self, runtime: Any) -> None:
        self.runtime = runtime

    def stream(
        self,
        turns: Sequence[Turn],
        tools: Sequence[Tool],
        choice: Choice,
        options: GenerationOptions,
        model: str,
        parallel: bool = True,
        cancel: CancelToken | None = None,
    ) -> Generator[TokenEvent, None, GenerationStats]:
        """Yield text as TokenEvents and the calls as one ToolCallEvent; return GenerationStats
        whose finish_reason is "tool_calls" when the model called tools."""
        tools = list(tools)
        if choice not in ("auto", "none", "required"):
            tools = [t for t in tools if t.name == choice]
        use_tools = bool(tools) and choice != "none"
        messages = render(turns, tools, use_tools)
        # the runtime refuses a model it holds for another purpose (Whisper, MiniLM), as its chat() does
        model = getattr(self.runtime, "_text_model", lambda m: m)(model)
        with self.runtime.scheduler.use(model) as engine:
            prompt, stops = engine.chat_prompt(messages)
            opts = replace(options, stop=tuple(options.stop) + stops)
            if not use_tools:
                stats = yield from engine.stream(prompt, opts, cancel)
                self.runtime.scheduler.record(model, stats)
                return stats
            text, first = "", None
            if choice == "auto":
                mine = _Linked(cancel)
                text, first, found = yield from self._free(engine, prompt, opts, mine, tools)
                if not found or (cancel is not None and cancel.cancelled):
                    self.runtime.scheduler.record(model, first)
                    return first
            grammar = calls_grammar(tools, parallel and choice in ("auto", "required"))
            used = first.completion_tokens if first else 0
            constrained = replace(
                opts, grammar=grammar, json_schema=None, max_tokens=max(1, opts.max_tokens - used)
            )
            known = {t.name for t in tools}
            text_so_far, sent = "", 0
            gen = engine.stream(prompt + text + OPEN, constrained, cancel)
            while True:
                try:
                    ev = next(gen)
                except StopIteration as stop:
                    second: GenerationStats = stop.value
                    break
                text_so_far += ev.text
                if text_so_far.count(CLOSE) > sent:  # a call is complete: send it now, whole
                    done = parse_calls(text_so_far, known)[sent:]
                    if done:
                        yield ToolCallEvent("", ev.token_count, tuple(done))
                        sent += len(done)
            rest = parse_calls(text_so_far, known)[sent:]  # a last call the stream ended right after
            if rest:
                yield ToolCallEvent("", second.completion_tokens, tuple(rest))
                sent += len(rest)
            stats = _merge(first, second, "tool_calls" if sent else second.finish_reason)
            self.runtime.scheduler.record(model, stats)
            return stats

    def _free(
        self, engine: Any, prompt: str, opts: GenerationOptions, mine: _Linked, tools: Sequence[Tool]
    ) -> Generator[TokenEvent, None, tuple[str, GenerationStats, bool]]:
        """Generate freely until the model opens a tool call; return (text, stats, opened).
        A call written without its tag is yielded here (a ToolCallEvent; the stats then say
        "tool_calls" and opened is False): the reply ends with it."""
        acc, sent, found = "", 0, False
        untagged: bool | None = None  # None until the first visible character; then: opened with "{"
        call: ToolCall | None = None
        gen = engine.stream(prompt, opts, mine)
        while True:
            try:
                ev = next(gen)
            except StopIteration as stop:
                stats: GenerationStats = stop.value
                break
            if found or call is not None:
                continue
            acc += ev.text
            if untagged is None and acc.strip():
                untagged = acc.lstrip().startswith("{")
            if untagged:
                verdict, call, end = read_untagged(acc, tools)
                if verdict == "wait":
                    continue  # held back: it may still be a call
                if call is not None:
                    acc = acc[:end]
                    mine.cancel()
                    yield ToolCallEvent("", ev.token_count, (call,))
                    continue
                untagged = False  # text after all: released below, as written
            at = acc.find(OPEN)
            if at >= 0:
                found = True
                acc = acc[:at]
                mine.cancel()  # the engine stops at its next step and returns its stats
                if at > sent:
                    yield TokenEvent(acc[sent:at], ev.token_count)
                sent = at
                continue
            # held back: what could still become the tag, and leading blanks (a call may follow them)
            upto = 0 if not acc.strip() else len(acc) - _partial_open(acc)
            if upto > sent:
                yield TokenEvent(acc[sent:upto], ev.token_count)
                sent = upto
        if call is not None:
            return acc, replace(stats, finish_reason="tool_calls"), False
        if not found and sent < len(acc):
            yield TokenEvent(acc[sent:], stats.completion_tokens)  # includes an unfinished "{..." held back
        if found:
            # the free run ends where the call begins; trailing blanks before the tag belong to the format
            stats = replace(stats, finish_reason="tool_calls")
        return acc, stats, found


def _merge(first: GenerationStats | None, second: GenerationStats, finish: str) -> GenerationStats:
    if first is None:
        return replace(second, finish_reason=finish)
    return replace(
        first,
        completion_tokens=first.completion_tokens + second.completion_tokens,
        generation_seconds=first.generation_seconds + second.generation_seconds,
        finish_reason=finish,
    )
