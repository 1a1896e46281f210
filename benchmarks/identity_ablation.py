"""Does identity injection learn identity? A from-scratch ablation on CPU.

    python benchmarks/identity_ablation.py --out runs/ablation            # data, 6 trainings, evaluation
    python benchmarks/identity_ablation.py --out runs/ablation --publish  # + table and plot to benchmarks/results/

Setup. ``pixel-small`` (a 6-layer, 256-wide Wan DiT on exact 8x8 pixel-shuffle latents, clean-
sample prediction, frozen MiniLM text) is trained from scratch by idvid's trainer on an ``idvid
synth`` store (64 x 64, 9 frames, close-ups). Per seed, stage 1 trains everything without
identity; from its weights two runs then train for the same steps, batch, data order and noise
(the high-noise regime, see ``ARMS``):

- ``identity``: each clip's reference views go through the face encoder and the per-layer gated
  injection (10% identity dropout, as for guidance);
- ``no identity``: identity dropout 1.0, the same model whose injection never sees a face.

The stage-1 model is scored too, so each arm's gain over it is visible.

Measured on held-out identities (people the runs never trained on):

1. face-region PSNR of the clean prediction from fixed noise, inside the ground-truth face boxes
   (YuNet), per noise level. The headline is sigma 1, pure noise: the video the model expects
   from the prompt and the reference alone, where only the reference can say what the face looks
   like. At sigma 0.6-0.9 the noisy input itself still shows the face's colours (8 x 8 pixel
   blocks average the noise away), so identity has little left to add there. Identity runs are
   also scored with another held-out person's references (wrong identity) and with none;
2. FaceSim (SFace, against the references) of sampled videos, over frames with a detectable face,
   and the detection rate;
3. the training loss curves.

Everything is resumable: finished runs are reused, interrupted ones resume from their checkpoint.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Stage:
    """One training stage of everything: identity dropout, whether the face encoder keeps its
    weights, and the noise levels (logit-normal flow times)."""

    identity_dropout: float
    freeze_face_encoder: bool
    logit_mean: float
    logit_std: float


# Stage 1: no identity, all noise levels (the face encoder sees no face, so it stays as initialised).
PRETRAIN = Stage(identity_dropout=1.0, freeze_face_encoder=False, logit_mean=1.0, logit_std=1.2)
# Stage 2, from the stage-1 weights, the same for both arms but for identity: the high-noise regime
# (flow times ~0.9-1), where the layout and the look of the face are decided (Wan 2.2 gives it its
# own expert) and the noisy input no longer shows the face. The face encoder keeps its initial
# weights: its fixed random features hold the reference's colours (most of a fresh token's energy
# varies with the crop), while training it with the diffusion loss collapsed its tokens to one
# output for everybody (below 0.3% of their energy varied between people after 400 steps, also on a
# frozen backbone), and the runs learned nothing of identity. Backbone and injector train.
ARMS = {"identity": Stage(identity_dropout=0.1, freeze_face_encoder=True, logit_mean=3.0, logit_std=0.5),
        "no identity": Stage(identity_dropout=1.0, freeze_face_encoder=True, logit_mean=3.0, logit_std=0.5)}
SIGMAS = (0.6, 0.7, 0.8, 0.9, 1.0)
HEADLINE = "1"  # sigma of the headline face-region PSNR (pure noise)
PUBLISHED = ROOT / "benchmarks" / "results" / "identity_ablation"


# ---- data and training ---------------------------------------------------------------------

def make_data(root: Path, identities: int, clips: int, face_fraction: float) -> None:
    from idvid.data.synth import synthesize

    if not (root / "index.jsonl").is_file():
        synthesize(root, identities=identities, clips_per_identity=clips, seed=0, size=64, num_frames=9,
                   heldout_fraction=0.25, face_fraction=face_fraction)


def initial_model(out: Path, seed: int) -> Path:
    """pixel-small with seed-drawn random weights, saved once; both arms of a seed start from it."""
    from idvid.engines.dit.pipeline import IDVideoPipeline
    from idvid.models.backbones.scratch import pixel_small_components
    from idvid.presets import PRESETS

    path = out / f"init-seed{seed}"
    if not (path / "model_index.json").is_file():
        torch.manual_seed(seed)
        pipe = IDVideoPipeline(**pixel_small_components(), generation_defaults=PRESETS["pixel-small"].defaults)
        pipe.save_pretrained(path, safe_serialization=True)
    return path


def run_dir(out: Path, arm: str, seed: int) -> Path:
    return out / f"{arm.replace(' ', '-')}-seed{seed}"


def train(folder: Path, model: Path, data: Path, stage: Stage, seed: int, steps: int, batch: int,
          face_loss_weight: float, adapter_lr_scale: float) -> Path:
    """One training run of everything (resumed if interrupted) -> its final pipeline directory."""
    from idvid.training.config import from_dict
    from idvid.training.trainer import Trainer

    if (folder / "final" / "model_index.json").is_file():
        return folder / "final"
    config = from_dict({
        "model": str(model),
        "data": {"root": str(data), "num_frames": 9, "num_refs": 3, "caption_dropout": 0.1,
                 "identity_dropout": stage.identity_dropout},
        "train": {"trainable": "all", "freeze_face_encoder": stage.freeze_face_encoder, "steps": steps,
                  "batch_size": batch, "lr": 3e-4, "warmup_steps": 50, "adapter_lr_scale": adapter_lr_scale,
                  "checkpoint_every": 100, "seed": seed, "ema_decay": 0.995, "log_every": 10,
                  # noisy steps weighed like the rest: identity can only help where the noisy input no
                  # longer shows the face, and the velocity weighting 1/sigma^2 all but drops them
                  "logit_mean": stage.logit_mean, "logit_std": stage.logit_std, "x0_loss_weighting": "uniform",
                  # the face is where identity shows: weigh its latent cells up (ConsisID's face emphasis)
                  "face_loss_weight": face_loss_weight},
    })
    trainer = Trainer(config, folder)
    trainer.resume()
    started = time.perf_counter()
    result = trainer.train()
    (folder / "timing.json").write_text(json.dumps({"seconds": time.perf_counter() - started,
                                                    "samples_per_s": result["samples_per_s"]}))
    return result["final"]


def pretrain(out: Path, data: Path, seed: int, steps: int, batch: int, face_loss_weight: float) -> Path:
    """Stage 1, shared by both arms of a seed: the backbone learns the clips without identity (the
    adapter sees no face, so it stays fresh), and both arms start from it."""
    return train(out / f"pretrain-seed{seed}", initial_model(out, seed), data, PRETRAIN, seed, steps, batch,
                 face_loss_weight, adapter_lr_scale=1.0)

# ---- evaluation on held-out identities -----------------------------------------------------

def heldout_clips(data: Path, count: int):
    """(dataset, indices): up to ``count`` held-out clips, taken round-robin over identities."""
    from idvid.data.dataset import ClipDataset

    dataset = ClipDataset(data, split="heldout", num_frames=9, num_refs=3, caption_dropout=0.0,
                          identity_dropout=0.0, seed=0)
    by_identity: dict[str, list[int]] = {}
    for index, meta in enumerate(dataset.metas):
        by_identity.setdefault(meta["identity"], []).append(index)
    rounds = [group[i] for i in range(max(map(len, by_identity.values()))) for group in by_identity.values()
              if i < len(group)]
    return dataset, rounds[:count]


def face_masks(video: torch.Tensor) -> torch.Tensor:
    """video (T, 3, H, W) in [-1, 1] -> (T, H, W) bool: the largest YuNet face box (x1.2) per frame."""
    from idvid.face.analyzer import shared_analyzer

    detector = shared_analyzer(min_face_size=12).detector
    frames = ((video + 1) * 127.5).round().clamp(0, 255).byte().permute(0, 2, 3, 1).numpy()
    masks = torch.zeros(video.shape[0], *video.shape[2:], dtype=torch.bool)
    for t, frame in enumerate(frames):
        faces = detector(frame)
        if faces:
            x, y, w, h = max(faces, key=lambda f: f.size).box
            cx, cy, half_w, half_h = x + w / 2, y + h / 2, 0.6 * w, 0.6 * h
            masks[t, max(0, int(cy - half_h)):int(cy + half_h) + 1, max(0, int(cx - half_w)):int(cx + half_w) + 1] = True
    return masks


def collate_one(sample: dict) -> dict:
    from idvid.loop.data import collate

    return collate([sample])


@torch.no_grad()
def face_errors(pipe, sample: dict, mask: torch.Tensor, noise_seed: int, conditions: dict) -> dict[str, list[float]]:
    """Mean squared error (pixels in [-1, 1]) inside ``mask`` of the clean prediction from fixed
    noise at each sigma of SIGMAS, per condition: name -> the sample whose references are the
    identity (None: no identity). The clip's latents, text and noise are made once for all."""
    from idvid.training.adapter_model import face_encoder_inputs

    family = pipe.family
    clean = family.encode(pipe.vae, sample["video"][None].transpose(1, 2))  # video (1, 3, T, H, W)
    text = pipe.encode_prompt([sample["caption"]])
    noisy = [(1 - sigma) * clean + sigma * torch.randn(clean.shape, generator=torch.Generator().manual_seed(
        noise_seed * 100 + k)) for k, sigma in enumerate(SIGMAS)]
    errors = {}
    for name, references in conditions.items():
        faces, weight = face_encoder_inputs(pipe, collate_one(references or sample), "cpu")
        tokens = pipe.face_encoder(**faces)
        errors[name] = []
        with pipe.id_adapter.attach(pipe.transformer, tokens, weight * (references is not None)):
            for sigma, x_t in zip(SIGMAS, noisy):
                prediction = family.predict(pipe.transformer, x_t, torch.tensor([sigma * 1000.0]), text)
                frames = family.decode(pipe.vae, prediction).clamp(-1, 1)[0].transpose(0, 1)  # (T, 3, H, W)
                errors[name].append(float((frames - sample["video"]).square().mean(1)[mask].mean()))
    return errors


def psnr(mse: float) -> float:
    return 10 * math.log10(4.0 / mse)  # peak-to-peak 2 in [-1, 1] pixels


def denoising_scores(pipe, dataset, indices: list[int], identity_run: bool) -> dict[str, dict[str, float]]:
    """Face-region PSNR per sigma of the run, with the right references (or none for the
    no-identity run); identity runs also with the wrong person's references and with none."""
    samples = [dataset[i] for i in indices]
    people = [dataset.metas[i]["identity"] for i in indices]
    n = len(samples)
    # the next clip (round-robin order) of another person
    other = [next(j % n for j in range(i + 1, i + n) if people[j % n] != people[i]) for i in range(n)]
    per_clip = []
    for i, sample in enumerate(samples):
        mask = face_masks(sample["video"])
        if not mask.any():
            continue
        conditions = ({"right identity": sample, "wrong identity": samples[other[i]], "identity off": None}
                      if identity_run else {"no identity": None})
        per_clip.append(face_errors(pipe, sample, mask, noise_seed=i, conditions=conditions))
    return {name: {f"{sigma:g}": psnr(float(np.mean([clip[name][k] for clip in per_clip])))
                   for k, sigma in enumerate(SIGMAS)} for name in per_clip[0]}


@torch.no_grad()
def sampling_scores(pipe, dataset, indices: list[int], steps: int) -> dict[str, float]:
    """FaceSim and face detection rate of videos sampled for held-out clips (their caption and references)."""
    from idvid.eval.evaluate import evaluate_video
    from idvid.training.validation import reference_observations, small_video_eval_models

    models = small_video_eval_models()
    facesim, detected = [], []
    pipe.set_progress_bar_config(disable=True)
    for i in indices:
        meta = dataset.metas[i]
        _, refs, chosen, _, _ = dataset.plan(i)
        faces = reference_observations(refs, chosen, (meta["height"], meta["width"]), None)
        video = pipe(prompt=meta["caption"], faces=faces, num_inference_steps=steps, seed=i)
        values = evaluate_video(video.frames, faces, meta["caption"], metrics=["facesim", "face_detection_rate"],
                                models=models).values
        detected.append(values["face_detection_rate"])
        if math.isfinite(values["facesim"]):
            facesim.append(values["facesim"])
    return {"facesim": float(np.mean(facesim)) if facesim else math.nan, "face_detection_rate": float(np.mean(detected))}


def evaluate(final: Path, data: Path, identity_run: bool, clips: int, sample_clips: int, steps: int) -> dict:
    from idvid.engines.dit.pipeline import IDVideoPipeline

    cached = final.parent / "scores.json"
    if cached.is_file():
        return json.loads(cached.read_text())
    pipe = IDVideoPipeline.from_pretrained(final)
    dataset, indices = heldout_clips(data, clips)
    scores = {"face_psnr": denoising_scores(pipe, dataset, indices, identity_run),
              **sampling_scores(pipe, dataset, indices[:sample_clips], steps)}
    cached.write_text(json.dumps(scores, indent=1))
    return scores


# ---- report ----------------------------------------------------------------------------------

def loss_curve(folder: Path) -> tuple[np.ndarray, np.ndarray]:
    with (folder / "train_log.csv").open() as f:
        rows = list(csv.DictReader(f))
    return np.array([int(r["step"]) for r in rows]), np.array([float(r["diffusion_loss"]) for r in rows])


COLOURS = {"identity": "C0", "no identity": "C1", "stage 1": "C2"}
# (run, condition scored) -> bar label
BARS = {("identity", "right identity"): "identity run:\nright refs", ("identity", "wrong identity"): "identity run:\nwrong refs",
        ("identity", "identity off"): "identity run:\nno refs", ("no identity", "no identity"): "no-identity\nrun",
        ("stage 1", "no identity"): "stage 1"}


def plot(out: Path, runs: dict, results: dict) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, (losses, headline, by_sigma) = plt.subplots(1, 3, figsize=(17, 4.5))
    first_seed = min(seed for _, seed in runs)
    for (arm, seed), folder in runs.items():
        if arm == "stage 1" or not (folder / "train_log.csv").is_file():
            continue  # stage 1 trains on other noise levels; or fewer steps than log_every
        steps, loss = loss_curve(folder)
        window = min(10, len(loss))
        smooth = np.convolve(loss, np.ones(window) / window, mode="valid")
        losses.plot(steps[len(steps) - len(smooth):], smooth, color=COLOURS[arm],
                    linestyle="-" if seed == first_seed else "--", label=f"{arm}, seed {seed}")
    losses.set(xlabel="stage-2 step", ylabel="training loss (smoothed)", yscale="log",
               title="stage-2 loss (flow times ~0.9-1)")
    losses.legend()
    for k, (arm, name) in enumerate(BARS):
        values = [r["face_psnr"][name][HEADLINE] for (a, _), r in results.items() if a == arm and name in r["face_psnr"]]
        if values:
            headline.scatter([k] * len(values), values, color=COLOURS[arm])
            headline.bar(k, np.mean(values), alpha=0.3, color=COLOURS[arm])
    headline.set_xticks(range(len(BARS)), list(BARS.values()))
    values = [v[HEADLINE] for r in results.values() for v in r["face_psnr"].values()]
    headline.set_ylim(min(values) - 0.3, max(values) + 0.2)
    headline.set(ylabel="face-region PSNR (dB), held-out people", title="clean prediction from pure noise (sigma 1)")
    for (arm, seed), r in results.items():
        scores = r["face_psnr"].get("right identity", r["face_psnr"].get("no identity"))
        by_sigma.plot([float(s) for s in scores], list(scores.values()), marker="o", color=COLOURS[arm],
                      linestyle="-" if seed == first_seed else "--", label=f"{arm}, seed {seed}")
    by_sigma.set(xlabel="noise level sigma", ylabel="face-region PSNR (dB)", title="by noise level")
    by_sigma.legend()
    figure.tight_layout()
    figure.savefig(out / "identity_ablation.png", dpi=110)


