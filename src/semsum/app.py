"""`semsum app`: a web page (Gradio) that summarizes an uploaded video, and the same job as the API `/summarize`.

A face, like the CLI: it loads the stages once (`load_models`, from a `StageConfig`), runs
`semsum.pipeline.summarize` per request in a temporary folder of its own, and shows what scores.json says: the
summary video, the importance curve with the selected units and the shot boundaries, a thumbnail of each selected
unit, and the files to download. Bad uploads (not a video, empty, too big, too long) give one line in the page and
through the API, and the server goes on serving. Nothing in the package imports this module.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import sys
import tempfile
import time
import traceback
import urllib.parse
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from semsum.errors import SemsumError
from semsum.features.encoders import check_encoder
from semsum.pipeline import SamplingConfig, Scorer, summarize
from semsum.pipeline.cache import CACHE_ENV
from semsum.pipeline.stages import StageConfig, route
from semsum.pipeline.summarize import Progress
from semsum.registry import ENCODERS, SCORERS, SHOT_DETECTORS, find, implementations
from semsum.summary.export import supported_formats, write_exports

# Before gradio is imported: no telemetry, no version check, nothing sent anywhere.
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

import gradio as gr
import plotly.graph_objects as go

from semsum.app_figures import importance_figure, unit_stills

EXAMPLE_NAME = "five_scenes.mp4"
DEFAULT_SHOTS = "auto"  # `semsum summarize`'s shot detector when none is named
_SAFE = re.compile(r"[^A-Za-z0-9_.-]+")


@dataclass(frozen=True)
class Limits:
    """What one request may ask of the server."""

    max_upload_mb: float = 500.0
    max_minutes: float = 30.0

    @property
    def max_bytes(self) -> int:
        return int(self.max_upload_mb * 1024 * 1024)


@dataclass
class Models:
    """The stages every request shares, loaded once at start: the encoder, and each shot detector and scorer."""

    encoder: Any
    detectors: dict[str, Any]
    scorers: dict[str, Scorer]
    sampling: SamplingConfig = field(default_factory=SamplingConfig)


def load_models(stages: StageConfig) -> Models:
    """The configured encoder and detector (default: `summarize`'s, as the CLI), every other registered detector that
    loads, and the scorers on offer: a trained run (with the option `run`: first and default), `coverage`,
    `zero-shot` when an MLLM was named, then every other registered scorer (a plugin's) that can be built. Each is
    built with the options it takes; an option none of them takes is an error. The chosen detector and the built-in
    scorers must load; any other that fails here (missing weights, a broken plugin) is left out of the choices,
    with a note on stderr.
    """
    shots = stages.shots or DEFAULT_SHOTS
    detectors = [find(SHOT_DETECTORS, shots), *(d for d in implementations(SHOT_DETECTORS) if d.name != shots)]
    offer = {"run": "run" in stages.options, "coverage": True, "zero-shot": "mllm_model" in stages.options}
    scorers = [find(SCORERS, name) for name, offered in offer.items() if offered]
    scorers += [s for s in implementations(SCORERS) if s.name not in offer]
    (encoder, options), *others = route(stages.options, [find(ENCODERS, stages.encoder), *detectors, *scorers])
    required = {(SHOT_DETECTORS, shots), *((SCORERS, name) for name in offer)}
    built_detectors, built_scorers = _built(others, required, stages.device)  # the detectors first: no model load
    built_encoder = check_encoder(encoder.name, encoder.build(options, stages.device))
    return Models(built_encoder, built_detectors, built_scorers, stages.sampling)


def _built(routed: list, required: set[tuple[str, str]], device: str) -> tuple[dict[str, Any], dict[str, Scorer]]:
    """The shot detectors and the scorers, by the names the page shows; those not `required` ((group, name)) that
    fail to build are left out, with a note."""
    detectors: dict[str, Any] = {}
    scorers: dict[str, Scorer] = {}
    for impl, options in routed:
        try:
            made = impl.build(options, device)
        except Exception as e:  # a plugin's failure is its own: the server goes on without it
            if (impl.group, impl.name) in required:
                raise
            print(f"semsum app: {impl.what} left out: {e}", file=sys.stderr)
            continue
        if impl.group == SHOT_DETECTORS:
            detectors[impl.name] = made
        else:
            scorers[f"run: {Path(options.run).name}" if impl.name == "run" else impl.name] = made
    return detectors, scorers


def ensure_example(folder: str | os.PathLike[str]) -> Path:
    """The bundled example (five generated scenes with a tone each, 20 s, small so that it is made in a second or
    two), made on first start."""
    from semsum.video.synthetic import make_scene_video

    path = Path(folder) / EXAMPLE_NAME
    if not path.is_file():
        path.parent.mkdir(parents=True, exist_ok=True)
        make_scene_video(path, (2, 3, 4, 5, 6))
    return path


def safe_stem(name: str) -> str:
    """A file-name stem made of `name`'s letters, digits, `_`, `-` and `.` only (never a path), at most 60 chars."""
    stem = _SAFE.sub("_", Path(name).stem).strip("._")[:60]
    return stem or "video"


def one_line(message: str, replace: dict[str, str]) -> str:
    """`message` on one line, with server paths replaced by what the user knows them as."""
    for path, shown in replace.items():
        message = message.replace(path, shown)
    return " ".join(message.split())[:400]


def check_upload(path: Path, name: str, limits: Limits) -> None:
    """Refuse an upload that is empty, over the size or duration limit, or not a readable video (SemsumError)."""
    from semsum.video.decode import probe

    size = path.stat().st_size
    if size == 0:
        raise SemsumError(f"{name}: empty file (0 bytes)")
    if size > limits.max_bytes:
        raise SemsumError(f"{name}: {size / 2**20:.1f} MB is over this server's limit of {limits.max_upload_mb:g} MB")
    info = probe(path, count=False)
    if info.duration > limits.max_minutes * 60:
        raise SemsumError(
            f"{name}: {info.duration / 60:.1f} min long, over this server's limit of {limits.max_minutes:g} min"
        )


def _page_progress(progress: gr.Progress, shots: str, scorer: str) -> Progress:
    """`summarize`'s progress, stage by stage, as the page shows it.

    The number of sampled frames is not known ahead (the pipeline chooses the sampling), so encoding shows a count.
    """
    said = {
        "shots": (0.8, f"finding shots ({shots})"),
        "units": (0.83, "building units"),
        "scores": (0.85, f"scoring ({scorer})"),
        "summary": (0.9, "selecting units, writing the summary"),
    }

    def report(stage: str, done: int, total: int | None) -> None:
        if stage == "features":
            progress((done, None), unit="sampled frames decoded and encoded")  # no total: desc not shown
        elif stage == "shots" and total:
            progress((done, total), desc=said[stage][1], unit="steps of shot detection")
        elif stage in said and done == 0:
            progress(said[stage][0], desc=said[stage][1])

    return report


class SummarizeJob:
    """The page's and the API's one job: an uploaded video to the summary, curve, thumbnails and downloads."""

    def __init__(self, models: Models, limits: Limits, cache: Callable[[str | Path], str], features_cache: Path):
        self.models, self.limits, self.cache, self.features_cache = models, limits, cache, features_cache

    def __call__(
        self, video: str | None, budget_percent: float, scorer: str, shots: str, query: str, progress: gr.Progress
    ) -> tuple[str, go.Figure, list[tuple[Any, str]], list[str], str]:
        if not video:
            raise gr.Error("no video: upload one or pick the example", print_exception=False)
        upload = Path(video)
        name = upload.name
        work = Path(tempfile.mkdtemp(prefix="semsum-request-"))
        suffix = upload.suffix.lower()
        source = work / f"input{suffix if re.fullmatch(r'[.][a-z0-9]{1,8}', suffix) else ''}"
        shown = {str(source): name, str(upload): name, str(work): "."}  # no server path reaches the user
        try:
            return self._run(upload, name, source, work, budget_percent, scorer, shots, query, progress)
        except SemsumError as e:
            message = one_line(str(e), shown)
        except Exception as e:  # a bug, not the user's input: the trace goes to the server's log, one line to the page
            traceback.print_exc()
            message = one_line(f"{name}: internal error ({type(e).__name__}: {e})", shown)
        finally:
            shutil.rmtree(work, ignore_errors=True)
        print(f"semsum app: {message}", file=sys.stderr)
        raise gr.Error(message, print_exception=False)

    def _run(
        self,
        upload: Path,
        name: str,
        source: Path,
        work: Path,
        budget_percent: float,
        scorer: str,
        shots: str,
        query: str,
        progress: gr.Progress,
    ) -> tuple[str, go.Figure, list[tuple[Any, str]], list[str], str]:
        if scorer not in self.models.scorers or shots not in self.models.detectors:
            raise SemsumError(
                f"unknown scorer {scorer!r} or shot detector {shots!r} (available: "
                f"{', '.join(self.models.scorers)}; {', '.join(self.models.detectors)})"
            )
        if not 0 < budget_percent < 100:
            raise SemsumError(f"summary length must be between 0 and 100 %, got {budget_percent}")
        progress(0.0, desc="checking the video")
        started = time.monotonic()
        check_upload(upload, name, self.limits)
        try:
            os.link(upload, source)  # the upload's name never becomes a path: the work folder has its own names
        except OSError:
            shutil.copyfile(upload, source)
        result = summarize(
            source,
            work / "out",
            self.models.scorers[scorer],
            self.models.encoder,
            self.models.detectors[shots],
            self.models.sampling,
            budget_percent / 100,
            cache_dir=self.features_cache,
            progress=_page_progress(progress, shots, scorer),
            query=query.strip() or None,
        )
        progress(0.95, desc="thumbnails")
        doc = json.loads(result.scores_path.read_text())
        # The user's copy names their file and no server path (the pipeline records where it worked and cached).
        doc = {k: v for k, v in doc.items() if not (isinstance(v, str) and Path(v).is_absolute())} | {"video": name}
        stem = safe_stem(name)
        summary = result.summary_path.rename(work / f"{stem}_summary.mp4")
        scores, exports = user_files(work, stem, doc, name)
        stills = unit_stills(source, doc)
        kept = [u for u in doc["units"] if u["selected"]]
        s, detected_by = doc["summary"], doc.get("shot_detector", shots)  # e.g. "auto: transnetv2"
        status = (
            f"**{name}**: kept {len(kept)} of {len(doc['units'])} units, {s['duration']:.1f} s of "
            f"{doc['duration']:.1f} s{' with audio' if s['has_audio'] else ''} · scorer {scorer} · shots {detected_by}"
        )
        for warning in getattr(result, "warnings", []):  # e.g. a budget shorter than any unit
            status += f"  \n{one_line(warning, {str(source): name})}"
        cached_summary = self.cache(summary)
        took = time.monotonic() - started
        print(f"semsum app: {name}: {s['duration']:.1f} s of {doc['duration']:.1f} s in {took:.1f} s", flush=True)
        downloads = [cached_summary, self.cache(scores), *map(self.cache, exports)]
        return cached_summary, importance_figure(doc), stills, downloads, status


def user_files(work: Path, stem: str, doc: dict[str, Any], name: str) -> tuple[Path, list[Path]]:
    """The user's scores.json, listing the exports written beside it (`user_exports`), and those exports."""
    exports = user_exports(work, stem, doc, name)
    scores = work / f"{stem}_scores.json"
    scores.write_text(json.dumps(doc | {"exports": [p.name for p in exports]}, indent=1))
    return scores, exports


def user_exports(work: Path, stem: str, doc: dict[str, Any], name: str) -> list[Path]:
    """The timelines and chapters of a request's summary (each format its frame rate allows), named after the upload
    and pointing at it by its name: the user keeps the video beside them, and no server path is written."""
    folder = work / "exports"
    folder.mkdir()
    written = write_exports(folder, doc, supported_formats(doc["fps"]), source_url=urllib.parse.quote(name))
    return [p.rename(work / f"{stem}_{p.name}") for p in written]


def build_app(models: Models, limits: Limits, features_cache: Path, examples: list[Path] | None = None) -> gr.Blocks:
    """The page: upload or example, length, scorer and shot detector, Summarize; the results beside them. The
    features of uploads are kept in `features_cache` (re-runs with another length or scorer reuse them)."""
    scorers, detectors = list(models.scorers), list(models.detectors)
    with gr.Blocks(title="semsum: summarize a video", analytics_enabled=False, delete_cache=(600, 3600)) as page:
        gr.Markdown(
            "## semsum: summarize a video\nUpload a video (or pick the example), choose how long the summary "
            f"should be, and press **Summarize**. Up to {limits.max_upload_mb:g} MB and "
            f"{limits.max_minutes:g} min; the summary keeps the audio."
        )
        with gr.Row():
            with gr.Column(scale=1):
                video_in = gr.Video(label="video", sources=["upload"], elem_id="upload")
                if examples:
                    gr.Examples([[str(p)] for p in examples], inputs=[video_in], label="example (generated scenes)")
                budget = gr.Slider(1, 50, value=15, step=1, label="summary length (% of the video)", elem_id="budget")
                scorer = gr.Dropdown(scorers, value=scorers[0], label="scorer", visible=len(scorers) > 1)
                shots = gr.Dropdown(detectors, value=detectors[0], label="shot detector", visible=len(detectors) > 1)
                query = gr.Textbox(
                    value="", label="focus on (optional; zero-shot or a run on Video-LLaVA features)", elem_id="query"
                )
                button = gr.Button("Summarize", variant="primary", elem_id="summarize")
            with gr.Column(scale=2):
                status = gr.Markdown(elem_id="status")
                video_out = gr.Video(label="summary", interactive=False, elem_id="summary")
                plot = gr.Plot(
                    label="importance over time (selected units shaded, shot boundaries dotted)", elem_id="importance"
                )
                gallery = gr.Gallery(
                    label="selected units", columns=4, height="auto", object_fit="contain", elem_id="units"
                )
                files = gr.File(label="downloads", file_count="multiple", interactive=False, elem_id="downloads")
        job = SummarizeJob(models, limits, video_out.move_resource_to_block_cache, features_cache)

        def run(
            video: str | None,
            budget_percent: float = 15,
            scorer: str = scorers[0],
            shots: str = detectors[0],
            query: str = "",
            progress: gr.Progress = gr.Progress(),  # noqa: B008 (Gradio's way to ask for a progress tracker)
        ) -> tuple[str, go.Figure, list[tuple[Any, str]], list[str], str]:
            """Summarize one video: the summary, the importance plot, the selected units, the downloads, a line."""
            return job(video, budget_percent, scorer, shots, query, progress)

        outputs = [video_out, plot, gallery, files, status]
        button.click(run, [video_in, budget, scorer, shots, query], outputs, api_name="summarize")
    return page


def serve(
    stages: StageConfig,
    host: str = "127.0.0.1",
    port: int = 7860,
    share: bool = False,
    limits: Limits | None = None,
    concurrency: int = 1,
    example_dir: str | os.PathLike[str] | None = None,
    cache_dir: str | os.PathLike[str] | None = None,
) -> None:
    """Load the models, make the example if needed, and serve the page until interrupted (Ctrl-C or SIGTERM).

    The features of uploads go to `cache_dir`, else `$SEMSUM_CACHE` if set, else a folder of the server's own that
    lives as long as it does."""
    from platformdirs import user_cache_path

    limits = limits or Limits()
    if concurrency < 1 or limits.max_upload_mb <= 0 or limits.max_minutes <= 0:
        raise SemsumError("--concurrency, --max-upload-mb and --max-minutes must be positive")
    chosen = cache_dir or os.environ.get(CACHE_ENV)
    with nullcontext(chosen) if chosen else tempfile.TemporaryDirectory(prefix="semsum-app-cache-") as cache:
        models = load_models(stages)
        example = ensure_example(example_dir or user_cache_path("semsum") / "app")
        page = build_app(models, limits, Path(cache), [example])
        page.queue(default_concurrency_limit=concurrency)
        try:
            page.launch(
                server_name=host,
                server_port=port,
                share=share,
                max_file_size=limits.max_bytes,
                allowed_paths=[str(example.parent)],
                ssr_mode=False,
                footer_links=["api"],
                run_history=False,
                show_error=True,  # Gradio's own refusals (a dotfile upload) reach the page and the client as a line
                quiet=not share,  # gradio prints the share link; our own line says where the page is
                prevent_thread_lock=True,
            )
        except OSError as e:
            raise SemsumError(f"cannot serve on {host}:{port}: {e}") from None
        print(f"semsum app: serving {page.local_url} (API endpoint /summarize); Ctrl-C stops it", flush=True)
        signal.signal(signal.SIGTERM, _interrupt)  # a stopped container or service closes the server as Ctrl-C does
        page.block_thread()


def _interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt
