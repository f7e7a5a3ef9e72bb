"""The in-process facade over store, planner and scheduler that the CLI, TUI and daemon share."""

from __future__ import annotations

import copy
import functools
from dataclasses import replace
from typing import TYPE_CHECKING, Any, Callable, Sequence, TypeVar

from runtime.config import Config
from runtime.errors import ModelError, ModelNotFound
from runtime.engines.base import (
    CancelToken,
    ChatMessage,
    GenerationOptions,
    LoadReport,
    TextEngine,
    TokenStream,
)
from runtime.planner import EnginePlan, PlanOptions, plan_all
from runtime.probe import Facts, probe, total_ram
from runtime.scheduler import Loader, Scheduler
from runtime.store import InstalledModel, ModelStore

if TYPE_CHECKING:
    from runtime.engines.llama_cpp import LlamaEngine
    from runtime.engines.whisper import WhisperEngine

H = TypeVar("H")  # the engine type of a model a skill holds (Whisper, an embedder)

# roles skills ask for -> which configured default serves them
ROLE_DEFAULTS = {
    "chat": "chat_model",
    "code": "chat_model",
    "fim": "chat_model",
    "autocomplete": "small_model",
    "grounded": "chat_model",
    "voice": "chat_model",
}
DEFAULT_CTX = 4096


class Runtime:
    """Owns the model store and scheduler; hands out engines by role or model id."""

    def __init__(
        self,
        config: Config,
        store: ModelStore | None = None,
        facts: Facts | None = None,
        loaders: dict[str, Callable[[InstalledModel, EnginePlan], TextEngine]] | None = None,
    ) -> None:
        self.config = config
        self.store = store or ModelStore(config.models_dir)
        self._facts = facts
        self._loaders: dict[str, Callable[[InstalledModel, EnginePlan], TextEngine]] = loaders or {
            "gguf": self._load_gguf
        }
        self.load_overrides: dict[str, dict[str, Any]] = {}
        self._held_ids: set[str] = set()  # models skills hold (see hold())
        self.scheduler: Scheduler[TextEngine] = Scheduler(
            self._loader,
            memory_budget=config.memory_budget
            if config.memory_budget is not None
            else self._default_budget(),
            keep_alive=config.keep_alive,
            queue_timeout=config.queue_timeout,
            estimate=self._estimate,
            reap=True,  # idle models unload when their keep-alive ends, not at the next request
        )

    # -- facts and plans -----------------------------------------------------------------
    @property
    def facts(self) -> Facts:
        if self._facts is None:
            self._facts = probe()
        return self._facts

    @functools.cached_property
    def plans(self) -> dict[str, EnginePlan]:
        return plan_all(self.facts, PlanOptions(force_device=self.config.device, threads=self.config.threads))

    def _default_budget(self) -> int | None:
        # leave room for the rest of the machine: at most half of RAM for models. Read RAM cheaply
        # here; the full probe imports every backend and is only needed when a model loads.
        ram = self._facts.ram_total if self._facts is not None else total_ram()
        return ram // 2 or None

    # -- models ------------------------------------------------------------------------------
    @functools.cached_property
    def roles(self) -> dict[str, Any]:
        """The role plan: which installed model serves each role here, and why (runtime/roles.py)."""
        from runtime.calibrate import role_plan

        return role_plan(self)

    def model_for(self, role: str) -> str:
        """Return the model id for a role ("chat", "grounded", "code", "autocomplete", ...): forced by
        a setting, else the role plan's choice from measured speeds, else the configured default."""
        attr = ROLE_DEFAULTS.get(role)
        if attr is None:
            raise ModelNotFound(
                f"no model is configured for role {role!r}", f"roles: {', '.join(ROLE_DEFAULTS)}"
            )
        planned = self.roles.get("chat" if role == "code" else role)
        return str(planned.model_id) if planned is not None else str(getattr(self.config, attr))

    def _estimate(self, model_id: str) -> int:
        try:
            return self.store.get(model_id).size
        except ModelError:
            return 0

    def _loader(self, model_id: str) -> Loader[TextEngine]:
        def load(mid: str) -> tuple[TextEngine, LoadReport]:
            model = self.store.ensure(mid)
            loader = self._loaders.get(model.format)
            if loader is None:
                raise ModelError(
                    f"{mid} is a {model.format} model, not a text-generation model",
                    "pick a GGUF model for chat and completion",
                )
            engine = loader(model, self.plans.get(model.format) or self.plans["gguf"])
            return engine, engine.report

        return load

    def _load_gguf(self, model: InstalledModel, plan: EnginePlan) -> LlamaEngine:
        from runtime.engines.llama_cpp import LlamaEngine, LlamaLoadOptions

        ctx = DEFAULT_CTX
        if model.manifest is not None and model.manifest.context_length:
            ctx = min(ctx, model.manifest.context_length)
        opts = LlamaLoadOptions(n_ctx=ctx)
        if model.id in self.load_overrides:
            opts = replace(opts, **self.load_overrides[model.id])
        fim = None
        if model.manifest is not None:
            fim = "fim" in model.manifest.roles
        return LlamaEngine.load(model.id, model.path, plan, opts, fim=fim)

    def hold(self, model_id: str, loader: Loader[H]) -> H:
        """Return the engine for a model a skill keeps across calls and threads (Whisper, the
        MiniLM embedder), loaded by `loader` under the memory budget like the text models and kept
        loaded until release(). Such a model is never handed to a text caller."""
        self._held_ids.add(model_id)
        return self.scheduler.pin(model_id, loader)

    def hold_speech(self, model_id: str) -> WhisperEngine:
        """hold() a Whisper model."""
        return self.hold(model_id, self._load_speech)

    def release(self, model_id: str) -> None:
        """Let a held model age out like any idle one."""
        self.scheduler.unpin(model_id)

    def _load_speech(self, model_id: str) -> tuple[WhisperEngine, LoadReport]:
        from runtime.engines.whisper import WhisperEngine

        model = self.store.ensure(model_id)
        if model.format != "ctranslate2":
            raise ModelError(
                f"{model_id} is a {model.format} model, not a Whisper model",
                "use whisper-tiny.en or whisper-base (`assistant models`)",
            )
        engine = WhisperEngine.load(model_id, model.path, self.plans["ctranslate2"])
        return engine, engine.report

    def _text_model(self, model_id: str) -> str:
        # a held engine sits in the scheduler too; a model that is not loaded yet goes through
        # _loader, which refuses formats that have no text loader
        if model_id in self._held_ids:
            raise ModelError(
                f"{model_id} is not a text-generation model",
                "pick a GGUF model for chat and completion",
                field="model",
            )
        return model_id

    # -- generation -------------------------------------------------------------------------------
    def chat(
        self,
        messages: Sequence[ChatMessage],
        options: GenerationOptions = GenerationOptions(),
        model: str | None = None,
        cancel: CancelToken | None = None,
    ) -> TokenStream:
        """Stream a chat reply rendered with the model's own template; returns GenerationStats."""
        model_id = self._text_model(model or self.model_for("chat"))
        with self.scheduler.use(model_id) as engine:
            prompt, stops = engine.chat_prompt(messages)
            opts = replace(options, stop=tuple(options.stop) + stops)
            stats = yield from engine.stream(prompt, opts, cancel)
            self.scheduler.record(model_id, stats)
            return stats

    def complete(
        self,
        prompt: str,
        options: GenerationOptions = GenerationOptions(),
        model: str | None = None,
        cancel: CancelToken | None = None,
    ) -> TokenStream:
        """Stream a plain completion of prompt; returns GenerationStats."""
        return self.scheduler.stream(
            self._text_model(model or self.model_for("chat")), prompt, options, cancel
        )

    def with_config(self, config: Config) -> Runtime:
        """Return a Runtime that answers roles (model_for) from `config` but shares this one's store,
        scheduler and loaded models, so a front door with other defaults (a test, a second app)
        loads nothing twice and leaves this runtime's config as it was. Loading, the memory budget,
        keep-alive and queueing stay this runtime's; closing either closes both."""
        view = copy.copy(self)
        view.config = config
        for name, attr in vars(type(self)).items():  # values cached from the old config
            if isinstance(attr, functools.cached_property):
                view.__dict__.pop(name, None)
        return view

    def close(self) -> None:
        self.scheduler.close()
