"""Does identity injection learn identity? A from-scratch ablation on CPU.

    python benchmarks/identity_ablation.py --out runs/ablation            # data, 4 trainings, evaluation
    python benchmarks/identity_ablation.py --out runs/ablation --publish  # + table and plots to benchmarks/results/

Setup. ``pixel-small`` (a 6-layer, 256-wide Wan DiT on exact 8x8 pixel-shuffle latents, clean-
sample prediction, frozen MiniLM text) is trained from scratch by idvid's trainer on an ``idvid
synth`` store (64 x 64, 9 frames), twice per seed with the same initial weights, steps, batch,
data order and noise:

- ``identity``: each clip's reference views go through the face encoder and the per-layer gated
  injection (10% identity dropout, as for guidance);
- ``no identity``: identity dropout 1.0, the same model whose adapter never sees a face.

Measured on held-out identities (people the runs never trained on):

1. face-region PSNR of the clean prediction from fixed noise at sigma 0.6 ... 1.0, inside the
   ground-truth face boxes (YuNet); identity runs also with another held-out person's references
   (wrong identity) and with none;
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
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
ARMS = {"identity": 0.1, "no identity": 1.0}  # arm -> identity dropout
SIGMAS = (0.6, 0.7, 0.8, 0.9, 1.0)
PUBLISHED = ROOT / "benchmarks" / "results" / "identity_ablation"


# ---- data and training ---------------------------------------------------------------------

def make_data(root: Path, identities: int, clips: int, face_fraction: float) -> None:
    from idvid.data.synth import synthesize

    if not (root / "index.jsonl").is_file():
        synthesize(root, identities=identities, clips_per_identity=clips, seed=0, size=64, num_frames=9,
                   heldout_fraction=0.25, face_fraction=face_fraction)


def initial_model(out: Path, seed: int) -> Path:
    """pixel-small with seed-drawn random weights, saved once; both arms of a seed start from it."""
    from idvid.models.backbones.scratch import pixel_small_components
    from idvid.pipelines.pipeline_idvideo import IDVideoPipeline
    from idvid.presets import PRESETS

    path = out / f"init-seed{seed}"
    if not (path / "model_index.json").is_file():
        torch.manual_seed(seed)
        pipe = IDVideoPipeline(**pixel_small_components(), generation_defaults=PRESETS["pixel-small"].defaults)
        pipe.save_pretrained(path, safe_serialization=True)
    return path


def run_dir(out: Path, arm: str, seed: int) -> Path:
    return out / f"{arm.replace(' ', '-')}-seed{seed}"


def train(folder: Path, model: Path, data: Path, identity_dropout: float, seed: int, steps: int, batch: int,
          face_loss_weight: float, token_similarity_weight: float = 0.0) -> Path:
    """One training run of everything (resumed if interrupted) -> its final pipeline directory."""
    from idvid.training.config import from_dict
    from idvid.training.trainer import Trainer

    if (folder / "final" / "model_index.json").is_file():
        return folder / "final"
    config = from_dict({
        "model": str(model),
        "data": {"root": str(data), "num_frames": 9, "num_refs": 3, "caption_dropout": 0.1,
                 "identity_dropout": identity_dropout},
        "train": {"trainable": "all", "steps": steps, "batch_size": batch, "lr": 3e-4, "warmup_steps": 100,
                  "checkpoint_every": 100, "seed": seed, "ema_decay": 0.995, "log_every": 10,
                  # noise-heavy flow times (JiT's pixel-space choice): identity can only help where
                  # the noisy input no longer shows the face
                  "logit_mean": 0.8, "logit_std": 0.8,
                  # the face is where identity shows: weigh its latent cells up (ConsisID's face emphasis)
                  "face_loss_weight": face_loss_weight, "token_similarity_weight": token_similarity_weight},
    })
    trainer = Trainer(config, folder)
    trainer.resume()
    started = time.perf_counter()
    result = trainer.train()
    (folder / "timing.json").write_text(json.dumps({"seconds": time.perf_counter() - started,
                                                    "samples_per_s": result["samples_per_s"]}))
    return result["final"]


def pretrain(out: Path, data: Path, seed: int, steps: int, batch: int, face_loss_weight: float) -> Path:
    """Stage 1, shared by both arms of a seed: the backbone learns videos without identity (the
    adapter sees no face, so it stays fresh). Trained from scratch with identity from step 0, the
    face encoder's tokens collapsed to one output for everybody before the backbone could draw a
    face for identity to improve (their variance across people fell below 0.5%)."""
    return train(out / f"pretrain-seed{seed}", initial_model(out, seed), data, 1.0, seed, steps, batch,
                 face_loss_weight)

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
    from idvid.training.trainer import collate

    return collate([sample])


@torch.no_grad()
def face_mse(pipe, sample: dict, references: dict | None, mask: torch.Tensor, noise_seed: int) -> float:
    """Mean squared error (pixels in [-1, 1]) inside ``mask`` of the clean predictions from fixed
    noise at every sigma of SIGMAS, with ``references``' views as identity (None: no identity)."""
    from idvid.training.adapter_model import face_encoder_inputs

    family = pipe.family
    video = sample["video"][None].transpose(1, 2)  # (1, 3, T, H, W)
    clean = family.encode(pipe.vae, video)
    text = pipe.encode_prompt([sample["caption"]])
    faces, weight = face_encoder_inputs(pipe, collate_one(references or sample), "cpu")
    kv = pipe.id_adapter.precompute(pipe.face_encoder(**faces))
    weight = weight * (references is not None)
    errors = []
    for k, sigma in enumerate(SIGMAS):
        noise = torch.randn(clean.shape, generator=torch.Generator().manual_seed(noise_seed * 100 + k))
        noisy = (1 - sigma) * clean + sigma * noise
        with pipe.id_adapter.attach(pipe.transformer, kv, weight):
            prediction = family.predict(pipe.transformer, noisy, torch.tensor([sigma * 1000.0]), text)
        frames = family.decode(pipe.vae, prediction).clamp(-1, 1)[0].transpose(0, 1)  # (T, 3, H, W)
        squared = (frames - sample["video"]).square().mean(1)  # (T, H, W)
        errors.append(float(squared[mask].mean()))
    return float(np.mean(errors))