def table(results: dict, timing: dict) -> str:
    lines = ["| run | seed | face PSNR at sigma 1, right refs (dB) | wrong refs | no refs | "
             "sigma 0.6-0.9 mean | FaceSim | faces detected | train samples/s |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for (arm, seed), r in sorted(results.items()):
        p = r["face_psnr"]
        own = p.get("right identity", p.get("no identity"))
        lower = np.mean([v for sigma, v in own.items() if sigma != HEADLINE])
        cell = {name: f"{p[name][HEADLINE]:.2f}" if name in p else "-" for name in ("wrong identity", "identity off")}
        lines.append(f"| {arm} | {seed} | {own[HEADLINE]:.2f} | {cell['wrong identity']} | {cell['identity off']} | "
                     f"{lower:.2f} | {r['facesim']:.3f} | {r['face_detection_rate']:.0%} | {timing[(arm, seed)]:.2f} |")
    return "\n".join(lines)


def summary(results: dict) -> dict:
    """At the headline sigma: seed means and spreads, the identity gain with its margin over the
    spread, and per seed (paired: same stage 1) the gains over the other runs and over a wrong
    person's references."""
    def headline(arm: str, condition: str) -> dict[int, float]:
        return {seed: r["face_psnr"][condition][HEADLINE] for (a, seed), r in results.items() if a == arm}

    right, wrong = headline("identity", "right identity"), headline("identity", "wrong identity")
    without, stage1 = headline("no identity", "no identity"), headline("stage 1", "no identity")
    if not (right and without):
        return {}  # one arm only (--arms): nothing to compare
    seeds = sorted(set(right) & set(without))
    return {"sigma": float(HEADLINE), "identity_psnr_mean": float(np.mean(list(right.values()))),
            "no_identity_psnr_mean": float(np.mean(list(without.values()))),
            "gain_db": float(np.mean(list(right.values())) - np.mean(list(without.values()))),
            "worst_identity_minus_best_no_identity_db": float(min(right.values()) - max(without.values())),
            "largest_seed_spread_db": float(max(np.ptp(list(right.values())), np.ptp(list(without.values())))),
            "per_seed": {seed: {"identity_minus_no_identity_db": right[seed] - without[seed],
                                "identity_minus_stage1_db": right[seed] - stage1.get(seed, math.nan),
                                "no_identity_minus_stage1_db": without[seed] - stage1.get(seed, math.nan),
                                "right_minus_wrong_refs_db": right[seed] - wrong[seed]} for seed in seeds}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "runs" / "ablation")
    parser.add_argument("--data", type=Path, help="an idvid synth store (default: OUT/clips, made if missing)")
    parser.add_argument("--identities", type=int, default=64)
    parser.add_argument("--clips-per-identity", type=int, default=8)
    parser.add_argument("--face-fraction", type=float, default=0.55,
                        help="face height over frame height in the synth clips (close-ups: identity is more of the loss)")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    parser.add_argument("--arms", nargs="+", choices=list(ARMS), default=list(ARMS))
    parser.add_argument("--pretrain-steps", type=int, default=600, help="stage 1: the backbone without identity")
    parser.add_argument("--steps", type=int, default=400, help="stage 2: each arm, from the stage-1 weights")
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--face-loss-weight", type=float, default=4.0, help="loss weight inside the face boxes")
    parser.add_argument("--adapter-lr-scale", type=float, default=3.0,  # 9e-4: fresh modules
                        help="the face encoder's and adapter's learning rate over the backbone's (fresh modules)")
    parser.add_argument("--eval-clips", type=int, default=32, help="held-out clips for the face-region error")
    parser.add_argument("--sample-clips", type=int, default=8, help="held-out clips sampled for FaceSim")
    parser.add_argument("--sample-steps", type=int, default=16)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--publish", action="store_true", help="copy results.md, results.json and the plot")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    data = args.data or args.out / "clips"
    make_data(data, args.identities, args.clips_per_identity, args.face_fraction)
    runs, results, timing = {}, {}, {}
    for seed in args.seeds:
        backbone = pretrain(args.out, data, seed, args.pretrain_steps, args.batch, args.face_loss_weight)
        for arm in args.arms:
            final = train(run_dir(args.out, arm, seed), backbone, data, ARMS[arm], seed, args.steps, args.batch,
                          args.face_loss_weight, args.adapter_lr_scale)
            runs[(arm, seed)] = final.parent
            timing[(arm, seed)] = json.loads((final.parent / "timing.json").read_text())["samples_per_s"]
            results[(arm, seed)] = evaluate(final, data, arm == "identity", args.eval_clips, args.sample_clips,
                                            args.sample_steps)
            print(arm, seed, results[(arm, seed)], flush=True)
        results[("stage 1", seed)] = evaluate(backbone, data, False, args.eval_clips, args.sample_clips,
                                              args.sample_steps)
        runs[("stage 1", seed)] = backbone.parent
        timing[("stage 1", seed)] = json.loads((backbone.parent / "timing.json").read_text())["samples_per_s"]
    report = {"summary": summary(results), "runs": {f"{a}/seed{s}": r for (a, s), r in results.items()},
              "setup": {k: str(v) for k, v in vars(args).items()}}
    text = table(results, timing)
    print(text)
    print(json.dumps(report["summary"], indent=1))
    (args.out / "results.json").write_text(json.dumps(report, indent=1))
    (args.out / "results.md").write_text(text + "\n")
    plot(args.out, runs, results)
    if args.publish:
        PUBLISHED.mkdir(parents=True, exist_ok=True)
        for name in ("results.json", "results.md", "identity_ablation.png"):
            shutil.copy(args.out / name, PUBLISHED / name)


if __name__ == "__main__":
    main()