def psnr(mse: float) -> float:
    return 10 * math.log10(4.0 / mse)  # peak-to-peak 2 in [-1, 1] pixels


def denoising_scores(pipe, dataset, indices: list[int], identity_run: bool) -> dict[str, float]:
    """Face-region PSNR of the run, with the right references (or none for the no-identity
    run); identity runs also with the wrong person's references and with none."""
    samples = [dataset[i] for i in indices]
    people = [dataset.metas[i]["identity"] for i in indices]
    masks = [face_masks(s["video"]) for s in samples]
    conditions = {"right identity": lambda i: samples[i]} if identity_run else {"no identity": lambda i: None}
    if identity_run:
        # the next clip (round-robin order) of another person
        other = [next(j % len(samples) for j in range(i + 1, i + len(samples)) if people[j % len(samples)] != people[i])
                 for i in range(len(samples))]
        conditions["wrong identity"] = lambda i: samples[other[i]]
        conditions["identity off"] = lambda i: None
    scores = {}
    for name, references in conditions.items():
        mse = [face_mse(pipe, s, references(i), m, noise_seed=i) for i, (s, m) in enumerate(zip(samples, masks))
               if m.any()]
        scores[name] = psnr(float(np.mean(mse)))
    return scores


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
    from idvid.pipelines.pipeline_idvideo import IDVideoPipeline

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


def plot(out: Path, runs: dict, results: dict) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, (left, right) = plt.subplots(1, 2, figsize=(11, 4))
    for (arm, seed), folder in runs.items():
        if not (folder / "train_log.csv").is_file():
            continue  # fewer steps than log_every
        steps, loss = loss_curve(folder)
        window = min(10, len(loss))
        smooth = np.convolve(loss, np.ones(window) / window, mode="valid")
        left.plot(steps[len(steps) - len(smooth):], smooth, color="C0" if arm == "identity" else "C1",
                  linestyle="-" if seed == min(s for _, s in runs) else "--", label=f"{arm}, seed {seed}")
    left.set(xlabel="step", ylabel="training loss (smoothed)", yscale="log", title="loss")
    left.legend()
    names = ["right identity", "wrong identity", "identity off", "no identity"]
    for k, name in enumerate(names):
        values = [r["face_psnr"][name] for r in results.values() if name in r["face_psnr"]]
        if not values:
            continue
        right.scatter([k] * len(values), values, color="C0" if k < 3 else "C1")
        right.bar(k, np.mean(values), alpha=0.3, color="C0" if k < 3 else "C1")
    right.set_xticks(range(len(names)), ["identity run:\nright refs", "identity run:\nwrong refs",
                                         "identity run:\nno refs", "no-identity\nrun"])
    right.set(ylabel="face-region PSNR (dB), held-out people", title="clean prediction from sigma 0.6-1.0")
    low = min(v for r in results.values() for v in r["face_psnr"].values())
    right.set_ylim(low - 1.0, None)
    figure.tight_layout()
    figure.savefig(out / "identity_ablation.png", dpi=110)


def table(results: dict, timing: dict, args) -> str:
    lines = ["| run | seed | face PSNR, right refs (dB) | wrong refs | no refs | FaceSim | faces detected | "
             "train samples/s |", "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for (arm, seed), r in sorted(results.items()):
        p = r["face_psnr"]
        first = p.get("right identity", p.get("no identity"))
        lines.append(f"| {arm} | {seed} | {first:.2f} | {p.get('wrong identity', math.nan):.2f} | "
                     f"{p.get('identity off', math.nan):.2f} | {r['facesim']:.3f} | {r['face_detection_rate']:.0%} | "
                     f"{timing[(arm, seed)]:.2f} |")
    return "\n".join(lines)


def summary(results: dict) -> dict:
    """Seed means and spreads, and the identity gain with its margin over the spread."""
    with_id = [r["face_psnr"]["right identity"] for (arm, _), r in results.items() if arm == "identity"]
    without = [r["face_psnr"]["no identity"] for (arm, _), r in results.items() if arm == "no identity"]
    if not (with_id and without):
        return {}  # one arm only (--arms): nothing to compare
    spread = max(np.ptp(with_id), np.ptp(without))
    return {"identity_psnr_mean": float(np.mean(with_id)), "no_identity_psnr_mean": float(np.mean(without)),
            "gain_db": float(np.mean(with_id) - np.mean(without)),
            "worst_identity_minus_best_no_identity_db": float(min(with_id) - max(without)),
            "largest_seed_spread_db": float(spread)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "runs" / "ablation")
    parser.add_argument("--data", type=Path, help="an idvid synth store (default: OUT/clips, made if missing)")
    parser.add_argument("--identities", type=int, default=64)
    parser.add_argument("--clips-per-identity", type=int, default=12)
    parser.add_argument("--face-fraction", type=float, default=0.55,
                        help="face height over frame height in the synth clips (close-ups: identity is more of the loss)")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    parser.add_argument("--arms", nargs="+", choices=list(ARMS), default=list(ARMS))
    parser.add_argument("--pretrain-steps", type=int, default=900, help="stage 1: the backbone without identity")
    parser.add_argument("--steps", type=int, default=500, help="stage 2: each arm, from the stage-1 weights")
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--face-loss-weight", type=float, default=4.0, help="loss weight inside the face boxes")
    parser.add_argument("--token-similarity-weight", type=float, default=1.0,
                        help="identity arm: weight of the loss keeping identity tokens apart like the people")
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
                          args.face_loss_weight, args.token_similarity_weight if arm == "identity" else 0.0)
            runs[(arm, seed)] = final.parent
            timing[(arm, seed)] = json.loads((final.parent / "timing.json").read_text())["samples_per_s"]
            results[(arm, seed)] = evaluate(final, data, arm == "identity", args.eval_clips, args.sample_clips,
                                            args.sample_steps)
            print(arm, seed, results[(arm, seed)], flush=True)
    report = {"summary": summary(results), "runs": {f"{a}/seed{s}": r for (a, s), r in results.items()},
              "setup": {k: str(v) for k, v in vars(args).items()}}
    text = table(results, timing, args)
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
